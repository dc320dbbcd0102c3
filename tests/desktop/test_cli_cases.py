"""``python -m desktop history``: the command line's view of the case history, the same days
and rows as the window's History view."""

import csv

import pytest

from desktop.cases.store import HistoryStore
from desktop.cli_cases import history_main
from tests.desktop.cases.test_store import record

pytestmark = pytest.mark.usefixtures("english_and_own_logging")


def test_export_since_and_until_are_local_days_both_included_as_in_the_window(
        tmp_path, sao_paulo, capsys):
    db = tmp_path / "h.db"
    store = HistoryStore.open(db)
    for i, (name, created) in enumerate([
            ("late on the 3rd.png", "2026-12-04T02:30:00Z"),
            ("early on the 4th.png", "2026-12-04T03:30:00Z"),
            ("late on the 4th.png", "2026-12-05T02:30:00Z"),
            ("early on the 5th.png", "2026-12-05T03:30:00Z")]):
        store.record(record(sha=f"{i:064d}", name=name, created=created))
    store.close()
    out = tmp_path / "day.csv"
    code = history_main(["--db", str(db), "--lang", "en", "export", "--csv", str(out),
                         "--since", "2026-12-04", "--until", "2026-12-04"])
    assert code == 0
    with open(out, newline="", encoding="utf-8") as fh:
        names = sorted(row["file"] for row in csv.DictReader(fh))
    assert names == ["early on the 4th.png", "late on the 4th.png"]
    assert str(out.resolve()) in capsys.readouterr().err  # says where it wrote


def test_a_date_that_is_not_a_date_is_refused_with_the_usage(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        history_main(["--db", str(tmp_path / "h.db"), "export", "--csv", "x.csv",
                      "--since", "4/12/2026"])
    assert exit_.value.code == 2
    assert "not a date (YYYY-MM-DD)" in capsys.readouterr().err


def test_export_verdict_refer_writes_the_referred_results_with_their_band(tmp_path, capsys):
    from desktop.cases.store import CaseRecord

    db = tmp_path / "h.db"
    store = HistoryStore.open(db)
    store.record(record(sha="1" * 64, name="called.png"))
    store.record(CaseRecord(sha256="2" * 64, file_name="referred.png", path="/x/referred.png",
                            size=1, model_sha256="m" * 64, model_version="1", profile="",
                            p_model=0.41, p=0.41, threshold=0.5, verdict=None, scope="in_scope",
                            scope_reason=None, origin="window", decision="REFER", t_low=0.25,
                            t_high=0.7))
    store.close()
    out = tmp_path / "referred.csv"
    assert history_main(["--db", str(db), "--lang", "en", "export", "--csv", str(out),
                         "--verdict", "REFER"]) == 0
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["file"], r["decision"], r["p_pneumonia"], r["t_low"], r["t_high"])
            for r in rows] == [("referred.png", "REFER", "0.410000", "0.250000", "0.700000")]
