"""``python -m desktop predict``: one line per file, JSON lines for programs, an atomic CSV, and
a non-zero exit only when nothing could be classified."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from desktop.cli import main
from desktop.i18n import set_language
from desktop.imaging import load_model_input
from desktop.inference import Engine


@pytest.fixture(autouse=True)
def english_and_own_logging(monkeypatch):
    """Messages in English whatever this machine's locale; logging and language restored."""
    import logging
    import threading

    from desktop import logs

    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.setenv(name, "en_US.UTF-8")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)
    sys.excepthook, threading.excepthook = hooks
    logs._handler = None
    set_language("en")


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "scans dir"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.png", "sub/b.jpg", "sub/c.bmp"):
        Image.fromarray(rng.integers(0, 256, (90, 70), dtype=np.uint8)).save(root / name)
    (root / "notes.txt").write_text("ignored in folders")
    return root


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_json_lines_have_exactly_the_documented_keys(tiny_model, folder, tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, lines, _ = run(capsys, folder, bad, "--json", "--model", tiny_model)
    assert code == 0
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 4
    assert all(set(r) == {"path", "verdict", "p_pneumonia", "threshold", "error"} for r in rows)
    assert [r["path"] for r in rows[:3]] == [
        str(folder / "a.png"), str(folder / "sub" / "b.jpg"), str(folder / "sub" / "c.bmp")
    ]
    assert all(r["verdict"] in ("NORMAL", "PNEUMONIA") and r["error"] is None for r in rows[:3])
    assert rows[3]["verdict"] is None and rows[3]["p_pneumonia"] is None
    assert rows[3]["error"].startswith("This file is not an image or is damaged.")


def test_threshold_flips_a_verdict(tiny_model, folder, capsys):
    image = folder / "a.png"
    p = float(Engine.load(tiny_model).predict_batch(load_model_input(image)[None])[0])
    verdicts = {}
    for t in (max(0.0, p - 0.001), min(1.0, p + 0.001)):
        _, lines, _ = run(capsys, image, "--json", "--threshold", t, "--model", tiny_model)
        row = json.loads(lines[0])
        assert row["threshold"] == pytest.approx(t)
        verdicts[t] = row["verdict"]
    assert list(verdicts.values()) == ["PNEUMONIA", "NORMAL"]


def test_text_output_and_csv(tiny_model, folder, tmp_path, capsys):
    out_csv = tmp_path / "résultats.csv"
    code, lines, err = run(capsys, folder, tmp_path / "missing.png", "--csv", out_csv,
                           "--model", tiny_model, "--lang", "en")
    assert code == 0
    assert len(lines) == 4
    assert lines[0].split()[0] in ("NORMAL", "PNEUMONIA") and lines[0].endswith("a.png")
    assert lines[3].startswith("ERROR") and "This file does not exist." in lines[3]
    assert "3 of 4 files classified" in err and "Not for clinical diagnosis" in err
    assert err.splitlines()[1] == "1 file skipped: not an image."  # notes.txt, in the folder
    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == ["a.png", "b.jpg", "c.bmp", "missing.png"]
    assert rows[0]["verdict"] in ("NORMAL", "PNEUMONIA") and 0 <= float(rows[0]["p_pneumonia"]) <= 1
    assert rows[3]["verdict"] == "" and "does not exist" in rows[3]["error"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file


def test_text_output_is_translated(tiny_model, tmp_path, capsys):
    (tmp_path / "x.png").write_text("text")
    Image.new("L", (50, 50), 128).save(tmp_path / "ok.png")
    _, lines, err = run(capsys, tmp_path / "x.png", tmp_path / "ok.png", "--model", tiny_model,
                        "--lang", "pt_BR")
    assert "Este arquivo não é uma imagem" in lines[0]
    assert "Não destinada a diagnóstico clínico" in err


@pytest.mark.parametrize(("lang", "summary"), [("en", "1 of 1 file classified."),
                                               ("pt_BR", "1 de 1 arquivo classificado."),
                                               ("es", "1 de 1 archivo clasificado.")])
def test_one_file_is_counted_in_the_singular(tiny_model, tmp_path, capsys, lang, summary):
    Image.new("L", (50, 50), 128).save(tmp_path / "ok.png")
    _, _, err = run(capsys, tmp_path / "ok.png", "--model", tiny_model, "--lang", lang)
    assert err.startswith(summary)


def test_system_language_is_used_without_lang(tiny_model, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "es_ES.UTF-8")
    (tmp_path / "x.png").write_text("text")
    _, lines, err = run(capsys, tmp_path / "x.png", "--model", tiny_model)
    assert "Este archivo no es una imagen" in lines[0]
    assert "No se pudo clasificar ningún archivo." in err


def test_exit_status_is_non_zero_only_when_nothing_was_classified(tiny_model, tmp_path, capsys):
    (tmp_path / "a.png").write_text("no")
    (tmp_path / "b.jpg").write_bytes(b"")
    code, lines, err = run(capsys, tmp_path / "a.png", tmp_path / "b.jpg", "--model", tiny_model)
    assert code == 1 and len(lines) == 2
    assert "No file could be classified" in err


def test_empty_folder_says_so(tiny_model, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, lines, err = run(capsys, tmp_path / "empty", "--model", tiny_model)
    assert code == 1 and lines == [] and "No image files were found" in err


def test_a_folder_of_non_images_says_what_it_skipped(tiny_model, tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    for name in ("a.txt", "b.docx", "c.csv"):
        (tmp_path / "docs" / name).write_text("words")
    code, lines, err = run(capsys, tmp_path / "docs", "--model", tiny_model, "--lang", "es")
    assert code == 1 and lines == []
    assert err.splitlines()[-1] == "3 archivos omitidos: no son imágenes."


def test_json_output_keeps_one_line_per_classified_file_and_tells_the_skips_on_stderr(
        tiny_model, folder, capsys):
    code, lines, err = run(capsys, folder, "--json", "--model", tiny_model)
    assert code == 0 and len(lines) == 3  # notes.txt gets no line
    assert err.strip() == "1 file skipped: not an image."


def test_stderr_carries_only_our_sentences_while_c_decoders_chatter(tiny_model, tmp_path):
    """GDCM's libjpeg prints "Not a JPEG file: starts with 0x00 0x00" on file descriptor 2 for a
    DICOM whose JPEG data is zeros; the command keeps it out of stderr, in the log."""
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    from tests.fuzz_corpus import dicom_bytes

    pixels = np.zeros((64, 64), np.uint8)
    bad = tmp_path / "zeros.dcm"
    bad.write_bytes(dicom_bytes(pixels, transfer_syntax=JPEGBaseline8Bit,
                                pixel_data=encapsulate([bytes(300)])))
    Image.new("L", (50, 50), 128).save(tmp_path / "ok.png")
    env = {**os.environ, "CXR_LOG_DIR": str(tmp_path / "logs"), "LANGUAGE": "en"}
    probe = subprocess.run(  # the decoder does print, when nothing redirects it
        [sys.executable, "-c", "import sys; from desktop.imaging import read_image\n"
         "try: read_image(sys.argv[1])\nexcept Exception: pass", str(bad)],
        capture_output=True, text=True, timeout=120, env=env)
    assert "Not a JPEG file" in probe.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", "predict", str(bad), str(tmp_path / "ok.png"),
         "--model", str(tiny_model), "--lang", "en"],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "1 of 2 files classified. Research and teaching tool. Not for clinical diagnosis."]
    assert "Not a JPEG file" in (tmp_path / "logs" / "cxr-pneumonia.log").read_text()


def test_missing_model_is_one_sentence_not_a_traceback(tmp_path, capsys, folder):
    code, lines, err = run(capsys, folder, "--model", tmp_path / "nope" / "model.pt")
    assert code == 1 and lines == []
    assert "was not found" in err and "Traceback" not in err


def test_bad_threshold_is_a_usage_error(tiny_model, folder, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(folder), "--threshold", "1.5", "--model", str(tiny_model)])
    assert info.value.code == 2


def test_unwritable_csv_is_reported(tiny_model, folder, tmp_path, capsys):
    code, lines, err = run(capsys, folder, "--csv", tmp_path / "no such dir" / "o.csv",
                           "--model", tiny_model)
    assert len(lines) == 3 and code == 1 and "could not be written" in err


def test_python_m_desktop_predict_runs_without_tk(tiny_model, folder):
    code = (
        "import sys; from desktop.__main__ import main; "
        f"rc = main(['predict', {str(folder)!r}, '--json', '--model', {str(tiny_model)!r}]); "
        "print('TK' if 'tkinter' in sys.modules else 'NO-TK', rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    lines = out.stdout.splitlines()
    assert lines[-1] == "NO-TK 0"
    assert len([json.loads(line) for line in lines[:-1]]) == 3
