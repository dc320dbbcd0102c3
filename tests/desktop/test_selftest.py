"""The self-test: ``python -m desktop --self-test`` from the source tree (the window opens on the
bundled model, classifies the self-test image, writes a report and closes; the same check the
packaged app runs in ``tests/desktop/test_packaging.py``, slow, here in seconds), and its build
step: one real chest X-ray (read from ../shared at build time, never kept in the repository) is
shipped with the verdict, scope and P the model gives it from source, and a different verdict
in the packaged app fails the self-test."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.modelfile import default_model_path
from desktop.packaging.build_support import SELFTEST_CREDIT, SELFTEST_XRAY, selftest_xray
from desktop.selftest import SelfTestError, SelfTestReport, _check_against_build
from tests.conftest import SHARED, require_shared

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.gui
def test_the_self_test_passes_from_the_source_tree(x_display, tmp_path):
    env = dict(os.environ, CXR_CONFIG_DIR=str(tmp_path / "config"),
               CXR_LOG_DIR=str(tmp_path / "logs"))
    result = subprocess.run([sys.executable, "-m", "desktop", "--self-test"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("self-test OK"), result.stdout
    assert "DICOM SR written and read (" in result.stdout  # highdicom works where the app runs


@pytest.fixture
def staged(tmp_path):
    xray = require_shared(SHARED / SELFTEST_XRAY)
    from desktop.selftest import write_selftest_files

    model = default_model_path()
    for source in (model, Path(f"{model}.sha256")):
        shutil.copy2(source, tmp_path / source.name)
    write_selftest_files(tmp_path, tmp_path / "model.pt", (xray, SELFTEST_CREDIT))
    return tmp_path


def test_the_build_ships_a_real_xray_that_gets_a_verdict(staged):
    expected = json.loads((staged / "selftest.json").read_text())
    assert (staged / expected["image"]).read_bytes() == (SHARED / SELFTEST_XRAY).read_bytes()
    assert "Kermany" in expected["source"] and "CC BY 4.0" in expected["source"]
    assert expected["scope"] != "not_chest_xray"
    assert expected["verdict"] == "PNEUMONIA"  # the file's own label (test/PNEUMONIA)


def test_a_verdict_other_than_the_builds_fails_the_self_test(staged):
    expected = json.loads((staged / "selftest.json").read_text())
    report = SelfTestReport(verdict="NORMAL", p_pneumonia=expected["p_pneumonia"])
    with pytest.raises(SelfTestError, match="NORMAL here but PNEUMONIA at build time"):
        _check_against_build(report, staged / "model.pt")
    report.verdict = "PNEUMONIA"
    _check_against_build(report, staged / "model.pt")
    assert "Kermany" in report.line()


def test_without_the_shared_folder_the_build_says_what_is_missing(tmp_path):
    with pytest.raises(SystemExit, match="self-test's chest X-ray .* is missing"):
        selftest_xray(tmp_path / "checkout")
