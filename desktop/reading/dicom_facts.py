"""What a DICOM file says about its image, for the information panel and scope checks.

``describe(ds)`` returns plain values (str, float, lists, dicts; JSON-ready), each read so that
a missing or malformed tag gives None, never an exception: a file is classified whatever its
header says about the patient. Patient name and ID are identifiers, so they sit apart under
``"identifiers"``, for any display or export to leave out.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from typing import Any

log = logging.getLogger(__name__)

# PatientAge is "nnnX": days, weeks, months or years (PS3.5 AS).
_AGE_UNITS = {"D": 365.25, "W": 365.25 / 7, "M": 12.0, "Y": 1.0}
_AGE = re.compile(r"(\d{1,3})\s*([DWMY])")
_MAX_AGE = 150.0
# Where a birth date is measured against when the file gives no PatientAge, first found first.
_DATES_OF_IMAGING = ("StudyDate", "AcquisitionDate", "SeriesDate", "ContentDate")


def describe(ds) -> dict[str, Any]:
    """The facts of ``docs/contracts.md`` (reader section) for a pydicom dataset."""
    return {
        "modality": text(ds, "Modality"),
        "body_part": text(ds, "BodyPartExamined"),
        "view_position": text(ds, "ViewPosition"),
        "patient_age": patient_age(ds),
        "patient_sex": _sex(text(ds, "PatientSex")),
        "study_date": _iso(_date(_get(ds, "StudyDate"))),
        "manufacturer": text(ds, "Manufacturer"),
        "pixel_spacing": _spacing(ds),
        "photometric": (text(ds, "PhotometricInterpretation") or "").upper() or None,
        "bit_depth": _integer(_get(ds, "BitsStored")) or _integer(_get(ds, "BitsAllocated")),
        "windows": window_presets(ds),
        # which study, series and image this is: the case history keeps them (not identifiers)
        "uids": {"study_uid": text(ds, "StudyInstanceUID"),
                 "series_uid": text(ds, "SeriesInstanceUID"),
                 "sop_uid": text(ds, "SOPInstanceUID")},
        "identifiers": {"patient_name": text(ds, "PatientName"),
                        "patient_id": text(ds, "PatientID")},
    }


def text(ds, keyword: str) -> str | None:
    """A tag as stripped text; None when absent, empty or unreadable."""
    return _text(_get(ds, keyword))


def patient_age(ds) -> float | None:
    """Years: PatientAge if it parses, else birth date to the date of imaging."""
    age = parse_age(_get(ds, "PatientAge"))
    if age is not None:
        return age
    birth = _date(_get(ds, "PatientBirthDate"))
    for keyword in _DATES_OF_IMAGING:
        imaged = _date(_get(ds, keyword))
        if birth is not None and imaged is not None:
            return _plausible_age((imaged - birth).days / 365.25)
    return None


def parse_age(value: Any) -> float | None:
    """"005Y" -> 5.0, "018M" -> 1.5, "010W" -> 0.1916, "003D" -> 0.0082; None if malformed."""
    match = _AGE.fullmatch((_text(value) or "").upper())
    if match is None:
        return None
    return _plausible_age(int(match.group(1)) / _AGE_UNITS[match.group(2)])


def window_presets(ds) -> list[dict[str, Any]] | None:
    """The file's window presets: [{"center", "width", "explanation"}], None when absent or
    malformed (a centre without a width, a value that is no number)."""
    centers, widths = _numbers(_get(ds, "WindowCenter")), _numbers(_get(ds, "WindowWidth"))
    if not centers or not widths or len(centers) != len(widths):
        return None
    explanations = _texts(_get(ds, "WindowCenterWidthExplanation"))
    return [
        {"center": c, "width": w, "explanation": explanations[i] if i < len(explanations) else None}
        for i, (c, w) in enumerate(zip(centers, widths, strict=True))
    ]


def transfer_syntax_name(transfer_syntax: str) -> str | None:
    from pydicom.uid import UID

    try:
        name = UID(str(transfer_syntax)).name
    except Exception:
        return None
    return name if name and name != str(transfer_syntax) else None


# --- tolerant readers ---------------------------------------------------------------------------


def _get(ds, keyword: str) -> Any:
    try:
        return ds.get(keyword)
    except Exception:  # pydicom converts on access; a malformed value may raise there
        log.debug("Unreadable %s", keyword, exc_info=True)
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        result = str(value).replace("\x00", "").strip()
    except Exception:
        return None
    return result or None


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def _texts(value: Any) -> list[str | None]:
    return [_text(v) for v in _values(value)]


def _numbers(value: Any) -> list[float] | None:
    """Every value as a finite float; None if any is not one."""
    out = []
    for item in _values(value):
        number = _number(item)
        if number is None:
            return None
        out.append(number)
    return out or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) and number > 0 else None


def _spacing(ds) -> list[float] | None:
    """[row, column] spacing in mm: PixelSpacing, else ImagerPixelSpacing (at the detector)."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        values = _numbers(_get(ds, keyword))
        if values and len(values) == 2 and all(v > 0 for v in values):
            return values
    return None


def _date(value: Any) -> dt.date | None:
    """DA "YYYYMMDD" (or the old "YYYY.MM.DD"); a date object when pydicom converted it."""
    if isinstance(value, dt.date):
        return value
    digits = (_text(value) or "").replace(".", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _iso(date: dt.date | None) -> str | None:
    return date.isoformat() if date is not None else None


def _plausible_age(years: float) -> float | None:
    return round(years, 4) if 0 <= years <= _MAX_AGE else None


def _sex(value: str | None) -> str | None:
    return value.upper() if value and value.upper() in ("M", "F", "O") else None
