"""Monitoring: per week and per 50 cases, the flagged share, the out-of-scope share and the
agreement, and a warning only when the flagged share really left the calibration's interval."""

from desktop.cases.monitoring import periods
from desktop.cases.store import CaseRecord, HistoryStore
from desktop.engine.results import Result
from desktop.engine.session import Session
from desktop.engine.site import SiteCalibration
from desktop.engine.threshold import ThresholdPolicy


def fill(store, week_day: str, n: int, flagged: int, start: int, confirmed_wrong: int = 0):
    for i in range(n):
        verdict = "PNEUMONIA" if i < flagged else "NORMAL"
        case = store.record(CaseRecord(
            sha256=f"{start + i:064d}", file_name=f"{start + i}.png", path="/x", size=1,
            model_sha256="m" * 64, model_version="1", profile="", p_model=0.5, p=0.5,
            threshold=0.5, verdict=verdict, scope="in_scope", scope_reason=None,
            origin="predict", created=f"{week_day}T10:{i % 60:02d}:00Z"))
        if i < 10:
            wrong = "NORMAL" if verdict == "PNEUMONIA" else "PNEUMONIA"
            store.confirm([case], wrong if i < confirmed_wrong else verdict)


def test_a_week_far_outside_the_calibration_interval_warns_and_a_small_wobble_does_not(
        tmp_path):
    store = HistoryStore.open(tmp_path / "h.db")
    fill(store, "2026-11-02", 60, 30, 0)  # week 45: 50% flagged, as calibrated
    fill(store, "2026-11-09", 8, 6, 100)  # week 46: 75% of 8 -- too few to say anything
    fill(store, "2026-11-16", 80, 72, 200, confirmed_wrong=5)  # week 47: 90% flagged
    weeks = periods(store.rows(), by="week", calibration_interval=(0.4, 0.6))
    assert [w.label for w in weeks] == ["2026-W45", "2026-W46", "2026-W47"]
    assert [w.shifted for w in weeks] == [False, False, True]
    assert weeks[2].flagged.value == 0.9 and weeks[2].results == 80
    assert (weeks[2].agreement.k, weeks[2].agreement.n) == (5, 10)
    blocks = periods(store.rows(), by="block", calibration_interval=(0.4, 0.6))
    assert [b.label for b in blocks] == ["1–50", "51–100", "101–150"]
    assert blocks[-1].shifted
    assert not any(w.shifted for w in periods(store.rows(), by="week"))  # no profile, no warning


def test_reports_name_the_site_profile_in_force():
    from desktop.reports.content import threshold_rows

    session = Session(ThresholdPolicy())
    session.add(Result(path=__import__("pathlib").Path("a.png"), p_pneumonia=0.4))
    session.set_site(SiteCalibration("clinic-A", 0.5, 1.0, 0.3, "a" * 64))
    rows = dict(threshold_rows(session.policy, site=session.site))
    assert "clinic-A" in rows["Site profile"]
    assert rows["Threshold"] == "0.30" and rows["Operating point"] == "Site profile"
    session.set_site(None)
    assert "Site profile" not in dict(threshold_rows(session.policy, site=session.site))
    assert session.results[1].p_pneumonia == 0.4  # the model's own P again


def test_a_case_opened_again_counts_once():
    """20 cases, 10 of them also classified under a site profile (a second result each): 20
    cases, not "30 results"."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        store = HistoryStore.open(Path(folder) / "h.db")
        for profile in ("", "site"):
            for i in range(20 if profile == "" else 10):
                store.record(CaseRecord(
                    sha256=f"{i:064d}", file_name=f"{i}.png", path="/x", size=1,
                    model_sha256="m" * 64, model_version="1", profile=profile, p_model=0.5,
                    p=0.5, threshold=0.5, verdict="NORMAL", scope="in_scope", scope_reason=None,
                    origin="window", created=f"2026-12-0{2 if profile else 1}T10:{i:02d}:00Z"))
        rows = store.rows()
        store.close()
    assert len(rows) == 30
    assert sum(p.results for p in periods(rows, by="week")) == 20
    assert [p.results for p in periods(rows, by="block")] == [20]


def fill_banded(store, week_day: str, n: int, referred: int, start: int):
    """``n`` cases judged by the refer band 0.2–0.6: ``referred`` of them REFER, the rest half
    NORMAL, half PNEUMONIA."""
    for i in range(n):
        decision = "REFER" if i < referred else ("PNEUMONIA" if i % 2 else "NORMAL")
        store.record(CaseRecord(
            sha256=f"{start + i:064d}", file_name=f"{start + i}.png", path="/x", size=1,
            model_sha256="m" * 64, model_version="1", profile="", p_model=0.5, p=0.5,
            threshold=0.5, verdict=None if decision == "REFER" else decision,
            scope="in_scope", scope_reason=None, origin="predict", decision=decision,
            t_low=0.2, t_high=0.6, created=f"{week_day}T10:{i % 60:02d}:00Z"))


def test_the_referral_rate_per_week_warns_when_it_leaves_the_bands_certified_interval(
        tmp_path, capsys):
    from desktop.cases.monitoring import referral_interval
    from desktop.cli_cases import history_main
    from desktop.referband import ReferBand

    db = tmp_path / "h.db"
    store = HistoryStore.open(db)
    fill_banded(store, "2026-11-02", 60, 9, 0)  # week 45: 15% referred, as certified
    fill_banded(store, "2026-11-09", 5, 2, 100)  # week 46: 40% of 5 -- too few to say
    fill_banded(store, "2026-11-16", 60, 30, 200)  # week 47: half referred: images unlike
    fill(store, "2026-11-23", 10, 5, 300)  # week 48: the band turned off: nothing referred
    band = ReferBand(t_low=0.2, t_high=0.6, n_normal=300, n_pneumonia=300, referred=0.15)
    interval = referral_interval(band)
    assert interval[0] < 0.15 < interval[1] and interval[1] < 0.2
    weeks = periods(store.rows(), by="week", referral_interval=interval)
    assert [(w.referred.k, w.referred.n) for w in weeks] == [(9, 60), (2, 5), (30, 60), (0, 0)]
    assert [w.referral_shifted for w in weeks] == [False, False, True, False]
    assert (weeks[2].flagged.k, weeks[2].flagged.n) == (15, 30)  # among the verdicts alone
    assert referral_interval(None) is None
    assert referral_interval(ReferBand(t_low=0.2, t_high=0.6)) is None  # no certified share
    store.close()
    assert history_main(["--db", str(db), "--lang", "en", "stats"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("2026-W47: 60 cases") and "referred 50% (" in line
               for line in printed)
    assert any(line.startswith("2026-W48: 10 cases") and "referred" not in line
               for line in printed)  # no band decided that week: no referral rate
