"""The command table: every menu entry, toolbar button and key comes from one declaration, and
the accelerator shown is the key bound."""

import pytest

from desktop.commands import COMMANDS, LANGUAGES_MENU, MENUS, TOOLBAR_LEFT, TOOLBAR_RIGHT
from desktop.commands import accelerator_text as text


def test_accelerator_text_is_derived_from_the_key_sequence():
    assert text("<Control-o>") == "Ctrl+O"
    assert text("<Control-O>") == "Ctrl+Shift+O"
    assert text("<Escape>") == "Esc"
    assert text("<Key-0>") == "0"
    assert text("<Control-plus>") == "Ctrl++"
    with pytest.raises(ValueError):
        text("Control-o")


def test_every_entry_names_a_declared_command_with_a_handler_of_the_window():
    from desktop.app import App

    placed = [c for _, entries in MENUS if entries != LANGUAGES_MENU for c in entries if c]
    placed += TOOLBAR_LEFT + TOOLBAR_RIGHT
    assert set(placed) <= set(COMMANDS)
    for command in COMMANDS.values():
        assert callable(getattr(App, command.handler)), command.id
    keys = [k for c in COMMANDS.values() for k in c.keys]
    assert len(keys) == len(set(keys)), "a key bound to two commands"
    assert COMMANDS["open_files"].accelerator == "Ctrl+O"
