"""The window's logic without a window: threshold relabelling, sorting, CSV, the worker thread."""

from __future__ import annotations

import csv
import io
import queue
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop import i18n
from desktop.controller import (
    IMAGES_KEPT,
    PREVIEW_MAX_SIDE,
    BatchFinished,
    BatchStarted,
    HeatmapReady,
    ModelFailed,
    ModelReady,
    Predicted,
    PreviewReady,
    Session,
    Worker,
    fingerprint,
)
from desktop.errors import FileChangedError, FileMissingError, ModelMissingError, NotAnImageError
from desktop.imaging import read_image


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
    assert messages[0].metadata["format_version"] == 1
    assert [p["name"] for p in messages[0].operating_points] == ["balanced", "high_sensitivity"]
    assert messages[1] == BatchStarted(batch, 4)
    predicted = [m for m in messages if isinstance(m, Predicted)]
    assert [m.path.name for m in predicted] == ["0.png", "1.png", "2.png", "3.png"]
    assert all(0.0 <= m.p_pneumonia <= 1.0 and m.error is None for m in predicted[:3])
    assert predicted[3].p_pneumonia is None and predicted[3].error is not None
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
    predicted = [m for m in messages if isinstance(m, Predicted)]
    assert len(predicted) == 3
    for message, path in zip(predicted, paths, strict=True):
        assert message.preview is None and message.model_input is None
        assert message.fingerprint == fingerprint(read_image(path).model_input)


def test_a_batch_of_one_file_keeps_its_preview_and_model_input(worker, tmp_path):
    [path] = write_images(tmp_path, 1)
    worker.submit([path])
    messages = drain(worker.inbox, lambda m: isinstance(m, BatchFinished))
    [message] = [m for m in messages if isinstance(m, Predicted)]
    assert message.preview.mode == "L" and max(message.preview.size) == PREVIEW_MAX_SIDE
    assert message.model_input.shape == (224, 224)
    assert message.fingerprint == fingerprint(message.model_input)


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


def view(session: Session, key: int) -> None:
    """What the window does when a row is selected: select it, then store its re-read image."""
    session.select(key)
    preview = Image.new("L", (8, 8))
    session.preview_ready(PreviewReady(key, preview, np.zeros((224, 224), np.uint8)))
    session.heatmap_ready(HeatmapReady(key, np.zeros((224, 224), np.float32)))


def test_only_the_most_recently_viewed_results_keep_their_images():
    session = Session()
    keys = [session.add(Path(f"/x/{i}.png"), 0.5, None, fingerprint="f").key
            for i in range(IMAGES_KEPT + 8)]
    assert IMAGES_KEPT == 32
    for key in keys:
        view(session, key)
    assert session.held_keys == keys[8:]
    for key in keys[:8]:  # dropped, and read again when selected
        result = session.results[key]
        assert result.preview is None and result.model_input is None and result.heatmap is None
        assert session.needs_preview(result)
    newest = session.results[keys[-1]]
    assert newest.preview is not None and newest.heatmap is not None
    assert not session.needs_preview(newest)

    view(session, keys[0])  # viewed again: back in, the least recently viewed goes
    assert session.held_keys == keys[9:] + [keys[0]]
    assert session.results[keys[8]].model_input is None


def test_the_selected_result_keeps_its_images_whatever_arrives_after_it():
    session = Session(images_kept=3)
    keys = [session.add(Path(f"/x/{i}.png"), 0.5, None).key for i in range(6)]
    view(session, keys[0])
    for key in keys[1:]:  # late answers for rows the user arrowed past
        session.preview_ready(PreviewReady(key, Image.new("L", (8, 8)),
                                           np.zeros((224, 224), np.uint8)))
    assert session.selected_key == keys[0]
    assert session.held_keys == [keys[0], keys[4], keys[5]]
    assert session.results[keys[0]].heatmap is not None
    # a heatmap for a result whose images were dropped is not kept on its own
    assert session.heatmap_ready(HeatmapReady(keys[1], np.zeros((224, 224)))) is None
    assert session.results[keys[1]].heatmap is None


def test_a_failed_re_read_is_kept_until_the_row_is_selected_again():
    session = Session()
    a, b = (session.add(Path(f"/x/{n}.png"), 0.5, None).key for n in "ab")
    session.select(a)
    session.preview_ready(PreviewReady(a, None, None, FileMissingError()))
    result = session.results[a]
    assert isinstance(result.preview_error, FileMissingError) and result.ok
    assert not session.needs_preview(result)
    session.select(a)  # the same row again (e.g. a second click): no new read
    assert not session.needs_preview(result)
    session.select(b)
    session.select(a)  # came back to it: the file may be back, so it is read again
    assert session.needs_preview(result)


def test_cancelled_batches_report_themselves_and_later_batches_still_run(worker, tmp_path):
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((64, 64), np.uint8), "L").save(image)
    drain(worker.inbox, lambda m: isinstance(m, ModelReady))
    started, release = threading.Event(), threading.Event()
    model_calls = worker.engine.predict_batch

    def held(inputs):  # the batch is running, and cannot finish before cancel() is called
        started.set()
        release.wait(30)
        return model_calls(inputs)

    worker.engine.predict_batch = held
    try:
        first = worker.submit([image] * 3)
        assert started.wait(30)
        worker.cancel()
        release.set()
        finished = drain(worker.inbox, lambda m: isinstance(m, BatchFinished))[-1]
    finally:
        worker.engine.predict_batch = model_calls
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


def test_percentages_never_round_to_a_certainty_the_model_does_not_have():
    from desktop.widgets import percent

    assert [percent(0.873), percent(0.997), percent(0.99996), percent(0.0004)] == [
        "87%", "99.7%", "99.996%", "0.04%"]
    assert (percent(1.0), percent(0.0), percent(0.9856, 1)) == ("100%", "0%", "98.6%")
