"""Site calibration: the Platt refit, the threshold for each goal with its honest lower bound,
the refusals a clinic reads, and the profile predict applies (only to its own model file)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.cases.calibration import (
    CalibrationRefused,
    calibrate,
    clopper_pearson,
    fit_platt,
)
from desktop.cases.profile import load_profile, profile_from_study, profile_in_force, save_profile
from desktop.engine.site import log_odds, recalibrated
from desktop.i18n import set_language

ROOT = Path(__file__).resolve().parents[3]


def synthetic_site(n: int = 400, slope: float = 0.5, bias: float = -1.0, seed: int = 0):
    """An over-confident model: the site's true P is sigmoid(slope * log-odds + bias)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 4, n)
    p_model = 1 / (1 + np.exp(-z))
    truth = np.asarray(recalibrated(p_model, slope, bias))
    return p_model, (rng.random(n) < truth).astype(int)


def test_clopper_pearson_matches_the_published_exact_intervals():
    low, high = clopper_pearson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4439, 0.9748)
    assert clopper_pearson(0, 10)[0] == 0.0 and round(clopper_pearson(0, 10)[1], 4) == 0.3085
    assert clopper_pearson(10, 10)[1] == 1.0 and round(clopper_pearson(10, 10)[0], 4) == 0.6915


def test_platt_finds_the_slope_and_bias_the_site_has():
    p_model, y = synthetic_site(20_000)
    slope, bias = fit_platt(p_model, y)
    assert slope == pytest.approx(0.5, abs=0.05) and bias == pytest.approx(-1.0, abs=0.1)


def test_recalibration_lowers_the_calibration_error_of_an_over_confident_model():
    p_model, y = synthetic_site(600)
    study = calibrate(p_model, y, shipped_threshold=0.5)
    assert study.ece_after < study.ece_before / 2
    assert study.n_normal + study.n_pneumonia == 600


def test_a_sensitivity_goal_holds_at_the_lower_end_of_its_interval():
    p_model, y = synthetic_site(600)
    study = calibrate(p_model, y, shipped_threshold=0.5, target_sensitivity=0.9)
    assert study.proposed.sensitivity.low >= 0.9
    balanced = calibrate(p_model, y, shipped_threshold=0.5)
    assert study.proposed.threshold <= balanced.proposed.threshold
    p_site = recalibrated(p_model, study.slope, study.bias)
    assert ((p_site >= study.proposed.threshold) & (y == 1)).sum() == study.proposed.sensitivity.k


def test_too_few_cases_are_refused_saying_how_many_more_of_each(monkeypatch):
    p_model, y = synthetic_site(400)
    keep = np.r_[np.flatnonzero(y == 0)[:25], np.flatnonzero(y == 1)[:40]]
    with pytest.raises(CalibrationRefused) as info:
        calibrate(p_model[keep], y[keep], shipped_threshold=0.5)
    assert info.value.user_message() == ("Calibration needs at least 30 confirmed cases of each "
                                         "class; add 5 more NORMAL and 0 more PNEUMONIA.")
    set_language("pt_BR")
    try:
        assert "NORMAL" in info.value.user_message() and "add" not in info.value.user_message()
    finally:
        set_language("en")


def test_a_sensitivity_no_sample_this_small_can_promise_is_refused():
    p_model, y = synthetic_site(120)
    with pytest.raises(CalibrationRefused) as info:
        calibrate(p_model, y, shipped_threshold=0.5, target_sensitivity=0.99)
    assert "are needed" in info.value.user_message()


def test_a_profile_round_trips_and_applies_only_to_its_own_model(tmp_path):
    p_model, y = synthetic_site(400)
    study = calibrate(p_model, y, shipped_threshold=0.5)
    path = tmp_path / "site.json"
    save_profile(path, profile_from_study(study, name="clinic", model_sha256="a" * 64,
                                          model_version="1", source="folder"))
    profile = load_profile(path)
    assert profile.calibration.apply(0.5) == pytest.approx(recalibrated(0.5, study.slope,
                                                                        study.bias))
    assert profile.flagged_interval[0] <= study.proposed.flagged.value <= \
        profile.flagged_interval[1]
    assert profile_in_force(path, "a" * 64) == (profile, None)
    other, problem = profile_in_force(path, "b" * 64)
    assert other is None and "another model file" in problem.user_message()
    (tmp_path / "junk.json").write_text("{")
    assert "could not be read" in profile_in_force(tmp_path / "junk.json", "a")[1].user_message()


def test_log_odds_stay_finite_where_the_model_says_exactly_0_or_1():
    assert np.isfinite(log_odds(np.array([0.0, 1.0]))).all()


def _model_sha(model: Path) -> str:
    return Path(str(model) + ".sha256").read_text().split()[0]


@pytest.mark.integration
def test_predict_applies_the_profile_and_names_it_in_every_row(tiny_model, tmp_path):
    from tests.desktop.cases.test_recording import images

    images(tmp_path / "in", 3)
    profile = {"format": "cxr-site-profile", "version": 1, "name": "clinic-A",
               "model_sha256": _model_sha(tiny_model), "platt": {"slope": 0.5, "bias": 2.0},
               "threshold": 0.01}
    (tmp_path / "site.json").write_text(json.dumps(profile))
    db = tmp_path / "h.db"

    def run(*extra):
        out = subprocess.run([sys.executable, "-m", "desktop", "predict", str(tmp_path / "in"),
                              "--model", str(tiny_model), "--json", "--history", str(db),
                              *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)
        return [json.loads(line) for line in out.stdout.splitlines()], out.stderr

    plain, _ = run("--no-profile")
    site, _ = run("--profile", str(tmp_path / "site.json"))
    assert all(r["profile"] is None for r in plain)
    assert all(r["profile"] == "clinic-A" and r["threshold"] == 0.01 and
               r["verdict"] == "PNEUMONIA" for r in site)
    for a, b in zip(plain, site, strict=True):
        assert b["p_pneumonia"] == pytest.approx(recalibrated(a["p_pneumonia"], 0.5, 2.0),
                                                 abs=2e-6)
    from desktop.cases.store import HistoryStore

    store = HistoryStore.open(db)
    assert store.case_count() == 3 and store.count() == 6  # a new result under the profile
    profile["model_sha256"] = "0" * 64
    (tmp_path / "site.json").write_text(json.dumps(profile))
    other, err = run("--profile", str(tmp_path / "site.json"))
    assert all(r["profile"] is None for r in other)
    assert err.count("was fitted for another model file") == 1


@pytest.mark.integration
def test_calibrate_cli_writes_the_profile_and_the_study(tiny_model, tmp_path):
    from tests.desktop.cases.test_recording import images

    images(tmp_path / "site" / "NORMAL", 35, seed=3)
    images(tmp_path / "site" / "PNEUMONIA", 35, seed=4)
    out = subprocess.run([sys.executable, "-m", "desktop", "calibrate", str(tmp_path / "site"),
                          "--out", str(tmp_path / "site.json"), "--report",
                          str(tmp_path / "study.pdf"), "--model", str(tiny_model), "--lang",
                          "en", "--activate"], cwd=ROOT, capture_output=True, text=True,
                         timeout=180)
    if out.returncode != 0:  # random images: the tiny model may not separate them
        assert "does not rise with pneumonia" in out.stderr
        return
    profile = load_profile(tmp_path / "site.json")
    assert profile.cases["NORMAL"] + profile.cases["NORMAL"] <= 70
    assert profile.calibration.model_sha256 == _model_sha(tiny_model)
    assert (tmp_path / "study.pdf").read_bytes().startswith(b"%PDF")
    from desktop.settings import load_settings

    assert load_settings().site_profile == str((tmp_path / "site.json").resolve())


@pytest.mark.integration
def test_calibrate_cli_refuses_too_few_cases_in_one_sentence(tiny_model, tmp_path):
    from tests.desktop.cases.test_recording import images

    images(tmp_path / "site" / "NORMAL", 5, seed=3)
    images(tmp_path / "site" / "PNEUMONIA", 31, seed=4)
    out = subprocess.run([sys.executable, "-m", "desktop", "calibrate", str(tmp_path / "site"),
                          "--out", str(tmp_path / "site.json"), "--model", str(tiny_model),
                          "--lang", "en"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.returncode == 1
    assert out.stderr.strip() == ("Calibration needs at least 30 confirmed cases of each class; "
                                  "add 25 more NORMAL and 0 more PNEUMONIA.")
    assert not (tmp_path / "site.json").exists()


@pytest.mark.integration
def test_calibrate_from_history_uses_the_confirmed_cases_of_this_model_only(tiny_model, tmp_path):
    from desktop.cases.store import CaseRecord, HistoryStore

    db = tmp_path / "h.db"
    store = HistoryStore.open(db)
    p_model, y = synthetic_site(120, seed=5)
    for i, (p, label) in enumerate(zip(p_model, y, strict=True)):
        for model in (_model_sha(tiny_model), "0" * 64):  # another model's results: not used
            case = store.record(CaseRecord(
                sha256=f"{i:064d}", file_name=f"{i}.png", path="/x", size=1,
                model_sha256=model, model_version="1", profile="", p_model=float(p),
                p=float(p), threshold=0.5, verdict=None, scope="in_scope", scope_reason=None,
                origin="predict"))
        store.confirm([case], "PNEUMONIA" if label else "NORMAL")
    store.close()
    out = subprocess.run([sys.executable, "-m", "desktop", "calibrate", "--from-history",
                          "--db", str(db), "--out", str(tmp_path / "site.json"), "--model",
                          str(tiny_model), "--lang", "en"], cwd=ROOT, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    profile = load_profile(tmp_path / "site.json")
    assert profile.cases["NORMAL"] + profile.cases["PNEUMONIA"] == 120
    study = calibrate(p_model, y, shipped_threshold=0.5)
    assert profile.calibration.slope == pytest.approx(study.slope)


# --- issue 29 items 3 and 12: labels that contradict, a fit that says nothing, many cases ----

def test_the_same_image_under_both_labels_refuses_the_calibration(tiny_model, tmp_path):
    """Before: the same bytes under NORMAL/ and PNEUMONIA/ gave a profile (slope 1e-17, every
    image PNEUMONIA at P = 0.500)."""
    import shutil

    from tests.desktop.cases.test_recording import images

    for i, path in enumerate(images(tmp_path / "site" / "NORMAL", 35, seed=3)):
        (tmp_path / "site" / "PNEUMONIA").mkdir(exist_ok=True)
        shutil.copy(path, tmp_path / "site" / "PNEUMONIA" / f"copy{i}.png")
    out = subprocess.run([sys.executable, "-m", "desktop", "calibrate", str(tmp_path / "site"),
                          "--out", str(tmp_path / "site.json"), "--model", str(tiny_model),
                          "--lang", "en"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "35 images are filed under both NORMAL/ and PNEUMONIA/ (e.g. NORMAL/img0000.png = "
        "PNEUMONIA/copy0.png), so no profile was fitted; put each image under its one "
        "diagnosis only.")
    assert not (tmp_path / "site.json").exists()


def test_a_labelled_folder_counts_images_by_content_and_reads_every_label_folder(tmp_path):
    import shutil

    from desktop.cases.samples import LabelsContradict, labelled_files
    from tests.desktop.cases.test_recording import images

    one = images(tmp_path / "a" / "NORMAL", 1, seed=1)[0]
    for i in range(39):  # forty copies of one image are one case
        shutil.copy(one, tmp_path / "a" / "NORMAL" / f"copy{i}.png")
    images(tmp_path / "a" / "normal", 3, seed=2)  # another letter case: read too, not dropped
    images(tmp_path / "a" / "Pneumonia", 4, seed=5)
    found = labelled_files(tmp_path / "a")
    assert sorted(label for _, label in found) == ["NORMAL"] * 4 + ["PNEUMONIA"] * 4
    assert found.duplicates == 39
    # an image under NORMAL/PNEUMONIA/: which diagnosis is it? refused, not counted as NORMAL
    images(tmp_path / "b" / "NORMAL" / "PNEUMONIA", 1, seed=6)
    images(tmp_path / "b" / "PNEUMONIA", 2, seed=7)
    with pytest.raises(LabelsContradict) as refused:
        labelled_files(tmp_path / "b")
    assert "1 image is filed under both NORMAL/ and PNEUMONIA/ (e.g. NORMAL/PNEUMONIA/img0000" \
        in refused.value.user_message()


def test_unreadable_files_are_counted_and_named_in_what_was_left_out(tiny_model, tmp_path):
    from desktop.cases.samples import classify_labelled, labelled_files
    from desktop.engine.inference import Engine
    from tests.desktop.cases.test_recording import images

    images(tmp_path / "NORMAL", 3, seed=1)
    images(tmp_path / "PNEUMONIA", 3, seed=2)
    (tmp_path / "PNEUMONIA" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    samples = classify_labelled(Engine.load(tiny_model), labelled_files(tmp_path))
    assert samples.unreadable == 1 and len(samples.labels) + samples.out_of_scope == 6
    assert "1 unreadable files (broken.png)" in samples.left_out().user_message()


def test_a_fit_on_labels_that_say_nothing_is_refused_not_written():
    """Before: the slope came out 5e-18 > 0, so a profile giving every image one P was written."""
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.99, 60)
    with pytest.raises(CalibrationRefused) as refused:
        calibrate(np.concatenate([p, p]), np.r_[np.zeros(60), np.ones(60)],
                  shipped_threshold=0.5)
    assert "check the labels" in refused.value.user_message()


def _reference_threshold(p, y, target):
    """The quadratic choice this module made before, as the reference on small inputs."""
    from desktop.cases.calibration import _cut_between, clopper_pearson

    positives = np.sort(p[y == 1])[::-1]
    n_pos = len(positives)
    if target is not None:
        k = next((k for k in range(1, n_pos + 1) if clopper_pearson(k, n_pos)[0] >= target),
                 None)
        return None if k is None else _cut_between(p, positives[k - 1])
    best, best_j = float(p.max()), -2.0
    neg = max(1, int((y == 0).sum()))
    for t in np.unique(p):
        flagged = p >= t
        j = (flagged & (y == 1)).sum() / max(1, n_pos) + (~flagged & (y == 0)).sum() / neg - 1
        if j > best_j:
            best, best_j = float(t), j
    return _cut_between(p, best)


def test_the_threshold_choice_matches_the_reference_and_scales_to_twenty_thousand_cases():
    from desktop.cases.calibration import choose_threshold, roc_points

    rng = np.random.default_rng(7)
    for trial in range(10):
        n = int(rng.integers(40, 120))
        y = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(np.int64)
        p = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.001, 0.999).round(int(rng.integers(2, 5)))
        for target in (None, 0.8, 0.9):
            expected = _reference_threshold(p, y, target)
            if expected is None:
                with pytest.raises(CalibrationRefused):
                    choose_threshold(p, y, target)
            else:
                assert choose_threshold(p, y, target) == expected, (trial, target)
    y = (rng.random(20_000) < 0.5).astype(np.int64)
    p = np.clip(rng.normal(0.3 + 0.4 * y, 0.15), 0.0, 1.0)
    for target in (None, 0.95):  # before: minutes (one pass per candidate); now well under one
        threshold = choose_threshold(p, y, target)
        assert 0.0 < threshold < 1.0
    assert len(roc_points(p, y)) == len(np.unique(p)) + 2


def test_a_sensitivity_no_sample_could_promise_says_how_many_cases_it_needs():
    """Before: ``--target-sensitivity 0.99999`` ended in StopIteration (no n below 100,000)."""
    from desktop.cases.calibration import choose_threshold

    y = np.r_[np.zeros(40), np.ones(40)].astype(np.int64)
    p = np.r_[np.linspace(0.01, 0.4, 40), np.linspace(0.6, 0.99, 40)]
    with pytest.raises(CalibrationRefused) as refused:
        choose_threshold(p, y, 0.99999)
    assert "about 368887 are needed" in str(refused.value)
    from desktop.cases.calibration import cases_needed

    for target in (0.9, 0.95, 0.99):
        n = cases_needed(target)
        assert clopper_pearson(n, n)[0] >= target > clopper_pearson(n - 1, n - 1)[0]
