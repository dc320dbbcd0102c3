"""``python -m desktop predict``: one line per file, JSON lines for programs, an atomic CSV, and
a non-zero exit only when nothing could be classified."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.cli import main
from desktop.engine.inference import Engine
from desktop.reading.imaging import load_model_input
from tests.support.interrupts import sigint_as_at_a_terminal

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("english_and_own_logging")


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
    assert all(set(r) == {"path", "verdict", "decision", "p_pneumonia", "threshold", "scope",
                          "scope_reason", "error", "profile", "refer_band"} for r in rows)
    # the tiny model has no scope check: nothing was checked, and each line says so
    assert all(r["scope"] is None and "no scope check" in r["scope_reason"] for r in rows[:3])
    assert rows[3]["scope"] is None and rows[3]["scope_reason"] is None
    assert [r["path"] for r in rows[:3]] == [
        str(folder / "a.png"), str(folder / "sub" / "b.jpg"), str(folder / "sub" / "c.bmp")
    ]
    assert all(r["verdict"] in ("NORMAL", "PNEUMONIA") and r["error"] is None for r in rows[:3])
    assert rows[3]["verdict"] is None and rows[3]["p_pneumonia"] is None
    assert rows[3]["error"].startswith("This file is not an image or is damaged.")


@pytest.mark.integration
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
    assert err.startswith("4 files: ") and "1 not classified" in err
    assert "Not for clinical diagnosis" in err
    assert "This model has no scope check" in err.splitlines()[1]
    assert err.splitlines()[2] == "1 file skipped: not an image."  # notes.txt, in the folder
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


@pytest.mark.parametrize(("lang", "summary"), [("en", "1 file: "), ("pt_BR", "1 arquivo: "),
                                               ("es", "1 archivo: ")])
def test_one_file_is_counted_in_the_singular(tiny_model, tmp_path, capsys, lang, summary):
    Image.new("L", (50, 50), 128).save(tmp_path / "ok.png")
    _, _, err = run(capsys, tmp_path / "ok.png", "--model", tiny_model, "--lang", lang)
    assert err.startswith(summary)


def test_system_language_is_used_without_lang(tiny_model, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "es_ES.UTF-8")
    (tmp_path / "x.png").write_text("text")
    _, lines, err = run(capsys, tmp_path / "x.png", "--model", tiny_model)
    assert "Este archivo no es una imagen" in lines[0]
    assert "Ningún archivo obtuvo un resultado." in err


def test_exit_status_is_non_zero_only_when_nothing_was_classified(tiny_model, tmp_path, capsys):
    (tmp_path / "a.png").write_text("no")
    (tmp_path / "b.jpg").write_bytes(b"")
    code, lines, err = run(capsys, tmp_path / "a.png", tmp_path / "b.jpg", "--model", tiny_model)
    assert code == 1 and len(lines) == 2
    assert "No file got a verdict" in err


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


# A decoder as C libraries are (libjpeg, libtiff): it writes to file descriptor 2 itself, past
# sys.stderr. The reader's own decoders no longer chatter, so the test brings one.
CHATTY_DECODER = """
import os
from PIL import Image
_open = Image.open
def chatty_open(*args, **kwargs):
    os.write(2, b"Not a JPEG file: starts with 0x00 0x00\\n")
    return _open(*args, **kwargs)
Image.open = chatty_open
"""


@pytest.mark.integration
def test_stderr_carries_only_our_sentences_while_c_decoders_chatter(tiny_model, tmp_path):
    """A native decoder's message written to descriptor 2 ("Not a JPEG file: ...", as GDCM's
    libjpeg once printed) goes to the log; stderr keeps the command's own sentences."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(CHATTY_DECODER)
    Image.new("L", (50, 50), 128).save(tmp_path / "ok.png")
    env = {**os.environ, "CXR_LOG_DIR": str(tmp_path / "logs"), "LANGUAGE": "en",
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)])}
    probe = subprocess.run(  # the decoder does print, when nothing redirects it
        [sys.executable, "-c", "import sys; from desktop.reading.imaging import read_image\n"
         "read_image(sys.argv[1])", str(tmp_path / "ok.png")],
        capture_output=True, text=True, timeout=120, env=env)
    assert probe.returncode == 0 and "Not a JPEG file" in probe.stderr, probe.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", "predict", str(tmp_path / "ok.png"),
         "--model", str(tiny_model), "--lang", "en"],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "Not a JPEG file" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("This model has no scope check")
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


@pytest.mark.integration
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


@pytest.fixture(scope="module")
def scoped_model(tmp_path_factory):
    from tests.support.model_fixtures import write_scoped_test_model

    return write_scoped_test_model(tmp_path_factory.mktemp("scoped"))


def _lateral_dicom(path, pixels):
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "DX", "CHEST", "LL"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.integration
def test_scope_in_text_json_and_csv_and_no_verdict_for_a_photo(scoped_model, tmp_path, capsys):
    from tests.support.model_fixtures import xray_like

    chest = tmp_path / "chest.png"
    Image.fromarray(xray_like(501, (330, 300))).save(chest)
    photo = tmp_path / "cat photo.jpg"
    rgb = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    Image.fromarray(rgb, "RGB").save(photo)
    lateral = _lateral_dicom(tmp_path / "lateral.dcm", xray_like(502, (330, 300)))
    out_csv = tmp_path / "out.csv"
    code, lines, err = run(capsys, chest, photo, lateral, "--json", "--csv", out_csv,
                           "--model", scoped_model)
    assert code == 0
    chest_row, photo_row, lateral_row = (json.loads(line) for line in lines)
    assert chest_row["scope"] == "in_scope" and chest_row["verdict"] in ("NORMAL", "PNEUMONIA")
    assert photo_row["scope"] == "not_chest_xray" and photo_row["verdict"] is None
    assert photo_row["p_pneumonia"] is None  # no verdict, no probability of pneumonia
    assert 0.0 <= photo_row["score_outside_scope"] <= 1.0  # the raw score, for researchers
    assert "score_outside_scope" not in chest_row
    assert photo_row["scope_reason"] == "This image is in colour; a chest X-ray is grey."
    assert lateral_row["scope"] == "unusual" and "lateral view" in lateral_row["scope_reason"]
    assert lateral_row["verdict"] in ("NORMAL", "PNEUMONIA")
    with open(out_csv, newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [r["scope"] for r in table] == ["in_scope", "not_chest_xray", "unusual"]
    assert table[1]["verdict"] == "" and table[1]["p_pneumonia"] == ""

    code, lines, err = run(capsys, chest, photo, lateral, "--model", scoped_model, "--lang", "es")
    assert lines[1].startswith("SIN RESULTADO") and "en color" in lines[1]
    assert lines[1].split()[2] == "-"  # no P where no verdict is given
    assert "[inusual: Es una proyección lateral" in lines[2]
    assert "1 sin resultado" in err and "1 marcadas como inusuales" in err

    code, _, err = run(capsys, photo, "--model", scoped_model)
    assert code == 1 and "No file got a verdict." in err  # a photo alone: nothing to answer


def test_report_writes_the_batch_report_in_the_order_given(tiny_model, folder, tmp_path,
                                                            capsys):
    """The same builder as the window's Save batch report: one row per file in the order of
    the lines, the counts, the disclaimer, in ``--lang``."""
    from pypdf import PdfReader

    out = tmp_path / "relatório.pdf"
    code, lines, err = run(capsys, folder, tmp_path / "missing.png", "--report", out,
                           "--model", tiny_model, "--lang", "es")
    assert code == 0 and len(lines) == 4
    assert err.splitlines()[-1] == f"Informe escrito en {out.resolve()}."  # the folder too
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    text = " ".join(text.split())
    positions = [text.index(name) for name in ("a.png", "b.jpg", "c.bmp", "missing.png")]
    assert positions == sorted(positions)
    assert "No apta para diagnóstico clínico." in text and "4 archivos" in text
    assert sum(len(page.images) for page in PdfReader(out).pages) == 3  # not the missing one


def test_an_unwritable_report_is_one_sentence_and_exit_1(tiny_model, folder, tmp_path, capsys):
    code, lines, err = run(capsys, folder, "--report", tmp_path / "no such dir" / "r.pdf",
                           "--model", tiny_model, "--json")
    assert code == 1 and len(lines) == 3
    assert err.splitlines()[-1] == ("The file r.pdf could not be written. Choose another "
                                    "folder and try again.")


def test_report_identifiers_come_from_the_flag_never_from_the_windows_settings(
        tiny_model, tmp_path, capsys):
    """The window's saved "Show patient identifiers" does not reach a headless report; only
    ``--show-identifiers`` puts the patient's name and ID in it."""
    import pydicom
    from pypdf import PdfReader

    from desktop.settings import Settings, save_settings
    from tests.support.model_fixtures import xray_like

    scan = _lateral_dicom(tmp_path / "scan.dcm", xray_like(503, (330, 300)))
    ds = pydicom.dcmread(scan)
    ds.PatientName, ds.PatientID, ds.ViewPosition = "Doe^Jane", "H-123", "PA"
    ds.save_as(scan, enforce_file_format=True)
    save_settings(Settings(show_identifiers=True))

    def report_text(*flags) -> str:
        out = tmp_path / f"report{len(flags)}.pdf"
        code, _, _ = run(capsys, scan, "--report", out, "--model", tiny_model, *flags)
        assert code == 0
        return " ".join(page.extract_text() for page in PdfReader(out).pages)

    assert "H-123" not in report_text()
    assert "H-123" in report_text("--show-identifiers")


def test_a_windows_path_prints_as_it_is_and_only_a_name_with_a_newline_is_escaped(
        tiny_model, tmp_path, capsys):
    # On Linux a backslash is a letter of the name: the one-file name stands for what Windows
    # prints, which a user must be able to copy (the backslashes were printed doubled).
    windows = tmp_path / "C:\\Users\\João\\Área de Trabalho\\raio x.png"
    odd = tmp_path / "two\nlines\\x.png"
    for image in (windows, odd):
        Image.fromarray(np.full((60, 50), 90, dtype=np.uint8)).save(image, format="PNG")
    code, lines, _ = run(capsys, windows, odd, "--model", tiny_model, "--no-history")
    assert code == 0
    assert lines[0].endswith(str(windows)) and "\\\\" not in lines[0]
    assert lines[1].endswith(str(tmp_path / "two\\nlines\\\\x.png"))


@pytest.mark.integration
def test_ctrl_c_ends_predict_quietly_with_status_130(tiny_model, tmp_path):
    import signal

    # The run cannot finish before the signal, however loaded the machine: its output (1,500
    # lines of over 120 bytes) is more than the pipe (64 KiB) and both sides' buffers hold, and
    # nothing reads it after the first line until the signal is sent, so the child is blocked
    # writing. Its SIGINT is a terminal's even when the tests run in the background.
    files = 1500
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for index in range(files):
        pixels = rng.integers(0, 256, (64, 64), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:04d}_{'x' * 100}.png")
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop", "predict", str(folder), "--model", str(tiny_model),
         "--no-history", "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=sigint_as_at_a_terminal)
    first = process.stdout.readline()  # classifying has begun
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=120)
    assert first and process.returncode == 130, (process.returncode, err[-2000:])
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert len((first + rest).splitlines()) < files


def test_help_names_every_command_and_says_predict_takes_the_active_profile(capsys):
    """Issue 28 item 16: ``python -m desktop --help`` named only predict; predict's help now
    says the one setting of the window it takes (the active site profile) and how not to."""
    from desktop.__main__ import main as desktop_main

    with pytest.raises(SystemExit):
        desktop_main(["--help"])
    text = capsys.readouterr().out
    for command in ("predict", "history", "calibrate"):
        assert f"\n  {command} " in text
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: the profile made active in the window" in text
    assert "--no-profile" in text


def test_send_without_an_archive_named_anywhere_classifies_nothing_and_says_how(
        tiny_model, folder, capsys):
    from desktop.cases.store import default_db_path

    code, out, err = run(capsys, "--send", "--model", tiny_model, "--lang", "en", folder)
    assert (code, out) == (2, [])
    assert err.strip() == (
        "No archive is named: give one with --to AET@HOST:PORT, or save it in the window "
        "(Cases → DICOM archive and outbox…).")
    assert not default_db_path().exists()  # refused before anything was classified


@pytest.mark.parametrize("flag", [["--to", "ARCHIVE@127.0.0.1:104"], ["--tls-ca", "ca.pem"],
                                  ["--pdf"]])
def test_to_or_tls_without_send_is_a_usage_error(tiny_model, folder, capsys, flag):
    with pytest.raises(SystemExit) as stopped:
        main([*flag, "--model", str(tiny_model), str(folder)])
    assert stopped.value.code == 2
    assert ("--to, --calling-aet, --picture, --pdf and --tls-* go with --send"
            in capsys.readouterr().err)


def test_send_with_a_tls_file_that_is_not_there_names_it_and_classifies_nothing(
        tiny_model, folder, capsys):
    from desktop.cases.store import default_db_path

    missing = folder / "ca.pem"
    code, out, err = run(capsys, "--send", "--to", "ARCHIVE@127.0.0.1:9", "--tls-ca", missing,
                         "--model", tiny_model, "--lang", "en", folder)
    assert (code, out) == (2, [])
    assert err.strip() == (f"The TLS CA file {missing} cannot be read: check that it is there "
                           "and choose it again.")
    assert not default_db_path().exists()


def test_send_of_plain_images_only_says_once_they_have_no_study_and_queues_nothing(
        tiny_model, folder, capsys):
    from desktop.network.outbox import Outbox

    code, out, err = run(capsys, "--send", "--to", "ARCHIVE@127.0.0.1:9", "--model",
                         tiny_model, "--lang", "en", folder)
    assert code == 0 and len(out) == 3
    assert err.splitlines()[0] == (
        "3 files are not DICOM images: they belong to no study, so no DICOM result is "
        "written for them. Send DICOM images from the X-ray machine or the archive.")
    assert "could not be reached" not in err  # nothing to send: no connection tried
    with Outbox() as outbox:
        assert outbox.items() == []


def test_send_with_picture_and_pdf_queues_the_images_own_report_beside_its_sr_and_picture(
        tiny_model, tmp_path, capsys):
    """``--pdf``: each DICOM image's one-image report, in the command's language, wrapped as an
    Encapsulated PDF in the image's study and queued in the outbox (file and row) before the
    first attempt, as the SR and the picture are; nothing for a plain image."""
    import io

    import pydicom
    from pypdf import PdfReader

    from desktop.network.outbox import Outbox
    from tests.desktop.reports.test_dicom_sr import SOURCE, dciodvfy_errors, write_source
    from tests.support.report_fixtures import flat, write_xray

    images = tmp_path / "in"
    images.mkdir()
    write_source(images / "image.dcm", PatientName="Doe^Jane")
    write_xray(images / "plain.png")
    code, out, err = run(capsys, "--send", "--to", "ARCHIVE@127.0.0.1:9", "--picture", "--pdf",
                         "--model", tiny_model, "--lang", "pt_BR", images)
    assert code == 0 and len(out) == 2, err
    assert "plain.png não é uma imagem DICOM" in err
    assert "Resultados aguardando na caixa de saída" in err and ": 3." in err
    with Outbox() as outbox:
        items = {item.sop_class: item for item in outbox.items()}
    pdf_class, sr_class, sc_class = ("1.2.840.10008.5.1.4.1.1.104.1",
                                     "1.2.840.10008.5.1.4.1.1.88.34",
                                     "1.2.840.10008.5.1.4.1.1.7")
    assert set(items) == {pdf_class, sr_class, sc_class}  # the PNG: nothing
    # each written and its row kept before the first try (the archive was down: one try)
    assert all(i.state == "pending" and i.attempts == 1 and i.file.is_file()
               and i.source.endswith("image.dcm") for i in items.values())
    pdf = pydicom.dcmread(items[pdf_class].file)
    assert dciodvfy_errors(items[pdf_class].file) == []
    series = {pydicom.dcmread(item.file).SeriesInstanceUID for item in items.values()}
    assert len(series | {SOURCE["SeriesInstanceUID"]}) == 4  # each a series of its own
    assert pdf.StudyInstanceUID == SOURCE["StudyInstanceUID"]
    assert "research, not for diagnosis" in pdf.SeriesDescription
    assert (str(pdf.PatientName), pdf.PatientID) == ("Doe^Jane", "HOSP-0042")
    assert not pdf.PatientBirthDate and not pdf.PatientSex
    assert pdf.DocumentTitle == "Radiografia de tórax: resultado do modelo"
    document = bytes(pdf.EncapsulatedDocument)[:pdf.EncapsulatedDocumentLength]
    text = flat(" ".join(page.extract_text()
                         for page in PdfReader(io.BytesIO(document)).pages))
    # the image's own report in Portuguese, never the batch report
    assert "Radiografia de tórax: resultado do modelo" in text
    assert "image.dcm" in text and "plain.png" not in text
    assert "Janela: como o arquivo a mostra" in text
    assert "Doe" not in text  # the identifiers were not asked for
