"""The case history served to a window without Tk: typed requests answered in order on one
thread (pages, confirmations, deletions, exports), failures said in the user's words, and a
history found damaged in use kept aside and begun anew. A real SQLite file, a real thread."""

from __future__ import annotations

import csv
import queue

from desktop.cases.history_service import (
    PAGE,
    Answered,
    BeginAnew,
    Confirm,
    Delete,
    DeleteMatching,
    Export,
    Failed,
    HistoryService,
    Notice,
    Page,
    Rows,
    Unavailable,
)
from desktop.cases.store import Filters, HistoryStore, quick_check
from tests.desktop.cases.test_store import damaged_history, newer_history, record


def replies_of(service_path):
    replies: queue.Queue = queue.Queue()
    return HistoryService(service_path, replies.put).start(), replies


def next_reply(replies: queue.Queue, kind=object):
    """The next reply of type ``kind`` (others, e.g. notices, skipped), within 30 s."""
    while True:
        reply = replies.get(timeout=30)
        if isinstance(reply, kind):
            return reply


def test_pages_writes_and_exports_are_answered_in_order(tmp_path):
    path = tmp_path / "h.db"
    store = HistoryStore.open(path)
    for i in range(PAGE + 5):
        store.record(record(sha=f"{i:064d}", name=f"{i}.png", created=f"2026-12-01T00:{i // 60:02d}"
                            f":{i % 60:02d}Z"))
    store.close()
    service, replies = replies_of(path)
    service.ask(Page(Filters()), generation=1)
    first = next_reply(replies, Answered)
    assert first.generation == 1 and isinstance(first.value, Rows)
    assert (first.value.offset, first.value.total, len(first.value.rows)) == (0, PAGE + 5, PAGE)
    service.ask(Page(Filters(), PAGE), generation=1)
    second = next_reply(replies, Answered).value
    assert (second.total, len(second.rows)) == (None, 5)  # the count only with the first page

    newest = first.value.rows[0]
    service.ask(Confirm((newest.case_id,), "PNEUMONIA", "culture", "Ana", "seen twice"))
    assert next_reply(replies, Answered).value == 1  # one case changed
    out = tmp_path / "out.csv"
    service.ask(Export(Filters(confirmed=True), out))
    exported = next_reply(replies, Answered).value
    assert (exported.count, exported.path) == (1, out)
    with open(out, newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["confirmed"], row["confirmed_how"], row["confirmed_by"], row["note"]) == (
        "PNEUMONIA", "culture", "Ana", "seen twice")

    service.ask(Delete((newest.case_id,)))
    assert next_reply(replies, Answered).value == 1
    service.ask(DeleteMatching(Filters(search="1")))
    forgotten = next_reply(replies, Answered).value
    service.ask(Page(Filters()))
    left = next_reply(replies, Answered).value
    assert forgotten > 0 and left.total == PAGE + 5 - 1 - forgotten
    assert not [r for r in left.rows if "1" in r.file_name]
    service.stop()


def test_a_file_that_is_not_a_history_is_unavailable_and_left_untouched(tmp_path):
    notes = tmp_path / "notes.db"
    notes.write_text("my notes")
    service, replies = replies_of(notes)
    assert isinstance(next_reply(replies), Unavailable)
    assert notes.read_text() == "my notes"


def test_a_failed_write_says_why_and_the_service_goes_on(tmp_path):
    service, replies = replies_of(tmp_path / "h.db")
    service.ask(Export(Filters(), tmp_path / "no such folder" / "out.csv"))
    failed = next_reply(replies)
    assert isinstance(failed, Failed) and isinstance(failed.request, Export)
    service.ask(Page(Filters()))
    assert next_reply(replies, Answered).value.total == 0
    service.stop()


def test_damage_found_by_the_check_keeps_the_file_and_begins_anew(tmp_path):
    path = tmp_path / "h.db"
    damaged_history(path)
    assert quick_check(path) not in (None, "ok")
    service, replies = replies_of(path)
    service.ask(Page(Filters()))  # answered, then the file is checked off the serving thread
    begun = next_reply(replies, Answered)
    while not isinstance(begun.request, BeginAnew):
        begun = next_reply(replies, Answered)
    assert "damaged" in begun.value.user_message()
    assert len(list(tmp_path.glob("h.damaged-*.db"))) == 1
    service.ask(Page(Filters()))
    assert next_reply(replies, Answered).value.total == 0
    service.stop()
    assert quick_check(path) == "ok"


def test_what_opening_had_to_say_is_told_first(tmp_path):
    """A history from a newer version: the notice first, then its rows, read-only."""
    path = tmp_path / "h.db"
    newer_history(path)
    service, replies = replies_of(path)
    service.ask(Page(Filters()))
    notice = replies.get(timeout=30)
    assert isinstance(notice, Notice) and "newer version" in notice.sentence.user_message()
    assert next_reply(replies, Answered).value.total == 1
    service.ask(Delete((1,)))
    refused = next_reply(replies)
    assert isinstance(refused, Failed) and refused.error is None  # logged; nothing deleted
    service.stop()
