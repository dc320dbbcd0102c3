"""Receiving images: a Storage SCP (off by default) that files and classifies what arrives.

Only the calling AE titles in the allow-list may open an association (any other is rejected:
"calling AE title not recognised"); only radiograph image classes are offered (CR, DX for
presentation and processing, Secondary Capture), so any other SOP class is refused at
negotiation. Each object that arrives is decoded by the app's own reader first: one without
pixels gets A900 (does not match its SOP class), one the reader cannot decode (truncated,
hostile) gets C000 (cannot understand) and is kept nowhere; a full disk gets A700. A good one is
written atomically into the chosen folder (``<SOP Instance UID>.dcm``; a temporary file beside
it, then a rename), answered Success, and queued for one classifying thread that records each
result in the case history, as ``predict`` does. The window classifies what arrives itself
(its worker, its session's threshold and site profile, its own recording), so it starts the
listener with ``received``: each stored file is handed to it (with the calling AE title), and
the listener loads no model and records nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from desktop.atomicio import atomic_write_bytes
from desktop.errors import N_, Sentence, UserError

log = logging.getLogger(__name__)

SUCCESS, OUT_OF_RESOURCES, NOT_MATCHING, CANNOT_UNDERSTAND = 0x0000, 0xA700, 0xA900, 0xC000
BATCH = 64  # files classified together at most (what arrived while the last batch ran)
INCOMING = ".incoming"  # received files are checked here before they enter the folder
_UID = re.compile(r"^[0-9.]{1,64}$")

PORT_IN_USE = N_("Port {port} cannot be opened ({why}): choose another port from 1024 to "
                 "65535, or stop the program that uses it.")
NOT_A_FOLDER = N_("The folder {folder} cannot be written: choose a folder you can write to.")


class ListenError(UserError):
    pass


def image_storage_classes() -> list[str]:
    from pynetdicom.sop_class import (
        ComputedRadiographyImageStorage,
        DigitalXRayImageStorageForPresentation,
        DigitalXRayImageStorageForProcessing,
        SecondaryCaptureImageStorage,
    )

    return [ComputedRadiographyImageStorage, DigitalXRayImageStorageForPresentation,
            DigitalXRayImageStorageForProcessing, SecondaryCaptureImageStorage]


def file_name(sop_uid: str) -> str:
    """``<SOP Instance UID>.dcm`` when the UID is one; a hash of it otherwise (a hostile UID
    never names a path)."""
    if _UID.match(sop_uid):
        return f"{sop_uid}.dcm"
    return hashlib.sha256(sop_uid.encode("utf-8", "replace")).hexdigest()[:32] + ".dcm"


class Listener:
    """A running Storage SCP and its classifying thread; ``stop()`` ends both (what was
    received is classified first)."""

    def __init__(self, engine, folder: Path, *, history: Path | None,
                 report: Callable[[object, object], None],
                 notify: Callable[[Sentence], None],
                 received: Callable[[Path, str], None] | None = None) -> None:
        self.engine, self.folder = engine, folder
        self.history, self.report, self.notify = history, report, notify
        self.received: queue.Queue[Path | None] = queue.Queue()
        # where each stored file goes: the classifying thread's queue, or the caller's hand
        self.hand_off = received or (lambda path, calling: self.received.put(path))
        self.server = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._classify_all, name="cxr-listen-classify",
                                       daemon=True)

    @classmethod
    def start(cls, model: Path | None, *, aet: str, allowed: Sequence[str], folder: Path,
              port: int, bind: str = "127.0.0.1", history: Path | None = None,
              report: Callable[[object, object], None] = lambda session, result: None,
              notify: Callable[[Sentence], None] = lambda sentence: None,
              received: Callable[[Path, str], None] | None = None) -> Listener:
        """Listening on ``bind``:``port`` once it returns; ``ListenError`` (the folder cannot
        be written, the port cannot be opened) otherwise. With ``received`` (called on the
        association's thread with each stored file and the calling AE title) nothing is
        classified here and ``model`` is not loaded."""
        from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt

        from desktop.engine.inference import Engine

        try:
            (folder / INCOMING).mkdir(parents=True, exist_ok=True)
            probe = folder / INCOMING / f".probe-{os.getpid()}-{threading.get_ident()}"
            probe.write_bytes(b"")  # a folder that exists may still refuse files
            probe.unlink()
        except (OSError, ValueError) as exc:
            raise ListenError(NOT_A_FOLDER, folder=str(folder)) from exc
        engine = Engine.load(model) if received is None else None
        listener = cls(engine, folder, history=history, report=report, notify=notify,
                       received=received)
        ae = AE(ae_title=aet)
        ae.require_calling_aet = list(allowed)
        ae.require_called_aet = True
        for sop_class in image_storage_classes():
            ae.add_supported_context(sop_class, ALL_TRANSFER_SYNTAXES)
        try:
            listener.server = ae.start_server(
                (bind, port), block=False, evt_handlers=[(evt.EVT_C_STORE, listener.on_store)])
        except OSError as exc:
            raise ListenError(PORT_IN_USE, port=port, why=exc.strerror or str(exc)) from exc
        if received is None:
            listener.thread.start()
        return listener

    def on_store(self, event) -> int:
        """One C-STORE: checked, written atomically, queued for classifying; its status."""
        from desktop.reading.imaging import read_image

        try:
            calling = str(event.assoc.requestor.ae_title).strip()
            dataset = event.dataset
            sop_uid = str(dataset.SOPInstanceUID)
            has_pixels = "PixelData" in dataset
            data = event.encoded_dataset(include_meta=True)
        except Exception:  # noqa: BLE001 - whatever a hostile peer sends: one status, logged
            log.exception("A received object could not be decoded")
            return CANNOT_UNDERSTAND
        if not has_pixels:
            log.info("Refused %s: no pixel data", sop_uid)
            return NOT_MATCHING
        name = file_name(sop_uid)
        checking = self.folder / INCOMING / name
        try:
            atomic_write_bytes(checking, data)
        except OSError:
            log.exception("Cannot write %s", checking)
            return OUT_OF_RESOURCES
        try:
            read_image(checking, preview_size=None)
        except UserError as exc:
            log.info("Refused %s: %s", sop_uid, exc)
            checking.unlink(missing_ok=True)
            return CANNOT_UNDERSTAND
        except Exception:  # noqa: BLE001
            log.exception("Refused %s: the reader failed", sop_uid)
            checking.unlink(missing_ok=True)
            return CANNOT_UNDERSTAND
        final = self.folder / name
        os.replace(checking, final)  # same folder tree: atomic
        try:
            self.hand_off(final, calling)
        except Exception:  # noqa: BLE001 - stored all the same: the file is in the folder
            log.exception("The received %s could not be handed on", final)
        return SUCCESS

    def _classify_all(self) -> None:
        from desktop.cases.recorder import Recorder, classified_rows
        from desktop.engine.session import Session
        from desktop.engine.threshold import ThresholdPolicy

        session = Session(ThresholdPolicy.from_card(self.engine.metadata))
        recorder = Recorder(self.history, notify=self.notify)
        version = self.engine.metadata.get("model_version")
        try:
            while (batch := self._next_batch()):
                try:
                    for _, result in classified_rows(self.engine, batch, session, recorder,
                                                     model_version=version,
                                                     origin="dicom-listen"):
                        self.report(session, result)
                except Exception:  # noqa: BLE001 - the listener keeps running
                    log.exception("Cannot classify the received %s", batch)
        finally:
            recorder.close()

    def _next_batch(self) -> list[Path]:
        """The next file received, with every other one already waiting (up to ``BATCH``):
        a burst from a modality is classified in batches on the engine's lanes. Empty once
        ``stop()`` asked to end."""
        batch: list[Path] = []
        path = self.received.get()
        while path is not None:
            batch.append(path)
            if len(batch) >= BATCH:
                return batch
            try:
                path = self.received.get_nowait()
            except queue.Empty:
                return batch
        self.received.put(None)  # the end, seen again by the next call
        return batch

    def wait(self) -> None:
        """Until ``stop()`` (or Ctrl+C in the caller)."""
        while not self.stopped.wait(0.5):
            pass

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None
        if self.thread.is_alive():
            self.received.put(None)
            self.thread.join(timeout=60)
        self.stopped.set()
