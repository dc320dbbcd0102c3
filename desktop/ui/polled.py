"""A window fed by a thread of its own: replies go into a queue, and ``handle`` gets each on the
Tk thread, drained every ``POLL_MS`` (Tk is touched only from its own thread)."""

from __future__ import annotations

import queue
import tkinter as tk
from collections.abc import Callable

from desktop.ui.style import min_size, screen_room
from desktop.ui.texts import Texts

POLL_MS = 40


class Polled:
    """Mix into a ``tk.Toplevel``: ``open_over`` first, ``start_polling()`` once built,
    ``stop_polling()`` on close, ``handle(reply)`` for each reply a thread ``put`` into
    ``self.replies``. Texts go through ``self.texts`` (and ``say``), so the window follows a
    language switch while it is open."""

    def open_over(self, context, title: str, size: tuple[int, int],
                  minimum: tuple[int, int]) -> None:
        """A window of its own over the main window (``context.root``; ``context``, a
        ``desktop.ui.cases_context.CasesContext``, is all it may use of the main window),
        titled ``title`` (a msgid), first ``size`` and never smaller than ``minimum`` (both
        within the screen's room): a window opened before it is mapped has no height of its
        own yet, and without a minimum a window manager restores a maximised one to whatever
        that was (one pixel)."""
        super().__init__(context.root)
        self.context = context
        self.texts = Texts()
        self.texts.title(self, title)
        self.texts.follow_language(self)
        room = screen_room(self)
        self._size = (min(size[0], room[0]), min(size[1], room[1]))
        self.minsize(*min_size(self, minimum))
        self.geometry("{}x{}".format(*self._size))
        self.transient(context.root)
        # registered first, so it runs first on a switch: it waits for the other texts
        self.texts.call(self, lambda: self.after_idle(self.fit_width))

    def fit_width(self) -> None:
        """At least as wide as the texts need in the current language (up to the screen): a
        longer translation widens the window instead of cutting its last button."""
        try:
            self.update_idletasks()
            need = min(self.winfo_reqwidth(), screen_room(self)[0])
            # Not mapped yet, the window is 1x1: its size is the one asked for at opening.
            mapped = self.winfo_ismapped() and self.winfo_height() > 1
            width, height = (self.winfo_width(), self.winfo_height()) if mapped else self._size
            if width < need:
                self.geometry(f"{need}x{height}")
        except tk.TclError:  # closed meanwhile
            pass

    def say(self, label, text: Callable[[], str]) -> None:
        """``label`` shows ``text()`` now, and ``text()`` again after a language switch."""
        self.texts.forget(label)
        self.texts.call(label, lambda: label.configure(text=text()))

    def start_polling(self) -> None:
        self.replies: queue.Queue = queue.Queue()
        self._poll_id = self.after(POLL_MS, self._poll)

    def _poll(self) -> None:
        try:
            while True:
                self.handle(self.replies.get_nowait())
        except queue.Empty:
            pass
        self._poll_id = self.after(POLL_MS, self._poll)

    def handle(self, reply) -> None:  # pragma: no cover - every view has its own
        raise NotImplementedError

    def stop_polling(self) -> None:
        self.after_cancel(self._poll_id)
