"""Whether the model has anything to say about an image: its scope, with the reason in one sentence.

Every prediction gets one of three states:
- ``in_scope``: like the frontal pediatric chest X-rays the model was trained on;
- ``unusual``: a chest X-ray, but unlike them (a lateral view, an adult, rotated or inverted,
  unlike the training images): the verdict is shown, marked, with the reason;
- ``not_chest_xray``: the verdict is withheld, with the reason.

Two layers, cheapest first: what the file says about itself (DICOM modality, body part, view,
age; a colour photo), then the learned check inside ``model.pt`` (its scores come from the
same forward pass as the probabilities; their thresholds, chosen on validation, are in the
card's ``scope_check``). This is the one place the rule is written: the window, ``predict`` and
the reports all show what ``judge`` says. No Tk, no torch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from desktop.errors import N_, NP_, Sentence
from desktop.modelfile import SCOPE_SCORES as SCORES

IN_SCOPE, UNUSUAL, NOT_CHEST_XRAY = "in_scope", "unusual", "not_chest_xray"
STATES = (IN_SCOPE, UNUSUAL, NOT_CHEST_XRAY)

RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RG"})
# What a DICOM of another modality holds, as a phrase the sentence R_MODALITY takes.
MODALITY_PHRASES = {
    "CT": N_("a CT image"), "MR": N_("an MR image"), "US": N_("an ultrasound image"),
    "NM": N_("a nuclear medicine image"), "PT": N_("a PET image"), "XA": N_("an angiogram"),
    "RF": N_("a fluoroscopy image"), "MG": N_("a mammogram"), "PX": N_("a dental panoramic X-ray"),
    "IO": N_("an intra-oral dental X-ray"), "SC": N_("a secondary capture (a screen or a scan)"),
    "OT": N_("an image of another kind (OT)"), "SM": N_("a microscopy slide"),
    "ES": N_("an endoscopy image"), "OP": N_("an eye photograph"), "XC": N_("a photograph"),
    "GM": N_("a microscopy image"),
}
R_OTHER_MODALITY = N_("an image of modality {code}")
# BodyPartExamined values (and spellings archives use) that are the chest.
_CHEST_WORDS = ("CHEST", "THORAX", "LUNG", "TORAX", "TÓRAX", "POITRINE", "BRUST", "TORACE",
                "PECHO", "TORSO")
_LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLD", "RLD", "XTABLE LATERAL"})
COLOUR_FRACTION = 0.25  # share of pixels whose channels really differ: a colour picture


class Reason(Sentence):
    """Why an image is unusual or not a chest X-ray; translated when shown."""


R_COLOUR = N_("This image is in colour; a chest X-ray is grey.")
R_MODALITY = N_("This DICOM holds {modality}, not a chest radiograph.")
R_BODY_PART = N_("This DICOM's body part is {part}, not the chest.")
R_NOT_CXR = N_("This does not look like a chest X-ray.")
R_LATERAL = N_("This is a lateral view; the model was validated on frontal views only.")
R_ROTATED = N_("This X-ray looks rotated or upside down; the model expects an upright frontal "
               "view.")
R_INVERTED = N_("This X-ray looks inverted (bones dark); the model expects bones light.")
R_AGE_YEARS = NP_("The patient is {count} year old; the model was trained on children aged "
                  "{low} to {high} years.",
                  "The patient is {count} years old; the model was trained on children aged "
                  "{low} to {high} years.")
R_AGE_MONTHS = NP_("The patient is {count} month old; the model was trained on children aged "
                   "{low} to {high} years.",
                   "The patient is {count} months old; the model was trained on children aged "
                   "{low} to {high} years.")
# The same, for what leaves this computer without the patient's age (the archive's PDF report):
# the ages the model knows, not the patient's own.
R_AGE_OUTSIDE = N_("This patient is outside the ages the model was trained on (children aged "
                   "{low} to {high} years).")
R_ADULT = N_("This looks like an adult's chest X-ray; the model was trained on children aged "
             "{low} to {high} years.")
R_ADULT_ANY = N_("This looks like an adult's chest X-ray; the model was trained on children.")
R_UNLIKE = N_("This X-ray is unlike the training images (view, age group, hospital or "
              "exposure); the result may not hold.")
R_NO_CHECK = N_("This model has no scope check: whether this is a chest X-ray like the "
                "training images was not checked.")


@dataclass(frozen=True)
class Scope:
    """``state`` is one of ``STATES``, or None when nothing was checked (a model without a scope
    check, and a file that says nothing against itself)."""

    state: str | None
    reason: Reason | None = None

    @property
    def verdict_shown(self) -> bool:
        return self.state != NOT_CHEST_XRAY


def _age_reason(years: float, low: int, high: int) -> Reason:
    if years < 1:
        singular, plural = R_AGE_MONTHS
        return Reason(singular, plural=plural, count=max(0, math.floor(years * 12)), low=low,
                      high=high)
    singular, plural = R_AGE_YEARS
    return Reason(singular, plural=plural, count=math.floor(years), low=low, high=high)


def without_patient_facts(scope: Scope | None) -> Scope | None:
    """``scope`` said without the patient's age, for a report that carries no patient facts (the
    Encapsulated PDF sent to the archive): a reason that gives the file's age becomes one that
    names only the ages the model was trained on; the state and every other reason stay."""
    reason = scope.reason if scope is not None else None
    if reason is None or reason.msgid not in (R_AGE_YEARS[0], R_AGE_MONTHS[0]):
        return scope
    return Scope(scope.state, Reason(R_AGE_OUTSIDE, low=reason.params.get("low"),
                                     high=reason.params.get("high")))


def _dicom_facts(source: dict[str, Any], check: dict | None) -> Scope | None:
    """The DICOM tags' verdict on scope, or None when they say nothing against it."""
    modality = str(source.get("modality") or "").strip().upper()
    if modality and modality not in RADIOGRAPH_MODALITIES:
        phrase = MODALITY_PHRASES.get(modality)
        what = Reason(phrase) if phrase else Reason(R_OTHER_MODALITY, code=modality)
        return Scope(NOT_CHEST_XRAY, Reason(R_MODALITY, modality=what))
    part = str(source.get("body_part") or "").strip()
    if part and not any(word in part.upper() for word in _CHEST_WORDS):
        return Scope(NOT_CHEST_XRAY, Reason(R_BODY_PART, part=part))
    view = re.sub(r"\s+", " ", str(source.get("view_position") or "").strip().upper())
    if view in _LATERAL_VIEWS:
        return Scope(UNUSUAL, Reason(R_LATERAL))
    age = source.get("patient_age")
    low, high = _age_range(check)
    if isinstance(age, (int, float)) and low is not None and not low <= age < high + 1:
        return Scope(UNUSUAL, _age_reason(float(age), low, high))
    return None


def _age_range(check: dict | None) -> tuple[int | None, int | None]:
    try:
        low, high = (check or {}).get("age_range_years") or (None, None)
        return (int(low), int(high)) if low is not None else (None, None)
    except (TypeError, ValueError):
        return None, None


def file_scope(source: dict[str, Any], check: dict | None = None) -> Scope | None:
    """What the file alone says: a colour picture, a DICOM of another modality, body part or
    view, a patient outside the training ages; None when it says nothing against the image."""
    fraction = source.get("colour_fraction")
    if isinstance(fraction, (int, float)) and fraction >= COLOUR_FRACTION:
        return Scope(NOT_CHEST_XRAY, Reason(R_COLOUR))
    if source.get("format") == "DICOM":
        return _dicom_facts(source, check)
    return None


def judge(source: dict[str, Any], scores: dict[str, float] | None,
          check: dict | None) -> Scope:
    """The scope of one image: its file facts first, then the model's scores against the card's
    thresholds (``check`` is the card's ``scope_check``; None for a model without one)."""
    facts = file_scope(source, check)
    if facts is not None and facts.state == NOT_CHEST_XRAY:
        return facts
    if check is None or scores is None:
        return facts or Scope(None, Reason(R_NO_CHECK))
    limits = check.get("thresholds", {})
    if scores["chest_xray"] < limits.get("chest_xray", -math.inf):
        return Scope(NOT_CHEST_XRAY, Reason(R_NOT_CXR))
    if facts is not None:
        return facts
    if scores["inverted"] >= limits.get("inverted", math.inf):
        return Scope(UNUSUAL, Reason(R_INVERTED))
    if scores["rotated"] >= limits.get("rotated", math.inf):
        return Scope(UNUSUAL, Reason(R_ROTATED))
    if scores["adult"] >= limits.get("adult", math.inf):
        low, high = _age_range(check)
        return Scope(UNUSUAL, Reason(R_ADULT, low=low, high=high) if low is not None
                     else Reason(R_ADULT_ANY))
    if scores["distance"] >= limits.get("distance", math.inf):
        return Scope(UNUSUAL, Reason(R_UNLIKE))
    return Scope(IN_SCOPE)


def scores_dict(row) -> dict[str, float]:
    """One row of the model's scope scores as ``{name: value}`` (``SCORES`` order)."""
    return {name: float(value) for name, value in zip(SCORES, row, strict=True)}
