"""The refer band from the command line, end to end on real images and the shipped model (issue
31 item 2): ``calibrate`` certifies a band by default (``--refer A,B``, ``--refer-decided C``,
``--no-refer`` choose), writes it in a version-2 profile and its study PDF; ``predict`` under
that profile refers the images between the thresholds, and ``--no-refer``, ``--threshold`` or
``--operating-point`` let the single threshold decide (the last two saying so once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, require_shared

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "assets" / "model.pt"
TEST_SPLIT = SHARED_DATA / "chest_xray_224" / "test"
PER_CLASS = 100
BAND_OFF = "The refer band is off because a threshold was chosen"


def _env(home: Path) -> dict:
    """The user's folders of these commands: under the test's own folder."""
    return dict(os.environ, CXR_CONFIG_DIR=str(home / "config"), CXR_DATA_DIR=str(home / "data"),
                CXR_LOG_DIR=str(home / "logs"))


def run(home: Path, command: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop", command, *map(str, args),
                           "--model", str(MODEL), "--lang", "en"], cwd=ROOT, env=_env(home),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A labelled site folder (links to the first 100 NORMAL and 100 PNEUMONIA test images),
    the images predict judges (20 others), and the default calibration's profile and PDF."""
    if not MODEL.is_file():
        pytest.skip("needs the shipped model assets/model.pt")
    split = require_shared(TEST_SPLIT)
    home = tmp_path_factory.mktemp("refer")
    checked = []
    for label in ("NORMAL", "PNEUMONIA"):
        files = sorted((split / label).iterdir())
        (home / "site" / label).mkdir(parents=True)
        for file in files[:PER_CLASS]:
            (home / "site" / label / file.name).symlink_to(file)
        checked += files[PER_CLASS:PER_CLASS + 10]
    done = run(home, "calibrate", home / "site", "--out", home / "site.json", "--report",
               home / "study.pdf")
    assert done.returncode == 0, done.stderr
    return home, checked, done.stderr


def _profile(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.integration
def test_calibrate_certifies_the_default_band_and_says_what_it_does(site):
    home, _checked, err = site
    raw = _profile(home / "site.json")
    band = raw["refer_band"]
    assert raw["version"] == 2 and band["guarantee"] == "class"
    cases = raw["cases"]  # a few images may be left out (duplicates, not chest X-rays)
    assert (band["low_limit"], band["high_limit"], band["n_normal"], band["n_pneumonia"]) == (
        0.05, 0.05, cases["NORMAL"], cases["PNEUMONIA"])
    assert min(cases["NORMAL"], cases["PNEUMONIA"]) >= PER_CLASS - 5
    assert 0 < band["t_low"] <= band["t_high"] < 1
    assert band["low_bound"] <= 0.05 and band["high_bound"] <= 0.05
    assert "with 95% confidence, at most 5% of pneumonias are called normal and at most 5% of " \
           "normals are called pneumonia" in err
    assert f"On these {cases['NORMAL'] + cases['PNEUMONIA']} cases it refers " in err
    text = subprocess.run(["pdftotext", "-layout", str(home / "study.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    for words in ("Refer band", "Risk against coverage", "Share referred",
                  "Wrong among all decided", "This band"):
        assert words in text, words
    pages = subprocess.run(["pdfinfo", str(home / "study.pdf")], capture_output=True,
                           text=True, check=True).stdout
    assert "Pages:           1" in pages


@pytest.mark.integration
def test_calibrate_flags_choose_the_guarantee_or_no_band(site):
    home, _checked, _err = site
    default = _profile(home / "site.json")["refer_band"]
    loose = run(home, "calibrate", home / "site", "--out", home / "loose.json", "--refer",
                "10,10")
    assert loose.returncode == 0, loose.stderr
    band = _profile(home / "loose.json")["refer_band"]
    assert (band["low_limit"], band["high_limit"]) == (0.1, 0.1)
    assert band["referred"] <= default["referred"]  # a looser promise refers fewer
    off = run(home, "calibrate", home / "site", "--out", home / "off.json", "--no-refer")
    assert off.returncode == 0 and _profile(home / "off.json")["refer_band"] is None
    assert "Refer band" not in off.stderr
    strict = run(home, "calibrate", home / "site", "--out", home / "strict.json",
                 "--refer-decided", "1")
    assert strict.returncode == 0, strict.stderr  # the profile is written, without a band
    assert _profile(home / "strict.json")["refer_band"] is None
    assert "No refer band can" in strict.stderr and "choose a looser guarantee" in strict.stderr
    bad = run(home, "calibrate", home / "site", "--out", home / "bad.json", "--refer", "5")
    assert bad.returncode == 2 and "two percentages A,B" in bad.stderr
    assert not (home / "bad.json").exists()


def _predict(home: Path, files, *extra) -> tuple[list[dict], str]:
    done = run(home, "predict", *files, "--json", "--no-history", *extra)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


@pytest.mark.integration
def test_predict_refers_inside_the_profiles_band_and_the_flags_turn_it_off(site):
    home, checked, _err = site
    profile = ["--profile", home / "site.json"]
    band = _profile(home / "site.json")["refer_band"]
    low, high = band["t_low"], band["t_high"]
    rows, err = _predict(home, checked, *profile)
    assert all(r["refer_band"] == [low, high] for r in rows)
    for row in rows:
        p = row["p_pneumonia"]
        assert row["decision"] == ("NORMAL" if p < low else "PNEUMONIA" if p >= high
                                   else "REFER"), row
    assert BAND_OFF not in err and "at most 5% of pneumonias are called normal" in err
    for extra, says_off in ((["--no-refer"], False), (["--threshold", "0.5"], True),
                            (["--operating-point", "site", "--no-refer"], False)):
        rows, err = _predict(home, checked, *profile, *extra)
        assert all(r["refer_band"] is None for r in rows), extra
        assert all(r["decision"] == ("PNEUMONIA" if r["p_pneumonia"] >= r["threshold"]
                                     else "NORMAL") for r in rows), extra
        assert err.count(BAND_OFF) == (1 if says_off else 0), (extra, err)
    _rows, err = _predict(home, checked, "--profile", home / "off.json", "--threshold", "0.5")
    assert BAND_OFF not in err  # no band was in force: nothing to say
