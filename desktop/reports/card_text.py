"""The model card in people's words: what Help → About / Model card shows, built without a window.

A plain summary for clinicians comes first (what it was trained on, how it did on the test
split, when not to trust it), worded here from the card's figures; the technical card follows,
every field in a sentence or a short line: numbers in the reader's language, class names
translated, lists one short line per item, provenance (sources, licences, the training recipe,
the source commit) summarised, with the full lists under "More details" (``details=True``).
A value the card lacks is left out, never shown as "?". The card is the model's own
``metadata.json``; its prose (intended use, limitations) is translated where it is the
sentences this project's training writes (``desktop.modelfile.CARD_LIMITATIONS``), else shown
as its trainer wrote it. Fields the app has no words for are listed as readable lines under
"Other details", so nothing in the card is hidden. ``desktop.ui.about`` is the view.
"""

from __future__ import annotations

from desktop.engine.threshold import card_band, format_threshold
from desktop.errors import N_, UserError
from desktop.i18n import _, class_name, format_decimal
from desktop.reports.labels import (
    DISCLAIMER,
    app_version,
    operating_point_figures,
    operating_point_label,
    operating_point_rule,
    percent,
)
from desktop.reports.wording import band_promise

METRIC_LABELS = {
    "accuracy": N_("Accuracy"),
    "sensitivity": N_("Sensitivity"),
    "specificity": N_("Specificity"),
    "precision": N_("Precision"),
    "f1": N_("F1 score"),
    "roc_auc": N_("ROC AUC"),
}
# Keys laid out in their own sections; every other key of the card goes under "Other details".
_SHOWN = {
    "format_version", "model_name", "model_version", "classes", "positive_class", "threshold",
    "default_operating_point", "operating_points", "metrics", "data", "intended_use",
    "limitations", "created", "torch_version", "source_commit", "calibration", "training",
    "scope_check", "input", "test_split_looks", "refer_band",
}
SPLITS = {"train": N_("training"), "val": N_("validation"), "test": N_("test")}

Sections = list[tuple[str, list[str]]]


def _number(value: object) -> str:
    """A card's number as people read it: ints as they are, floats with the decimals they
    have (up to six significant digits) in the current language's decimal symbol."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    text = f"{value:.6g}"
    if "e" in text:
        return text
    return format_decimal(value, len(text.partition(".")[2]))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _confusion(figures: object) -> tuple[int, int, int, int] | None:
    confusion = figures.get("confusion") if isinstance(figures, dict) else None
    if (isinstance(confusion, list) and len(confusion) == 2
            and all(isinstance(row, list) and len(row) == 2 for row in confusion)):
        (tn, fp), (fn, tp) = confusion
        return tn, fp, fn, tp
    return None


def _metrics_lines(figures: dict) -> list[str]:
    lines = []
    if _count(figures.get("n")) is not None:
        parts = [_("{n} images").format(n=figures["n"])]
        if _count(figures.get("n_normal")) is not None and _count(
                figures.get("n_pneumonia")) is not None:
            parts = [_("{n} images ({normal} normal, {pneumonia} pneumonia)").format(
                n=figures["n"], normal=figures["n_normal"], pneumonia=figures["n_pneumonia"])]
        if _is_number(figures.get("threshold")):
            parts.append(_("threshold {threshold}").format(
                threshold=format_threshold(figures["threshold"])))
        lines.append(", ".join(parts))
    cells = [
        f"{_(label)} "
        f"{percent(figures[key], 2) if key != 'roc_auc' else format_decimal(figures[key], 4)}"
        for key, label in METRIC_LABELS.items()
        if _is_number(figures.get(key))
    ]
    if cells:
        lines.append(" · ".join(cells))
    confusion = _confusion(figures)
    if confusion is not None:
        tn, fp, fn, tp = confusion
        lines.append(
            _("Confusion: {tn} true normal, {fp} false pneumonia, {fn} missed pneumonia, "
              "{tp} true pneumonia").format(tn=tn, fp=fp, fn=fn, tp=tp)
        )
    return lines


def _share(value: object) -> str | None:
    return percent(value) if _is_number(value) else None


def clinician_summary(card: dict) -> list[str]:
    """The card in a clinician's words, from its figures: what the model saw in training, how it
    did on test images it never saw (the figures to trust), and when not to trust it."""
    lines = [_("It reads a frontal chest X-ray and says whether it looks like pneumonia or "
               "normal. It is for research and teaching, not for diagnosis.")]
    data = card.get("data") if isinstance(card.get("data"), dict) else {}
    train = data.get("counts", {}).get("train", {}) if isinstance(data.get("counts"), dict) else {}
    check = card.get("scope_check") if isinstance(card.get("scope_check"), dict) else {}
    ages = check.get("age_range_years")
    if isinstance(train, dict) and train and all(_count(v) is not None for v in train.values()):
        n = sum(train.values())
        if isinstance(ages, list) and len(ages) == 2:
            sentence = _("Trained on {n} chest X-rays of children aged {low} to {high} years.")
            sentence = sentence.format(n=n, low=ages[0], high=ages[1])
        else:
            sentence = _("Trained on {n} chest X-rays.").format(n=n)
        if data.get("name"):
            sentence += " " + _("Source: {source}.").format(source=data["name"])
        lines.append(sentence)
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    test = metrics.get("test") if isinstance(metrics.get("test"), dict) else None
    confusion = _confusion(test)
    sensitivity = _share((test or {}).get("sensitivity"))
    specificity = _share((test or {}).get("specificity"))
    if confusion is not None and sensitivity and specificity:
        tn, fp, fn, tp = confusion
        lines.append(_("On {n} test images it never saw while it was trained, it found {tp} of "
                       "{pneumonia} pneumonia cases ({sensitivity}) and called {tn} of {normal} "
                       "normal images normal ({specificity}): it missed {fn} pneumonia cases and "
                       "raised {fp} false alarms.").format(
            n=tn + fp + fn + tp, tp=tp, pneumonia=fn + tp, tn=tn, normal=tn + fp, fn=fn, fp=fp,
            sensitivity=sensitivity, specificity=specificity))
    else:
        lines.append(_("This model file has no test-split figures: how well it does on new "
                       "images is not known."))
    lines.append(_("Do not trust it on adults, on images from other hospitals or machines than "
                   "those it was trained and tested on, on anything but a frontal chest X-ray, "
                   "or to tell bacterial from viral pneumonia or find any other disease. "
                   "The scope check catches some of these images, not all."))
    return lines


def model_card_sections(card: dict | None, error: UserError | None = None,
                        details: bool = False, site: list[str] | None = None) -> Sections:
    """The card as (heading, lines) in the current language: what the dialog shows, a plain
    summary first when there is a card; ``details`` adds the full provenance (More details);
    ``site``: the lines about the site profile in force, under their heading right after the
    application's (they change what P and the threshold mean, so they come before the card)."""
    from desktop.logs import log_file_path

    sections: Sections = [] if card is None else [(_("In short"), clinician_summary(card))]
    sections += [
        (_("Application"), [_("Version {version}").format(version=app_version()),
                            _("Log file (for support): {path}").format(path=log_file_path()),
                            _(DISCLAIMER)]),
    ]
    if site is not None:
        sections.append((_("Site profile"), site))
    if card is None:
        message = error.user_message() if error else _("The model has not loaded yet.")
        sections.append((_("Model"), [message]))
        return sections
    sections.append((_("Model"), _model_lines(card, details)))
    if card.get("intended_use"):
        sections.append((_("Intended use"), [_card_prose(card["intended_use"])]))
    limitations = [f"• {_card_prose(item)}" for item in card.get("limitations") or []
                   if str(item).strip()]
    if limitations:
        sections.append((_("Limitations"), limitations))
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    for key, heading in (("validation", N_("Validation metrics")), ("test", N_("Test metrics"))):
        if isinstance(metrics.get(key), dict) and _metrics_lines(metrics[key]):
            sections.append((_(heading), _metrics_lines(metrics[key])))
    points = _point_lines(card)
    if points:
        sections.append((_("Operating points"), points))
    band = _band_lines(card)
    if band:
        sections.append((_("Refer band"), band))
    calibration = _calibration_lines(card.get("calibration"), details)
    if calibration:
        sections.append((_("Calibration"), calibration))
    sections.append((_("Scope check"), _scope_lines(card.get("scope_check"), details)))
    data = _data_lines(card.get("data"))
    if data:
        sections.append((_("Training data"), data))
    training = _training_lines(card.get("training"), card.get("test_split_looks"), details)
    if training:
        sections.append((_("Training"), training))
    other = {key: value for key, value in card.items() if key not in _SHOWN}
    if details and isinstance(card.get("input"), dict):
        other = {"input": card["input"], **other}
    if details and card.get("format_version") is not None:
        other["format_version"] = card["format_version"]
    lines = _readable(other)
    if lines:
        sections.append((_("Other details"), lines))
    return sections


def _model_lines(card: dict, details: bool) -> list[str]:
    lines = []
    name = " ".join(str(card[k]) for k in ("model_name", "model_version") if card.get(k))
    if name:
        lines.append(name)
    created = str(card.get("created") or "")[:10]
    torch = card.get("torch_version")
    if created and torch:
        lines.append(_("Created on {created} with torch {torch}.").format(created=created,
                                                                          torch=torch))
    elif created:
        lines.append(_("Created on {created}.").format(created=created))
    classes = [class_name(str(c)) for c in card.get("classes") or []]
    if classes:
        line = _("Classes: {classes}").format(classes=", ".join(classes))
        if card.get("positive_class"):
            line += "; " + _("positive class: {positive}").format(
                positive=class_name(str(card["positive_class"])))
        lines.append(line)
    size = card.get("input") if isinstance(card.get("input"), dict) else {}
    if _count(size.get("width")) and _count(size.get("height")):
        lines.append(_("Reads each image as {width} × {height} grey pixels.").format(
            width=size["width"], height=size["height"]))
    if details and card.get("source_commit"):
        lines.append(_("Source commit: {commit}").format(commit=card["source_commit"]))
    return lines


def _band_lines(card: dict) -> list[str]:
    """The refer band: what it promises (the words the threshold panel shows), and what it did
    on the test split, where the card records it."""
    band = card_band(card)
    if band is None:
        return []
    lines = [band_promise(band)]
    test = (card.get("refer_band") or {}).get("test")
    try:
        missed, alarms, referred, right = (test[k] for k in (
            "missed", "false_alarm", "referred", "accuracy_decided"))
        lines.append(_("On the {n} test images: {missed} of {pneumonia} pneumonia cases called "
                       "normal, {alarms} of {normal} normal images called pneumonia, {referred} "
                       "referred ({share}), {right} of {decided} right among those decided."
                       ).format(n=int(referred["n"]), missed=int(missed["k"]),
                                pneumonia=int(missed["n"]), alarms=int(alarms["k"]),
                                normal=int(alarms["n"]), referred=int(referred["k"]),
                                share=percent(float(referred["share"])), right=int(right["k"]),
                                decided=int(right["n"])))
    except (KeyError, TypeError, ValueError):
        pass  # no test figures recorded for the band: only its promise is said
    return lines


def _point_lines(card: dict) -> list[str]:
    lines = []
    for point in [p for p in card.get("operating_points") or [] if isinstance(p, dict)]:
        if not _is_number(point.get("threshold")):
            continue
        parts = [_("{name}: threshold {threshold}").format(
            name=operating_point_label(str(point.get("name", ""))),
            threshold=format_threshold(point["threshold"]))]
        figures = "; ".join(f"{label} {text}" for label, text in
                            operating_point_figures(point, card)).lower()
        if figures:
            parts.append(figures)
        line = "; ".join(parts)
        if point.get("rule"):
            line += f" ({operating_point_rule(str(point['rule']))})"
        lines.append(line)
    return lines


def _calibration_lines(calibration: object, details: bool) -> list[str]:
    if not isinstance(calibration, dict) or not calibration:
        return []
    lines = []
    method = str(calibration.get("method") or "")
    if method:  # the card's formula after the colon is for the technical details
        lines.append(_("Method: {method}").format(method=method.split(":")[0].strip()))
    before, after = calibration.get("val_ece_before"), calibration.get("val_ece_after")
    if _is_number(before) and _is_number(after):
        lines.append(_("Calibration error on validation: {before} before, {after} after.")
                     .format(before=format_decimal(before, 3), after=format_decimal(after, 3)))
    cv = next((calibration[k] for k in ("val_calibration_error_cross_validated",
                                         "val_ece_cross_validated")
               if _is_number(calibration.get(k))), None)
    if cv is not None:
        lines.append(_("Calibration error on validation images the fit did not see (5 folds): "
                       "{cv}.").format(cv=format_decimal(cv, 3)))
    if _is_number(calibration.get("prevalence_assumed")):
        lines.append(_("Probabilities assume that {share} of the images show pneumonia; "
                       "where it is rarer, the same probability means less.").format(
            share=percent(calibration["prevalence_assumed"])))
    if details:
        if method:
            lines.append(method)
        for key in ("temperature", "bias"):
            if _is_number(calibration.get(key)):
                lines.append(f"{_label(key)}: {_number(calibration[key])}")
    return lines


def _scope_lines(check: object, details: bool) -> list[str]:
    """What the model's scope check is and how it did, from its card; or that there is none."""
    if not isinstance(check, dict):
        return [_("This model has no scope check: it gives a verdict on any image, chest X-ray "
                  "or not.")]
    lines = [_("Every image is checked first: a photo, a document or another kind of scan gets "
               "no verdict; a chest X-ray unlike the training images is marked unusual.")]
    validation = check.get("validation") if isinstance(check.get("validation"), dict) else {}
    if _is_number(validation.get("in_scope")) and _count(validation.get("n")) is not None:
        lines.append(_("Validation: {share} of {n} images in scope.").format(
            share=percent(validation["in_scope"], 1), n=validation["n"]))
    low_high = check.get("age_range_years")
    if isinstance(low_high, list) and len(low_high) == 2:
        lines.append(_("Training ages: {low} to {high} years (DICOMs of other ages are marked "
                       "unusual).").format(low=low_high[0], high=low_high[1]))
    groups = check.get("out_of_scope_groups")
    groups = {k: v for k, v in groups.items() if isinstance(v, dict) and _is_number(
        v.get("caught")) and _count(v.get("n"))} if isinstance(groups, dict) else {}
    if groups:
        lines.append(_("Caught, per group of out-of-scope examples (each from a check fitted "
                       "without its source):"))
        others = {k: v for k, v in groups.items() if not k.startswith("cxr")}
        for name, figures in sorted(groups.items()):
            if name.startswith("cxr") or details:
                lines.append(f"  {name}: {percent(figures['caught'])} ({figures['n']})")
        if others and not details:
            n = sum(v["n"] for v in others.values())
            caught = sum(v["caught"] * v["n"] for v in others.values()) / n
            lines.append("  " + _("other images ({kinds} kinds): {share} ({n})").format(
                kinds=len(others), share=percent(caught), n=n))
    fitted = check.get("fitted_on") if isinstance(check.get("fitted_on"), dict) else {}
    sources = [s for s in fitted.get("out_of_scope_examples") or [] if isinstance(s, dict)]
    synthetic = fitted.get("synthetic_negatives")
    n_synthetic = sum(v for v in synthetic.values() if _count(v)) \
        if isinstance(synthetic, dict) else 0
    if sources:
        lines.append(_("Fitted on {n} openly licensed examples from {k} sources and {synthetic} "
                       "synthetic images; More details lists each source and its licence.")
                     .format(n=sum(_count(s.get("n")) or 0 for s in sources),
                             k=len({s.get("source") for s in sources}), synthetic=n_synthetic))
    if details:
        if check.get("method"):
            lines.append(str(check["method"]))
        lines += [f"  • {s.get('source', '')} — {s.get('group', '')}, {s.get('licence', '')}"
                  + (f" ({s['n']})" if _count(s.get("n")) else "") for s in sources]
    return lines


def _data_lines(data: object) -> list[str]:
    if not isinstance(data, dict) or not data:
        return []
    lines = []
    if data.get("name"):
        licence = f" ({data['licence']})" if data.get("licence") else ""
        lines.append(f"{data['name']}{licence}")
    if data.get("split_rule"):
        lines.append(_("Split: {rule}").format(rule=data["split_rule"]))
    counts = data.get("counts") if isinstance(data.get("counts"), dict) else {}
    for split, figures in counts.items():
        if isinstance(figures, dict) and all(_count(v) is not None for v in figures.values()):
            lines.append(f"{_(SPLITS[split]) if split in SPLITS else split}: " + ", ".join(
                f"{n} {class_name(label)}" for label, n in figures.items()))
    return lines


def _training_lines(training: object, looks: object, details: bool) -> list[str]:
    lines = []
    training = training if isinstance(training, dict) else {}
    epochs = training.get("epochs_run") if isinstance(training.get("epochs_run"), dict) else {}
    if _count(epochs.get("head")) is not None and _count(epochs.get("finetune")) is not None:
        lines.append(_("{head} epochs of the new head, then {finetune} of fine-tuning.").format(
            head=epochs["head"], finetune=epochs["finetune"]))
    init = str(training.get("init_weights") or "")
    if init:
        lines.append(_("Started from: {weights}").format(weights=init.split(" sha256:")[0]))
    looks = [look for look in looks or [] if isinstance(look, dict)] \
        if isinstance(looks, list) else []
    if looks:
        lines.append(_("The test split was looked at {n} times while the model was made:")
                     .format(n=len(looks)))
        for look in looks:
            number = look.get("evaluation_number")
            text = _("look {number}").format(number=number) if number is not None else "•"
            if look.get("date"):
                text += " " + _("on {date}").format(date=look["date"])
            if look.get("model_version"):
                text += ", " + _("model {version}").format(version=look["model_version"])
            if look.get("note"):
                text += ": " + str(look["note"])
            lines.append("  " + text)
    if details and training:
        lines += _readable({k: v for k, v in training.items() if k != "epochs_run"})
    return lines


def _label(key: str) -> str:
    """A card key as words: ``init_weights`` -> "Init weights"."""
    return key.replace("_", " ").capitalize()


def _readable(values: dict, indent: str = "") -> list[str]:
    """Nested card fields as short lines, never raw JSON: "Key: value", a list of plain values
    on one line, a list of records one line each, a nested record indented under its key."""
    lines = []
    for key, value in values.items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        label = _label(str(key))
        if isinstance(value, dict):
            lines.append(f"{indent}{label}:")
            lines += _readable(value, indent + "  ")
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            lines.append(f"{indent}{label}:")
            lines += [f"{indent}  • " + ", ".join(
                f"{_label(str(k)).lower()} {_number(v)}" for k, v in item.items()
                if v not in (None, "") and not isinstance(v, (dict, list))) for item in value]
        elif isinstance(value, list):
            lines.append(f"{indent}{label}: " + ", ".join(_number(v) for v in value))
        else:
            lines.append(f"{indent}{label}: {_number(value)}")
    return lines


def _card_prose(text) -> str:
    """A sentence of the card in the user's language when it is one the catalogs know (empty
    text stays empty: gettext would give the catalog's header)."""
    text = str(text)
    return _(text) if text.strip() else text
