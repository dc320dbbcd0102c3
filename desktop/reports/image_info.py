"""What the "Image information" panel and the reports say about a file: (label, value) rows in
the current language, from the reader's facts (``XRay.source``). No Tk.

Privacy: the patient's name and ID (``source["identifiers"]``) are shown only when the user has
turned on ``Settings.show_identifiers``; otherwise one row says they are hidden and how to show
them. Every export that lists a file's facts goes through ``info_rows``, so none can leak them.
"""

from __future__ import annotations

import math
from typing import Any

from desktop.errors import N_
from desktop.i18n import gettext, ngettext

UNKNOWN = "—"  # a fact the file does not give, or gives malformed
LABELS = {
    "format": N_("Format"),
    "size": N_("Size"),
    "bit_depth": N_("Bit depth"),
    "modality": N_("Modality"),
    "body_part": N_("Body part"),
    "view_position": N_("View position"),
    "patient_age": N_("Patient age"),
    "patient_sex": N_("Patient sex"),
    "study_date": N_("Study date"),
    "manufacturer": N_("Manufacturer"),
    "pixel_spacing": N_("Pixel spacing"),
    "photometric": N_("Photometric interpretation"),
    "transfer_syntax": N_("Transfer syntax"),
    "frame": N_("Frame shown"),
    "patient_name": N_("Patient name"),
    "patient_id": N_("Patient ID"),
    "identifiers": N_("Patient name and ID"),
}
DICOM_FACTS = ("modality", "body_part", "view_position", "patient_age", "patient_sex",
               "study_date", "manufacturer", "pixel_spacing", "photometric", "transfer_syntax",
               "frame")
PATIENT_FACTS = frozenset({"patient_age", "patient_sex"})  # the patient's, not the image's
SEXES = {"M": N_("Male"), "F": N_("Female"), "O": N_("Other")}
HIDDEN = N_("hidden (View → Show patient identifiers)")

Rows = list[tuple[str, str]]


def info_rows(source: dict[str, Any] | None, *, show_identifiers: bool = False,
              patient_facts: bool = True) -> Rows:
    """The file's facts as (label, value), translated; DICOM adds its own, and its patient's
    name and ID only with ``show_identifiers``. ``patient_facts=False`` leaves out what the
    file says of the patient (age, sex: ``PATIENT_FACTS``), for a report that goes to the
    archive with no patient facts but the name and ID its header files it by."""
    source = source or {}
    if not source:
        return []
    rows = [(gettext(LABELS["format"]), _text(source.get("format"))),
            (gettext(LABELS["size"]), _size(source)),
            (gettext(LABELS["bit_depth"]), _bits(source.get("bit_depth")))]
    if source.get("format") != "DICOM":
        if source.get("multi_frame"):
            rows.append((gettext(LABELS["frame"]), _frame(source)))
        return rows
    values = {
        "modality": _text(source.get("modality")),
        "body_part": _text(source.get("body_part")),
        "view_position": _text(source.get("view_position")),
        "patient_age": age_text(source.get("patient_age")),
        "patient_sex": gettext(SEXES[source["patient_sex"]])
        if source.get("patient_sex") in SEXES else UNKNOWN,
        "study_date": _text(source.get("study_date")),
        "manufacturer": _text(source.get("manufacturer")),
        "pixel_spacing": _spacing(source.get("pixel_spacing")),
        "photometric": _text(source.get("photometric")),
        "transfer_syntax": _syntax(source),
        "frame": _frame(source),
    }
    rows += [(gettext(LABELS[key]), values[key]) for key in DICOM_FACTS
             if patient_facts or key not in PATIENT_FACTS]
    return rows + identifier_rows(source, show_identifiers=show_identifiers)


def identifier_rows(source: dict[str, Any], *, show_identifiers: bool) -> Rows:
    """The patient's name and ID when shown; else one row saying they are hidden (none when the
    file carries neither)."""
    identifiers = source.get("identifiers") or {}
    name, patient_id = identifiers.get("patient_name"), identifiers.get("patient_id")
    if not (name or patient_id):
        return []
    if not show_identifiers:
        return [(gettext(LABELS["identifiers"]), gettext(HIDDEN))]
    return [(gettext(LABELS["patient_name"]), person_name(name)),
            (gettext(LABELS["patient_id"]), _text(patient_id))]


def person_name(value: str | None) -> str:
    """A DICOM person name (``Family^Given^Middle^Prefix^Suffix``) as people write it."""
    if not value:
        return UNKNOWN
    family, _, rest = str(value).partition("^")
    given = " ".join(part for part in rest.split("^") if part)
    return f"{family}, {given}" if family and given else (family or given or UNKNOWN)


def age_text(years: Any) -> str:
    """5.0 -> "5 years"; 1.5 -> "18 months"; 0.05 -> "2 weeks"; None -> "—"."""
    if not isinstance(years, (int, float)) or not math.isfinite(years) or years < 0:
        return UNKNOWN
    if years >= 2:
        count = math.floor(years)
        return ngettext("{count} year", "{count} years", count).format(count=count)
    if years >= 1 / 12:
        count = math.floor(years * 12 + 1e-6)
        return ngettext("{count} month", "{count} months", count).format(count=count)
    count = math.floor(years * 365.25 / 7 + 1e-6)
    return ngettext("{count} week", "{count} weeks", count).format(count=count)


def _text(value: Any) -> str:
    return UNKNOWN if value is None or value == "" else str(value)


def _size(source: dict[str, Any]) -> str:
    width, height = source.get("width"), source.get("height")
    if not (isinstance(width, int) and isinstance(height, int)):
        return UNKNOWN
    return gettext("{width} × {height} pixels").format(width=width, height=height)


def _bits(bits: Any) -> str:
    if not isinstance(bits, int):
        return UNKNOWN
    return ngettext("{count} bit", "{count} bits", bits).format(count=bits)


def _spacing(spacing: Any) -> str:
    if not (isinstance(spacing, list) and len(spacing) == 2):
        return UNKNOWN
    row, column = (f"{float(v):.4g}" for v in spacing)
    return gettext("{row} × {column} mm").format(row=row, column=column)


def _syntax(source: dict[str, Any]) -> str:
    uid = source.get("transfer_syntax")
    if not uid:
        return UNKNOWN
    name = source.get("transfer_syntax_name")
    text = f"{name} ({uid})" if name else str(uid)
    if source.get("transfer_syntax_assumed"):
        text += " " + gettext("(assumed: the file does not say)")
    return text


def _frame(source: dict[str, Any]) -> str:
    frame, frames = source.get("frame") or 1, source.get("frames")
    if not isinstance(frames, int):
        return gettext("{frame} of several").format(frame=frame)
    return gettext("{frame} of {frames}").format(frame=frame, frames=frames)
