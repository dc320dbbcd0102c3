"""The calibration study on one A4 page: the cases per class, the ROC curve with the shipped
and the proposed thresholds, sensitivity and specificity with their 95% intervals at each, the
reliability diagram before and after recalibration, and the share flagged; then the refer band
the profile holds (or why it holds none): what it guarantees, the share referred and the errors
among decided with their 95% intervals, and the risk-coverage curve (the share decided against
the share of those wrong, as a band widens around the threshold). What the window's Calibrate
dialog shows is drawn from the same ``Study``; the profile file holds its figures.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

from desktop.cases.calibration import BandFigures, OperatingPoint, Study
from desktop.cases.profile import interval_text
from desktop.engine.threshold import format_threshold
from desktop.errors import N_
from desktop.i18n import class_name, format_decimal, gettext
from desktop.reports.labels import DISCLAIMER
from desktop.reports.pdf import (
    BLUE,
    GREY,
    RULE,
    TEXT_GREY,
    VERMILLION,
    WIDTH,
    _build,
    _header,
    _p,
    _pairs,
    pdf_text_plain,
    write_pdf,
)
from desktop.reports.wording import band_promise

TITLE = N_("Site calibration study")
PLOT = 150  # points, each square plot
RC_PLOT = 100  # points, the risk-coverage plot (beside the band's figures)

T = {
    "confirmed": N_("Confirmed {name}"),
    "excluded": N_("Left out (not chest X-rays)"),
    "goal": N_("Goal"),
    "balanced": N_("Balanced (largest sensitivity + specificity)"),
    "sensitivity": N_("Sensitivity at least {target} (lower 95% bound)"),
    "model": N_("Model file (sha256)"),
    "fit": N_("Recalibration (Platt)"),
    "fit_value": N_("slope {slope}, bias {bias}"),
    "roc": N_("ROC curve (AUC {auc})"),
    "reliability": N_("Reliability: P against the share with pneumonia (dot area: cases)"),
    "before": N_("Before (error {ece})"),
    "after": N_("After, cross-validated (error {ece})"),
    "shipped": N_("Shipped threshold"),
    "proposed": N_("Proposed threshold"),
    "threshold": N_("Threshold"),
    "sens": N_("Sensitivity (95% CI)"),
    "spec": N_("Specificity (95% CI)"),
    "flagged": N_("Share flagged (95% CI)"),
    "band": N_("Refer band"),
    "risk_coverage": N_("Risk against coverage"),
    "decided": N_("Share decided"),
    "wrong": N_("Share of decided wrong"),
    "threshold_alone": N_("The threshold alone"),
    "this_band": N_("This band"),
    "referred": N_("Share referred"),
    "missed": N_("Pneumonias called normal"),
    "false_alarms": N_("Normals called pneumonia"),
    "wrong_normal": N_("Wrong among normal calls"),
    "wrong_pneumonia": N_("Wrong among pneumonia calls"),
    "wrong_decided": N_("Wrong among all decided"),
    "no_band": N_("No refer band was asked for: the threshold decides every image."),
    "band_note": N_("Measured on the cases the band was certified on (each with its interval "
                    "at 95%); the guarantee is the certified upper bound, not these values."),
    "note": N_("Sensitivity and specificity are measured on the cases the threshold was chosen "
               "on: rely on the intervals, not on the point values. The shipped threshold "
               "applies to the model's own P, the proposed one to the recalibrated P."),
}


def _axes(d: Drawing, x0: float, y0: float, size: float, xlabel: str, ylabel: str,
          y_max: float = 1.0) -> None:
    """A square plot's frame, grid and tick labels (fifths; the y axis up to ``y_max``)."""
    d.add(Rect(x0, y0, size, size, strokeColor=RULE, fillColor=None))
    for i in range(1, 5):
        at = size * i / 5
        d.add(Line(x0 + at, y0, x0 + at, y0 + size, strokeColor=RULE, strokeWidth=0.3))
        d.add(Line(x0, y0 + at, x0 + size, y0 + at, strokeColor=RULE, strokeWidth=0.3))
    for i in range(6):
        d.add(String(x0 + size * i / 5 - 4, y0 - 10, format_decimal(i / 5, 1), fontSize=6,
                     fillColor=TEXT_GREY))
        y_tick = format_decimal(y_max * i / 5, 1 if y_max >= 0.5 else 2)
        d.add(String(x0 - 4 - 3.2 * len(y_tick), y0 + size * i / 5 - 2, y_tick, fontSize=6,
                     fillColor=TEXT_GREY))
    d.add(String(x0 + size / 2 - 40, y0 - 20, pdf_text_plain(xlabel), fontSize=7))
    d.add(String(x0 - 14, y0 + size + 5, pdf_text_plain(ylabel), fontSize=7))


def roc_drawing(study: Study) -> Drawing:
    d = Drawing(PLOT + 30, PLOT + 40)
    x0, y0 = 24, 26
    _axes(d, x0, y0, PLOT, gettext("1 - specificity"),
          gettext("Sensitivity"))
    d.add(Line(x0, y0, x0 + PLOT, y0 + PLOT, strokeColor=GREY, strokeDashArray=[2, 2],
               strokeWidth=0.5))
    points = [(x0 + fx * PLOT, y0 + ty * PLOT) for fx, ty in study.roc]
    d.add(PolyLine([c for p in points for c in p], strokeColor=BLUE, strokeWidth=1.2))
    for point, colour in ((study.shipped, GREY), (study.proposed, VERMILLION)):
        fx, ty = 1 - point.specificity.value, point.sensitivity.value
        d.add(Circle(x0 + fx * PLOT, y0 + ty * PLOT, 4, fillColor=colour, strokeColor=None))
    return d


def reliability_drawing(study: Study) -> Drawing:
    d = Drawing(PLOT + 30, PLOT + 40)
    x0, y0 = 24, 26
    _axes(d, x0, y0, PLOT, gettext("P(pneumonia)"), gettext("Share with pneumonia"))
    d.add(Line(x0, y0, x0 + PLOT, y0 + PLOT, strokeColor=GREY, strokeDashArray=[2, 2],
               strokeWidth=0.5))
    most = max([n for _, _, n in study.reliability_before + study.reliability_after] or [1])
    for bins, colour in ((study.reliability_before, GREY), (study.reliability_after, BLUE)):
        points = [(x0 + p * PLOT, y0 + share * PLOT, n) for p, share, n in bins]
        if len(points) > 1:
            d.add(PolyLine([c for x, y, _ in points for c in (x, y)], strokeColor=colour,
                           strokeWidth=0.8))
        for x, y, n in points:  # the area of a dot says how many cases its bin holds
            d.add(Circle(x, y, 1.2 + 4.0 * (n / most) ** 0.5, fillColor=colour,
                         strokeColor=None))
    return d


def _y_max(errors: list[float]) -> float:
    """The y axis's end: the smallest of 0.05, 0.1, 0.2, 0.5, 1 above every error shown."""
    top = max(errors or [0.0])
    return next((v for v in (0.05, 0.1, 0.2, 0.5) if top <= v), 1.0)


def risk_coverage_drawing(study: Study) -> Drawing:
    """The share of decided images wrong against the share decided, as a band widens around the
    threshold (the right end: the threshold alone), with this band's own point."""
    d = Drawing(RC_PLOT + 30, RC_PLOT + 40)
    x0, y0 = 24, 26
    band = study.band
    errors = [e for _, e in study.risk_coverage]
    marks = [(GREY, (1.0, 1.0 - _accuracy(study)))]
    if band is not None:
        marks.append((VERMILLION, (1.0 - band.referred.value, band.wrong_decided.value)))
    y_max = _y_max(errors + [y for _, (_, y) in marks])
    _axes(d, x0, y0, RC_PLOT, gettext(T["decided"]), gettext(T["wrong"]), y_max=y_max)
    points = [(x0 + c * RC_PLOT, y0 + e / y_max * RC_PLOT) for c, e in study.risk_coverage]
    if len(points) > 1:
        d.add(PolyLine([v for p in points for v in p], strokeColor=BLUE, strokeWidth=1.2))
    for colour, (c, e) in marks:
        d.add(Circle(x0 + c * RC_PLOT, y0 + e / y_max * RC_PLOT, 4, fillColor=colour,
                     strokeColor=None))
    return d


def _accuracy(study: Study) -> float:
    """The share of the cases the proposed threshold alone gets right."""
    sens, spec = study.proposed.sensitivity, study.proposed.specificity
    return (sens.k + spec.k) / max(1, sens.n + spec.n)


def _band_rows(figures: BandFigures, width: float) -> Table:
    """The band's figures with their intervals, a label and a value a line, ``width`` wide."""
    table = Table([[_p(gettext(T[key]), "key"), _p(interval_text(getattr(figures, name)),
                                                   "cell")] for key, name in (
        ("referred", "referred"), ("missed", "missed"), ("false_alarms", "false_alarms"),
        ("wrong_normal", "wrong_normal_calls"), ("wrong_pneumonia", "wrong_pneumonia_calls"),
        ("wrong_decided", "wrong_decided"))], colWidths=[width * 0.62, width * 0.38])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 1),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return table


def band_section(study: Study) -> list:
    """The refer band: what it promises across the page, then the risk-coverage plot beside its
    figures; or why there is none."""
    text_width = WIDTH - RC_PLOT - 40
    legend = [(GREY, gettext(T["threshold_alone"]))] + (
        [(VERMILLION, gettext(T["this_band"]))] if study.band is not None else [])
    if study.band is not None:
        promise = band_promise(study.band.band)
        beside = [_band_rows(study.band, text_width), Spacer(1, 4),
                  _p(gettext(T["band_note"]), "small")]
    else:
        problem = study.band_problem
        promise = problem.user_message() if problem is not None else gettext(T["no_band"])
        beside = []
    table = Table([[[_p(gettext(T["risk_coverage"]), "cell_bold"), risk_coverage_drawing(study)],
                    [*beside, Spacer(1, 4), _legend(legend, text_width)]]],
                  colWidths=[RC_PLOT + 40, text_width])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [Spacer(1, 8), KeepTogether([_p(gettext(T["band"]), "cell_bold"), Spacer(1, 2),
                                        _p(promise, "cell"), Spacer(1, 4), table])]


def _legend(items: list[tuple[object, str]], width: float = WIDTH / 2 - 20) -> Table:
    cells = []
    for colour, text in items:
        swatch = Drawing(10, 10)
        swatch.add(Circle(5, 4, 4, fillColor=colour, strokeColor=None))
        cells.append([swatch, _p(text, "small")])
    table = Table(cells, colWidths=[14, width])
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _point_row(name: str, point: OperatingPoint) -> list:
    return [_p(gettext(name), "cell_bold"), _p(format_threshold(point.threshold), "cell"),
            _p(interval_text(point.sensitivity), "cell"),
            _p(interval_text(point.specificity), "cell"),
            _p(interval_text(point.flagged), "cell")]


def study_pdf(study: Study, *, profile_name: str, model_sha256: str) -> bytes:
    goal = gettext(T["balanced"]) if study.goal == "balanced" else \
        gettext(T["sensitivity"]).format(target=f"{100 * (study.target or 0):g}%")
    created = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    story = _header(f"{gettext(TITLE)}: {profile_name}", created, gettext(DISCLAIMER))
    story.append(_pairs([
        (gettext(T["confirmed"]).format(name=class_name("NORMAL")), str(study.n_normal)),
        (gettext(T["confirmed"]).format(name=class_name("PNEUMONIA")), str(study.n_pneumonia)),
        (gettext(T["excluded"]), str(study.n_out_of_scope)),
        (gettext(T["goal"]), goal),
        (gettext(T["fit"]), gettext(T["fit_value"]).format(slope=format_decimal(study.slope, 3),
                                                         bias=format_decimal(study.bias, 3))),
        (gettext(T["model"]), model_sha256[:16] + "…"),
    ], columns=2))
    story.append(Spacer(1, 8))
    heads = [_p(gettext(T["roc"]).format(auc=format_decimal(study.auc, 3)), "cell_bold"),
             _p(gettext(T["reliability"]), "cell_bold")]
    before = gettext(T["before"]).format(ece=format_decimal(study.ece_before, 3))
    after = gettext(T["after"]).format(ece=format_decimal(study.ece_after, 3))
    plots = Table([heads, [roc_drawing(study), reliability_drawing(study)],
                   [_legend([(GREY, gettext(T["shipped"])), (VERMILLION, gettext(T["proposed"]))]),
                    _legend([(GREY, before), (BLUE, after)])]],
                  colWidths=[WIDTH / 2, WIDTH / 2])
    plots.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [plots, Spacer(1, 8)]
    header = [_p("", "key")] + [_p(gettext(T[k]), "key")
                                 for k in ("threshold", "sens", "spec", "flagged")]
    table = Table([header, _point_row(T["shipped"], study.shipped),
                   _point_row(T["proposed"], study.proposed)],
                  colWidths=[WIDTH * 0.22, WIDTH * 0.14, WIDTH * 0.22, WIDTH * 0.22,
                             WIDTH * 0.20])
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 0.5, RULE),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [table, Spacer(1, 8), _p(gettext(T["note"]), "small"), *band_section(study)]
    return _build(story, gettext(DISCLAIMER), gettext(TITLE))


def save_study(path: Path, study: Study, *, profile_name: str, model_sha256: str) -> int:
    data = study_pdf(study, profile_name=profile_name, model_sha256=model_sha256)
    write_pdf(path, data)
    return len(data)
