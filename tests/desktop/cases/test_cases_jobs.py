"""What the Calibrate and Read first windows do below the window, without one: a calibration
job and a teaching session that take the engine handed to them. The tiny exported model, real
files, a real history."""

from __future__ import annotations

import queue

import numpy as np
import pytest

from desktop.cases.calibration_job import CalibrationJob, FitFailed, Fitted
from desktop.cases.store import CaseRecord, HistoryStore
from desktop.cases.teaching_session import Shown, TeachingSession
from desktop.engine.inference import Engine
from tests.desktop.cases.test_recording import images


@pytest.fixture(scope="module")
def engine(tiny_model):
    return Engine.load(tiny_model)


def test_the_calibration_job_fits_the_historys_confirmed_cases_of_its_engine(engine, tmp_path):
    path = tmp_path / "h.db"
    store = HistoryStore.open(path)
    rng = np.random.default_rng(0)
    for i in range(80):
        p = float(np.clip(rng.normal(0.75 if i % 2 else 0.3, 0.2), 0.01, 0.99))
        for model in (engine.sha256, "0" * 64):  # another model's results are not its P
            case = store.record(CaseRecord(
                sha256=f"{i:064d}", file_name=f"{i}.png", path=f"/x/{i}.png", size=1,
                model_sha256=model, model_version="1", profile="", p_model=p, p=p,
                threshold=0.5, verdict=None, scope="in_scope", scope_reason=None,
                origin="window"))
        store.confirm([case], "PNEUMONIA" if i % 2 else "NORMAL")
    store.close()
    replies: queue.Queue = queue.Queue()
    CalibrationJob(engine, path).start(replies.put, folder=None, target=None, shipped=0.5)
    fitted = replies.get(timeout=60)
    assert isinstance(fitted, Fitted) and fitted.folder is None and fitted.left_out is None
    assert (fitted.study.n_normal, fitted.study.n_pneumonia) == (40, 40)


def test_the_calibration_job_on_a_folder_says_what_it_left_out_or_why_not(engine, tmp_path):
    images(tmp_path / "NORMAL", 3, seed=1)
    images(tmp_path / "PNEUMONIA", 3, seed=2)
    (tmp_path / "PNEUMONIA" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    job = CalibrationJob(engine, tmp_path / "h.db")
    refused = job.run(folder=tmp_path, target=None, shipped=0.5)  # 6 images are too few
    assert isinstance(refused, FitFailed) and refused.error is not None
    assert refused.error.user_message()
    none = job.run(folder=None, target=None, shipped=0.5)  # no history: nothing created
    assert isinstance(none, FitFailed) and "no case history" in none.error.user_message()
    assert not (tmp_path / "h.db").exists()


def test_a_teaching_session_classifies_keeps_the_read_apart_and_sums_up(engine, tmp_path):
    image = images(tmp_path / "NORMAL", 1)[0]
    told = []
    teaching = TeachingSession(engine.metadata, None, tmp_path / "h.db", notify=told.append)
    shown: queue.Queue = queue.Queue()
    teaching.classify(engine, image, preview_size=64, post=shown.put)
    reply = shown.get(timeout=60)
    assert isinstance(reply, Shown) and reply.result.ok and reply.result.heatmap is not None
    result = teaching.add(reply.result)
    answer = teaching.keep_read(result, reply.sha256, "PNEUMONIA")
    assert answer.confirmed == "NORMAL"  # the labelled folder's
    assert answer.verdict == teaching.session.verdict(result)
    summary = teaching.summary()
    assert summary.reads == 1 and summary.reader_vs_confirmed.k == 0
    teaching.close()
    store = HistoryStore.open(tmp_path / "h.db")
    assert store.rows() == [] and [r.reader_read for r in store.teaching_reads()] == [
        "PNEUMONIA"]
    store.close()
    assert told == []


def test_a_file_the_teaching_session_cannot_classify_comes_back_empty(tmp_path):
    teaching = TeachingSession(None, None, tmp_path / "h.db", notify=lambda s: None)
    shown: queue.Queue = queue.Queue()
    teaching.classify(None, tmp_path / "a.png", preview_size=64, post=shown.put)  # no engine
    assert shown.get(timeout=30) == Shown(None, None)
    teaching.close()
