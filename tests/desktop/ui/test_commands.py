"""The command table: every menu entry, toolbar button and key comes from one declaration, and
the accelerator shown is the key bound."""

import pytest

from desktop import i18n
from desktop.ui.commands import (
    COMMANDS,
    FILE_WINDOWS_MENU,
    LANGUAGES_MENU,
    MENUS,
    TOOLBAR_LEFT,
    TOOLBAR_RIGHT,
    is_window_wide,
    shortcut_rows,
)
from desktop.ui.commands import accelerator_text as text


def test_accelerator_text_is_derived_from_the_key_sequence():
    assert text("<Control-o>") == "Ctrl+O"
    assert text("<Control-O>") == "Ctrl+Shift+O"
    assert text("<Escape>") == "Esc"
    assert text("<Key-0>") == "0"
    assert text("<Control-plus>") == "Ctrl++"
    with pytest.raises(ValueError):
        text("Control-o")


def test_every_entry_names_a_declared_command_with_a_handler_of_the_window():
    from desktop.ui.app import App
    from desktop.ui.result_pane import ResultPane
    from desktop.ui.state import WindowState

    placed = [c for _, entries in MENUS if entries != LANGUAGES_MENU for c in entries
              if c and c != FILE_WINDOWS_MENU]
    placed += TOOLBAR_LEFT + TOOLBAR_RIGHT
    assert set(placed) <= set(COMMANDS)
    for command in COMMANDS.values():
        owner = next((o for o in (App, ResultPane, WindowState)
                      if hasattr(o, command.handler)), App)
        assert callable(getattr(owner, command.handler, None)), command.id
    keys = [k for c in COMMANDS.values() for k in c.keys]
    assert len(keys) == len(set(keys)), "a key bound to two commands"
    assert COMMANDS["open_files"].accelerator == "Ctrl+O"


def test_the_viewer_keys_and_the_report_keys_are_declared_once():
    assert COMMANDS["save_report"].accelerator == "Ctrl+R"
    assert COMMANDS["save_batch_report"].accelerator == "Ctrl+Shift+R"
    assert COMMANDS["zoom_in"].keys[:2] == ("<plus>", "<equal>")
    assert COMMANDS["view_reset"].accelerator == "0" and COMMANDS["zoom_actual"].accelerator == "1"
    presets = [c for c in COMMANDS.values() if c.choice == "window_preset"]
    assert [c.argument for c in presets] == ["default", "high_contrast", "soft_tissue"]
    from desktop.ui.viewer import PRESETS

    assert [c.argument for c in presets] == [pid for pid, _, _ in PRESETS]


def test_plain_keys_stay_in_the_main_window_and_ctrl_keys_work_everywhere():
    assert is_window_wide("<Control-r>") and is_window_wide("<Escape>") and is_window_wide("<F1>")
    assert not is_window_wide("<plus>") and not is_window_wide("<Key-0>")
    assert not is_window_wide("<Key-i>")  # typing an "i" in a file dialog never inverts


def test_the_shortcuts_list_has_every_key_and_mouse_gesture_in_the_language_shown():
    rows = dict(shortcut_rows())
    for command in COMMANDS.values():
        if command.keys:
            assert command.accelerator in next(k for k in rows if k.startswith(
                command.accelerator)), command.id
    assert rows["Ctrl+R"] == "Save report" and rows["0"] == "Reset the view"
    assert "Right-drag" in rows and "Mouse wheel" in rows
    i18n.set_language("pt_BR")
    try:
        assert dict(shortcut_rows())["Ctrl+R"] == "Salvar relatório"
    finally:
        i18n.set_language("en")
