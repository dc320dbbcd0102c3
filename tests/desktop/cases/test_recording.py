"""``predict`` records every classified file into the history (committed before its line is
printed), beside the window writing at the same time; a killed run, a read-only folder or a full
disk never costs a classification or a recorded line. Real database files, real processes."""

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.cases.recorder import NOT_RECORDING, Recorder
from desktop.cases.store import HistoryStore
from desktop.engine.inference import Engine
from desktop.engine.session import Session
from desktop.engine.threshold import ThresholdPolicy
from desktop.reading.identity import file_sha256
from tests.support.fuzz_corpus import dicom_bytes

ROOT = Path(__file__).resolve().parents[3]


def images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` small, all different PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"img{i:04d}.png"
        Image.fromarray(rng.integers(0, 256, (48, 40), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def predict(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "desktop", "predict", "--lang", "en",
                             *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def recorded_paths(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {row[0] for row in connection.execute("SELECT path FROM cases")}


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def printed_path(line: str) -> str:
    """The path on a text line: after the verdict and P columns."""
    return line.split(None, 2)[2]


@pytest.mark.integration
def test_predict_records_each_file_once_with_its_model_and_threshold(tiny_model, tmp_path):
    files = images(tmp_path / "in", 3)
    shutil.copy(files[0], tmp_path / "in" / "same content.png")
    proc = predict(tmp_path / "in", "--model", tiny_model)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    store = HistoryStore.open()  # the user's history (CXR_DATA_DIR in the tests)
    rows = store.rows()
    assert store.case_count() == 3 and len(rows) == 3  # the copy is the same case
    sha = (Path(str(tiny_model) + ".sha256").read_text().split()[0])
    assert {r.model_sha256 for r in rows} == {sha}
    assert {r.verdict for r in rows} <= {"NORMAL", "PNEUMONIA"}
    assert all(r.profile == "" and r.p == r.p_model for r in rows)
    proc = predict(tmp_path / "in", "--model", tiny_model, "--no-history")
    proc.communicate(timeout=120)
    assert store.count() == 3


def test_a_chunk_is_recorded_in_one_transaction_with_the_identity_the_lanes_took(
        tiny_model, tmp_path):
    files = images(tmp_path / "in", 5)
    engine = Engine.load(tiny_model)
    session = Session(ThresholdPolicy.from_card(engine.metadata))
    recorder = Recorder(tmp_path / "h.db")
    chunk = list(engine.predict_paths(files, preview_size=None, identify=True))
    rows = []
    for result in chunk:
        session.add(result)
        rows.append((session.row(result), result))
    files[0].write_bytes(b"changed after it was classified")  # the lanes' hash is what counts
    commits = []
    recorder.open().connection.set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    assert recorder.record_rows(rows, model_sha256=engine.sha256, model_version="t",
                                origin="predict") == 5
    assert len(commits) == 1
    stored = {r.file_name: r.sha256 for r in recorder.store.rows()}
    assert stored[files[0].name] == chunk[0].identity.sha256 != file_sha256(files[0])
    recorder.close()


@pytest.mark.integration
def test_patient_name_and_id_are_never_stored_but_the_uids_are(tiny_model, tmp_path):
    pixels = np.random.default_rng(1).integers(0, 4000, (64, 64)).astype(np.uint16)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "chest.dcm").write_bytes(dicom_bytes(pixels, extra={
        "PatientID": "H-998877", "StudyInstanceUID": "1.2.826.0.1.7",
        "SeriesInstanceUID": "1.2.826.0.1.8"}))
    db = tmp_path / "h.db"
    proc = predict(tmp_path / "in", "--model", tiny_model, "--history", db)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT study_uid, series_uid FROM cases").fetchone() == \
            ("1.2.826.0.1.7", "1.2.826.0.1.8")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("h.db*"))
    assert b"Fuzz^Corpus" not in stored and b"H-998877" not in stored
    assert b"Fuzz" not in stored


@pytest.mark.integration
def test_a_predict_killed_mid_batch_lost_nothing_it_printed(tiny_model, tmp_path):
    images(tmp_path / "in", 400)
    db = tmp_path / "h.db"
    proc = predict(tmp_path / "in", "--model", tiny_model, "--history", db)
    printed = []
    for line in proc.stdout:
        printed.append(printed_path(line.rstrip("\n")))
        if len(printed) == 150:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(printed) == 150
    assert integrity(db) == "ok"
    assert set(printed) <= recorded_paths(db)
    store = HistoryStore.open(db)  # opens cleanly, and goes on recording
    assert store.notice is None and not store.read_only
    store.close()


@pytest.mark.integration
def test_the_window_and_predict_write_200_files_each_at_once(tiny_model, tmp_path):
    db = tmp_path / "h.db"
    images(tmp_path / "cli", 200, seed=1)
    window_files = images(tmp_path / "window", 200, seed=2)
    proc = predict(tmp_path / "cli", "--model", tiny_model, "--history", db)
    engine = Engine.load(tiny_model)
    session = Session(ThresholdPolicy.from_card(engine.metadata))
    recorder = Recorder(db)
    recorded = 0
    for result in engine.predict_paths(window_files, preview_size=None):  # as the worker does
        session.add(result)
        recorded += recorder.record(session, result, model_sha256=engine.sha256,
                                    model_version="1", origin="window")
    out, err = proc.communicate(timeout=300)
    recorder.close()
    assert proc.returncode == 0, err
    assert recorded == 200 and len(out.splitlines()) == 200
    assert "not being recorded" not in err
    paths = recorded_paths(db)
    assert len(paths) == 400
    assert {str(p.resolve()) for p in window_files} <= paths
    assert integrity(db) == "ok"


@pytest.fixture()
def read_only_folder(tmp_path):
    """A data folder nobody may write, root included (chattr +i where we are root)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    yield folder
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


@pytest.mark.integration
def test_a_read_only_data_folder_classifies_everything_and_says_so_once(
        tiny_model, tmp_path, read_only_folder, monkeypatch):
    images(tmp_path / "in", 12)
    monkeypatch.setenv("CXR_DATA_DIR", str(read_only_folder))
    proc = predict(tmp_path / "in", "--model", tiny_model)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert len(out.splitlines()) == 12
    assert err.count(NOT_RECORDING) == 1
    assert list(read_only_folder.iterdir()) == []


def _small_files():
    """In the child: files may grow to 300 kB, then writing fails (EFBIG), as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


@pytest.mark.integration
def test_a_full_disk_mid_batch_classifies_everything_and_says_so_once(tiny_model, tmp_path):
    images(tmp_path / "in", 300)
    db = tmp_path / "h.db"
    proc = predict(tmp_path / "in", "--model", tiny_model, "--history", db,
                   preexec_fn=_small_files)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(out.splitlines()) == 300
    assert err.count(NOT_RECORDING) == 1
    kept = len(recorded_paths(db))
    assert 0 < kept < 300  # it recorded until the disk was "full"
    assert integrity(db) == "ok"


@pytest.mark.integration
@pytest.mark.usefixtures("english_and_own_logging")  # main() sets up logging
def test_history_export_and_stats_read_what_predict_recorded(tiny_model, tmp_path, capsys):
    import csv

    from desktop.cases.export import COLUMNS
    from desktop.cli_cases import history_main

    images(tmp_path / "in", 4)
    db = tmp_path / "h.db"
    proc = predict(tmp_path / "in", "--model", tiny_model, "--history", db)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    store = HistoryStore.open(db)
    first = store.rows()[0]
    store.confirm([first.case_id], first.verdict, how="radiologist", by="Ana")
    store.close()
    out_csv = tmp_path / "cases.csv"
    assert history_main(["--db", str(db), "--lang", "en", "export", "--csv", str(out_csv),
                         "--confirmed", "yes"]) == 0
    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(COLUMNS) and len(rows) == 2
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert (cells["confirmed"], cells["agreement"], cells["confirmed_by"]) == \
        (first.verdict, "agree", "Ana")
    capsys.readouterr()
    assert history_main(["--db", str(db), "--lang", "en", "stats"]) == 0
    periods = [line for line in capsys.readouterr().out.splitlines() if ": 4 " in line]
    assert periods and all(": 4 cases," in line for line in periods)  # cases, as Monitoring counts


def test_each_row_predict_prints_is_already_committed_and_unrecorded_rows_do_not_wait(
        tiny_model, tmp_path):
    """``classified_rows`` (predict's loop): with a history, every row it hands out is in the
    database file as another connection sees it; without one, the first chunk comes out before
    the rest are classified (no waiting for a group of 16)."""
    from desktop.cases.recorder import RECORD_EVERY, classified_rows

    files = images(tmp_path / "in", RECORD_EVERY + 5)
    engine = Engine.load(tiny_model)
    recorder = Recorder(tmp_path / "h.db")
    session = Session(ThresholdPolicy.from_card(engine.metadata))
    handed = 0
    for _row, result in classified_rows(engine, files, session, recorder, model_version="t",
                                        origin="predict"):
        handed += 1
        assert result.path.name in {Path(p).name for p in recorded_paths(tmp_path / "h.db")}
    assert handed == len(files) == len(recorded_paths(tmp_path / "h.db"))
    recorder.close()

    session = Session(ThresholdPolicy.from_card(engine.metadata))
    rows = classified_rows(engine, files, session, None, model_version="t", origin="predict")
    next(rows)
    assert len(session.rows()) == engine.batch_size  # one lane chunk, not a group of 16
    rows.close()


def test_a_referred_result_is_recorded_as_refer_with_the_band_that_made_it(tmp_path):
    """The session's band decides; the history keeps REFER and that band, and its P."""
    from desktop.engine.results import Result
    from desktop.engine.scope import IN_SCOPE, Scope

    files = images(tmp_path / "in", 2)
    session = Session(ThresholdPolicy.from_card(
        {"threshold": 0.5, "refer_band": {"t_low": 0.2, "t_high": 0.6}}))
    recorder = Recorder(tmp_path / "h.db")
    for path, p in zip(files, (0.45, 0.9), strict=True):
        result = session.add(Result(path, p, scope=Scope(IN_SCOPE)))
        assert recorder.record(session, result, model_sha256="m" * 64, model_version="1",
                               origin="window")
    recorder.close()
    store = HistoryStore.open(tmp_path / "h.db", read_only=True)
    stored = {r.file_name: (r.verdict, r.decision, r.p, r.t_low, r.t_high)
              for r in store.rows()}
    store.close()
    assert stored == {"img0000.png": (None, "REFER", 0.45, 0.2, 0.6),
                      "img0001.png": ("PNEUMONIA", "PNEUMONIA", 0.9, 0.2, 0.6)}
