"""How the app writes the values people read: percentages, operating-point names, its version.
No Tk: the window, the PDF reports and the command line all use these.
"""

from __future__ import annotations

from importlib import metadata as package_metadata

from desktop.errors import N_
from desktop.i18n import gettext

OPERATING_POINT_LABELS = {
    "balanced": N_("Balanced"),
    "high_sensitivity": N_("High sensitivity"),
    "high_specificity": N_("High specificity"),
}


def operating_point_label(name: str) -> str:
    """A model card's operating-point name for people ("high_sensitivity" → "High sensitivity")."""
    msgid = OPERATING_POINT_LABELS.get(name)
    return gettext(msgid) if msgid else name.replace("_", " ").capitalize()


def percent(value: float, digits: int = 0) -> str:
    """``0.873`` -> ``"87%"``; one more digit where rounding would show a certainty (100%, 0%)
    the model does not have."""
    text = f"{100 * value:.{digits}f}"
    for more in range(1, 4):
        if value in (0.0, 1.0) or float(text) not in (0.0, 100.0):
            break
        text = f"{100 * value:.{digits + more}f}"
    return f"{text}%"


def app_version() -> str:
    try:
        return package_metadata.version("cxr-pneumonia")
    except package_metadata.PackageNotFoundError:
        return "unknown"
