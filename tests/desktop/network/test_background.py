"""The window's sending thread (``desktop.network.background``) without a window: it makes no
outbox where nothing was ever queued, writes the SRs of the results it is asked to send (and the
picture and PDF beside them when asked), says which files have no study, and keeps what the
archive cannot take, trying again when asked."""

from __future__ import annotations

import queue
import time

from desktop.network.background import BackgroundSender, SendRequest
from desktop.network.outbox import Outbox
from tests.support.dicom_scenarios import source_image
from tests.support.report_fixtures import CARD, SHA, classified, session, write_xray

NOBODY = "ARCHIVE@127.0.0.1:9"  # the discard port: no DICOM archive answers there


def test_with_nothing_queued_no_outbox_is_made(tmp_path):
    database = tmp_path / "data" / "outbox.db"
    sender = BackgroundSender(lambda done: None, database)
    sender.start()
    deadline = time.monotonic() + 60
    while sender.rounds == 0 and time.monotonic() < deadline:  # its first look, then it sleeps
        time.sleep(0.01)
    sender.stop(timeout=30)
    assert sender.rounds >= 1
    assert not database.exists() and not (tmp_path / "data").exists()


def test_results_asked_for_are_queued_the_plain_image_said_and_the_rest_waits(tmp_path):
    rounds: queue.Queue = queue.Queue()
    database = tmp_path / "data" / "outbox.db"
    sender = BackgroundSender(rounds.put, database)
    s = session()
    dicom = classified(s, source_image(tmp_path), 0.7)
    plain = classified(s, write_xray(tmp_path / "plain.png"), 0.2)
    sender.start()
    try:
        sender.send(SendRequest([(dicom, s.row(dicom)), (plain, s.row(plain))], CARD, SHA,
                                "balanced", NOBODY, "CLINIC7"))
        done = rounds.get(timeout=60)
        assert done.asked and done.queued == 1
        [said] = done.no_study
        assert said.user_message().startswith("plain.png is not a DICOM image")
        assert len(done.delivery.waiting) == 1 and not done.delivery.stored
        assert "could not be reached" in str(done.delivery.reasons[0])
        assert done.counts == {"pending": 1, "sent": 0, "failed": 0}
        sender.retry_now()  # "Retry now": tried again at once, not after the back-off
        again = rounds.get(timeout=60)
        assert again.asked and len(again.delivery.waiting) == 1
    finally:
        sender.stop(timeout=30)
    with Outbox(database) as outbox:
        [item] = outbox.items()
    assert (item.state, item.attempts, item.calling_aet, item.source) == (
        "pending", 2, "CLINIC7", str(dicom.path))


def test_the_picture_and_pdf_go_beside_the_sr_made_on_the_thread_without_heat_when_withheld(
        tmp_path):
    """A request whose results carry a ``Beside`` (the window's two boxes): each SR, its
    Secondary Capture and its Encapsulated PDF in the outbox, in the source's Study; the
    heatmap made on the sending thread for the result with a verdict, none for the withheld
    one (its picture grey, its PDF without Grad-CAM); a file changed since it was classified
    keeps its SR and says why its picture and PDF were not sent."""
    import threading

    import numpy as np
    import pydicom

    from desktop.engine.scope import NOT_CHEST_XRAY, R_COLOUR, Reason, Scope
    from desktop.network.background import Beside
    from desktop.reports.dicom_pdf import pdf_content
    from tests.desktop.reports.test_dicom_pdf import pdf_text
    from tests.desktop.reports.test_dicom_sc import hot_corner
    from tests.desktop.reports.test_dicom_sr import SOURCE, write_source

    explained: list[str] = []

    def explain(model_input):
        explained.append(threading.current_thread().name)
        return hot_corner()

    rounds: queue.Queue = queue.Queue()
    database = tmp_path / "data" / "outbox.db"
    sender = BackgroundSender(rounds.put, database)
    s = session()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    seen = classified(s, write_source(tmp_path / "a" / "seen.dcm"), 0.8)
    withheld = classified(s, write_source(tmp_path / "b" / "photo.dcm"), 0.8,
                          scope=Scope(NOT_CHEST_XRAY, Reason(R_COLOUR)))
    changed = classified(s, write_source(tmp_path / "c" / "changed.dcm"), 0.8)
    write_source(changed.path, seed=5)  # another image under the same name since
    items = [(r, s.row(r), Beside(explain, picture=True, report=pdf_content(r, s, CARD, SHA)))
             for r in (seen, withheld, changed)]
    sender.start()
    try:
        sender.send(SendRequest(items, CARD, SHA, "balanced", NOBODY, "CLINIC7"))
        done = rounds.get(timeout=120)
    finally:
        sender.stop(timeout=30)
    assert done.queued == 7 and explained == ["cxr-dicom-send"]  # once, on the sending thread
    [said] = done.not_beside
    assert said.user_message() == (
        "The report picture and PDF of changed.dcm were not sent (its result was): This file "
        "has changed since it was classified. Open it again to classify it anew.")
    with Outbox(database) as outbox:
        by_source: dict = {}
        for item in outbox.items():
            by_source.setdefault(item.source, {})[item.sop_class] = pydicom.dcmread(item.file)
    sr, sc, pdf = ("1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.7",
                   "1.2.840.10008.5.1.4.1.1.104.1")
    assert set(by_source[str(changed.path)]) == {sr}
    for result in (seen, withheld):
        objects = by_source[str(result.path)]
        assert set(objects) == {sr, sc, pdf}
        assert {o.StudyInstanceUID for o in objects.values()} == {SOURCE["StudyInstanceUID"]}

    def colour(ds) -> float:
        pixels = ds.pixel_array.astype(int)
        return float(np.abs(pixels[..., 0] - pixels[..., 2]).mean())

    def text(ds) -> str:
        return pdf_text(bytes(ds.EncapsulatedDocument)[:ds.EncapsulatedDocumentLength])

    assert colour(by_source[str(seen.path)][sc]) > 5 and "Grad-CAM" in text(
        by_source[str(seen.path)][pdf])
    assert colour(by_source[str(withheld.path)][sc]) < 1 and "Grad-CAM" not in text(
        by_source[str(withheld.path)][pdf])
