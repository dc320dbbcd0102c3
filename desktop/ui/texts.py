"""The window's words follow the language: ``Texts`` remembers which widget shows which msgid,
so one call to ``Texts.relabel()`` re-labels everything after a language switch.

Every window (the main one, a dialog, a Cases window) registers its texts here as it builds
them, and a widget that goes away is forgotten, so a switch never touches a closed window.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from desktop import i18n
from desktop.errors import Sentence
from desktop.i18n import _


class Texts:
    """Which widget shows which msgid; ``relabel()`` re-translates them all at once."""

    def __init__(self) -> None:
        self._setters: list[tuple[object, Callable[[], None]]] = []

    def _add(self, owner: object, setter: Callable[[], None]) -> None:
        self._setters.append((owner, setter))
        setter()

    def widget(self, widget: tk.Misc, msgid: str, option: str = "text", **params: object):
        """``widget[option]`` shows ``_(msgid).format(**params)`` (a ``Sentence`` parameter, such
        as a class's name, in the language shown); returns the widget."""
        text = Sentence(msgid, **params)
        self._add(widget, lambda: widget.configure({option: text.user_message()}))
        return widget

    def menu(self, menu: tk.Menu, index: int, msgid: str) -> None:
        self._add(menu, lambda: menu.entryconfigure(index, label=_(msgid)))

    def heading(self, tree: ttk.Treeview, column: str, msgid: str, **params: object) -> None:
        text = Sentence(msgid, **params)
        self._add(tree, lambda: tree.heading(column, text=text.user_message()))

    def title(self, window: tk.Wm, msgid: str) -> None:
        self._add(window, lambda: window.title(_(msgid)))

    def choices(self, box: ttk.Combobox, msgids: list[str]) -> None:
        """A read-only combobox's options; the one chosen stays chosen in the new language."""

        def setter() -> None:
            chosen = box.current()
            box.configure(values=[_(msgid) for msgid in msgids])
            if chosen >= 0:
                box.current(chosen)

        self._add(box, setter)

    def call(self, owner: object, refresh: Callable[[], None]) -> None:
        """Any other text: ``refresh()`` rebuilds it in the current language."""
        self._add(owner, refresh)

    def forget(self, owner: object) -> None:
        """Drop the entries of a widget that is going away (a closed dialog)."""
        self._setters = [(o, s) for o, s in self._setters if o is not owner]

    def follow_language(self, window: tk.Misc) -> None:
        """Relabel after every language switch while ``window`` is open (a window of its own:
        the main window's listener does not reach it). However the window goes away, its
        listener goes with it, so a closed window's texts are never touched."""

        def changed(_code: str) -> None:
            self.relabel()

        def destroyed(event: tk.Event) -> None:
            if event.widget is window:
                i18n.remove_listener(changed)

        i18n.add_listener(changed)
        window.bind("<Destroy>", destroyed, add="+")

    def relabel(self) -> None:
        """Every text again. A refresh may say a text anew (``forget`` then register): what it
        registers stands, and what it forgot is not set again on the way."""
        for entry in list(self._setters):
            if entry not in self._setters:
                continue
            try:
                entry[1]()
            except tk.TclError:  # destroyed widget: forget it
                self._setters = [e for e in self._setters if e is not entry]
