"""The window's sending thread (``desktop.network.background``) without a window: it makes no
outbox where nothing was ever queued, writes the SRs of the results it is asked to send, says
which files have no study, and keeps what the archive cannot take, trying again when asked."""

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
