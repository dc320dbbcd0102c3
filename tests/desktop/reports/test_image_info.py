"""The "Image information" rows: the reader's facts in words, in each language; the patient's
name and ID only when the user has turned them on."""

from __future__ import annotations

import pytest

from desktop import i18n
from desktop.reports.image_info import age_text, info_rows, person_name

DICOM = {
    "format": "DICOM", "width": 2048, "height": 2500, "bit_depth": 12, "multi_frame": True,
    "frames": 3, "frame": 1, "modality": "DX", "body_part": "CHEST", "view_position": "PA",
    "patient_age": 5.0, "patient_sex": "F", "study_date": "2024-01-31",
    "manufacturer": "ACME Radiology", "pixel_spacing": [0.139, 0.14],
    "photometric": "MONOCHROME2", "transfer_syntax": "1.2.840.10008.1.2.4.70",
    "transfer_syntax_name": "JPEG Lossless, Non-Hierarchical, First-Order Prediction",
    "transfer_syntax_assumed": False,
    "identifiers": {"patient_name": "Doe^Jane", "patient_id": "H-123"},
}


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")


def test_a_dicom_gives_every_fact_and_hides_who_the_patient_is():
    rows = dict(info_rows(DICOM))
    assert rows == {
        "Format": "DICOM", "Size": "2048 × 2500 pixels", "Bit depth": "12 bits",
        "Modality": "DX", "Body part": "CHEST", "View position": "PA",
        "Patient age": "5 years", "Patient sex": "Female", "Study date": "2024-01-31",
        "Manufacturer": "ACME Radiology", "Pixel spacing": "0.139 × 0.14 mm",
        "Photometric interpretation": "MONOCHROME2",
        "Transfer syntax": "JPEG Lossless, Non-Hierarchical, First-Order Prediction "
                           "(1.2.840.10008.1.2.4.70)",
        "Frame shown": "1 of 3",
        "Patient name and ID": "hidden (View → Show patient identifiers)",
    }
    assert "Doe" not in repr(info_rows(DICOM)) and "H-123" not in repr(info_rows(DICOM))


def test_identifiers_appear_only_when_the_setting_is_on():
    rows = dict(info_rows(DICOM, show_identifiers=True))
    assert rows["Patient name"] == "Doe, Jane" and rows["Patient ID"] == "H-123"
    assert "Patient name and ID" not in rows
    quiet = dict(DICOM, identifiers={"patient_name": None, "patient_id": None})
    assert not any("Patient name" in label for label, _ in info_rows(quiet))


def test_missing_or_malformed_facts_read_as_a_dash_and_an_assumed_syntax_says_so():
    sparse = {"format": "DICOM", "width": 10, "height": 10, "bit_depth": None,
              "transfer_syntax": "1.2.840.10008.1.2", "transfer_syntax_assumed": True,
              "frames": 1, "frame": 1}
    rows = dict(info_rows(sparse))
    assert rows["Bit depth"] == rows["Modality"] == rows["Patient age"] == "—"
    assert rows["Pixel spacing"] == rows["Patient sex"] == "—"
    assert rows["Transfer syntax"] == "1.2.840.10008.1.2 (assumed: the file does not say)"
    assert info_rows({}) == [] and info_rows(None) == []


def test_an_ordinary_image_gives_format_size_and_bit_depth():
    png = {"format": "PNG", "width": 640, "height": 560, "bit_depth": 16, "mode": "I;16",
           "multi_frame": False, "frames": 1, "frame": 1}
    assert info_rows(png) == [("Format", "PNG"), ("Size", "640 × 560 pixels"),
                              ("Bit depth", "16 bits")]
    gif = dict(png, format="GIF", bit_depth=8, multi_frame=True, frames=None)
    assert info_rows(gif)[-1] == ("Frame shown", "1 of several")


@pytest.mark.parametrize(("years", "english", "spanish"), [
    (5.0, "5 years", "5 años"), (1.0, "12 months", "12 meses"), (1.5, "18 months", "18 meses"),
    (0.05, "2 weeks", "2 semanas"), (None, "—", "—"), (float("nan"), "—", "—")])
def test_ages_read_as_people_say_them(years, english, spanish):
    assert age_text(years) == english
    i18n.set_language("es")
    assert age_text(years) == spanish


def test_the_rows_are_translated():
    i18n.set_language("pt_BR")
    rows = dict(info_rows(DICOM))
    assert rows["Sexo do paciente"] == "Feminino" and rows["Quadro mostrado"] == "1 de 3"
    assert rows["Nome e ID do paciente"].startswith("ocultos")


def test_person_names_read_family_comma_given():
    assert person_name("Doe^Jane^Q") == "Doe, Jane Q"
    assert (person_name("Anonymous"), person_name(None), person_name("^Jane")) == (
        "Anonymous", "—", "Jane")
