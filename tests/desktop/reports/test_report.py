"""The PDF reports, read back with pypdf: in each language they say the verdict (or why there is
none), the threshold and the disclaimer; they hold the image; the patient's name and ID only
when the setting is on; a batch report's rows follow the table's order and 100 files stay under
1 MB; files are written atomically, and a full disk or a read-only folder gives one sentence."""

from __future__ import annotations

import errno
import os
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from desktop import i18n
from desktop.engine.results import Result, fingerprint
from desktop.engine.scope import (
    IN_SCOPE,
    NOT_CHEST_XRAY,
    R_COLOUR,
    R_LATERAL,
    UNUSUAL,
    Reason,
    Scope,
)
from desktop.engine.session import Session
from desktop.engine.threshold import ThresholdPolicy
from desktop.errors import DiskFullError, WriteError
from desktop.reading.imaging import read_image
from desktop.reports import content as report
from desktop.reports import pdf as report_pdf
from tests.support.model_fixtures import sample_metadata, xray_like

CARD = sample_metadata()
SHA = "0123456789abcdef" * 4
DISCLAIMERS = {"en": "Research and teaching tool. Not for clinical diagnosis.",
               "pt_BR": "Ferramenta de pesquisa e ensino. Não destinada a diagnóstico clínico.",
               "es": "Herramienta de investigación y docencia. No apta para diagnóstico clínico."}
PNEUMONIA_WORD = {"en": "PNEUMONIA", "pt_BR": "PNEUMONIA", "es": "NEUMONÍA"}


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")


def session() -> Session:
    return Session(ThresholdPolicy.from_card(CARD))


def write_xray(path: Path, seed: int = 0, size=(640, 560)) -> Path:
    Image.fromarray(xray_like(seed, size)).save(path)
    return path


def classified(s: Session, path: Path, p: float, scope: Scope | None = None,
               source: dict | None = None, keep_image: bool = False) -> Result:
    """A result as the engine makes it for ``path`` (its real fingerprint and facts)."""
    xray = read_image(path, preview_size=720)
    result = Result(path, p, None, {**xray.source, **(source or {})},
                    fingerprint(xray.model_input), scope=scope or Scope(IN_SCOPE))
    if keep_image:
        result.preview, result.model_input = xray.preview, xray.model_input
    return s.add(result)


def text_of(path: Path) -> str:
    reader = PdfReader(path)
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Extracted text with its line breaks and runs of spaces made single spaces."""
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
def test_a_single_report_says_verdict_threshold_scope_model_and_disclaimer(tmp_path, language):
    s = session()
    result = classified(s, write_xray(tmp_path / "chest.png"), 0.873, keep_image=True)
    i18n.set_language(language)
    content = report.single_report(result, s, CARD, SHA, image=result.preview.convert("RGB"),
                                   image_caption="Zoom 100%")
    out = tmp_path / "report.pdf"
    size = report_pdf.save_single(out, content)
    reader = PdfReader(out)
    text = flat(text_of(out))
    assert len(reader.pages) == 1 and size == out.stat().st_size
    assert PNEUMONIA_WORD[language] in text and "0.873" in text
    assert "0.50" in text  # the threshold, as the window shows it
    assert DISCLAIMERS[language] in text
    assert i18n.gettext("In scope: a frontal chest X-ray like the training images.") in text
    assert "cxr-pneumonia-mobilenetv3s-TEST" in text and SHA[:12] in text
    assert i18n.gettext("sensitivity {sensitivity}, specificity {specificity}").format(
        sensitivity="96%", specificity="94%") in text  # the operating point's figures
    assert "chest.png" in text
    assert len(reader.pages[0].images) == 1  # the picture as the viewer showed it
    assert reader.metadata.title == content.title


def test_a_withheld_verdict_says_no_verdict_and_why_and_an_unusual_one_is_marked(tmp_path):
    s = session()
    photo = classified(s, write_xray(tmp_path / "photo.png"), 0.9,
                       Scope(NOT_CHEST_XRAY, Reason(R_COLOUR)))
    lateral = classified(s, write_xray(tmp_path / "lateral.png", 1), 0.1,
                         Scope(UNUSUAL, Reason(R_LATERAL)))
    for result, expected in ((photo, ["No verdict", "Not a chest X-ray: This does not look "
                                      "like a chest X-ray (photo in colour)."]),
                             (lateral, ["NORMAL", "Unusual: This is a lateral view"])):
        out = tmp_path / f"{result.path.stem}.pdf"
        report_pdf.save_single(out, report.single_report(result, s, CARD, SHA))
        text = flat(text_of(out))
        for words in expected:
            assert words in text
        assert "No image: the preview was not available" in text  # none was given
    assert "PNEUMONIA" not in flat(text_of(tmp_path / "photo.pdf"))


def test_identifiers_are_left_out_unless_the_setting_is_on(tmp_path):
    s = session()
    ids = {"format": "DICOM", "identifiers": {"patient_name": "Doe^Jane",
                                              "patient_id": "H-123"}}
    result = classified(s, write_xray(tmp_path / "a.png"), 0.2, source=ids)
    hidden, shown = tmp_path / "hidden.pdf", tmp_path / "shown.pdf"
    report_pdf.save_single(hidden, report.single_report(result, s, CARD, SHA))
    report_pdf.save_single(shown, report.single_report(result, s, CARD, SHA,
                                                       show_identifiers=True))
    assert "Doe" not in text_of(hidden) and "H-123" not in text_of(hidden)
    assert b"Doe" not in hidden.read_bytes()  # not in the file at all (metadata included)
    assert "hidden (View" in flat(text_of(hidden))
    assert "Doe, Jane" in text_of(shown) and "H-123" in text_of(shown)
    batch_hidden, batch_shown = tmp_path / "bh.pdf", tmp_path / "bs.pdf"
    report_pdf.save_batch(batch_hidden, report.batch_report([result], s, CARD, SHA))
    report_pdf.save_batch(batch_shown, report.batch_report([result], s, CARD, SHA,
                                                           show_identifiers=True))
    assert "H-123" not in text_of(batch_hidden) and "H-123" in text_of(batch_shown)


def test_a_batch_reports_rows_follow_the_order_given_with_the_counts(tmp_path):
    s = session()
    files = [write_xray(tmp_path / f"{name}.png", i) for i, name in enumerate("dbca")]
    results = [classified(s, path, p) for path, p in zip(files, (0.9, 0.1, 0.6, 0.3),
                                                          strict=True)]
    broken = tmp_path / "broken.png"
    broken.write_text("no image")
    from desktop.errors import NotAnImageError

    results.append(s.add(Result(broken, None, NotAnImageError())))
    order = [s.results[k] for k in s.sorted_keys("file")]  # the table sorted by name
    out = tmp_path / "batch.pdf"
    report_pdf.save_batch(out, report.batch_report(order, s, CARD, SHA))
    text = flat(text_of(out))
    positions = [text.index(f"{name}.png") for name in ("a", "b", "c", "d", "broken")]
    assert positions == sorted(positions)
    assert "5 files: 2 pneumonia, 2 normal, 1 not classified (threshold 0.50)." in text
    assert "This file is not an image or is damaged." in text
    reader = PdfReader(out)
    assert sum(len(page.images) for page in reader.pages) == 4  # no thumbnail for the error
    assert DISCLAIMERS["en"] in text and "Page 1 of 1" in text


@pytest.mark.parametrize("language", ["pt_BR", "es"])
def test_a_batch_report_speaks_the_language_shown(tmp_path, language):
    s = session()
    result = classified(s, write_xray(tmp_path / "a.png"), 0.9)
    i18n.set_language(language)
    out = tmp_path / "batch.pdf"
    report_pdf.save_batch(out, report.batch_report([result], s, CARD, SHA))
    text = flat(text_of(out))
    assert DISCLAIMERS[language] in text and PNEUMONIA_WORD[language] in text
    assert "0.50" in text and i18n.gettext("Page {page} of {pages}").format(
        page=1, pages=1) in text


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


def test_a_custom_threshold_says_it_has_no_validation_figures():
    s = session()
    s.set_threshold(0.3333)
    rows = dict(report.threshold_rows(s.policy))
    assert rows == {"Threshold": "0.3333",
                    "Operating point": "Custom threshold: no validation figures for this "
                                       "value."}


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


def test_a_model_without_a_scope_check_says_so_once_not_on_every_row(tmp_path):
    from desktop.engine.scope import R_NO_CHECK

    s = session()
    results = [classified(s, write_xray(tmp_path / f"{i}.png", i), 0.5,
                          Scope(None, Reason(R_NO_CHECK))) for i in range(3)]
    content = report.batch_report(results, s, CARD, SHA)
    assert content.scope_note.startswith("This model has no scope check")
    assert {e.scope for e in content.entries} == {"not checked"}
    out = tmp_path / "batch.pdf"
    report_pdf.save_batch(out, content)
    text = flat(text_of(out))
    assert text.count("This model has no scope check") == 1
    assert len(re.findall(r"0\.500 not checked", text)) == 3
