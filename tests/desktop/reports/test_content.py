"""What a report says (``desktop.reports.content``), read back from the PDF: in each language
the verdict (or why there is none), the threshold and the disclaimer; the patient's name and ID
only when the setting is on; a batch report's rows in the order given, with the counts."""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from desktop import i18n
from desktop.engine.results import Result
from desktop.engine.scope import (
    NOT_CHEST_XRAY,
    R_COLOUR,
    R_LATERAL,
    UNUSUAL,
    Reason,
    Scope,
)
from desktop.engine.threshold import format_threshold
from desktop.reports import content as report
from desktop.reports import pdf as report_pdf
from desktop.reports.labels import IN_SCOPE_TEXT
from tests.support.report_fixtures import (
    CARD,
    DISCLAIMERS,
    PNEUMONIA_WORD,
    SHA,
    classified,
    flat,
    session,
    text_of,
    write_xray,
)


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
    comma = language != "en"  # pt-BR and es write a decimal comma
    assert PNEUMONIA_WORD[language] in text and ("0,873" if comma else "0.873") in text
    assert ("0,50" if comma else "0.50") in text  # the threshold, as the window shows it
    assert DISCLAIMERS[language] in text
    assert i18n.gettext(IN_SCOPE_TEXT) in text
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
    for result, expected in ((photo, ["No verdict", "Outside the model's scope: This image is "
                                      "in colour; a chest X-ray is grey."]),
                             (lateral, ["NORMAL", "Unusual: This is a lateral view"])):
        out = tmp_path / f"{result.path.stem}.pdf"
        report_pdf.save_single(out, report.single_report(result, s, CARD, SHA))
        text = flat(text_of(out))
        for words in expected:
            assert words in text
        assert "No image: the preview was not available" in text  # none was given
    assert "PNEUMONIA" not in flat(text_of(tmp_path / "photo.pdf"))


def test_no_probability_is_shown_for_an_image_without_a_verdict(tmp_path):
    """A dog photo's report never reads "No verdict / P(pneumonia) = 0.972", in a single or a
    batch report."""
    s = session()
    photo = classified(s, write_xray(tmp_path / "photo.png"), 0.972,
                       Scope(NOT_CHEST_XRAY, Reason(R_COLOUR)))
    entry = report.entry(photo, s)
    assert (entry.probability, entry.result_line) == ("—", "")
    single, batch = tmp_path / "one.pdf", tmp_path / "all.pdf"
    report_pdf.save_single(single, report.single_report(photo, s, CARD, SHA))
    report_pdf.save_batch(batch, report.batch_report([photo], s, CARD, SHA))
    for out in (single, batch):
        assert "0.972" not in flat(text_of(out)), out.name


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
    assert format_threshold(0.5) in text and i18n.gettext("Page {page} of {pages}").format(
        page=1, pages=1) in text


def test_a_custom_threshold_says_it_has_no_validation_figures():
    s = session()
    s.set_threshold(0.3333)
    rows = dict(report.threshold_rows(s.policy))
    assert rows == {"Threshold": "0.3333",
                    "Operating point": "Custom threshold: no validation figures for this "
                                       "value."}


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


def banded_session():
    from desktop.engine.session import Session
    from desktop.engine.threshold import ThresholdPolicy

    return Session(ThresholdPolicy.from_card(
        {**CARD, "refer_band": {"t_low": 0.3, "t_high": 0.7, "n_normal": 200,
                                "n_pneumonia": 200, "referred": 0.12}}))


BAND_WORDS = {"en": "Refer band", "pt_BR": "Faixa de encaminhamento", "es": "Banda de derivación"}
REFER_WORDS = {"en": "Undetermined: refer to a human reader",
               "pt_BR": "Indeterminado: encaminhar a um leitor humano",
               "es": "Indeterminado: derivar a un lector humano"}


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
def test_a_batch_report_shows_referred_rows_their_count_and_the_band(tmp_path, language):
    s = banded_session()
    results = [classified(s, write_xray(tmp_path / f"{name}.png", i), p)
               for i, (name, p) in enumerate([("high", 0.9), ("middle", 0.55), ("low", 0.1)])]
    i18n.set_language(language)
    out = tmp_path / "batch.pdf"
    built = report.batch_report(results, s, CARD, SHA)
    counts = dict(built.counts)
    assert counts[i18n.gettext("Referred to a human reader")] == "1"
    report_pdf.save_batch(out, built)
    text = flat(text_of(out))
    assert REFER_WORDS[language] in text and PNEUMONIA_WORD[language] in text
    assert i18n.format_decimal(0.55, 3) in text  # a referred image's P is still shown
    assert BAND_WORDS[language] in text and format_threshold(0.3) in text
    [middle] = [e for e in built.entries if e.name == "middle.png"]
    assert middle.verdict_kind == "REFER" and format_threshold(0.7) in middle.result_line


def test_a_single_report_of_a_referred_image_says_why_and_the_band_it_promises(tmp_path):
    s = banded_session()
    result = classified(s, write_xray(tmp_path / "a.png"), 0.5)
    out = tmp_path / "single.pdf"
    report_pdf.save_single(out, report.single_report(result, s, CARD, SHA))
    text = flat(text_of(out))
    assert REFER_WORDS["en"] in text
    assert "P(pneumonia) = 0.500, inside the refer band 0.30 to 0.70" in text
    assert "at most 5% of pneumonias are called normal" in text
    assert "Confidence" not in text  # no class shown, so no confidence in one
