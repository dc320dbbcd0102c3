"""The window's look and place, without a display: a saved geometry fitted to the screen."""

from types import SimpleNamespace

import pytest

from desktop.ui.style import fit_to_screen


@pytest.mark.parametrize(
    ("saved", "screen", "expected"),
    [
        (None, (1366, 768), "1240x688"),  # first start on a common clinic laptop: fits, bar too
        ("garbage", (1920, 1080), "1240x780"),
        ("1600x1000+40+40", (1366, 768), "1364x688+40+40"),
        ("99999x99999+5000+5000", (1280, 800), "1278x720"),
    ],
)
def test_window_fits_the_screen_it_opens_on(saved, screen, expected):
    fake_root = SimpleNamespace(winfo_screenwidth=lambda: screen[0],
                                winfo_screenheight=lambda: screen[1])
    assert fit_to_screen(saved, fake_root) == expected


def _file_dialog_captions(root) -> tuple[str, str, str]:
    """Open Tk's own Open dialog, read its folder, name and type captions, cancel it."""
    seen = []
    dialog = ".__tk_filedialog"

    def read_then_cancel() -> None:
        if not root.tk.getboolean(root.tk.call("winfo", "exists", f"{dialog}.contents.f2.cancel")):
            root.after(10, read_then_cancel)  # wait for the dialog to be made
            return
        seen.append(tuple(str(root.tk.call(f"{dialog}.contents.{label}", "cget", "-text"))
                          for label in ("f1.lab", "f2.lab", "f2.lab2")))
        root.tk.call(f"{dialog}.contents.f2.cancel", "invoke")

    root.after(0, read_then_cancel)
    root.tk.call("tk_getOpenFile", "-filetypes", "{{Images} {.png}}")
    return seen[0]


def test_tk_file_dialogs_speak_the_language_switched_to_whole(x_display):
    """A dialog made in English and shown again after a switch to Spanish had "Directory:" and
    "Files of type:" beside "Nombre de archivo:"."""
    import tkinter as tk

    from desktop.ui.style import tk_dialogs_language

    root = tk.Tk()
    try:
        tk_dialogs_language(root, "en")
        assert _file_dialog_captions(root) == ("Directory:", "File name:", "Files of type:")
        tk_dialogs_language(root, "es")
        assert _file_dialog_captions(root) == (
            "Directorio:", "Nombre de archivo:", "Archivos de tipo:")
        tk_dialogs_language(root, "pt_BR")
        assert _file_dialog_captions(root)[0] == "Diretório:"
    finally:
        tk_dialogs_language(root, "en")
        root.destroy()
