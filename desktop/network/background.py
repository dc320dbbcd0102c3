"""Sending while the window is open: one daemon thread that keeps the outbox moving.

The outbox's rows wait for their back-off (``desktop.network.outbox.backoff``: 30 s doubling to
an hour); this thread sleeps until the earliest one is due (or ``RECHECK_S``, so rows another
process added are seen too), sends what is due, and sleeps again. Asked to send results (the
window's "Send … to the archive"), it writes their SRs into the outbox (and, when asked, the
report picture and PDF beside each: ``queue_beside``, as the command line makes them) and sends
at once; asked to retry (the outbox view's "Retry now"), it makes every unsent row due and
sends. Nothing here touches Tk: what each round did is handed to ``post`` (the window puts it
on a queue its Tk thread drains). One thread sends, so a row is never sent twice at once from
this process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.errors import N_, Sentence, UserError
from desktop.network.outbox import DB_FILE, Outbox
from desktop.network.sender import Delivery, deliver
from desktop.network.tls import TlsFiles

log = logging.getLogger(__name__)

RECHECK_S = 60.0  # the longest sleep: rows added by ``dicom send`` meanwhile are seen by then
PICTURE_SIDE = 1024  # the picture's longest side at most, in both objects (the preview's)
NOT_BESIDE = N_("The report picture and PDF of {name} were not sent (its result was): {reason}")


def queue_report(outbox: Outbox, result, row, metadata: dict, model_sha256: str, *,
                 operating_point: str | None, destination: str, calling_aet: str,
                 tls: TlsFiles | None = None) -> str:
    """``result``'s SR (``row`` its session row) written into ``outbox`` for ``destination``
    (over TLS with ``tls``), before any attempt; its SOP Instance UID. ``NoStudy`` for a plain
    image or a result without a probability: nothing is queued then."""
    from desktop.reports.dicom_sr import structured_report

    sr = structured_report(result, row, metadata, model_sha256, operating_point=operating_point)
    return outbox.add(sr, destination, calling_aet, str(result.path), tls).sop_uid


@dataclass(frozen=True)
class Beside:
    """What goes beside one result's SR, as the user asked (``predict --picture --pdf``, the
    window's two boxes): its report picture as a Secondary Capture (``picture``) and its one-image
    PDF report as an Encapsulated PDF, whose words (``report``:
    ``desktop.reports.dicom_pdf.pdf_content``; None: no PDF) were taken with the result's row.
    ``explain`` makes the heatmap (the engine's Grad-CAM: ``Engine.explain``)."""

    explain: Callable
    picture: bool = False
    report: object | None = None  # a desktop.reports.content.SingleReport without its picture

    @property
    def wanted(self) -> bool:
        return self.picture or self.report is not None


def queue_beside(outbox: Outbox, result, row, metadata: dict, beside: Beside, *,
                 destination: str, calling_aet: str, tls: TlsFiles | None = None) -> list[str]:
    """What ``beside`` asks for ``result`` (``row`` its session row) written into ``outbox``
    for ``destination``, each before any attempt; their SOP Instance UIDs. The one way both the
    command line and the window make them: the file read again once for both (checked against
    its fingerprint: never another image than the one classified), its heatmap made once (none
    where the verdict was withheld). Raises the ``UserError`` of a file that changed or went
    since (nothing of it queued; its SR, queued first, still goes), ``NoStudy`` for a plain
    image."""
    from desktop.engine.results import read_again
    from desktop.engine.session import withheld

    if not beside.wanted:
        return []
    xray = read_again(result.path, result.fingerprint, PICTURE_SIDE)
    heatmap = None if withheld(result) else beside.explain(xray.model_input)
    datasets = []
    if beside.picture:
        from desktop.reports.dicom_sc import secondary_capture

        datasets.append(secondary_capture(result, row, metadata, xray.preview, heatmap))
    if beside.report is not None:
        from desktop.reports.dicom_pdf import encapsulated_report

        datasets.append(encapsulated_report(beside.report, result, xray.preview, heatmap))
    return [outbox.add(dataset, destination, calling_aet, str(result.path), tls).sop_uid
            for dataset in datasets]


@dataclass(frozen=True)
class SendRequest:
    """Results to send (the user asked, or each as it is classified): ``(result, row)`` pairs,
    or ``(result, row, beside)`` with what goes beside its SR (a ``Beside``, or None), and what
    their SRs say of the model and threshold, to ``destination`` (``AET@HOST:PORT``) as
    ``calling_aet``, over TLS with ``tls``."""

    results: Sequence[tuple]
    metadata: dict
    model_sha256: str
    operating_point: str | None
    destination: str
    calling_aet: str
    tls: TlsFiles | None = None
    asked: bool = True  # False: sent as classified (the setting), said like the clock's rounds


@dataclass
class Round:
    """What one round did, for the window: the delivery, the results it queued at the user's
    request and why others were not (plain images), and the outbox's counts after it."""

    delivery: Delivery
    asked: bool  # the user asked for this round (send, retry), not the back-off's clock
    queued: int = 0
    no_study: list[Sentence] = field(default_factory=list)
    # why a result's picture and PDF were not sent (its file changed or went since)
    not_beside: list[Sentence] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    stored_to: list[str] = field(default_factory=list)  # archives that took some: AET@HOST:PORT


class BackgroundSender:
    """The thread; ``start()``, then ``send``/``retry_now``/``wake`` from any thread, ``stop()``
    on closing. ``post(Round)`` is called on the thread."""

    def __init__(self, post: Callable[[Round], None], path: Path | None = None) -> None:
        self.post, self.path = post, path
        self._wake = threading.Condition()
        self._requests: list[SendRequest] = []
        self._retry = False
        self._stopping = False
        self.rounds = 0  # times it looked at the outbox (tests wait on it)
        self._thread = threading.Thread(target=self._run, name="cxr-dicom-send", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self, request: SendRequest) -> None:
        with self._wake:
            self._requests.append(request)
            self._wake.notify()

    def retry_now(self) -> None:
        with self._wake:
            self._retry = True
            self._wake.notify()

    def wake(self) -> None:
        with self._wake:
            self._wake.notify()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the thread to end and wait briefly (a C-STORE under way finishes first; it is a
        daemon, so exit never hangs on an archive that does not answer)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # --- on the thread ---------------------------------------------------------------------

    def _db(self) -> Path:
        from desktop.cases.store import data_dir

        return Path(self.path) if self.path is not None else data_dir() / DB_FILE

    def _run(self) -> None:
        outbox: Outbox | None = None
        try:
            while True:
                with self._wake:
                    if self._stopping:
                        return
                    requests, self._requests = self._requests, []
                    retry, self._retry = self._retry, False
                asked = any(request.asked for request in requests) or retry
                # no outbox yet and nothing asked: nothing to do (and no file made)
                if outbox is None and (requests or retry or self._db().exists()):
                    outbox = Outbox(self.path)
                if outbox is not None:
                    self._round(outbox, requests, retry, asked)
                self.rounds += 1
                self._sleep(outbox)
        except Exception:  # noqa: BLE001 - the window goes on; the outbox keeps the rows
            log.exception("The background sender stopped")
        finally:
            if outbox is not None:
                outbox.close()

    def _round(self, outbox: Outbox, requests: list[SendRequest], retry: bool,
               asked: bool) -> None:
        from desktop.reports.dicom_sr import NoStudy

        done = Round(Delivery(), asked)
        for request in requests:
            for result, row, *more in request.results:
                try:
                    queue_report(outbox, result, row, request.metadata, request.model_sha256,
                                 operating_point=request.operating_point,
                                 destination=request.destination,
                                 calling_aet=request.calling_aet, tls=request.tls)
                    done.queued += 1
                except NoStudy as exc:
                    done.no_study.append(exc)
                    continue
                except (UserError, OSError, ValueError):
                    log.exception("No SR written for %s", getattr(result, "path", result))
                    continue
                beside = more[0] if more else None
                if beside is not None:
                    self._beside(outbox, done, request, result, row, beside)
        if retry:
            outbox.retry_now()
        if outbox.due():
            done.delivery = deliver(outbox)
        delivery = done.delivery
        # every round that tried something is posted: the outbox view lists the tries (the
        # window's status line says only what was asked, sent or refused)
        if asked or delivery.stored or delivery.waiting or delivery.refused:
            done.counts = outbox.counts()
            done.stored_to = sorted({outbox.item(uid).destination for uid in delivery.stored})
            self.post(done)

    @staticmethod
    def _beside(outbox: Outbox, done: Round, request: SendRequest, result, row,
                beside: Beside) -> None:
        """The picture and PDF beside a result's SR (its Grad-CAM and PDF layout here, on this
        thread, never the window's); a file changed or gone since is said in the round."""
        try:
            done.queued += len(queue_beside(
                outbox, result, row, request.metadata, beside,
                destination=request.destination, calling_aet=request.calling_aet,
                tls=request.tls))
        except UserError as exc:
            log.info("No picture or PDF for %s: %s", getattr(result, "path", result), exc)
            done.not_beside.append(Sentence(NOT_BESIDE, name=Path(result.path).name,
                                            reason=exc))
        except (OSError, ValueError):
            log.exception("No picture or PDF written for %s", getattr(result, "path", result))

    def _sleep(self, outbox: Outbox | None) -> None:
        """Until the earliest pending row is due, ``RECHECK_S`` at most, or a request."""
        due = outbox.next_due() if outbox is not None else None
        wait = RECHECK_S if due is None else min(RECHECK_S, max(0.0, due - time.time()))
        with self._wake:
            if not (self._stopping or self._requests or self._retry):
                self._wake.wait(wait)
