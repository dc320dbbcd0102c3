"""The case history's benchmark runs end to end, at a tiny size: a benchmark broken by a change
elsewhere (the window's API) is found here, not on the day someone measures with it."""

import pytest

from tests.conftest import SHARED_DATA, require_shared

pytestmark = pytest.mark.gui


def test_the_history_benchmark_measures_recording_queries_and_the_window(x_display, capfd):
    require_shared(SHARED_DATA / "fullres_samples")
    from benchmarks import history

    assert history.main(["--files", "12", "--rounds", "1", "--cases", "300", "--window"]) == 0
    out = capfd.readouterr().out
    assert "recording costs" in out and "of which hashing alone" in out
    assert "week + PNEUMONIA + unconfirmed" in out
    assert "window: first page" in out  # the real window opened the History view and filtered
