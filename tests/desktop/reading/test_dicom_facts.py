"""What a DICOM header says, read so that a missing or malformed tag gives None, never an
exception: ages in their four units, birth date to study date, window presets, spacing,
identifiers kept apart."""

import pydicom
import pytest

from desktop.reading.dicom_facts import describe, parse_age, transfer_syntax_name, window_presets

# the malformed values below are on purpose: pydicom warns of each as it stores it
pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR:UserWarning")


def dataset(**tags) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    return ds


@pytest.mark.parametrize(("text", "years"), [("005Y", 5.0), ("018M", 1.5), ("010W", 0.1916),
                                             ("003D", 0.0082), ("5 y", 5.0)])
def test_patient_age_in_each_unit(text, years):
    assert parse_age(text) == pytest.approx(years, abs=1e-4)


@pytest.mark.parametrize("text", ["", "abc", "999Y", "12", None, "005X"])
def test_a_malformed_or_impossible_age_is_none(text):
    assert parse_age(text) is None


def test_the_facts_of_a_chest_radiograph_with_its_identifiers_apart():
    ds = dataset(Modality="CR", BodyPartExamined="CHEST", ViewPosition="PA", PatientSex="f",
                 PatientBirthDate="20200115", StudyDate="20250115", Manufacturer="ACME ",
                 PixelSpacing=[0.14, 0.14], PhotometricInterpretation="monochrome1",
                 BitsStored=12, PatientName="Doe^Jane", PatientID="H-123")
    facts = describe(ds)
    assert (facts["modality"], facts["body_part"], facts["view_position"]) == ("CR", "CHEST", "PA")
    assert facts["patient_age"] == pytest.approx(5.0, abs=0.01)  # birth date to study date
    assert facts["patient_sex"] == "F" and facts["study_date"] == "2025-01-15"
    assert facts["manufacturer"] == "ACME" and facts["pixel_spacing"] == [0.14, 0.14]
    assert facts["photometric"] == "MONOCHROME1" and facts["bit_depth"] == 12
    assert facts["identifiers"] == {"patient_name": "Doe^Jane", "patient_id": "H-123"}


def test_an_empty_or_malformed_header_gives_none_not_an_exception():
    facts = describe(dataset(StudyDate="2025-13-45", PatientSex="unknown", BitsStored=0,
                             PixelSpacing=[0.1]))
    assert facts["study_date"] is None and facts["patient_sex"] is None
    assert facts["bit_depth"] is None and facts["pixel_spacing"] is None
    assert facts["patient_age"] is None and facts["windows"] is None
    assert describe(pydicom.Dataset())["identifiers"] == {"patient_name": None,
                                                          "patient_id": None}


def test_window_presets_pair_centres_and_widths_or_are_none():
    ds = dataset(WindowCenter=[40, 1200], WindowWidth=[400, 800],
                 WindowCenterWidthExplanation=["SOFT", "LUNG"])
    assert window_presets(ds) == [{"center": 40.0, "width": 400.0, "explanation": "SOFT"},
                                  {"center": 1200.0, "width": 800.0, "explanation": "LUNG"}]
    assert window_presets(dataset(WindowCenter=40)) is None  # a centre without a width
    assert window_presets(dataset(WindowCenter=[40, 50], WindowWidth=400)) is None


def test_transfer_syntaxes_are_named_and_unknown_ones_are_not_guessed():
    assert transfer_syntax_name("1.2.840.10008.1.2.1") == "Explicit VR Little Endian"
    assert transfer_syntax_name("1.2.3.4.5") is None
    assert transfer_syntax_name("not a uid") is None
