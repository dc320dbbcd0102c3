"""What we write, and over what (issue 29 items 4-8, 11, 13; issue 28 item 3): no output replaces
the history, the model, a profile or an input; a file that is not a history of ours is refused
untouched; a file name is data (undecodable bytes, controls, formulas) and never crashes a
writer, splits a CSV row, runs in a spreadsheet or reaches the terminal raw; the reading
commands read damaged, foreign, future, read-only and restored histories with one sentence.
Real files and real processes throughout."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.cases.store import SCHEMA_VERSION, HistoryStore
from desktop.cli_cases import history_main
from tests.desktop.cases.test_recording import images
from tests.desktop.cases.test_store import FOREIGN, damaged_history, record
from tests.support.interrupts import sigint_as_at_a_terminal

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("english_and_own_logging")


def command(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, **kwargs)


def history_of(path: Path, n: int = 3) -> Path:
    store = HistoryStore.open(path)
    for i in range(n):
        store.record(record(sha=f"{i:064d}", name=f"{i}.png"))
    store.close()
    return path


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- item 4: no output over a file we keep or read ----------------------------------------------


def test_history_export_never_replaces_the_history_named_any_way(tmp_path, capsys):
    db = history_of(tmp_path / "h.db")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(db)
    os.link(db, tmp_path / "hard.csv")
    before = snapshot(tmp_path)
    for out in (db, tmp_path / "sub" / ".." / "h.db", tmp_path / "link.csv",
                tmp_path / "hard.csv", Path(f"{db}-wal")):
        code = history_main(["--db", str(db), "export", "--csv", str(out)])
        err = capsys.readouterr().err
        assert code == 1 and "was not written: it is the case history" in err, out
        assert "results written" not in err
    assert snapshot(tmp_path) == before


def test_predict_refuses_outputs_over_the_history_model_profile_and_inputs(tiny_model,
                                                                           tmp_path, capsys):
    from desktop.cli import main

    files = images(tmp_path / "in", 2)
    db = history_of(tmp_path / "h.db")
    profile = tmp_path / "site.json"
    profile.write_text("{}")  # refused before it is read
    model_files = snapshot(tiny_model.parent)
    before = snapshot(tmp_path), snapshot(tmp_path / "in")
    for out, what in ((["--csv", db], "the case history"),
                      (["--report", tiny_model], "the model file"),
                      (["--csv", Path(f"{tiny_model}.sha256")], "the model file"),
                      (["--csv", profile], "the site profile"),
                      (["--report", files[1]], "one of the input files"),
                      (["--csv", tmp_path / "same", "--report", tmp_path / "same"],
                       "another output")):
        code = main([str(a) for a in ("--lang", "en", tmp_path / "in", "--model", tiny_model,
                                      "--history", db, "--profile", profile, *out)])
        stdout, stderr = capsys.readouterr()
        assert code == 1 and stdout == "", out
        assert f"was not written: it is {what}" in stderr, stderr
    assert (snapshot(tmp_path), snapshot(tmp_path / "in")) == before  # nothing classified
    assert snapshot(tiny_model.parent) == model_files


def test_calibrate_never_writes_over_the_model_or_an_image_it_reads(tiny_model, tmp_path,
                                                                   capsys):
    from desktop.cli_cases import calibrate_main

    folder = tmp_path / "labelled"
    normal = images(folder / "NORMAL", 2)
    images(folder / "PNEUMONIA", 2, seed=1)
    model_files = snapshot(tiny_model.parent)
    for out in (["--out", tiny_model], ["--out", tmp_path / "s.json", "--report", normal[0]],
                ["--out", tmp_path / "s.json", "--report", tmp_path / "s.json"]):
        code = calibrate_main([str(a) for a in (folder, "--model", tiny_model, "--lang", "en",
                                                *out)])
        assert code == 1 and "was not written" in capsys.readouterr().err
    assert snapshot(tiny_model.parent) == model_files
    assert not (tmp_path / "s.json").exists()
    assert snapshot(folder / "NORMAL") == {p.name: p.read_bytes() for p in normal}


# --- item 5: only our own history is ours -------------------------------------------------------


@pytest.mark.parametrize("kind", FOREIGN)
def test_the_reading_commands_refuse_a_file_that_is_not_a_history_untouched(tmp_path, kind,
                                                                           capsys):
    db = tmp_path / "notes.txt"
    FOREIGN[kind](db)
    before = snapshot(tmp_path)
    for args in (["stats"], ["export", "--csv", str(tmp_path / "out.csv")]):
        assert history_main(["--db", str(db), *args]) == 1
        err = capsys.readouterr().err
        assert err.strip().endswith("Name another file for the case history."), err
    assert snapshot(tmp_path) == before  # not renamed *.damaged-*, no CSV, no -wal


def test_a_mistyped_db_for_a_reading_command_creates_nothing(tmp_path, capsys):
    folder = tmp_path / "records"
    folder.mkdir()
    for args in (["stats"], ["export", "--csv", str(tmp_path / "out.csv")]):
        assert history_main(["--db", str(folder / "hisotry.db"), *args]) == 1
        assert "There is no case history at" in capsys.readouterr().err
    assert list(folder.iterdir()) == [] and not (tmp_path / "out.csv").exists()


@pytest.mark.integration
def test_predict_into_another_programs_database_classifies_but_leaves_it_untouched(
        tiny_model, tmp_path):
    images(tmp_path / "in", 2)
    other = tmp_path / "contacts.db"
    FOREIGN["another program's SQLite"](other)
    before = snapshot(tmp_path)
    done = command("predict", "--lang", "en", tmp_path / "in", "--model", tiny_model,
                   "--history", other)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 2
    assert "contacts.db is not a case history" in done.stderr
    assert snapshot(tmp_path) == before


# --- items 6-8: a file name is data -------------------------------------------------------------

NASTY = {
    b"bad\xff\xfe.png": "bad\\xff\\xfe.png",  # not UTF-8
    b"=1+2.png": "'=1+2.png",  # a formula
    b"@SUM(A1).png": "'@SUM(A1).png",
    b"a\rb.png": "a\rb.png",  # a carriage return: quoted, one row
    b"\x1b]0;pwned\x07\x1b[2J.png": "\x1b]0;pwned\x07\x1b[2J.png",  # set title, clear screen
}


def nasty_folder(folder: Path) -> list[Path]:
    """Three ordinary images and one per ``NASTY`` name (all distinct contents)."""
    made = images(folder, 3 + len(NASTY))
    for path, raw in zip(made[3:], NASTY, strict=True):
        os.rename(os.fsencode(path), os.fsencode(folder) + b"/" + raw)
    return sorted(folder.iterdir())


@pytest.mark.integration
def test_predict_classifies_prints_writes_and_records_every_file_whatever_its_name(
        tiny_model, tmp_path):
    folder = tmp_path / "in"
    nasty_folder(folder)
    db, out = tmp_path / "h.db", tmp_path / "out.csv"
    done = subprocess.run(
        [sys.executable, "-m", "desktop", "predict", "--lang", "en", os.fsencode(folder),
         "--model", str(tiny_model), "--history", str(db), "--csv", str(out), "--profile",
         str(tmp_path / "\x1b[2J=profile.json")], cwd=ROOT, capture_output=True, timeout=180)
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert done.returncode == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == 8 and "Traceback" not in stderr
    assert any(line.endswith("bad\\xff\\xfe.png") for line in lines)
    assert "\x1b" not in stdout + stderr and "\r" not in stdout + stderr
    assert "\\x1b]0;pwned\\x07\\x1b[2J.png" in stdout
    rows = read_csv(out)
    assert len(rows) == 9  # the header and 8 files: the carriage return did not split a row
    files = {row[0] for row in rows[1:]}
    assert set(NASTY.values()) <= files
    store = HistoryStore.open(db)
    assert store.count() == 8
    assert {r.file_name for r in store.rows()} >= {"bad\\xff\\xfe.png", "=1+2.png"}
    store.close()
    exported = tmp_path / "history.csv"
    assert history_main(["--db", str(db), "export", "--csv", str(exported)]) == 0
    history = read_csv(exported)
    assert len(history) == 9 and set(NASTY.values()) <= {row[1] for row in history[1:]}
    json_done = subprocess.run(
        [sys.executable, "-m", "desktop", "predict", os.fsencode(folder), "--json", "--model",
         str(tiny_model), "--no-history"], cwd=ROOT, capture_output=True, timeout=180)
    paths = [json.loads(line)["path"] for line in json_done.stdout.decode().splitlines()]
    assert len(paths) == 8 and str(folder / "bad\\xff\\xfe.png") in paths


def test_the_windows_export_writes_a_name_that_is_not_utf8_without_crashing(tmp_path):
    from desktop.settings import Settings
    from desktop.ui.state import WindowState
    from tests.desktop.ui.test_state import RecordingView, RecordingWorker, result, run_batch

    view = RecordingView()
    state = WindowState(Settings(language="en"), RecordingWorker(), view, save=lambda s: None)
    view.state = state
    odd = result("x.png", 0.7)
    odd.path = Path(os.fsdecode(b"/ward/bad\xff\xfe.png"))
    run_batch(state, [odd, result("=cmd|'calc'!A0.png", 0.2)])
    out = tmp_path / "window.csv"
    assert state.export_csv(out)
    files = [row[0] for row in read_csv(out)[1:]]
    assert files == ["bad\\xff\\xfe.png", "'=cmd|'calc'!A0.png"]


def test_the_one_csv_writer_neutralises_formulas_but_a_number_stays_a_number():
    import io

    from desktop.engine.results import csv_document

    cells = ["=1+2", "+1+2", "-1+2", "@A1", "\tx", "\rx", "-0.5", "+3", "1e-3", "-", "a=b"]
    text = csv_document(["c"] * len(cells), [cells])
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back[1] == ["'=1+2", "'+1+2", "'-1+2", "'@A1", "'\tx", "'\rx", "-0.5", "+3", "1e-3",
                       "'-", "a=b"]


# --- issue 28 item 3: no verdict, no P ----------------------------------------------------------


def test_a_result_without_a_verdict_has_no_p_in_the_history_export(tmp_path):
    db = tmp_path / "h.db"
    store = HistoryStore.open(db)
    store.record(record(sha="a" * 64, name="dog.jpg", verdict=None, p=0.920248,
                        scope="not_chest_xray"))
    store.record(record(sha="b" * 64, name="xray.png", verdict="PNEUMONIA", p=0.9))
    assert [r.p_text(3) for r in store.rows()] == ["0.900", ""] or \
        sorted(r.p_text(3) for r in store.rows()) == ["", "0.900"]
    store.close()
    out = tmp_path / "out.csv"
    assert history_main(["--db", str(db), "export", "--csv", str(out)]) == 0
    rows = {row["file"]: row for row in csv.DictReader(open(out, newline="", encoding="utf-8"))}
    assert rows["dog.jpg"]["p_pneumonia"] == "" and rows["dog.jpg"]["p_model"] == ""
    assert rows["xray.png"]["p_pneumonia"] == "0.900000"


# --- item 11: the reading commands on bad histories ---------------------------------------------


def test_export_and_stats_of_a_damaged_history_say_so_and_change_nothing(tmp_path, capsys):
    db = tmp_path / "h.db"
    damaged_history(db)
    before = snapshot(tmp_path)
    for args in (["stats"], ["export", "--csv", str(tmp_path / "out.csv")]):
        assert history_main(["--db", str(db), *args]) == 1
        err = capsys.readouterr().err
        assert "h.db is damaged and could not be read" in err and "Traceback" not in err
        assert "results written" not in err
    after = snapshot(tmp_path)
    assert after["h.db"] == before["h.db"] and not list(tmp_path.glob("*damaged*"))
    assert after.get("h.db-wal", b"") == b""  # SQLite's own empty companions at most


def test_the_calendars_ends_are_days_like_any_other(tmp_path, capsys):
    db = history_of(tmp_path / "h.db")
    out = tmp_path / "out.csv"
    assert history_main(["--db", str(db), "export", "--csv", str(out), "--since", "0001-01-01",
                         "--until", "9999-12-31"]) == 0
    assert len(read_csv(out)) == 4
    assert history_main(["--db", str(db), "export", "--csv", str(out), "--since", "9999-12-31"]
                        ) == 0
    assert len(read_csv(out)) == 1  # nothing after 9999-12-31 begins


def test_a_history_with_a_future_schema_is_one_sentence(tmp_path, capsys):
    db = history_of(tmp_path / "h.db")
    connection = sqlite3.connect(db)
    connection.executescript("ALTER TABLE results RENAME COLUMN p TO p_calibrated;"
                             f"PRAGMA user_version = {SCHEMA_VERSION + 1};")
    connection.close()
    for args in (["stats"], ["export", "--csv", str(tmp_path / "out.csv")]):
        assert history_main(["--db", str(db), *args]) == 1
        err = capsys.readouterr().err
        assert "in a form this version of the application cannot read" in err, err


def test_a_history_on_a_read_only_file_system_can_still_be_read(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a read-only file system")
    folder = tmp_path / "ro"
    folder.mkdir()
    history_of(folder / "h.db", 5)
    out = tmp_path / "out.csv"
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
              f"touch {folder}/probe 2>/dev/null && echo WRITABLE; "
              f"{sys.executable} -m desktop history --db {folder}/h.db --lang en export "
              f"--csv {out}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    if "WRITABLE" in done.stdout or "mount" in done.stderr:
        pytest.skip(f"could not mount read-only here: {done.stderr}")
    assert done.returncode == 0, done.stderr
    assert len(read_csv(out)) == 6


def test_ctrl_c_during_an_export_is_one_line_exit_130_and_leaves_no_temp_file(tmp_path):
    db = tmp_path / "h.db"
    store = HistoryStore.open(db)
    store.record_many([record(sha=f"{i:064d}", name=f"{i}.png") for i in range(60_000)])
    store.close()
    out = tmp_path / "out" / "cases.csv"
    out.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "history", "--db", str(db),
                             "--lang", "en", "export", "--csv", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_as_at_a_terminal)
    # Deterministic on a loaded machine: the child is frozen (SIGSTOP) and looked at; only when
    # it is caught writing (its temporary file there, the CSV not yet) does Ctrl+C go in, and it
    # is handled at the next row the child writes once thawed.
    assert _freeze_while(proc, lambda: not out.exists() and any(out.parent.iterdir())), \
        "never caught the export while it was writing"
    proc.send_signal(signal.SIGINT)
    os.kill(proc.pid, signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    # 130, or death by SIGINT itself (-2), which a shell reports as the same 130: on a loaded
    # machine the interpreter now and then ends that way after our handler has run; what the
    # user reads (the one line) and what is left on disk (nothing) are the same either way.
    assert proc.returncode in (130, -signal.SIGINT), proc.returncode
    assert err.strip() == "Interrupted; nothing was written.", err
    assert list(out.parent.iterdir()) == []  # no CSV, no hidden temp file


def _freeze_while(proc: subprocess.Popen, busy) -> bool:
    """Stop ``proc`` (SIGSTOP) at a moment when ``busy()`` holds and return True with it still
    stopped; False if it ended first or a minute passed. Each look is taken while the child is
    stopped, so what was seen is still true when the caller acts."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if not busy():  # a glance first, so the child runs freely until it looks busy
            time.sleep(0.005)
            continue
        os.kill(proc.pid, signal.SIGSTOP)
        while time.monotonic() < deadline and _state(proc.pid) not in ("T", "t", "Z", ""):
            pass  # SIGSTOP is delivered asynchronously: wait until the child is stopped
        if _state(proc.pid) in ("T", "t") and busy():
            return True
        os.kill(proc.pid, signal.SIGCONT)
    return False


def _state(pid: int) -> str:
    """The process state letter of /proc/PID/stat ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


# --- item 13: a WAL left beside a restored backup -----------------------------------------------


def test_history_commands_warn_of_a_wal_older_than_a_restored_history(tmp_path, capsys):
    db = history_of(tmp_path / "h.db", 5)
    backup = tmp_path / "backup.db"
    shutil.copy(db, backup)
    holder = sqlite3.connect(db)  # a writer that dies without a checkpoint leaves its WAL
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    holder.execute("DELETE FROM results")
    holder.commit()
    stale = Path(f"{db}-wal").read_bytes()
    holder.close()
    Path(f"{db}-wal").write_bytes(stale)
    old = time.time() - 3600
    os.utime(f"{db}-wal", (old, old))
    shutil.copy(backup, db)  # the restore, its WAL left beside it
    assert history_main(["--db", str(db), "stats"]) == 0
    err = capsys.readouterr().err
    assert "h.db-wal lies beside the case history but is older than it" in err
