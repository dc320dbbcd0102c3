"""Teaching mode's summary: reader vs confirmed, model vs confirmed, reader vs model, and the two
confusion tables, from the history's rows (the newest result of each case read)."""

from pathlib import Path

from desktop.cases.store import CaseRecord, Filters, HistoryStore
from desktop.cases.teaching import folder_label, summarize, summary_csv_text


def test_the_label_comes_from_the_nearest_labelled_folder():
    assert folder_label(Path("/data/test/PNEUMONIA/person1.jpeg")) == "PNEUMONIA"
    assert folder_label(Path("/data/normal/sub/x.png")) == "NORMAL"
    assert folder_label(Path("/data/misc/x.png")) is None


def test_the_summary_compares_reader_model_and_confirmed(tmp_path):
    store = HistoryStore.open(tmp_path / "h.db")
    cases = [  # (model verdict, reader's read, confirmed)
        ("PNEUMONIA", "PNEUMONIA", "PNEUMONIA"), ("PNEUMONIA", "NORMAL", "PNEUMONIA"),
        ("NORMAL", "NORMAL", "NORMAL"), ("PNEUMONIA", "NORMAL", "NORMAL"),
        ("NORMAL", "NORMAL", None),
    ]
    for i, (verdict, read, confirmed) in enumerate(cases):
        case = store.record(CaseRecord(
            sha256=f"{i:064d}", file_name=f"{i}.png", path="/x", size=1, model_sha256="m" * 64,
            model_version="1", profile="", p_model=0.5, p=0.5, threshold=0.5, verdict=verdict,
            scope="in_scope", scope_reason=None, origin="teaching"))
        store.set_read(case, read)
        if confirmed:
            store.confirm([case], confirmed)
    store.record(CaseRecord(  # a case nobody read first is not counted
        sha256="f" * 64, file_name="z.png", path="/x", size=1, model_sha256="m" * 64,
        model_version="1", profile="", p_model=0.5, p=0.5, threshold=0.5, verdict="NORMAL",
        scope="in_scope", scope_reason=None, origin="window"))
    summary = summarize(store.rows(Filters(read=True)))
    assert summary.reads == 5
    assert (summary.reader_vs_confirmed.k, summary.reader_vs_confirmed.n) == (3, 4)
    assert (summary.model_vs_confirmed.k, summary.model_vs_confirmed.n) == (3, 4)
    assert (summary.reader_vs_model.k, summary.reader_vs_model.n) == (3, 5)
    assert summary.reader_table[("PNEUMONIA", "NORMAL")] == 1
    assert summary.model_table[("NORMAL", "PNEUMONIA")] == 1
    text = summary_csv_text(summary)
    assert text.splitlines()[1].startswith("reader_vs_confirmed,3,4,0.7500")
