"""The DICOM node's benchmark runs end to end at a tiny size, so a change elsewhere that breaks
it is found here, not on the day someone measures with it."""

import shutil

import pytest

from tests.conftest import SHARED_DATA, require_shared


def test_the_dicom_node_benchmark_measures_the_sr_and_receiving(capfd):
    require_shared(SHARED_DATA / "fullres_samples")
    if shutil.which("storescu") is None:
        pytest.fail("needs dcmtk's storescu (apt-get install dcmtk; .ci/run does)")
    from benchmarks import dicom_node

    assert dicom_node.main(["--files", "3"]) == 0
    out = capfd.readouterr().out
    assert "SR write (wall): median" in out and "SR write (CPU): median" in out
    assert "received over loopback and classified" in out and "ratio" in out
