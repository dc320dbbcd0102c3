"""Site calibration: refit P(pneumonia) on a clinic's own labelled images and choose its threshold.

Platt scaling on the model's log-odds (a slope and a bias, fitted by Newton's method with
Platt's smoothed targets, so perfectly separated cases still give finite numbers), then a
threshold for the site's goal: *balanced* (the largest Youden J) or *sensitivity ≥ X*, where X is
promised by the lower end of the exact (Clopper–Pearson) 95% interval, so the promise holds for
the number of cases the site has. Fewer than ``MIN_PER_CLASS`` cases of either class: refused,
saying how many more of each are needed. Only images that get a verdict (not those withheld as
not chest X-rays) are used. The "after" reliability and calibration error are cross-validated
(each fold recalibrated by a fit on the others), so they are not flattered by the fit itself.

By default the study also certifies a refer band on the site's recalibrated P
(``desktop.stats.certify_band``, 5%/5% class guarantee): below ``t_low`` NORMAL, at or above
``t_high`` PNEUMONIA, between REFER. When these cases cannot certify it, the study says how many
more of each class are needed (or that a looser guarantee is), and the profile keeps the single
threshold. The study also holds what the band does on these cases (the share referred, the errors
among decided with their exact 95% intervals) and the risk-coverage curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from desktop import stats
from desktop.engine.site import MAX_BIAS, MAX_SLOPE, MIN_SLOPE, log_odds, recalibrated
from desktop.errors import N_, Sentence, UserError, class_phrase
from desktop.referband import ReferBand
from desktop.stats import (
    CLASS,
    CONFIDENCE,
    NotCertifiable,
    Rate,
    certify_band,
    clopper_pearson,
)

MIN_PER_CLASS = 30
BINS = 10  # equal-width bins of P for the reliability diagram and the calibration error
FOLDS = 5


class CalibrationRefused(UserError):
    """Not enough cases, or cases the goal cannot be promised on."""


TOO_FEW = N_("Calibration needs at least {minimum} confirmed cases of each class; add {normal} "
             "more {normal_name} and {pneumonia} more {pneumonia_name}.")
TARGET_OUT_OF_REACH = N_("With {pneumonia} {pneumonia_name} cases no threshold can promise "
                         "sensitivity of at least {target} (lower 95% bound); about {needed} are "
                         "needed, or choose a lower target.")
NOT_INFORMATIVE = N_("On these cases the model's probability does not rise with pneumonia; check "
                     "the labels before calibrating.")
DEGENERATE = N_("On these cases the model's probability hardly differs between the two labels "
                "(the fitted slope is {slope}), so no profile was written; check the labels (the "
                "same images under both?) before calibrating.")
BAND_NEEDS_MORE = N_("No refer band can be certified for this guarantee on these cases: add "
                     "{normal} more {normal_name} and {pneumonia} more {pneumonia_name}, or "
                     "choose a looser guarantee; the profile keeps the single threshold.")
BAND_OUT_OF_REACH = N_("No refer band can keep the errors within this guarantee on cases like "
                       "these, and more of them would not help; choose a looser guarantee. The "
                       "profile keeps the single threshold.")
UNSTABLE = N_("The fit on these cases is too extreme to trust (slope {slope}, bias {bias}), so no "
              "profile was written; check the labels and add cases before calibrating.")


def fit_platt(p_model: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(slope, bias) maximising the likelihood of ``labels`` (1 = PNEUMONIA) under
    sigmoid(slope * log-odds(p) + bias), with Platt's smoothed targets."""
    x = np.asarray(log_odds(p_model), dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    target = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    w = np.zeros(2)
    design = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(100):
        q = recalibrated_from_z(design @ w)
        gradient = design.T @ (q - target)
        hessian = design.T @ (design * (q * (1 - q) + 1e-12)[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def recalibrated_from_z(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    sensitivity: Rate
    specificity: Rate
    flagged: Rate  # share of the images called PNEUMONIA


def operating_point(p: np.ndarray, y: np.ndarray, threshold: float) -> OperatingPoint:
    flagged = p >= threshold
    pos, neg = y == 1, y == 0
    return OperatingPoint(threshold, Rate.of(int((flagged & pos).sum()), int(pos.sum())),
                          Rate.of(int((~flagged & neg).sum()), int(neg.sum())),
                          Rate.of(int(flagged.sum()), len(p)))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> list[tuple[float, float, int]]:
    """Per equal-width bin of P: (mean P, share PNEUMONIA, count); empty bins left out
    (``desktop.stats.reliability``, the training's own)."""
    return [(mean_p, share, int(n)) for mean_p, share, n in stats.reliability(y, p, bins)]


def roc_points(p: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    """(1 - specificity, sensitivity) at every distinct threshold, from (0, 0) to (1, 1)
    (``desktop.stats.roc_curve``)."""
    fpr, tpr, _ = stats.roc_curve(y, p)
    return [*zip(fpr.tolist(), tpr.tolist(), strict=True), (1.0, 1.0)]


@dataclass(frozen=True)
class ReferGoal:
    """The guarantee a site's refer band is certified for (``desktop.stats``): ``CLASS``, at
    most ``low_limit`` of pneumonias called NORMAL and ``high_limit`` of normals called
    PNEUMONIA; or ``DECIDED``, at most those shares of the NORMAL and the PNEUMONIA calls wrong."""

    guarantee: str = CLASS
    low_limit: float = 0.05
    high_limit: float = 0.05


DEFAULT_REFER = ReferGoal()
RISK_COVERAGE_POINTS = 101  # at most, from everything decided to almost nothing


@dataclass(frozen=True)
class BandFigures:
    """What the certified band does on the cases it was fitted on, each with its exact 95%
    interval: the share referred, the pneumonias called NORMAL (of all pneumonias) and the
    normals called PNEUMONIA (of all normals), the wrong NORMAL calls and the wrong PNEUMONIA
    calls (of each), and the wrong answers among all the decided images."""

    band: ReferBand
    referred: Rate
    missed: Rate
    false_alarms: Rate
    wrong_normal_calls: Rate
    wrong_pneumonia_calls: Rate
    wrong_decided: Rate


def band_figures(band: ReferBand, p: np.ndarray, y: np.ndarray) -> BandFigures:
    """``band``'s figures on the images with P ``p`` and labels ``y`` (the rule of
    ``desktop.outcomes``: below ``t_low`` NORMAL, at or above ``t_high`` PNEUMONIA)."""
    return BandFigures(band=band, **stats.band_rates(y, p, band.t_low, band.t_high))


def fit_band(p: np.ndarray, y: np.ndarray, goal: ReferGoal
             ) -> tuple[BandFigures | None, Sentence | None]:
    """The band certified for ``goal`` on these images and its figures, or None and the
    sentence saying why there is none (how many more of each class, or a looser guarantee)."""
    try:
        cert = certify_band(p, y, guarantee=goal.guarantee, low_limit=goal.low_limit,
                            high_limit=goal.high_limit)
    except NotCertifiable as exc:
        if exc.normal_needed < 0:
            return None, Sentence(BAND_OUT_OF_REACH)
        return None, Sentence(BAND_NEEDS_MORE, normal=exc.normal_needed,
                              pneumonia=exc.pneumonia_needed,
                              normal_name=class_phrase("NORMAL"),
                              pneumonia_name=class_phrase("PNEUMONIA"))
    referred = float(((p >= cert.t_low) & (p < cert.t_high)).mean())
    band = ReferBand.from_certificate(cert, referred=referred, fitted_on="site")
    return band_figures(band, p, y), None


def risk_coverage(p: np.ndarray, y: np.ndarray, threshold: float,
                  points: int = RISK_COVERAGE_POINTS) -> list[tuple[float, float]]:
    """(share decided, share wrong among decided) as a refer band widens around ``threshold``:
    the images are referred nearest first (by the distance of their log-odds from the
    threshold's), the rest decided by the threshold. From everything decided down to one image;
    one sort and a cumulative sum."""
    n = len(p)
    if n == 0:
        return []
    distance = np.abs(np.asarray(log_odds(p)) - float(log_odds(threshold)))
    order = np.argsort(-distance, kind="stable")  # the farthest, decided first
    wrong = ((p >= threshold) != (y == 1))[order]
    errors = np.cumsum(wrong)
    kept = np.unique(np.linspace(1, n, min(points, n)).round().astype(int))[::-1]
    return [(float(k / n), float(errors[k - 1] / k)) for k in kept]


@dataclass(frozen=True)
class Study:
    """Everything a calibration found, for the profile, the window and the PDF."""

    n_normal: int
    n_pneumonia: int
    n_out_of_scope: int
    slope: float
    bias: float
    goal: str  # "balanced" or "sensitivity"
    target: float | None
    shipped: OperatingPoint  # the card's default threshold on the model's own P
    proposed: OperatingPoint  # the site threshold on the recalibrated P
    roc: list[tuple[float, float]]
    auc: float
    reliability_before: list[tuple[float, float, int]]
    reliability_after: list[tuple[float, float, int]]  # cross-validated
    ece_before: float
    ece_after: float  # cross-validated
    refer: ReferGoal | None = None  # the guarantee asked for (None: no band, the threshold decides)
    band: BandFigures | None = None  # the certified band on the recalibrated P, and its figures
    band_problem: Sentence | None = None  # why there is no band although one was asked for
    risk_coverage: list[tuple[float, float]] = ()  # (share decided, share wrong among decided)


def _cut_between(scores: np.ndarray, at: float) -> float:
    """A threshold just below ``at``: halfway to the next lower score (verdicts at these scores
    are the same, and the cut is not on a score itself)."""
    lower = scores[scores < at]
    return float((at + lower.max()) / 2) if lower.size else float(at)


def cases_needed(target: float, confidence: float = CONFIDENCE) -> int:
    """The fewest PNEUMONIA cases, all found, whose sensitivity's lower bound reaches
    ``target``: the Clopper–Pearson lower end of n/n is alpha ** (1/n), in closed form."""
    alpha = (1.0 - confidence) / 2
    return max(1, math.ceil(math.log(alpha) / math.log(target) - 1e-9))


def choose_threshold(p: np.ndarray, y: np.ndarray, target: float | None) -> float:
    """The balanced (max Youden J) threshold, or the highest one whose sensitivity's lower 95%
    bound is at least ``target``. Raises ``CalibrationRefused`` when no threshold can promise it.
    Near-linear in the number of cases: one sort, cumulative counts, and a bisection over k
    (the lower bound rises with k) instead of one pass per candidate."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y)
    positives = np.sort(p[y == 1])[::-1]
    n_pos = len(positives)
    if target is not None:
        if n_pos == 0 or clopper_pearson(n_pos, n_pos)[0] < target:
            raise CalibrationRefused(TARGET_OUT_OF_REACH, pneumonia=n_pos,
                                     pneumonia_name=class_phrase("PNEUMONIA"),
                                     target=f"{100 * target:g}%", needed=cases_needed(target))
        low, high = 1, n_pos  # the smallest k whose lower bound reaches the target
        while low < high:
            middle = (low + high) // 2
            if clopper_pearson(middle, n_pos)[0] >= target:
                high = middle
            else:
                low = middle + 1
        return _cut_between(p, positives[low - 1])
    candidates = np.unique(p)
    found = n_pos - np.searchsorted(np.sort(p[y == 1]), candidates, side="left")
    cleared = np.searchsorted(np.sort(p[y == 0]), candidates, side="left")
    youden = found / max(1, n_pos) + cleared / max(1, int((y == 0).sum())) - 1
    return _cut_between(p, float(candidates[int(np.argmax(youden))]))


def calibrate(p_model: np.ndarray, labels: np.ndarray, *, shipped_threshold: float,
              target_sensitivity: float | None = None, n_out_of_scope: int = 0,
              refer: ReferGoal | None = DEFAULT_REFER) -> Study:
    """The study of a site's labelled, in-scope images (``labels``: 1 PNEUMONIA, 0 NORMAL),
    with the refer band certified for ``refer`` on the recalibrated P (None: no band)."""
    p_model = np.asarray(p_model, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        raise CalibrationRefused(TOO_FEW, minimum=MIN_PER_CLASS,
                                 normal=max(0, MIN_PER_CLASS - n_neg),
                                 pneumonia=max(0, MIN_PER_CLASS - n_pos),
                                 normal_name=class_phrase("NORMAL"),
                                 pneumonia_name=class_phrase("PNEUMONIA"))
    slope, bias = fit_platt(p_model, y)
    if not (math.isfinite(slope) and math.isfinite(bias)) or slope <= 0:
        raise CalibrationRefused(NOT_INFORMATIVE)
    if slope < MIN_SLOPE:  # contradictory labels end here: one P for every image
        raise CalibrationRefused(DEGENERATE, slope=f"{slope:.2g}")
    if slope > MAX_SLOPE or abs(bias) > MAX_BIAS:
        raise CalibrationRefused(UNSTABLE, slope=f"{slope:.3g}", bias=f"{bias:.3g}")
    p_site = np.asarray(recalibrated(p_model, slope, bias))
    threshold = choose_threshold(p_site, y, target_sensitivity)
    if not 0.0 < threshold < 1.0:  # every P the same after all: no threshold separates them
        raise CalibrationRefused(DEGENERATE, slope=f"{slope:.2g}")
    after = _cross_validated(p_model, y)
    roc = roc_points(p_model, y)
    band, band_problem = fit_band(p_site, y, refer) if refer is not None else (None, None)
    return Study(
        n_normal=n_neg, n_pneumonia=n_pos, n_out_of_scope=n_out_of_scope, slope=slope,
        bias=bias, goal="balanced" if target_sensitivity is None else "sensitivity",
        target=target_sensitivity,
        shipped=operating_point(p_model, y, shipped_threshold),
        proposed=operating_point(p_site, y, threshold), roc=roc, auc=stats.roc_auc(y, p_model),
        reliability_before=reliability(p_model, y), reliability_after=reliability(after, y),
        ece_before=stats.calibration_error(y, p_model, BINS),
        ece_after=stats.calibration_error(y, after, BINS),
        refer=refer, band=band, band_problem=band_problem,
        risk_coverage=risk_coverage(p_site, y, threshold))


def _cross_validated(p_model: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each case's P recalibrated by a fit on the other folds (stratified, fixed seed)."""
    rng = np.random.default_rng(0)
    fold = np.empty(len(y), dtype=np.int64)
    for label in (0, 1):
        where = np.flatnonzero(y == label)
        fold[rng.permutation(where)] = np.arange(len(where)) % FOLDS
    out = np.empty(len(y))
    for f in range(FOLDS):
        slope, bias = fit_platt(p_model[fold != f], y[fold != f])
        out[fold == f] = recalibrated(p_model[fold == f], slope, bias)
    return out
