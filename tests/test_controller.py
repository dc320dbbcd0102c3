"""The window's logic without a window: threshold relabelling, sorting, CSV, the worker thread."""

from __future__ import annotations

import csv
import io
import queue
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop import i18n
from desktop.controller import (
    BatchFinished,
    BatchStarted,
    HeatmapReady,
    ModelFailed,
    ModelReady,
    Predicted,
    Session,
    Worker,
)
from desktop.errors import ModelMissingError, NotAnImageError


@pytest.fixture
def session() -> Session:
    s = Session(threshold=0.5)
    s.add(Path("/x/b.png"), 0.70, None)
    s.add(Path("/x/a.png"), 0.45, None)
    s.add(Path("/x/broken.png"), None, NotAnImageError())
    s.add(Path("/x/C.png"), 0.10, None)
    return s


def names(session: Session, keys) -> list[str]:
    return [session.results[k].path.name for k in keys]


def test_threshold_change_relabels_and_reports_the_flipped_results(session):
    assert [session.verdict(r) for r in session.results.values()] == [
        "PNEUMONIA", "NORMAL", None, "NORMAL"]
    flipped = session.set_threshold(0.4)
    assert [r.path.name for r in flipped] == ["a.png"]
    assert session.verdict(session.results[2]) == "PNEUMONIA"
    assert session.confidence(session.results[2]) == pytest.approx(0.45)
    assert session.confidence(session.results[4]) == pytest.approx(0.90)  # 1 - P for NORMAL
    assert session.counts() == {"PNEUMONIA": 2, "NORMAL": 1, "error": 1}
    flipped = session.set_threshold(7)  # clamped to 1: every PNEUMONIA becomes NORMAL
    assert session.threshold == 1.0 and [r.path.name for r in flipped] == ["b.png", "a.png"]


def test_sorting_keeps_errors_last_in_both_directions(session):
    assert names(session, session.sorted_keys("file")) == ["a.png", "b.png", "C.png",
                                                            "broken.png"]
    assert names(session, session.sorted_keys("p_pneumonia", descending=True)) == [
        "b.png", "a.png", "C.png", "broken.png"]
    assert names(session, session.sorted_keys("p_pneumonia")) == [
        "C.png", "a.png", "b.png", "broken.png"]
    assert names(session, session.sorted_keys("verdict"))[:3] == ["C.png", "a.png", "b.png"]
    assert names(session, session.sorted_keys("status", descending=True))[0] == "broken.png"


def test_csv_is_the_same_in_every_language(session):
    i18n.set_language("es")
    try:
        text = session.csv_text([4, 3, 1])
    finally:
        i18n.set_language("en")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["file", "path", "verdict", "p_pneumonia", "threshold", "error"],
        ["C.png", "/x/C.png", "NORMAL", "0.1000", "0.50", ""],
        ["broken.png", "/x/broken.png", "", "", "0.50", str(NotAnImageError())],
        ["b.png", "/x/b.png", "PNEUMONIA", "0.7000", "0.50", ""],
    ]
    assert str(NotAnImageError()).startswith("This file is not an image")


def drain(inbox: queue.Queue, until, timeout_s: float = 60.0) -> list:
    """Messages from the worker up to and including the first one ``until`` accepts."""
    seen = []
    deadline = time.monotonic() + timeout_s
    while True:
        message = inbox.get(timeout=max(0.1, deadline - time.monotonic()))
        seen.append(message)
        if until(message):
            return seen


@pytest.fixture
def worker(tiny_model):
    inbox: queue.Queue = queue.Queue()
    w = Worker(tiny_model, inbox)
    w.start()
    yield w
    w.stop()


def test_worker_loads_the_model_then_classifies_a_folder_in_order(worker, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((300, 280), 40 * i + 30, np.uint8), "L").save(folder / f"{i}.png")
    (folder / "3.png").write_bytes(b"\x89PNG broken")
    batch = worker.submit([folder])
    messages = drain(worker.inbox, lambda m: isinstance(m, BatchFinished))

    assert isinstance(messages[0], ModelReady)
    assert messages[0].metadata["format_version"] == 1
    assert [p["name"] for p in messages[0].operating_points] == ["balanced", "high_sensitivity"]
    assert messages[1] == BatchStarted(batch, 4)
    predicted = [m for m in messages if isinstance(m, Predicted)]
    assert [m.path.name for m in predicted] == ["0.png", "1.png", "2.png", "3.png"]
    assert all(0.0 <= m.p_pneumonia <= 1.0 and m.error is None for m in predicted[:3])
    assert predicted[0].model_input.shape == (224, 224) and predicted[0].preview.mode == "L"
    assert predicted[3].p_pneumonia is None and predicted[3].error is not None
    assert messages[-1] == BatchFinished(batch, 4, 4, cancelled=False)

    worker.request_heatmap(7, predicted[0].model_input)
    [heat] = drain(worker.inbox, lambda m: isinstance(m, HeatmapReady))
    assert heat.key == 7 and heat.error is None and heat.heatmap.shape == (224, 224)


def test_cancelled_batches_report_themselves_and_later_batches_still_run(worker, tmp_path):
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((64, 64), np.uint8), "L").save(image)
    drain(worker.inbox, lambda m: isinstance(m, ModelReady))
    first = worker.submit([image] * 3)
    worker.cancel()
    finished = drain(worker.inbox, lambda m: isinstance(m, BatchFinished))[-1]
    assert finished.batch == first and finished.cancelled
    second = worker.submit([image])
    finished = drain(worker.inbox, lambda m: isinstance(m, BatchFinished))[-1]
    assert finished == BatchFinished(second, 1, 1, cancelled=False)


def test_a_missing_model_is_one_message_and_batches_say_why_nothing_runs(tmp_path):
    inbox: queue.Queue = queue.Queue()
    worker = Worker(tmp_path / "absent" / "model.pt", inbox)
    worker.start()
    try:
        [failed] = drain(inbox, lambda m: isinstance(m, ModelFailed))
        assert isinstance(failed.error, ModelMissingError)
        assert "Reinstall the application" in failed.error.user_message()
        worker.submit([tmp_path])
        finished = drain(inbox, lambda m: isinstance(m, BatchFinished))[-1]
        assert finished.error is failed.error  # the reason, again: not a vaguer sentence
    finally:
        worker.stop()


def test_percentages_never_round_to_a_certainty_the_model_does_not_have():
    from desktop.widgets import percent

    assert [percent(0.873), percent(0.997), percent(0.99996), percent(0.0004)] == [
        "87%", "99.7%", "99.996%", "0.04%"]
    assert (percent(1.0), percent(0.0), percent(0.9856, 1)) == ("100%", "0%", "98.6%")
