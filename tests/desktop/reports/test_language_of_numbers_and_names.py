"""What a Spanish or Portuguese reader sees is in their language: the classes' names (one
function, ``desktop.i18n.class_name``, everywhere: no "PNEUMONIA" beside a "NEUMONÍA" verdict),
decimal commas in every number people read, and save dialogs' suggested file names; while the
files for programs (CSV, JSON) keep the decimal point whatever the language."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from desktop import i18n
from desktop.cases.calibration import CalibrationRefused, calibrate
from desktop.engine.results import Result
from desktop.engine.session import Session
from desktop.engine.threshold import ThresholdPolicy, format_threshold
from desktop.reports.labels import percent
from desktop.reports.wording import describe
from tests.desktop.cases.test_calibration import synthetic_site

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def spanish():
    i18n.set_language("es")
    yield
    i18n.set_language("en")


def test_the_decimal_symbols_are_those_of_cldr():
    """The app's table of decimal symbols agrees with Babel's CLDR data (Babel is not shipped)."""
    from babel.numbers import get_decimal_symbol

    for code, symbol in i18n.DECIMAL_SYMBOLS.items():
        assert get_decimal_symbol(code) == symbol, code


@pytest.mark.parametrize("code", ["pt_BR", "es"])
def test_numbers_people_read_have_a_decimal_comma_and_csv_json_keep_the_point(code):
    session = Session(ThresholdPolicy([{"name": "balanced", "threshold": 0.7092}], "balanced"))
    result = session.add(Result(Path("/x/a.png"), 0.8731, fingerprint="f"))
    i18n.set_language(code)
    try:
        words = describe(result, session)
        assert words.probability == "0,873"
        assert "= 0,873," in words.detail and "0,7092" in words.detail
        assert format_threshold(0.5) == "0,50" and percent(0.9295, 2) == "92,95%"
        row = session.row(result)
        assert "0.873100" in row.csv_cells() or "0.8731" in ",".join(row.csv_cells())
        assert row.as_json()["p_pneumonia"] == pytest.approx(0.8731)
    finally:
        i18n.set_language("en")
    assert describe(result, session).probability == "0.873"


def test_a_spanish_calibration_refusal_names_the_classes_in_spanish(spanish):
    p_model, y = synthetic_site(400)
    keep = np.r_[np.flatnonzero(y == 0)[:25], np.flatnonzero(y == 1)[:20]]
    with pytest.raises(CalibrationRefused) as info:
        calibrate(p_model[keep], y[keep], shipped_threshold=0.5)
    message = info.value.user_message()
    assert "NEUMONÍA" in message and "PNEUMONIA" not in message, message
    assert "PNEUMONIA" in str(info.value)  # the log's English


def test_the_spanish_study_pdf_says_neumonia_and_writes_decimal_commas(spanish, tmp_path):
    from desktop.reports.study_pdf import save_study

    p_model, y = synthetic_site(400)
    study = calibrate(p_model, y, shipped_threshold=0.5)
    save_study(tmp_path / "estudio.pdf", study, profile_name="clinica", model_sha256="ab" * 32)
    text = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "estudio.pdf").pages)
    assert "NEUMONÍA" in text and not re.search(r"PNEUMONIA(?!/)", text), text
    assert re.search(r"AUC 0,\d{3}", text), text
    assert not re.search(r"\b0\.\d", text), text


def test_monitoring_headers_and_warnings_name_the_class_in_the_language_shown(spanish):
    from desktop.cases.monitoring import SHIFTED
    from desktop.errors import Sentence, class_phrase
    from desktop.ui.monitoring_view import HEADINGS

    heading = Sentence(HEADINGS["flagged"], pneumonia=class_phrase("PNEUMONIA"))
    assert heading.user_message() == "Clasificados NEUMONÍA (IC 95%)"
    warning = i18n.gettext(SHIFTED).format(pneumonia=i18n.class_name("PNEUMONIA"), share="40%",
                                           low="20%", high="30%", period="2026-W49")
    assert "NEUMONÍA" in warning and "PNEUMONIA" not in warning


def test_no_message_spells_a_class_name_itself_except_as_a_folder_name():
    """Every text naming a class takes it from ``class_name``: a msgid with "PNEUMONIA" or
    "NORMAL" in it is the class name alone, or names the folders a labelled set must have."""
    from babel.messages.pofile import read_po

    with open(ROOT / "translations" / "messages.pot", "rb") as fh:
        catalog = read_po(fh)
    folder = re.compile(r"(NORMAL|PNEUMONIA)(/| and (NORMAL|PNEUMONIA) sub-folders| or "
                        r"(NORMAL|PNEUMONIA)\b.*confirmed|, PNEUMONIA/)")
    spelled = []
    for message in catalog:
        for text in ([message.id] if isinstance(message.id, str) else message.id):
            if text in ("NORMAL", "PNEUMONIA") or not re.search(r"\b(NORMAL|PNEUMONIA)\b",
                                                                 text):
                continue
            if not folder.search(text):
                spelled.append(text)
    assert not spelled, spelled


@pytest.mark.parametrize(("key", "extension", "spanish_name"), [
    ("results", ".csv", "resultados.csv"), ("batch_report", ".pdf", "informe_de_lote.pdf"),
    ("history", ".csv", "historial.csv")])
def test_save_dialogs_suggest_file_names_in_the_language_shown(spanish, key, extension,
                                                              spanish_name):
    from desktop.reports.labels import file_name

    assert file_name(key, extension) == spanish_name
    assert file_name("report", ".pdf", name="torax") == "torax_informe.pdf"


def test_no_save_dialog_suggests_a_file_name_written_in_english_in_the_code():
    """Each suggestion comes from ``file_name`` (a profile's own name, typed by the user, is
    kept as typed)."""
    literal = []
    for path in (ROOT / "desktop" / "ui").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "initialfile" and isinstance(
                    node.value, ast.Constant):
                literal.append(f"{path.name}:{node.value.lineno}")
    assert not literal, literal
