"""Teaching mode's summary: reader vs confirmed, model vs confirmed, reader vs model, and the two
confusion tables, over the reads kept apart from the clinic's cases; each image listed."""

import csv
import sqlite3
from pathlib import Path

from desktop.cases.samples import confirmed_samples
from desktop.cases.store import (
    MIGRATIONS,
    CaseRecord,
    Filters,
    HistoryStore,
    TeachingRead,
    _statements,
)
from desktop.cases.teaching import folder_label, summarize, summary_csv_text


def test_the_label_comes_from_the_nearest_labelled_folder():
    assert folder_label(Path("/data/test/PNEUMONIA/person1.jpeg")) == "PNEUMONIA"
    assert folder_label(Path("/data/normal/sub/x.png")) == "NORMAL"
    assert folder_label(Path("/data/misc/x.png")) is None


def read(i: int, verdict, reader: str, confirmed, created: str = "2026-12-01T10:00:00Z"):
    return TeachingRead(sha256=f"{i:064d}", file_name=f"{i}.png", path=f"/class/{i}.png",
                        created=created, reader_read=reader, verdict=verdict, p=0.5,
                        confirmed=confirmed)


def test_the_summary_compares_reader_model_and_confirmed_and_lists_each_image(tmp_path):
    store = HistoryStore.open(tmp_path / "h.db")
    cases = [  # (model verdict, reader's read, confirmed)
        ("PNEUMONIA", "PNEUMONIA", "PNEUMONIA"), ("PNEUMONIA", "NORMAL", "PNEUMONIA"),
        ("NORMAL", "NORMAL", "NORMAL"), ("PNEUMONIA", "NORMAL", "NORMAL"),
        ("NORMAL", "NORMAL", None),
    ]
    for i, (verdict, reader, confirmed) in enumerate(cases):
        store.record_read(read(i, verdict, reader, confirmed, f"2026-12-01T10:0{i}:00Z"))
    summary = summarize(store.teaching_reads())
    assert summary.reads == 5
    assert (summary.reader_vs_confirmed.k, summary.reader_vs_confirmed.n) == (3, 4)
    assert (summary.model_vs_confirmed.k, summary.model_vs_confirmed.n) == (3, 4)
    assert (summary.reader_vs_model.k, summary.reader_vs_model.n) == (3, 5)
    assert summary.reader_table[("PNEUMONIA", "NORMAL")] == 1
    assert summary.model_table[("NORMAL", "PNEUMONIA")] == 1
    text = summary_csv_text(summary)
    assert text.splitlines()[1].startswith("reader_vs_confirmed,3,4,0.7500")
    # what a teacher goes through with the class: each image, the reads and the truth
    images = list(csv.reader(text.split("\n\n")[-1].splitlines()))
    assert images[0][:5] == ["file", "reader_read", "model_verdict", "p_pneumonia", "confirmed"]
    assert [row[:3] + row[4:5] for row in images[1:]] == [
        [f"{i}.png", reader, verdict, confirmed or ""]
        for i, (verdict, reader, confirmed) in enumerate(cases)]


def test_teaching_reads_stay_out_of_the_clinics_record(tmp_path):
    """A class's reads (the folder's name as the truth) are not the clinic's cases: History,
    Monitoring, calibration from the history and export do not see them."""
    store = HistoryStore.open(tmp_path / "h.db")
    store.record(CaseRecord(
        sha256="f" * 64, file_name="clinic.png", path="/x", size=1, model_sha256="m" * 64,
        model_version="1", profile="", p_model=0.5, p=0.5, threshold=0.5, verdict="NORMAL",
        scope="in_scope", scope_reason=None, origin="window"))
    store.record_read(read(1, "PNEUMONIA", "NORMAL", "PNEUMONIA"))
    assert [r.file_name for r in store.rows(Filters())] == ["clinic.png"]
    assert store.case_count() == 1 and store.count(Filters(confirmed=True)) == 0
    assert [r.file_name for r in store.teaching_reads()] == ["1.png"]
    assert confirmed_samples(store, "m" * 64).arrays()[1].size == 0  # calibrate --from-history
    store.close()


def test_reads_kept_by_an_older_version_move_out_of_the_clinics_record(tmp_path):
    """A history written before (teaching reads as cases with origin "teaching", their folder's
    label as a confirmed diagnosis) is migrated: the reads kept apart, the clinic's left."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    for statement in _statements(MIGRATIONS[0]):
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    for i, origin in ((1, "teaching"), (2, "window")):
        old.execute("INSERT INTO cases (id, sha256, file_name, path, first_seen, last_seen, "
                    "confirmed, confirmed_how, reader_read) VALUES (?, ?, ?, '/x', 't', 't', "
                    "'PNEUMONIA', 'labelled folder', ?)",
                    (i, f"{i:064d}", f"{i}.png", "NORMAL" if origin == "teaching" else None))
        old.execute("INSERT INTO results (case_id, created, model_sha256, p_model, p, threshold,"
                    " verdict, origin) VALUES (?, '2026-12-01T10:00:00Z', 'm', 0.9, 0.9, 0.5, "
                    "'PNEUMONIA', ?)", (i, origin))
    old.commit()
    old.close()
    store = HistoryStore.open(path)
    assert [r.file_name for r in store.rows(Filters())] == ["2.png"]
    assert store.case_count() == 1
    [kept] = store.teaching_reads()
    assert (kept.file_name, kept.reader_read, kept.confirmed) == ("1.png", "NORMAL", "PNEUMONIA")
    store.close()


def test_the_summary_counts_the_images_the_model_referred_apart(tmp_path):
    """A referred image is no agreement and no disagreement with the model: it is counted
    apart, with what it was confirmed as, in the summary and its CSV."""
    from desktop.outcomes import Outcome

    store = HistoryStore.open(tmp_path / "h.db")
    cases = [("PNEUMONIA", "PNEUMONIA", "PNEUMONIA"), (Outcome.REFER, "NORMAL", "PNEUMONIA"),
             (Outcome.REFER, "PNEUMONIA", "PNEUMONIA"), ("NORMAL", "NORMAL", "NORMAL"),
             (None, "NORMAL", "NORMAL")]  # the last withheld: no answer at all
    for i, (verdict, reader, confirmed) in enumerate(cases):
        store.record_read(read(i, verdict, reader, confirmed, f"2026-12-01T10:0{i}:00Z"))
    summary = summarize(store.teaching_reads())
    assert summary.reads == 5
    assert (summary.referred.k, summary.referred.n) == (2, 4)
    assert summary.referred_table == {"NORMAL": 0, "PNEUMONIA": 2}
    assert (summary.model_vs_confirmed.k, summary.model_vs_confirmed.n) == (2, 2)
    assert (summary.reader_vs_model.k, summary.reader_vs_model.n) == (2, 2)
    assert sum(summary.model_table.values()) == 2
    lines = summary_csv_text(summary).splitlines()
    assert "model_referred,2,4,0.5000" in "\n".join(lines)
    assert "model,PNEUMONIA,REFER,2" in lines
    images = list(csv.reader(summary_csv_text(summary).split("\n\n")[-1].splitlines()))
    assert images[2][:4] == ["1.png", "NORMAL", "REFER", "0.5000"]  # its P still shown
