"""The PDF writer (``desktop.reports.pdf``): it holds the image and thumbnails (none for a file
changed or gone since), 100 files stay under 1 MB, Cancel writes nothing, files are written
atomically and a full disk or a read-only folder gives one sentence; pages render."""

from __future__ import annotations

import errno
import os
import threading

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from desktop import i18n
from desktop.errors import DiskFullError, WriteError
from desktop.reports import content as report
from desktop.reports import pdf as report_pdf
from tests.support.report_fixtures import (
    CARD,
    SHA,
    classified,
    flat,
    session,
    text_of,
    write_xray,
)


@pytest.mark.integration
def test_a_100_file_batch_report_stays_under_a_megabyte(tmp_path, capsys):
    s = session()
    results = [classified(s, write_xray(tmp_path / f"{i:03}.png", i, (900, 800)), i / 100)
               for i in range(100)]
    progress = []
    out = tmp_path / "hundred.pdf"
    size = report_pdf.save_batch(out, report.batch_report(results, s, CARD, SHA),
                                 progress=lambda done, total: progress.append((done, total)))
    pages = len(PdfReader(out).pages)
    with capsys.disabled():
        print(f"\n100-file batch report: {size} bytes, {pages} pages")
    assert size < 1_000_000 and size == out.stat().st_size
    assert progress[0] == (1, 100) and progress[-1] == (100, 100)
    assert pages >= 7  # about 15 rows a page
    assert sum(len(page.images) for page in PdfReader(out).pages) == 100


def test_a_file_changed_or_gone_since_it_was_classified_gets_no_thumbnail(tmp_path):
    s = session()
    changed = classified(s, write_xray(tmp_path / "changed.png"), 0.4)
    gone = classified(s, write_xray(tmp_path / "gone.png", 1), 0.6)
    write_xray(changed.path, seed=7, size=(300, 300))
    gone.path.unlink()
    out = tmp_path / "batch.pdf"
    report_pdf.save_batch(out, report.batch_report([changed, gone], s, CARD, SHA))
    text = flat(text_of(out))
    assert "file changed" in text and "no image" in text
    assert sum(len(page.images) for page in PdfReader(out).pages) == 0


def test_cancel_stops_a_batch_report_and_writes_nothing(tmp_path):
    s = session()
    results = [classified(s, write_xray(tmp_path / f"{i}.png", i), 0.5) for i in range(6)]
    cancel = threading.Event()

    def progress(done, _total):
        if done == 2:
            cancel.set()

    out = tmp_path / "batch.pdf"
    assert report_pdf.save_batch(out, report.batch_report(results, s, CARD, SHA),
                                 progress=progress, cancel=cancel) is None
    assert not out.exists() and not list(tmp_path.glob(".batch.pdf*"))


def test_a_read_only_folder_gives_one_sentence(tmp_path, monkeypatch):
    s = session()
    result = classified(s, write_xray(tmp_path / "a.png"), 0.5)
    content = report.single_report(result, s, CARD, SHA)
    expected = "The file report.pdf could not be written. Choose another folder and try again."
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root writes anywhere: then only the next case
            with pytest.raises(WriteError) as caught:
                report_pdf.save_single(locked / "report.pdf", content)
            assert caught.value.user_message() == expected
    finally:
        locked.chmod(0o700)
    import desktop.atomicio

    def read_only(*_args, **_kwargs):  # a write-protected stick, a CD: the same for root
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(desktop.atomicio.tempfile, "mkstemp", read_only)
    with pytest.raises(WriteError) as caught:
        report_pdf.save_single(tmp_path / "report.pdf", content)
    assert caught.value.user_message() == expected
    assert not isinstance(caught.value, DiskFullError)


def test_a_full_disk_is_told_as_such_and_leaves_no_half_file(tmp_path, monkeypatch):
    s = session()
    result = classified(s, write_xray(tmp_path / "a.png"), 0.5)
    content = report.single_report(result, s, CARD, SHA)
    import desktop.atomicio

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fd, mode):
            self.inner = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.inner.close()

        def write(self, _data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(desktop.atomicio.os, "fdopen", FullDisk)
    out = tmp_path / "out" / "report.pdf"
    out.parent.mkdir()
    with pytest.raises(DiskFullError) as caught:
        report_pdf.save_single(out, content)
    assert caught.value.user_message() == (
        "There is no room left on the disk for report.pdf. Free some space or choose another "
        "drive, and try again.")
    assert list(out.parent.iterdir()) == []  # no temporary file left behind
    i18n.set_language("es")
    assert caught.value.user_message().startswith("No queda espacio en el disco")


def test_the_input_files_are_never_modified(tmp_path):
    s = session()
    path = write_xray(tmp_path / "a.png")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    result = classified(s, path, 0.5, keep_image=True)
    report_pdf.save_single(tmp_path / "r.pdf", report.single_report(result, s, CARD, SHA,
                                                                     image=result.preview))
    report_pdf.save_batch(tmp_path / "b.pdf", report.batch_report([result], s, CARD, SHA))
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_text_the_built_in_fonts_cannot_write_becomes_a_question_mark(tmp_path):
    assert report_pdf.pdf_text("raio x ção <b>&") == "raio x ção &lt;b&gt;&amp;"
    assert report_pdf.pdf_text("胸部 ▲") == "?? ?"
    s = session()
    result = classified(s, write_xray(tmp_path / "胸部.png"), 0.5)
    out = tmp_path / "r.pdf"
    report_pdf.save_single(out, report.single_report(result, s, CARD, SHA))
    assert "??.png" in text_of(out)


def test_a_page_of_each_report_renders(tmp_path):
    """pdftoppm (poppler) draws the first page: the PDF is one a viewer can show."""
    import shutil
    import subprocess

    assert shutil.which("pdftoppm"), ("pdftoppm is needed for this test (Debian/Ubuntu: "
                                      "apt-get install poppler-utils)")
    s = session()
    result = classified(s, write_xray(tmp_path / "a.png"), 0.7, keep_image=True)
    single, batch = tmp_path / "single.pdf", tmp_path / "batch.pdf"
    report_pdf.save_single(single, report.single_report(result, s, CARD, SHA,
                                                        image=result.preview))
    report_pdf.save_batch(batch, report.batch_report([result], s, CARD, SHA))
    for pdf in (single, batch):
        subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", str(pdf),
                        str(pdf.with_suffix(""))], check=True, timeout=60)
        [png] = tmp_path.glob(f"{pdf.stem}-*.png")
        assert np.asarray(Image.open(png).convert("L")).std() > 10  # not a blank page


@pytest.mark.usefixtures("english_and_own_logging")
@pytest.mark.parametrize("identifiers", [False, True])
def test_dicom_tags_of_20000_characters_are_shortened_and_the_reports_are_written(
        tiny_model, tmp_path, capsys, identifiers):
    """A report lays out whatever a file's tags hold: a 20,000-character Manufacturer (shown
    with identifiers off) or patient name (with them on) once made reportlab give up."""
    from desktop.cli import main
    from tests.support.fuzz_corpus import dicom_bytes

    pixels = (np.random.default_rng(0).integers(0, 4096, (64, 64))).astype(np.uint16)
    long_words = " ".join(["Siemens"] * 2500)  # 20,000 characters with spaces
    one_word = "A" * 12000  # and one unbreakable run
    path = tmp_path / "long.dcm"
    path.write_bytes(dicom_bytes(pixels, extra={
        "Manufacturer": long_words, "PatientName": one_word, "PatientID": one_word,
        "StudyDescription": long_words, "InstitutionName": long_words}))
    out = tmp_path / "batch.pdf"
    args = [str(path), "--model", str(tiny_model), "--no-history", "--report", str(out)]
    assert main(args + (["--show-identifiers"] if identifiers else [])) == 0, \
        capsys.readouterr().err
    text = flat(text_of(out))
    assert "Report written" in capsys.readouterr().err and "long.dcm" in text
    assert ("AAAAAAAAAA" in text) == identifiers  # identifiers only when asked for
    s = session()  # the one-image report lists every tag (Manufacturer also without ids)
    result = classified(s, path, 0.5, keep_image=True)
    single = tmp_path / "single.pdf"
    report_pdf.save_single(single, report.single_report(
        result, s, CARD, SHA, image=result.preview, show_identifiers=identifiers))
    text = flat(text_of(single))
    assert "Siemens Siemens" in text and "…" in text


def test_an_arrow_and_other_signs_the_fonts_lack_get_an_ascii_equivalent_not_a_question_mark(
        tmp_path):
    assert report_pdf.pdf_text("A → B ≥ 0.5 − ő") == "A -&gt; B &gt;= 0.5 - o"
    assert report_pdf.writable("x" * 5000) == "x" * 999 + "…"
    s = session()
    result = classified(s, write_xray(tmp_path / "before → after.png"), 0.5)
    out = tmp_path / "r.pdf"
    report_pdf.save_single(out, report.single_report(result, s, CARD, SHA))
    assert "before -> after.png" in text_of(out)


def test_every_outcome_has_a_drawn_mark_and_referred_its_own_colour(tmp_path):
    """Each outcome's shape is drawn (REFER: a half-filled circle, as the window's "◐"; never
    colour alone, never a glyph the font lacks), and a referred row's words are in their own
    colour on the rendered page, only where a row is referred."""
    import subprocess

    from reportlab.pdfgen import canvas as pdfcanvas

    from desktop.outcomes import ORDER
    from tests.desktop.reports.test_content import banded_session

    def rendered(pdf):
        subprocess.run(["pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", str(pdf),
                        str(pdf.with_suffix(""))], check=True, timeout=60)
        [png] = pdf.parent.glob(f"{pdf.stem}-*.png")
        return np.asarray(Image.open(png).convert("RGB")).astype(int)

    marks = tmp_path / "marks.pdf"
    canvas = pdfcanvas.Canvas(str(marks), pagesize=(40 * len(ORDER), 40))
    for i, kind in enumerate(ORDER):
        report_pdf.Mark(kind, 24).drawOn(canvas, 40 * i + 8, 8)
    canvas.save()
    page = rendered(marks)
    inked = [int((page[:, 40 * i:40 * (i + 1)].sum(axis=2) < 600).sum())
             for i in range(len(ORDER))]
    assert all(ink > 30 for ink in inked), dict(zip(ORDER, inked, strict=True))

    def purple_pixels(p: float) -> int:
        s = banded_session()
        folder = tmp_path / f"{p}"
        folder.mkdir()
        result = classified(s, write_xray(folder / "a.png"), p)
        pdf = folder / "batch.pdf"
        report_pdf.save_batch(pdf, report.batch_report([result], s, CARD, SHA))
        rgb = rendered(pdf)
        return int((np.abs(rgb - np.array([0x5E, 0x3C, 0x8E])).sum(axis=2) < 40).sum())

    assert purple_pixels(0.5) > 20 and purple_pixels(0.9) == 0
