"""The exported row of a result and the one CSV writer (the window and ``predict`` use both)."""

import csv
import os
from pathlib import Path

import pytest

from desktop.engine.results import CSV_COLUMNS, Result, ResultRow, csv_text, write_csv
from desktop.errors import NotAnImageError, WriteError


def test_a_row_gives_the_same_numbers_to_csv_and_json():
    row = ResultRow("a.png", "/x/a.png", "PNEUMONIA", 0.28101234, 0.2822, "in_scope", None,
                    None, "clinic-2026")
    assert row.csv_cells() == ["a.png", "/x/a.png", "PNEUMONIA", "0.281012", "0.282200",
                               "in_scope", "", "", "clinic-2026", "PNEUMONIA", "", ""]
    assert row.as_json() == {"path": "/x/a.png", "verdict": "PNEUMONIA",
                             "decision": "PNEUMONIA",
                             "p_pneumonia": 0.281012, "threshold": 0.2822, "scope": "in_scope",
                             "scope_reason": None, "error": None, "profile": "clinic-2026",
                             "refer_band": None}
    referred = ResultRow("c.png", "/x/c.png", None, 0.4, 0.5, "in_scope", None, None,
                         decision="REFER", t_low=0.2, t_high=0.7)
    assert referred.csv_cells()[2:4] == ["", "0.400000"]  # P is still shown for a referred image
    assert referred.csv_cells()[-3:] == ["REFER", "0.200000", "0.700000"]
    assert referred.as_json()["decision"] == "REFER"
    assert referred.as_json()["refer_band"] == [0.2, 0.7]
    failed = ResultRow("b.png", "/x/b.png", None, None, 0.5, None, None,
                       str(NotAnImageError()))
    assert failed.csv_cells()[2:5] == ["", "", "0.500000"]


def test_csv_is_written_atomically_and_a_failure_is_one_sentence(tmp_path):
    out = tmp_path / "results.csv"
    write_csv(out, [ResultRow("a,b.png", "/x/a,b.png", "NORMAL", 0.1, 0.5, None, None, None)])
    with open(out, newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [list(CSV_COLUMNS),
                                        ["a,b.png", "/x/a,b.png", "NORMAL", "0.100000",
                                         "0.500000", "", "", "", "", "NORMAL", "", ""]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]
    if os.geteuid() != 0:  # root writes anywhere
        (tmp_path / "ro").mkdir(mode=0o500)
        with pytest.raises(WriteError):
            write_csv(tmp_path / "ro" / "x.csv", [])
    with pytest.raises(WriteError) as info:
        write_csv(tmp_path / "no such folder" / "x.csv", [])
    assert "could not be written" in info.value.user_message()
    assert csv_text([]) == ",".join(CSV_COLUMNS) + "\r\n"  # RFC 4180: a CR in a cell is quoted


def test_a_result_drops_its_images_but_keeps_its_fingerprint():
    result = Result(Path("/x/a.png"), 0.3, fingerprint="abc", preview=object(),
                    display=object(), model_input=object(), heatmap=object())
    result.drop_images()
    assert (result.preview, result.display, result.model_input, result.heatmap) == (
        None, None, None, None)
    assert result.fingerprint == "abc" and result.ok
