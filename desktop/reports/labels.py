"""How the app writes the values people read: percentages, operating-point names, its version.
No Tk: the window, the PDF reports and the command line all use these.
"""

from __future__ import annotations

import re
from importlib import metadata as package_metadata

from desktop.engine.scope import IN_SCOPE, NOT_CHEST_XRAY, UNUSUAL
from desktop.errors import N_
from desktop.i18n import format_percent, gettext

# Shown in the window's banner, the About box, every report and `predict`'s summary.
DISCLAIMER = N_("Research and teaching tool. Not for clinical diagnosis.")

OPERATING_POINT_LABELS = {
    "balanced": N_("Balanced"),
    "high_sensitivity": N_("High sensitivity"),
    "high_specificity": N_("High specificity"),
    "site": N_("Site profile"),  # desktop.engine.threshold.SITE_POINT
}


def operating_point_label(name: str) -> str:
    """A model card's operating-point name for people ("high_sensitivity" → "High sensitivity")."""
    msgid = OPERATING_POINT_LABELS.get(name)
    return gettext(msgid) if msgid else name.replace("_", " ").capitalize()


# How training/card.py words the rule that chose each operating point, in people's words.
_YOUDEN_RULE = "max Youden J on validation"
_SENSITIVITY_RULE = re.compile(r"sensitivity >= ([0-9.]+) on validation")


def operating_point_rule(rule: str) -> str:
    """How an operating point was chosen, translated where the card uses a rule training writes;
    any other rule as the card says it."""
    if rule == _YOUDEN_RULE:
        return gettext("the best balance of sensitivity and specificity on validation "
                       "(largest Youden J)")
    match = _SENSITIVITY_RULE.fullmatch(rule)
    if match:
        return gettext("the highest threshold that finds at least {share} of pneumonia cases "
                       "on validation").format(share=percent(float(match[1])))
    return rule


FIGURES = N_("sensitivity {sensitivity}, specificity {specificity}")


def operating_point_figures(point: dict, card: dict | None) -> list[tuple[str, str]]:
    """An operating point's figures as (split, figures), the test split's first (the ones to
    trust: images the model was not chosen on), then validation's; each where the card has it."""
    tested = (((card or {}).get("metrics") or {}).get("test") or {}).get("at_operating_points")
    test = tested.get(point.get("name")) if isinstance(tested, dict) else None
    rows = []
    for label, figures, prefix in ((N_("Test"), test, ""), (N_("Validation"), point, "val_")):
        try:
            rows.append((gettext(label), gettext(FIGURES).format(
                sensitivity=percent(float(figures[prefix + "sensitivity"])),
                specificity=percent(float(figures[prefix + "specificity"])))))
        except (KeyError, TypeError, ValueError):
            continue
    return rows


def figures_text(point: dict, card: dict | None) -> str:
    """The same on one line: "Test: sensitivity 98%, specificity 84% · Validation: …"."""
    return " · ".join(f"{label}: {text}" for label, text in operating_point_figures(point, card))


# Percentages people read, in the current language's decimal symbol (desktop.i18n).
percent = format_percent


# The names save dialogs suggest, in the language shown ("resultados.csv"); the extension is
# added here, never translated. Every dialog takes its suggestion from ``file_name``.
FILE_NAMES = {
    "results": N_("results"),  # File → Export CSV…
    "report": N_("{name}_report"),  # File → Save report… ({name}: the image file's name)
    "batch_report": N_("batch_report"),
    "history": N_("history"),  # Cases → History → Export CSV…
    "study": N_("calibration-study"),
    "reader_study": N_("reader-study"),  # Cases → Read first → Export summary CSV…
}


def file_name(key: str, extension: str, **params: str) -> str:
    """A suggested file name: ``file_name("results", ".csv")`` -> ``"resultados.csv"`` (es)."""
    return gettext(FILE_NAMES[key]).format(**params) + extension


def app_version() -> str:
    try:
        return package_metadata.version("cxr-pneumonia")
    except package_metadata.PackageNotFoundError:
        return "unknown"


IN_SCOPE_TEXT = N_("No scope problem found (file facts and likeness to the training images "
                   "checked).")


def scope_text(scope, *, name_withheld: bool = True) -> str:
    """The scope state in words, then its reason: what the window, the table and the reports
    say of an image's scope. ``name_withheld=False`` gives a withheld image's reason alone,
    where the verdict beside it already says "No verdict"."""
    if scope is None:
        return ""
    reason = scope.reason.user_message() if scope.reason is not None else ""
    if scope.state == IN_SCOPE:
        # what was checked, not what the image is: the check can miss (an adult lateral film)
        return gettext(IN_SCOPE_TEXT)
    if scope.state == UNUSUAL:
        return gettext("Unusual: {reason}").format(reason=reason)
    if scope.state == NOT_CHEST_XRAY and name_withheld:
        return gettext("Outside the model's scope: {reason}").format(reason=reason)
    return reason  # withheld, named beside it; or a model without a scope check, said in its reason
