"""How the window looks and where it opens: the colours, the Tk root (with drag and drop when
tkdnd loads), the theme and fonts, and a saved geometry fitted to the screen it opens on.

The colours are the Okabe-Ito palette (told apart with every common colour-vision deficiency):
blue for NORMAL, vermillion for PNEUMONIA, reddish purple for REFER, grey for no verdict, each
with a darker variant for text. They are defined here, once, for the theme and for every widget
that draws an outcome; colour never carries an outcome alone (``desktop.ui.verdict_marks``).
"""

from __future__ import annotations

import logging
import re
import tkinter as tk
from tkinter import font, ttk

from desktop.resources import asset_path

log = logging.getLogger(__name__)

BLUE = "#0072B2"  # NORMAL
VERMILLION = "#D55E00"  # PNEUMONIA
GREY = "#6B6B6B"  # error / nothing to show
PURPLE = "#CC79A7"  # REFER: Okabe-Ito's reddish purple
TEXT_BLUE = "#005A8F"  # darker variants for text on white (contrast >= 4.5:1)
TEXT_VERMILLION = "#A94800"
TEXT_GREY = "#505050"
TEXT_PURPLE = "#8C3D70"  # REFER on white and on the panel (contrast >= 6:1)
TEXT_AMBER = "#8A5300"  # unusual: a dark orange-brown, readable on the panel (never alone)
BANNER_BG = "#FFF1DB"
PANEL_BG = "#F4F4F2"

DEFAULT_GEOMETRY = "1240x780"
MIN_SIZE = (800, 600)
SCREEN_MARGIN_Y = 80  # title bar + task bar
BORDER = 1  # a window manager's frame, each side


def fit_to_screen(geometry: str | None, root: tk.Tk) -> str:
    """The saved window geometry (or the default), no larger than this screen and placed on it.

    A size saved on a bigger monitor, or from a damaged settings file (99999x99999), makes X
    refuse the window's pixmap (BadAlloc), which ends the whole process.
    """
    pattern = r"(\d+)x(\d+)(([+-]-?\d+)([+-]-?\d+))?"
    match = re.fullmatch(pattern, geometry or "") or re.fullmatch(pattern, DEFAULT_GEOMETRY)
    screen_w, screen_h = root.winfo_screenwidth(), root.winfo_screenheight()
    # Leave room for the title bar and a task bar: a 1366x768 clinic laptop shows the whole window.
    width, height = (min(int(match[i + 1]), room) for i, room in enumerate(screen_room(root)))
    place = match[3] or ""
    if place and (abs(int(match[4][1:])) >= screen_w or abs(int(match[5][1:])) >= screen_h):
        place = ""  # off this screen: let the window manager place it
    return f"{width}x{height}{place}"


def screen_room(widget) -> tuple[int, int]:
    """The largest window this screen shows whole: its width, and its height less the title
    bar, the menu bar and a task bar (an 800x600 screen leaves 520, not 600: a window as tall
    as the screen has its bottom row, the status bar, off it), and the width less a window
    manager's border on each side."""
    return (widget.winfo_screenwidth() - 2 * BORDER,
            max(200, widget.winfo_screenheight() - SCREEN_MARGIN_Y))


def min_size(widget, minimum: tuple[int, int] = MIN_SIZE) -> tuple[int, int]:
    """``minimum``, no larger than the room this screen has (``screen_room``)."""
    room = screen_room(widget)
    return min(minimum[0], room[0]), min(minimum[1], room[1])


def make_root() -> tuple[tk.Tk, bool]:
    """The Tk root and whether drag and drop works (tkdnd loaded); without it the app still runs."""
    root = tk.Tk(className="CxrPneumonia")
    try:
        from tkinterdnd2 import TkinterDnD

        TkinterDnD._require(root)  # what TkinterDnD.Tk() does, but failure leaves a usable root
    except Exception:  # noqa: BLE001 - any failure only disables drag and drop
        log.warning("Drag and drop is unavailable (tkdnd did not load)", exc_info=True)
        return root, False
    return root, True


def apply_style(root: tk.Tk) -> None:
    """The "clam" theme with readable fonts and one padding scale."""
    style = ttk.Style(root)
    style.theme_use("clam")
    for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkHeadingFont"):
        font.nametofont(name, root).configure(size=10)
    font.nametofont("TkHeadingFont", root).configure(weight="bold")
    font.nametofont("TkSmallCaptionFont", root).configure(size=9)
    base = font.nametofont("TkDefaultFont", root).actual()
    root.option_add("*Menu.font", "TkMenuFont")
    style.configure(".", padding=0)
    style.configure("TButton", padding=(10, 4))
    style.configure("Treeview", rowheight=24)
    style.configure("Treeview.Heading", font="TkHeadingFont", padding=(6, 4))
    style.configure("Banner.TFrame", background=BANNER_BG)
    style.configure(
        "Banner.TLabel", background=BANNER_BG, foreground="#6A3000",
        font=(base["family"], 10, "bold"),
    )
    style.configure("Panel.TFrame", background=PANEL_BG)
    style.configure("Panel.TLabel", background=PANEL_BG)
    style.configure("Panel.TCheckbutton", background=PANEL_BG)
    style.configure("File.Panel.TLabel", font=(base["family"], 11, "bold"))
    style.configure("Verdict.Panel.TLabel", font=(base["family"], 20, "bold"))
    style.configure("Scope.Panel.TLabel", font=(base["family"], 10, "bold"))
    style.configure("Small.Panel.TLabel", foreground=TEXT_GREY, font="TkSmallCaptionFont")
    style.configure("Small.TLabel", foreground=TEXT_GREY, font="TkSmallCaptionFont")
    style.configure("Note.TLabel", font="TkSmallCaptionFont")  # small, but black: who decides
    style.configure("Refer.Verdict.Panel.TLabel", font=(base["family"], 12, "bold"))
    style.configure("Status.TLabel", padding=(4, 2))
    style.configure("Info.Toolbutton", font=(base["family"], 10, "bold"), padding=(0, 2))


def set_icon(root: tk.Tk) -> tk.PhotoImage | None:
    """The window's icon (keep the image returned: Tk drops it when Python does)."""
    path = asset_path("icon.png")
    try:
        icon = tk.PhotoImage(master=root, file=str(path))
        root.iconphoto(True, icon)
    except tk.TclError:
        log.warning("Window icon %s could not be loaded", path, exc_info=True)
        return None
    return icon


# The dialogs Tk makes once and keeps (file open/save, choose folder).
_KEPT_TK_DIALOGS = ("__tk_filedialog", "__tk_choosedir")


def tk_dialogs_language(root: tk.Tk, code: str) -> None:
    """Tk's own dialogs (open, save, folder) speak the app's language: Tk ships es/pt.

    Tk keeps a file dialog once made and re-words only part of it when it is shown again
    ("Directory:" and "Files of type:" stayed English beside "Nombre de archivo:"), so a switch
    drops the kept ones: the next is made whole in the new language."""
    try:
        root.tk.call("namespace", "eval", "::tk", f"::msgcat::mclocale {code.lower()}")
        root.tk.call("namespace", "eval", "::tk",
                     "::msgcat::mcload [file join $::tk_library msgs]")
        parents = ["", *root.tk.splitlist(root.tk.call("winfo", "children", "."))]
        for parent in parents:
            for name in _KEPT_TK_DIALOGS:
                path = f"{parent}.{name}"
                if root.tk.getboolean(root.tk.call("winfo", "exists", path)):
                    root.tk.call("destroy", path)
    except tk.TclError:
        log.warning("Tk's dialogs stay in their default language", exc_info=True)
