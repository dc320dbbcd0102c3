"""The window's Storage SCP: receiving images from the X-ray machine while the window is open.

Off by default. Turned on in Cases → DICOM archive and outbox… (``desktop.ui.receive_group``),
and again at the next start when it was on. The listener (``desktop.network.listener``) is
started and stopped on a thread of its own (opening the port imports pynetdicom; closing it
waits for the server's loop), so the Tk thread never waits on the network; what each start or
stop did comes back on a queue that the Tk thread drains every ``POLL_MS``, as
``desktop.ui.dicom_link`` does. Each image the listener stores is handed over on the
association's thread into another queue; the Tk thread gives what arrived to
``WindowState.receive``, so a received image is classified by the window's own worker, shown in
its table with its session's verdict and recorded once by its ``HistoryLink``, exactly as an
opened file is. The listener itself loads no model and records nothing here.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop.errors import N_, InternalError, Sentence, UserError
from desktop.i18n import _
from desktop.network.listen_config import ListenConfig, from_settings

log = logging.getLogger(__name__)

POLL_MS = 100
ALL_ADDRESSES = ""  # the X-ray machine is another computer: every address of this one listens
LISTENING = N_("Receiving DICOM images as {aet} on port {port} from {allowed}; each is written "
               "to {folder} and classified here.")
STOPPED = N_("No longer receiving DICOM images.")
ABOUT = N_("Receiving DICOM as {aet} on port {port}.")
_CLOSE = object()


@dataclass(frozen=True)
class Change:
    """What a start or stop did, from the control thread: ``running`` is what listens now
    (None: nothing), ``problem`` why the asked start failed."""

    running: ListenConfig | None
    problem: UserError | None = None


class ListenLink:
    """Held by ``desktop.ui.app.App``: ``apply(config)`` (None: stop), ``running``,
    ``follow(callback)`` for the dialog, ``about_lines()``, ``close()``."""

    def __init__(self, app) -> None:
        self.app = app
        self.running: ListenConfig | None = None  # what listens now, as the Tk thread knows it
        self.problem: Sentence | None = None  # why the last start failed (the dialog says it)
        self.outstanding = 0  # starts and stops asked and not yet done
        self._followers: list[Callable[[], None]] = []
        self._commands: queue.Queue = queue.Queue()
        self._changes: queue.Queue[Change] = queue.Queue()
        self._arrived: queue.Queue[tuple[Path, str]] = queue.Queue()
        self._thread = threading.Thread(target=self._control, name="cxr-listen", daemon=True)
        self._thread.start()
        self._poll_id = app.root.after(POLL_MS, self._poll)
        if app.settings.dicom_listen:  # it was on when the window last closed
            saved = from_settings(app.settings)
            if isinstance(saved, ListenConfig):
                self.apply(saved)
            else:  # a hand-edited settings file: said, and listening stays off
                app.state.remember(dicom_listen=False)
                app.state.say(lambda: " ".join(p.user_message() for p in saved))

    @property
    def busy(self) -> bool:
        return self.outstanding > 0

    # --- on the Tk thread -----------------------------------------------------------------

    def apply(self, config: ListenConfig | None) -> None:
        """Listen as ``config`` says (None: stop). A change of ``send_back`` alone restarts
        nothing; anything else stops the running listener and starts the new one. Settings
        are saved when the listener is running (or stopped), never for a start that failed."""
        state = self.app.state
        self.problem = None  # an older failure is not this change's
        if config is None:
            state.remember(dicom_listen=False)
            if self.running is None and not self.busy:
                self._changed()
                return
        elif not self.busy and config.same_listener(self.running):
            self.running = config
            state.remember(dicom_listen=True, **config.settings_values())
            self._changed()
            return
        self.outstanding += 1
        self._commands.put(config)

    def follow(self, callback: Callable[[], None]) -> None:
        """``callback()`` after each change (the dialog's group shows it)."""
        self._followers.append(callback)

    def unfollow(self, callback: Callable[[], None]) -> None:
        if callback in self._followers:
            self._followers.remove(callback)

    def about_lines(self) -> list[str]:
        """The About box's lines: what listens (none when nothing does)."""
        if self.running is None:
            return []
        return [_(ABOUT).format(aet=self.running.aet, port=self.running.port)]

    def _poll(self) -> None:
        try:
            arrived: dict[str, list[Path]] = {}
            while True:
                try:
                    path, sender = self._arrived.get_nowait()
                except queue.Empty:
                    break
                arrived.setdefault(sender, []).append(path)
            for sender, paths in arrived.items():
                self.app.state.receive(paths, sender)
            while True:
                try:
                    self._show(self._changes.get_nowait())
                except queue.Empty:
                    break
        finally:  # a failing change (logged by Tk's handler) never stops the polling
            self._poll_id = self.app.root.after(POLL_MS, self._poll)

    def _show(self, change: Change) -> None:
        self.outstanding -= 1
        state, config = self.app.state, change.running
        was, self.running = self.running, config
        self.problem = change.problem
        if change.problem is not None:
            state.remember(dicom_listen=False)
            state.say(change.problem.user_message)
        elif config is not None:
            if self.outstanding == 0:  # not turned off meanwhile
                state.remember(dicom_listen=True, **config.settings_values())
            state.say(lambda: _(LISTENING).format(
                aet=config.aet, port=config.port, allowed=", ".join(config.allowed),
                folder=config.folder))
        elif was is not None:
            state.say(lambda: _(STOPPED))
        self._changed()

    def _changed(self) -> None:
        for callback in list(self._followers):
            callback()

    def close(self) -> None:
        """Stop listening (the window closes): the port is closed before this returns, or
        after 10 s at most (the thread is a daemon)."""
        self.app.root.after_cancel(self._poll_id)
        self._commands.put(_CLOSE)
        self._thread.join(timeout=10.0)

    # --- on the control thread ------------------------------------------------------------

    def _control(self) -> None:
        listener = None
        while True:
            command = self._commands.get()
            if listener is not None:
                try:
                    listener.stop()
                except Exception:  # noqa: BLE001 - the port is given back by the process' end
                    log.exception("The listener did not stop cleanly")
                listener = None
            if command is _CLOSE:
                return
            if command is None:
                self._changes.put(Change(None))
                continue
            try:
                listener = self._start(command)
            except UserError as exc:
                log.info("Not listening: %s", exc)
                self._changes.put(Change(None, exc))
            except Exception:  # noqa: BLE001 - the window goes on, not listening
                log.exception("The listener could not start")
                self._changes.put(Change(None, InternalError()))
            else:
                self._changes.put(Change(command))

    def _start(self, config: ListenConfig):
        from desktop.network.listener import Listener

        return Listener.start(None, aet=config.aet, allowed=config.allowed,
                              folder=config.folder, port=config.port, bind=ALL_ADDRESSES,
                              received=self._received)

    def _received(self, path: Path, sender: str) -> None:
        """On the association's thread: a stored image, for the Tk thread's next poll."""
        self._arrived.put((path, sender))
