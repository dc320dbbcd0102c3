"""What a Cases window may use of the main window, and nothing more (issue 30): the model file's
sha256 and card, the loaded engine (handed to ``desktop.cases``' jobs, never run by a window
itself), the site profile in force and the refer band (the profile's or the card's), the
settings read and ``remember``ed (the window's one place that saves them), where a file dialog
starts, showing files in the main window, and the window's Storage SCP (``listening``: its
``apply``, ``running``, ``busy``, ``problem``, ``follow``/``unfollow``).

A Cases window gets a ``CasesContext``, never the ``App``: what it could reach is what is
written here. No Tk (``tests/test_layers.py`` holds it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class CasesContext:
    """Built by the window's ``HistoryLink`` from the main window's parts."""

    def __init__(self, *, root, state, worker, link,
                 open_paths: Callable[[list[str | Path]], object],
                 retry_outbox: Callable[[], object] | None = None, listening=None) -> None:
        self.root = root  # the main window: a Cases window's parent
        self._state, self._worker, self._link, self._open_paths = state, worker, link, open_paths
        self._retry_outbox = retry_outbox
        self.listening = listening  # the window's Storage SCP (``ui.listen_link``), or None

    @classmethod
    def of(cls, app, link) -> CasesContext:
        sending = getattr(app, "dicom_link", None)  # the window's one sending thread
        return cls(root=app.root, state=app.state, worker=app.worker, link=link,
                   open_paths=app.open_paths,
                   retry_outbox=sending.retry_now if sending is not None else None,
                   listening=getattr(app, "listen_link", None))

    def retry_outbox(self) -> None:
        """Every unsent outbox row tried now, by the window's one sending thread."""
        if self._retry_outbox is not None:
            self._retry_outbox()

    # --- the model ------------------------------------------------------------------------

    @property
    def model_ready(self) -> bool:
        return self._state.model_ready

    @property
    def model_sha256(self) -> str:
        return self._state.model_sha256

    @property
    def card(self) -> dict | None:
        return self._state.card

    def engine(self):
        """The window's loaded engine (None until it is), to hand to a job in ``cases/``."""
        return self._worker.engine

    # --- the site profile -----------------------------------------------------------------

    @property
    def site(self):
        """The session's site calibration in force (None: the model's own)."""
        return self._state.session.site

    @property
    def profile(self):
        """The site profile in force (None: none)."""
        return self._link.profile

    @property
    def refer_band(self):
        """The refer band a Cases window compares the history with
        (``desktop.referband.ReferBand``): the site profile's in force where it has one, else
        the model card's; None: neither has one. Whether the user turned the band off for now
        does not matter: the history's referrals were made by it."""
        band = getattr(self.site, "band", None)
        return band if band is not None else self._state.session.policy.card_band

    def apply_profile(self, path: str | Path | None) -> None:
        """Put the profile at ``path`` in force in the main window (as at start)."""
        self._link.apply_profile(path)

    # --- settings and files ---------------------------------------------------------------

    @property
    def settings(self):
        """The settings, to read; change them with ``remember``."""
        return self._state.settings

    def remember(self, **values) -> None:
        """Set settings and save them (``WindowState.remember``)."""
        self._state.remember(**values)

    def initial_dir(self, beside: Path | None = None) -> str | None:
        """Where a file dialog starts (``WindowState.initial_dir``)."""
        return self._state.initial_dir(beside)

    def show_file(self, path: Path) -> None:
        """Show ``path`` in the main window (its row selected if listed already, else opened),
        and bring the main window forward."""
        if not self._state.show_listed(path):
            self._open_paths([path])
        self.root.lift()
