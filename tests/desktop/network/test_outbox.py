"""The outbox (``desktop.network.outbox``): what is queued is on disk before any attempt, once
per SOP Instance UID, and waits longer after each failure."""

from __future__ import annotations

import sqlite3

from desktop.network.outbox import FAILED, PENDING, SENT, Outbox, backoff
from desktop.network.sender import deliver
from tests.support.dicom_scenarios import some_srs

UNREACHABLE = "ARCHIVE@127.0.0.1:9"  # the discard port: nobody answers DICOM there


def test_the_back_off_doubles_from_30_seconds_to_at_most_an_hour():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(8) == backoff(50) == 3600


def test_a_result_is_on_disk_with_its_row_before_the_first_attempt_and_only_once(tmp_path):
    sr = some_srs(tmp_path, 1)[0]
    with Outbox(tmp_path / "data" / "outbox.db") as outbox:
        item = outbox.add(sr, UNREACHABLE, "CXRNODE", "image.dcm")
        again = outbox.add(sr, UNREACHABLE, "CXRNODE", "image.dcm")
        assert again == item and item.state == PENDING and item.attempts == 0
    # another process (a fresh connection) sees the committed row and the file
    rows = sqlite3.connect(tmp_path / "data" / "outbox.db").execute(
        "SELECT sop_uid, state FROM outbox").fetchall()
    assert rows == [(str(sr.SOPInstanceUID), PENDING)]
    assert item.file.is_file() and item.file.parent == tmp_path / "data" / "outbox"


def test_an_unreachable_archive_leaves_the_row_pending_with_the_reason_and_a_later_try(
        tmp_path):
    with Outbox(tmp_path / "outbox.db") as outbox:
        item = outbox.add(some_srs(tmp_path, 1)[0], UNREACHABLE, "CXRNODE")
        done = deliver(outbox, now=1000.0)
        after = outbox.item(item.sop_uid)
        assert done.waiting == [item.sop_uid] and after.state == PENDING
        assert after.attempts == 1 and after.next_attempt == 1030.0
        assert "could not be reached" in after.reason
        assert outbox.due(now=1029.0) == [] and len(outbox.due(now=1030.0)) == 1
        deliver(outbox, now=1030.0)
        assert outbox.item(item.sop_uid).next_attempt == 1090.0  # 60 s after the second


def test_retry_makes_failed_rows_due_and_purge_forgets_only_what_was_sent(tmp_path):
    with Outbox(tmp_path / "outbox.db") as outbox:
        first, second, third = (outbox.add(sr, UNREACHABLE, "CXRNODE")
                                for sr in some_srs(tmp_path, 3))
        outbox.mark_failed([first.sop_uid], "refused")
        outbox.mark_sent(second.sop_uid)
        outbox.mark_retry([third.sop_uid], "busy", now=0.0)
        assert outbox.counts() == {PENDING: 1, SENT: 1, FAILED: 1}
        assert outbox.retry_now() == 2
        assert {item.sop_uid for item in outbox.due(now=0.0)} == {first.sop_uid, third.sop_uid}
        assert outbox.purge_sent() == 1 and not second.file.exists()
        assert outbox.item(second.sop_uid) is None and first.file.exists()


def test_the_reason_a_result_waits_is_said_in_the_users_language(tmp_path):
    from desktop import i18n

    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.add(some_srs(tmp_path, 1)[0], UNREACHABLE, "CXRNODE")
        reason = deliver(outbox).reasons[0]
    try:
        i18n.set_language("pt_BR")
        assert reason.user_message().startswith(
            "Não foi possível contatar o arquivo ARCHIVE em 127.0.0.1:9")
        i18n.set_language("es")
        assert reason.user_message().startswith("No se pudo contactar con el archivo ARCHIVE")
    finally:
        i18n.set_language("en")
