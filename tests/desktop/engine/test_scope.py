"""The scope rule: what a file says about itself, then the model's scores against the card's
thresholds; each reason one sentence, translated."""

import pytest

from desktop import i18n
from desktop.engine.scope import IN_SCOPE, NOT_CHEST_XRAY, UNUSUAL, judge, scores_dict

CHECK = {"thresholds": {"chest_xray": 0.0, "adult": 1.0, "distance": 1.0, "rotated": 0.5,
                        "inverted": 0.5},
         "age_range_years": [1, 5]}
LIKE_TRAINING = {"chest_xray": 5.0, "adult": -3.0, "distance": 0.4, "rotated": 0.01,
                 "inverted": 0.0}
DX = {"format": "DICOM", "modality": "DX", "body_part": "CHEST", "view_position": "PA",
      "patient_age": 3.0}


def scope(source, **scores):
    return judge(source, dict(LIKE_TRAINING, **scores), CHECK)


@pytest.mark.parametrize(("modality", "words"), [
    ("CT", "a CT image"), ("MR", "an MR image"), ("US", "an ultrasound image"),
    ("NM", "a nuclear medicine image"), ("PT", "a PET image"), ("XA", "an angiogram"),
    ("MG", "a mammogram"), ("OT", "another kind"), ("SC", "secondary capture"),
    ("ZZ", "modality ZZ")])
def test_a_dicom_of_another_modality_is_not_a_chest_radiograph(modality, words):
    result = scope(dict(DX, modality=modality))
    assert result.state == NOT_CHEST_XRAY and words in str(result.reason)
    assert not result.verdict_shown


def test_radiograph_modalities_and_chest_body_parts_pass():
    for modality in ("CR", "DX", "DR", "RG", ""):
        for part in ("CHEST", "chest pa", "THORAX", "Tórax", "", None):
            assert scope(dict(DX, modality=modality, body_part=part)).state == IN_SCOPE


def test_another_body_part_is_not_the_chest():
    result = scope(dict(DX, body_part="KNEE"))
    assert result.state == NOT_CHEST_XRAY
    assert str(result.reason) == "This DICOM's body part is KNEE, not the chest."


@pytest.mark.parametrize("view", ["LL", "RL", "LATERAL", "lat", " ll "])
def test_a_lateral_view_is_unusual(view):
    result = scope(dict(DX, view_position=view))
    assert result.state == UNUSUAL and "lateral view" in str(result.reason)


@pytest.mark.parametrize(("age", "text"), [
    (0.5, "The patient is 6 months old"), (0.05, "The patient is 0 months old"),
    (6.0, "The patient is 6 years old"), (43.9, "The patient is 43 years old")])
def test_an_age_outside_the_training_cohort_is_unusual_and_named(age, text):
    result = scope(dict(DX, patient_age=age))
    assert result.state == UNUSUAL and str(result.reason).startswith(text)
    assert "children aged 1 to 5 years" in str(result.reason)


def test_ages_inside_the_cohort_pass_and_the_age_rule_needs_the_cards_range():
    for age in (1.0, 3.5, 5.99, None):
        assert scope(dict(DX, patient_age=age)).state == IN_SCOPE
    no_range = dict(CHECK, age_range_years=None)
    assert judge(dict(DX, patient_age=40.0), LIKE_TRAINING, no_range).state == IN_SCOPE


def test_a_colour_picture_is_not_a_chest_xray_but_a_grey_one_with_a_marker_is():
    photo = scope({"format": "JPEG", "colour_fraction": 0.8})
    assert photo.state == NOT_CHEST_XRAY
    assert str(photo.reason) == "This image is in colour; a chest X-ray is grey."
    assert scope({"format": "PNG", "colour_fraction": 0.02}).state == IN_SCOPE


def test_the_learned_scores_each_give_their_reason():
    png = {"format": "PNG", "colour_fraction": 0.0}
    assert scope(png, chest_xray=-2.0).state == NOT_CHEST_XRAY
    assert "inverted" in str(scope(png, inverted=0.9).reason)
    assert "rotated" in str(scope(png, rotated=0.9).reason)
    adult = scope(png, adult=2.0)
    assert adult.state == UNUSUAL and "adult" in str(adult.reason)
    assert "unlike the training images" in str(scope(png, distance=3.0).reason)
    assert scope(png).state == IN_SCOPE and scope(png).reason is None


def test_file_facts_that_withhold_come_first_and_the_model_can_still_withhold():
    assert scope(dict(DX, modality="CT"), chest_xray=9.0).state == NOT_CHEST_XRAY
    lateral_photo = scope(dict(DX, view_position="LL"), chest_xray=-5.0)
    assert lateral_photo.state == NOT_CHEST_XRAY  # the model says it is no chest X-ray at all


def test_a_model_without_a_scope_check_says_so_and_file_facts_still_apply():
    unchecked = judge({"format": "PNG"}, None, None)
    assert unchecked.state is None and "no scope check" in str(unchecked.reason)
    assert judge(dict(DX, modality="US"), None, None).state == NOT_CHEST_XRAY
    assert judge(dict(DX, view_position="LL"), None, None).state == UNUSUAL


@pytest.mark.parametrize("language", ["es", "pt_BR"])
def test_every_reason_is_translated(language):
    reasons = [scope(dict(DX, modality="CT")).reason, scope(dict(DX, body_part="HAND")).reason,
               scope(dict(DX, view_position="LL")).reason,
               scope(dict(DX, patient_age=30.0)).reason,
               scope(dict(DX, patient_age=0.5)).reason,
               scope({"colour_fraction": 1.0}).reason,
               scope({}, chest_xray=-1).reason, scope({}, inverted=1).reason,
               scope({}, rotated=1).reason, scope({}, adult=9).reason,
               scope({}, distance=9).reason, judge({}, None, None).reason]
    i18n.set_language(language)
    try:
        for reason in reasons:
            assert reason.user_message() != str(reason), str(reason)
            assert "{" not in reason.user_message()
    finally:
        i18n.set_language("en")


def test_scores_come_in_the_contracts_order():
    assert scores_dict([1, 2, 3, 4, 5]) == {"chest_xray": 1.0, "adult": 2.0, "distance": 3.0,
                                            "rotated": 4.0, "inverted": 5.0}
