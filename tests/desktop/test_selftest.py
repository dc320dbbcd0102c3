"""The self-test's build step: one real chest X-ray (read from ../shared at build time, never
kept in the repository) is shipped with the verdict, scope and P the model gives it from
source, and a different verdict in the packaged app fails the self-test."""

import json
import shutil
from pathlib import Path

import pytest

from desktop.modelfile import default_model_path
from desktop.packaging.build_support import SELFTEST_CREDIT, SELFTEST_XRAY, selftest_xray
from desktop.selftest import SelfTestError, SelfTestReport, _check_against_build
from tests.conftest import SHARED, require_shared


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
