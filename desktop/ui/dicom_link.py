"""The window's link to the DICOM archive: the outbox kept moving while the window is open, and
Cases → "Send this result / all DICOM results to the archive", and each DICOM result sent as it
is classified when the user asked for that; with each SR, when the DICOM dialog's boxes ask,
the report picture (Secondary Capture) and the PDF report (Encapsulated PDF), made as
``predict --picture --pdf`` makes them (``desktop.network.background.queue_beside``).

One ``BackgroundSender`` thread (``desktop.network.background``, no Tk) retries what waits on its
back-off schedule and sends what the user asks; each round it did comes back on a queue that
the Tk thread drains every ``POLL_MS`` (as ``desktop.ui.polled``): the status line says what was
sent, what waits and why, and the outbox view, when open, is read again. ``desktop.ui.app``
holds one ``DicomLink``.
"""

from __future__ import annotations

import logging
import queue

from desktop.errors import N_, Sentence
from desktop.i18n import _
from desktop.network.background import BackgroundSender, Beside, Round, SendRequest
from desktop.network.destination import DEFAULT_CALLING_AET, Destination
from desktop.network.sender import NO_STUDIES, REFUSED_COUNT, SENT_COUNT
from desktop.network.tls import TlsFileError, TlsFiles
from desktop.reports.dicom_sr import NO_RESULT, NoStudy

log = logging.getLogger(__name__)

POLL_MS = 100
NO_ARCHIVE = N_("No archive is saved: enter it in Cases → DICOM archive and outbox…, then send "
                "again.")
NO_DICOM = N_("No DICOM image is listed: plain images (JPEG, PNG) belong to no study, so there "
              "is nothing to send.")
NO_SELECTION = N_("Select a result first, then send it.")
SENDING = N_("Sending results to {archive}: {count}…")
NOTHING = N_("Nothing to send: no result waits in the outbox.")
WAITING = N_("Results waiting in the outbox, sent again by themselves while the window is open "
             "(Cases → DICOM archive and outbox… lists them): {count}.")


class DicomLink:
    def __init__(self, app) -> None:
        self.app = app
        self.replies: queue.Queue[Round] = queue.Queue()
        self.sender = BackgroundSender(self.replies.put)
        self.sender.start()
        self._poll_id = app.root.after(POLL_MS, self._poll)

    # --- the commands ---------------------------------------------------------------------

    def send_selected(self) -> None:
        result = self.app.state.selected
        if result is None:
            self.app.state.say(lambda: _(NO_SELECTION))
            return
        self._send([result])

    def send_all(self) -> None:
        results = [r for r in (self.app.session.results[k] for k in self.app.state.order)
                   if r.ok and r.source.get("format") == "DICOM"]
        if not results:
            self.app.state.say(lambda: _(NO_DICOM))
            return
        self._send(results)

    def _send(self, results: list) -> None:
        state = self.app.state
        settings = state.settings
        try:
            archive = Destination.parse(settings.dicom_archive or "")
        except ValueError:
            state.say(lambda: _(NO_ARCHIVE))
            self.app.show_dicom_node()
            return
        try:  # the files are loaded at each try; here only a half-given pair is refused
            tls = TlsFiles.from_fields(settings.dicom_tls_ca, settings.dicom_tls_cert,
                                       settings.dicom_tls_key)
        except TlsFileError as exc:
            state.say(exc.user_message)
            self.app.show_dicom_node()
            return
        if len(results) == 1 and not results[0].ok:  # said here: the thread skips it
            sentence = NoStudy(results[0].path, NO_RESULT)
            state.say(sentence.user_message)
            return
        session = self.app.session
        self.sender.send(SendRequest(
            [(result, session.row(result), self._beside(result)) for result in results],
            state.card or {}, state.model_sha256, session.policy.preset, str(archive),
            settings.dicom_calling_aet or DEFAULT_CALLING_AET, tls))
        state.say(lambda: _(SENDING).format(archive=archive, count=len(results)))

    def classified(self, result) -> None:
        """A result was added to the table (opened or received): its SR queued for the saved
        archive when "Send each DICOM result … as it is classified" is on, or, for a received
        image, "Send each result back to the archive". Plain images and results without a
        probability are passed over silently (the manual send says why); so is everything
        while no archive is saved. The status line then says what was sent or refused, as for
        the back-off's rounds, not each wait (the outbox view lists them)."""
        settings = self.app.state.settings
        if not (settings.dicom_auto_send
                or (settings.dicom_send_back and self.app.state.was_received(result))):
            return
        if not result.ok or (result.source or {}).get("format") != "DICOM":
            return
        try:
            archive = Destination.parse(settings.dicom_archive or "")
            tls = TlsFiles.from_fields(settings.dicom_tls_ca, settings.dicom_tls_cert,
                                       settings.dicom_tls_key)
        except (ValueError, TlsFileError):  # the dialog saves neither; a hand-edited file
            log.info("Not sent as classified: the saved archive or TLS files are incomplete")
            return
        state, session = self.app.state, self.app.session
        self.sender.send(SendRequest(
            [(result, session.row(result), self._beside(result))], state.card or {},
            state.model_sha256, session.policy.preset, str(archive),
            settings.dicom_calling_aet or DEFAULT_CALLING_AET, tls, asked=False))

    def _beside(self, result) -> Beside | None:
        """What goes beside ``result``'s SR, as the DICOM dialog's two boxes say
        (``Settings.dicom_send_picture``, ``dicom_send_pdf``): the PDF's words taken here, with
        the row, in the language shown and with the patient's name and ID only when View → Show
        patient identifiers is on (as File → Save report…); the file read again, its heatmap
        and the PDF's layout on the sending thread. None when neither is asked, or for a result
        without a probability."""
        settings = self.app.state.settings
        engine = getattr(self.app.worker, "engine", None)
        if not (settings.dicom_send_picture or settings.dicom_send_pdf) or engine is None \
                or not result.ok:
            return None
        report = None
        if settings.dicom_send_pdf:
            from desktop.reports.dicom_pdf import pdf_content  # reportlab: only when asked

            state = self.app.state
            report = pdf_content(result, self.app.session, state.card or {}, state.model_sha256,
                                 show_identifiers=settings.show_identifiers)
        return Beside(engine.explain, picture=settings.dicom_send_picture, report=report)

    def retry_now(self) -> None:
        """The outbox view's "Retry now": every unsent row, on the sending thread."""
        self.sender.retry_now()

    # --- on the Tk thread -----------------------------------------------------------------

    def _poll(self) -> None:
        try:
            while True:
                self._show(self.replies.get_nowait())
        except queue.Empty:
            pass
        finally:  # a failing round (logged by Tk's handler) never stops the polling
            self._poll_id = self.app.root.after(POLL_MS, self._poll)

    def _show(self, done: Round) -> None:
        view = getattr(self.app, "dicom_view", None)
        if view is not None and view.winfo_exists():
            view.reload(done.delivery.reasons)
        if done.asked or done.delivery.stored or done.delivery.refused:
            self.app.state.say(lambda: words(done))

    def close(self) -> None:
        self.app.root.after_cancel(self._poll_id)
        self.sender.stop(timeout=1.0)


def words(done: Round) -> str:
    """One round in the current language: why some were not sent, what was sent, why the rest
    waits or was refused."""
    delivery = done.delivery
    said: list[str] = []
    if len(done.no_study) == 1:
        said.append(done.no_study[0].user_message())
    elif done.no_study:
        said.append(_(NO_STUDIES).format(count=len(done.no_study)))
    said += [sentence.user_message() for sentence in done.not_beside]
    if delivery.stored:
        said.append(_(SENT_COUNT).format(archive=", ".join(done.stored_to),
                                         count=len(delivery.stored)))
    said += [reason.user_message() for reason in delivery.reasons
             if isinstance(reason, Sentence)]
    if delivery.waiting:
        said.append(_(WAITING).format(count=len(delivery.waiting)))
    if delivery.refused:
        said.append(_(REFUSED_COUNT).format(count=len(delivery.refused)))
    return " ".join(said) or _(NOTHING)
