"""Help → About / Model card: what the model is, how well it did, what it must not be used for.

A plain summary for clinicians comes first (what it was trained on, how it did on the test
split, when not to trust it), worded here from the card's figures; the technical card follows.
The card is the model's own ``metadata.json``. Labels are translated; so is the card's own
prose (intended use, limitations) where it is the sentences this project's training writes
(``desktop.modelfile.CARD_LIMITATIONS``); other prose is shown as its trainer wrote it. Fields
the app has no label for are listed as they are, so nothing in the card is hidden.
"""

from __future__ import annotations

import json
import tkinter as tk
from tkinter import ttk

from desktop.errors import N_, UserError
from desktop.i18n import _
from desktop.reports.labels import (
    DISCLAIMER,
    app_version,
    operating_point_figures,
    operating_point_label,
    operating_point_rule,
    percent,
)
from desktop.ui.widgets import ReadOnlyDialog, Texts

METRIC_LABELS = {
    "accuracy": N_("Accuracy"),
    "sensitivity": N_("Sensitivity"),
    "specificity": N_("Specificity"),
    "precision": N_("Precision"),
    "f1": N_("F1 score"),
    "roc_auc": N_("ROC AUC"),
}
# Keys the dialog lays out itself; every other key of the card goes under "Other details".
_SHOWN = {
    "format_version", "model_name", "model_version", "classes", "positive_class", "threshold",
    "default_operating_point", "operating_points", "metrics", "data", "intended_use",
    "limitations", "created", "torch_version", "source_commit", "calibration", "training",
    "scope_check",
}


def _share(value: object) -> str:
    """A fraction as a percentage; "?" when the card lacks it (never a made-up 0%)."""
    return percent(value) if isinstance(value, (int, float)) else "?"


def _metrics_lines(figures: dict) -> list[str]:
    lines = []
    if "n" in figures:
        lines.append(
            _("{n} images ({normal} normal, {pneumonia} pneumonia), threshold {threshold}").format(
                n=figures["n"], normal=figures.get("n_normal", "?"),
                pneumonia=figures.get("n_pneumonia", "?"), threshold=figures.get("threshold", "?"),
            )
        )
    cells = [
        f"{_(label)} {percent(figures[key], 2) if key != 'roc_auc' else f'{figures[key]:.4f}'}"
        for key, label in METRIC_LABELS.items()
        if isinstance(figures.get(key), (int, float))
    ]
    if cells:
        lines.append(" · ".join(cells))
    confusion = figures.get("confusion")
    if (isinstance(confusion, list) and len(confusion) == 2
            and all(isinstance(row, list) and len(row) == 2 for row in confusion)):
        (tn, fp), (fn, tp) = confusion
        lines.append(
            _("Confusion: {tn} true normal, {fp} false pneumonia, {fn} missed pneumonia, "
              "{tp} true pneumonia").format(tn=tn, fp=fp, fn=fn, tp=tp)
        )
    return lines


Sections = list[tuple[str, list[str]]]


def _count(value: object) -> int | None:
    return value if isinstance(value, int) else None


def clinician_summary(card: dict) -> list[str]:
    """The card in a clinician's words, from its figures: what the model saw in training, how it
    did on test images it never saw (the figures to trust), and when not to trust it."""
    lines = [_("It reads a frontal chest X-ray and says whether it looks like pneumonia or "
               "normal. It is for research and teaching, not for diagnosis.")]
    data = card.get("data", {}) if isinstance(card.get("data"), dict) else {}
    train = data.get("counts", {}).get("train", {}) if isinstance(data.get("counts"), dict) else {}
    ages = (card.get("scope_check") or {}).get("age_range_years") \
        if isinstance(card.get("scope_check"), dict) else None
    if isinstance(train, dict) and train and all(_count(v) is not None for v in train.values()):
        if isinstance(ages, list) and len(ages) == 2:
            lines.append(_("Trained on {n} chest X-rays of children aged {low} to {high} years "
                           "({source}).").format(n=sum(train.values()), low=ages[0],
                                                 high=ages[1], source=data.get("name", "?")))
        else:
            lines.append(_("Trained on {n} chest X-rays ({source}).").format(
                n=sum(train.values()), source=data.get("name", "?")))
    test = card.get("metrics", {}).get("test") if isinstance(card.get("metrics"), dict) else None
    confusion = test.get("confusion") if isinstance(test, dict) else None
    if (isinstance(confusion, list) and len(confusion) == 2
            and all(isinstance(row, list) and len(row) == 2 for row in confusion)):
        (tn, fp), (fn, tp) = confusion
        lines.append(_("On {n} test images it never saw while it was trained, it found {tp} of "
                       "{pneumonia} pneumonia cases ({sensitivity}) and called {tn} of {normal} "
                       "normal images normal ({specificity}): it missed {fn} pneumonia cases and "
                       "raised {fp} false alarms.").format(
            n=tn + fp + fn + tp, tp=tp, pneumonia=fn + tp, tn=tn, normal=tn + fp, fn=fn, fp=fp,
            sensitivity=_share(test.get("sensitivity")),
            specificity=_share(test.get("specificity"))))
    else:
        lines.append(_("This model file has no test-split figures: how well it does on new "
                       "images is not known."))
    lines.append(_("Do not trust it on adults, on images from other hospitals or machines than "
                   "those it was trained and tested on, on anything but a frontal chest X-ray, "
                   "or to tell bacterial from viral pneumonia or find any other disease. "
                   "The scope check catches some of these images, not all."))
    return lines


def model_card_sections(card: dict | None, error: UserError | None = None) -> Sections:
    """The card as (heading, lines) in the current language: what the dialog shows, a plain
    summary first when there is a card."""
    from desktop.logs import log_file_path

    sections: Sections = [] if card is None else [(_("In short"), clinician_summary(card))]
    sections += [
        (_("Application"), [_("Version {version}").format(version=app_version()),
                            _("Log file (for support): {path}").format(path=log_file_path()),
                            _(DISCLAIMER)]),
    ]
    if card is None:
        message = error.user_message() if error else _("The model has not loaded yet.")
        sections.append((_("Model"), [message]))
        return sections
    sections.append((_("Model"), [
        f"{card.get('model_name', '?')} {card.get('model_version', '')}".strip(),
        _("Created {created} with torch {torch}, source {commit}").format(
            created=card.get("created", "?"), torch=card.get("torch_version", "?"),
            commit=card.get("source_commit", "?")),
        _("Classes: {classes}; positive class: {positive}").format(
            classes=", ".join(card.get("classes", [])), positive=card.get("positive_class", "?")),
    ]))
    sections.append((_("Intended use"), [_card_prose(card.get("intended_use", ""))]))
    sections.append((_("Limitations"),
                     [f"• {_card_prose(item)}" for item in card.get("limitations", [])]))
    metrics = card.get("metrics", {})
    for key, heading in (("validation", N_("Validation metrics")), ("test", N_("Test metrics"))):
        if isinstance(metrics.get(key), dict):
            sections.append((_(heading), _metrics_lines(metrics[key])))
    points = []
    for point in [p for p in card.get("operating_points", []) if isinstance(p, dict)]:
        figures = "; ".join(f"{label} {text}" for label, text in
                            operating_point_figures(point, card)).lower()
        points.append(_("{name}: threshold {threshold}; {figures} ({rule})").format(
            name=operating_point_label(point.get("name", "?")),
            threshold=point.get("threshold", "?"), figures=figures,
            rule=operating_point_rule(point.get("rule", ""))))
    sections.append((_("Operating points"), points))
    calibration = card.get("calibration", {})
    if calibration:
        lines = [_("{method}: temperature {temperature}, calibration error {before} before, "
                   "{after} after").format(
            method=calibration.get("method", "?"),
            temperature=calibration.get("temperature", "?"),
            before=calibration.get("val_ece_before", "?"),
            after=calibration.get("val_ece_after", "?"),
        )]
        if calibration.get("bias"):
            lines.append(_("Bias {bias}; calibration error on validation images the fit did "
                           "not see (5 folds): {cv}").format(
                bias=calibration["bias"], cv=calibration.get("val_ece_cross_validated", "?")))
        if isinstance(calibration.get("prevalence_assumed"), (int, float)):
            lines.append(_("Probabilities assume that {share} of the images show pneumonia; "
                           "where it is rarer, the same probability means less.").format(
                share=percent(calibration["prevalence_assumed"])))
        sections.append((_("Calibration"), lines))
    sections.append((_("Scope check"), _scope_lines(card.get("scope_check"))))
    data = card.get("data", {})
    if data:
        sections.append((_("Training data"), [
            f"{data.get('name', '?')} ({data.get('licence', '?')})",
            _("Split: {rule}").format(rule=data.get("split_rule", "?")),
            *_flat_lines(data.get("counts", {})),
        ]))
    if card.get("training"):
        sections.append((_("Training"), _flat_lines(card["training"])))
    other = {key: value for key, value in card.items() if key not in _SHOWN}
    if other:
        sections.append((_("Other details"), _flat_lines(other)))
    return sections


def _scope_lines(check: object) -> list[str]:
    """What the model's scope check is and how it did, from its card; or that there is none."""
    if not isinstance(check, dict):
        return [_("This model has no scope check: it gives a verdict on any image, chest X-ray "
                  "or not.")]
    lines = [str(check.get("method", ""))]
    validation = check.get("validation", {})
    if isinstance(validation.get("in_scope"), (int, float)):
        lines.append(_("Validation: {share} of {n} images in scope.").format(
            share=percent(validation["in_scope"], 1), n=validation.get("n", "?")))
    low_high = check.get("age_range_years")
    if isinstance(low_high, list) and len(low_high) == 2:
        lines.append(_("Training ages: {low} to {high} years (DICOMs of other ages are marked "
                       "unusual).").format(low=low_high[0], high=low_high[1]))
    groups = check.get("out_of_scope_groups", {})
    if isinstance(groups, dict) and groups:
        lines.append(_("Caught, per group of out-of-scope examples (each from a check fitted "
                       "without its source):"))
        for name, figures in sorted(groups.items()):
            if isinstance(figures, dict) and isinstance(figures.get("caught"), (int, float)):
                lines.append(f"  {name}: {percent(figures['caught'])} "
                             f"({figures.get('n', '?')})")
    fitted = check.get("fitted_on", {})
    sources = fitted.get("out_of_scope_examples", []) if isinstance(fitted, dict) else []
    if sources:
        lines.append(_("Fitted on: {sources}").format(sources="; ".join(
            f"{s.get('source')} ({s.get('licence')}, {s.get('n')})" for s in sources
            if isinstance(s, dict))))
    return lines


def _flat_lines(values: dict, prefix: str = "") -> list[str]:
    """``key: value`` lines for a nested dict (``recipe.lr: 0.001``), keys sorted."""
    lines = []
    for key in sorted(values):
        value = values[key]
        if isinstance(value, dict) and value:
            lines += _flat_lines(value, f"{prefix}{key}.")
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"{prefix}{key}: {shown}")
    return lines


class ModelCardDialog(ReadOnlyDialog):
    """A read-only, scrollable model card that re-labels itself on a language switch."""

    def __init__(self, master: tk.Misc, texts: Texts, card: dict | None,
                 error: UserError | None = None, site=None) -> None:
        self.card, self.error = card, error
        self.site = site  # () -> lines about the site profile in force (HistoryLink)
        super().__init__(master, texts, N_("About / Model card"), "720x620")

    def make_view(self, frame: ttk.Frame) -> tk.Text:
        self.text = tk.Text(
            frame, wrap="word", relief="flat", padx=10, pady=8, background="white",
            font="TkTextFont", spacing1=2, spacing3=2,
        )
        self.text.tag_configure("heading", font="TkHeadingFont", spacing1=10)
        self.text.tag_configure("warning", foreground="#A94800")
        return self.text

    def fill(self) -> None:
        self.text.configure(state="normal")
        self.text.delete("1.0", "end")
        sections = model_card_sections(self.card, self.error)
        if self.site is not None:
            after = [heading for heading, _lines in sections].index(_("Application")) + 1
            sections.insert(after, (_("Site profile"), self.site()))
        for heading, lines in sections:
            self.text.insert("end", heading + "\n", ("heading",))
            for line in lines:
                tags = ("warning",) if line == _(DISCLAIMER) else ()
                self.text.insert("end", line + "\n", tags)
        self.text.configure(state="disabled")

    def all_text(self) -> str:
        return self.text.get("1.0", "end")


def _card_prose(text) -> str:
    """A sentence of the card in the user's language when it is one the catalogs know (empty
    text stays empty: gettext would give the catalog's header)."""
    text = str(text)
    return _(text) if text.strip() else text
