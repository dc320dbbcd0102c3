"""The worker threads without a window: the model loads, batches run in order and can be
cancelled, the selected result's preview is read again and its heatmap computed, and only the
latest view request counts."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop import i18n
from desktop.engine.results import fingerprint
from desktop.errors import FileChangedError, FileMissingError, ModelMissingError
from desktop.reading.imaging import read_image
from desktop.ui.worker import (
    PREVIEW_MAX_SIDE,
    BatchFinished,
    BatchStarted,
    Classified,
    HeatmapReady,
    ModelFailed,
    ModelReady,
    PreviewReady,
    Worker,
)


def drain(inbox: queue.Queue, until, timeout_s: float = 60.0) -> list:
    """Messages from the worker up to and including the first one ``until`` accepts."""
    seen = []
    deadline = time.monotonic() + timeout_s
    while True:
        message = inbox.get(timeout=max(0.1, deadline - time.monotonic()))
        seen.append(message)
        if until(message):
            return seen


def answers(inbox: queue.Queue, kind: type) -> list:
    """The messages of type ``kind`` up to the first one (skipping e.g. ``ModelReady``)."""
    return [m for m in drain(inbox, lambda m: isinstance(m, kind)) if isinstance(m, kind)]


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
    assert messages[0].card["format_version"] == 1 and len(messages[0].sha256) == 64
    assert [p["name"] for p in messages[0].card["operating_points"]] == [
        "balanced", "high_sensitivity"]
    assert messages[1] == BatchStarted(batch, 4)
    predicted = [m for m in messages if isinstance(m, Classified)]
    results = [m.result for m in predicted]
    assert [r.path.name for r in results] == ["0.png", "1.png", "2.png", "3.png"]
    assert all(0.0 <= r.p_pneumonia <= 1.0 and r.error is None for r in results[:3])
    assert results[3].p_pneumonia is None and results[3].error is not None
    assert messages[-1] == BatchFinished(batch, 4, 4, cancelled=False)

    model_input = read_image(folder / "0.png", preview_size=None).model_input
    worker.request_heatmap(7, model_input)
    [heat] = drain(worker.inbox, lambda m: isinstance(m, HeatmapReady))
    assert heat.key == 7 and heat.error is None and heat.heatmap.shape == (224, 224)


def write_images(folder: Path, count: int, size=(900, 800)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        paths.append(folder / f"{i}.png")
        pixels = rng.integers(0, 255, size=(size[1], size[0]), dtype=np.uint8)
        Image.fromarray(pixels, "L").save(paths[-1])
    return paths


def test_a_batch_of_several_files_carries_fingerprints_not_images(worker, tmp_path):
    paths = write_images(tmp_path / "batch", 3)
    worker.submit([tmp_path / "batch"])
    messages = drain(worker.inbox, lambda m: isinstance(m, BatchFinished))
    predicted = [m for m in messages if isinstance(m, Classified)]
    assert len(predicted) == 3
    for message, path in zip(predicted, paths, strict=True):
        assert message.result.preview is None and message.result.model_input is None
        assert message.result.fingerprint == fingerprint(read_image(path).model_input)


def test_a_batch_of_one_file_keeps_its_preview_and_model_input(worker, tmp_path):
    [path] = write_images(tmp_path, 1)
    worker.submit([path])
    messages = drain(worker.inbox, lambda m: isinstance(m, BatchFinished))
    [message] = [m for m in messages if isinstance(m, Classified)]
    result = message.result
    assert result.preview.mode == "L" and max(result.preview.size) == PREVIEW_MAX_SIDE
    assert result.model_input.shape == (224, 224)
    assert result.fingerprint == fingerprint(result.model_input)


def test_a_preview_request_reads_the_file_again_then_computes_its_heatmap(worker, tmp_path):
    [path] = write_images(tmp_path, 1)
    expected = read_image(path, preview_size=None).model_input
    worker.request_preview(5, path, fingerprint(expected), heatmap=True)
    messages = drain(worker.inbox, lambda m: isinstance(m, HeatmapReady))
    preview = next(m for m in messages if isinstance(m, PreviewReady))
    assert preview.key == 5 and preview.error is None
    assert preview.preview.mode == "L" and max(preview.preview.size) == PREVIEW_MAX_SIDE
    assert np.array_equal(preview.model_input, expected)
    heat = messages[-1]
    assert heat.key == 5 and heat.error is None and heat.heatmap.shape == (224, 224)


def test_a_newer_request_supersedes_the_ones_still_waiting(worker, tmp_path):
    paths = write_images(tmp_path, 3, size=(300, 280))
    drain(worker.inbox, lambda m: isinstance(m, ModelReady))
    busy, release = threading.Event(), threading.Event()
    explain = worker.engine.explain

    def slow_explain(model_input):
        busy.set()
        release.wait(30)
        return explain(model_input)

    worker.engine.explain = slow_explain
    try:
        worker.request_heatmap(1, np.zeros((224, 224), np.uint8))
        assert busy.wait(30)  # the thread is busy: the next requests wait
        for key, path in enumerate(paths, start=10):  # arrowing quickly down the table
            worker.request_preview(key, path, None)
        release.set()
        messages = drain(worker.inbox, lambda m: isinstance(m, PreviewReady))
    finally:
        worker.engine.explain = explain
    assert [(type(m).__name__, m.key) for m in messages] == [
        ("HeatmapReady", 1), ("PreviewReady", 12)]


def test_a_batch_says_what_its_folder_scan_skipped(worker, tmp_path):
    folder = tmp_path / "ward"
    folder.mkdir()
    Image.new("L", (64, 64), 90).save(folder / "a.gif")  # a GIF: scanned now
    (folder / "notes.txt").write_text("not an image")
    (folder / "._a.gif").write_bytes(b"resource fork")
    worker.submit([folder])
    [started] = answers(worker.inbox, BatchStarted)
    assert started.total == 1
    assert started.skipped.summary() == "1 file skipped: not an image. 1 hidden file skipped."


def test_a_deleted_file_gives_the_readers_message_and_no_heatmap(worker, tmp_path):
    [path] = write_images(tmp_path, 1)
    expected = fingerprint(read_image(path).model_input)
    path.unlink()
    worker.request_preview(3, path, expected, heatmap=True)
    [message] = answers(worker.inbox, PreviewReady)
    assert message.preview is None and message.model_input is None
    assert isinstance(message.error, FileMissingError)
    assert message.error.user_message() == FileMissingError().user_message()
    worker.request_heatmap(4, np.zeros((224, 224), np.uint8))
    [heat] = answers(worker.inbox, HeatmapReady)
    assert heat.key == 4  # none was computed for the missing file


def test_a_file_changed_since_it_was_classified_is_reported_not_shown(worker, tmp_path):
    [path] = write_images(tmp_path, 1)
    expected = fingerprint(read_image(path).model_input)
    Image.new("L", (900, 800), 90).save(path)  # another image under the same name
    worker.request_preview(8, path, expected, heatmap=True)
    [message] = answers(worker.inbox, PreviewReady)
    assert message.preview is None and message.model_input is None
    assert isinstance(message.error, FileChangedError)
    i18n.set_language("es")
    try:
        assert "classified" not in message.error.user_message()  # translated, not English
    finally:
        i18n.set_language("en")
    assert message.error.user_message() == (
        "This file has changed since it was classified. Open it again to classify it anew.")
    worker.request_heatmap(9, np.zeros((224, 224), np.uint8))
    [heat] = answers(worker.inbox, HeatmapReady)
    assert heat.key == 9  # the changed image was not explained as if it were the classified one


def test_cancelled_batches_report_themselves_and_later_batches_still_run(worker, tmp_path):
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((64, 64), np.uint8), "L").save(image)
    drain(worker.inbox, lambda m: isinstance(m, ModelReady))
    started, release = threading.Event(), threading.Event()
    model_calls = worker.engine.assess_batch

    def held(inputs):  # the batch is running, and cannot finish before cancel() is called
        started.set()
        release.wait(30)
        return model_calls(inputs)

    worker.engine.assess_batch = held
    try:
        first = worker.submit([image] * 3)
        assert started.wait(30)
        worker.cancel()
        release.set()
        finished = drain(worker.inbox, lambda m: isinstance(m, BatchFinished))[-1]
    finally:
        worker.engine.assess_batch = model_calls
    assert finished.batch == first and finished.cancelled and finished.done < 3
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


def test_a_16bit_file_read_again_brings_its_display_buffer(worker, tmp_path):
    """The viewer's window presets need the values before windowing: they travel with the
    re-read preview, at its size; an 8-bit file brings none."""
    path = tmp_path / "sixteen.png"
    Image.fromarray((np.arange(900 * 800) % 4096).reshape(800, 900).astype(np.uint16)).save(path)
    worker.request_preview(6, path, None)
    [message] = answers(worker.inbox, PreviewReady)
    assert message.display.codes.shape[::-1] == message.preview.size
    [eight] = write_images(tmp_path / "eight", 1)
    worker.request_preview(7, eight, None)
    [message] = answers(worker.inbox, PreviewReady)
    assert message.display is None and message.preview is not None
