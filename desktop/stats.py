"""The statistics written once for ``training/`` and ``cases/``: the exact (Clopper–Pearson)
interval and a proportion with it (``Rate``), the ROC curve and its area, the reliability of P
and its calibration error, and the certification of a refer band by Learn-then-Test. The model
card's figures (``training``) and a site's study (``desktop.cases.calibration``) are computed by
the same functions, so the two can be compared.

A refer band is two thresholds on P(pneumonia): below ``t_low`` NORMAL, at or above ``t_high``
PNEUMONIA, between REFER ("undetermined: refer to a human reader"). Each threshold is certified
on labelled images (Angelopoulos, Bates et al. 2021, "Learn then Test"): candidate cuts between
the images' distinct scores are tested in a fixed order, from the cut that calls nothing to the
riskiest, each against the one-sided exact (Clopper–Pearson) upper bound of its error rate; the
walk stops at the first cut that fails, and the threshold is the last one that passed. A fixed
sequence needs no multiplicity correction, so each side holds with probability 1 - delta/2 and
both together (Bonferroni) with 1 - delta: "with 95% confidence, at most A% of pneumonias are
called NORMAL and at most B% of normals PNEUMONIA" for images like those it was fitted on.

Two guarantees: ``CLASS`` bounds the share of each class given the wrong verdict (needs the
fewest images); ``DECIDED`` bounds the share of wrong answers among the NORMAL calls and among
the PNEUMONIA calls (depends on the mix of cases, needs more). Numpy only; no Tk, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
CLASS = "class"  # at most A of pneumonias called NORMAL, at most B of normals called PNEUMONIA
DECIDED = "decided"  # at most C of the NORMAL calls wrong, at most C of the PNEUMONIA calls
GUARANTEES = (CLASS, DECIDED)


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact two-sided interval of a proportion k/n (0 to 1 when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    alpha = (1.0 - confidence) / 2
    log_choose = _log_choose(n)
    lower = 0.0 if k == 0 else _solve(lambda p: _tail(log_choose, k, n + 1, p) - alpha)
    upper = 1.0 if k == n else _solve(lambda p: alpha - _tail(log_choose, 0, k + 1, p))
    return lower, upper


def _log_choose(n: int) -> np.ndarray:
    """log C(n, i) for i = 0..n, from a cumulative sum of logs (numpy: no loop over cases)."""
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    return log_factorial[n] - log_factorial - log_factorial[::-1]


def _tail(log_choose: np.ndarray, start: int, stop: int, p: float) -> float:
    """P(start <= X < stop) for X ~ Binomial(n, p), n = len(log_choose) - 1."""
    n = len(log_choose) - 1
    i = np.arange(start, stop)
    return min(1.0, float(np.exp(log_choose[start:stop] + i * math.log(p)
                                 + (n - i) * math.log1p(-p)).sum()))


def _solve(f, lo: float = 1e-12, hi: float = 1 - 1e-12) -> float:
    """The root of an increasing ``f`` on (0, 1), by bisection."""
    for _ in range(80):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Rate:
    """A proportion with its exact 95% interval."""

    k: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else float("nan")

    @classmethod
    def of(cls, k: int, n: int) -> Rate:
        low, high = clopper_pearson(int(k), int(n))
        return cls(int(k), int(n), low, high)

    def as_list(self) -> list[float]:
        return [round(self.value, 6), round(self.low, 6), round(self.high, 6)]


def band_rates(y, p, t_low: float, t_high: float) -> dict[str, Rate]:
    """What a refer band does on labelled images (``desktop.outcomes.decide``'s rule: NORMAL
    below ``t_low``, PNEUMONIA at or above ``t_high``), each with its exact 95% interval: the
    share ``referred``; pneumonias called NORMAL of all pneumonias (``missed``) and normals
    called PNEUMONIA of all normals (``false_alarms``); the wrong NORMAL calls and the wrong
    PNEUMONIA calls of each; and ``wrong_decided`` of all the images decided."""
    y = np.asarray(y).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    normal_call, pneumonia_call = p < t_low, p >= t_high
    pos, neg = y == 1, y == 0
    decided = normal_call | pneumonia_call
    wrong = (normal_call & pos) | (pneumonia_call & neg)
    return {
        "referred": Rate.of(int((~decided).sum()), len(p)),
        "missed": Rate.of(int((normal_call & pos).sum()), int(pos.sum())),
        "false_alarms": Rate.of(int((pneumonia_call & neg).sum()), int(neg.sum())),
        "wrong_normal_calls": Rate.of(int((normal_call & pos).sum()), int(normal_call.sum())),
        "wrong_pneumonia_calls": Rate.of(int((pneumonia_call & neg).sum()),
                                         int(pneumonia_call.sum())),
        "wrong_decided": Rate.of(int(wrong.sum()), int(decided.sum())),
    }


def roc_curve(y, p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, thresholds) with PNEUMONIA at ``p >=``
    threshold, thresholds descending from +inf (nothing flagged) through every distinct P: one
    sort and cumulative counts (no image-by-threshold table)."""
    y = np.asarray(y).astype(bool).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    thresholds = np.concatenate([[np.inf], np.unique(p)[::-1]])
    pos, neg = np.sort(p[y]), np.sort(p[~y])
    tp = len(pos) - np.searchsorted(pos, thresholds, side="left")
    fp = len(neg) - np.searchsorted(neg, thresholds, side="left")
    return fp / max(1, len(neg)), tp / max(1, len(pos)), thresholds


def roc_auc(y, p) -> float:
    """Area under the ROC curve (Mann–Whitney: ties count one half); NaN with one class."""
    y = np.asarray(y).astype(bool).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    values, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts + 1  # 1-based rank of each distinct value's first image
    ranks = (first + (counts - 1) / 2)[inverse]  # tied images share their average rank
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def reliability(y, p, bins: int = 10, weights=None) -> list[tuple[float, float, float]]:
    """Per equal-width bin of P over [0, 1] (empty bins left out): (mean P, share PNEUMONIA,
    weight), each weighted by ``weights`` (default: one per image, so the weight is a count)."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=np.float64)
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    return [(float(np.average(p[m], weights=w[m])), float(np.average(y[m], weights=w[m])),
             float(w[m].sum())) for m in (which == b for b in range(bins)) if m.any()]


def calibration_error(y, p, bins: int = 10, weights=None) -> float:
    """How far P(PNEUMONIA) is from the share of pneumonia among images given that P: per bin
    of ``reliability``, |share - mean P| weighted by the bin's share of the images (or of
    ``weights``: e.g. reweighted to another prevalence)."""
    table = reliability(y, p, bins, weights)
    total = sum(weight for _, _, weight in table)
    return float(sum(weight * abs(share - mean_p) for mean_p, share, weight in table)
                 / total) if total else 0.0


def upper_bound(k: int, n: int, delta: float) -> float:
    """The one-sided exact upper bound of a proportion k/n at confidence 1 - ``delta`` (1 when
    n is 0): the two-sided interval's upper end at confidence 1 - 2 delta."""
    return clopper_pearson(k, n, confidence=1.0 - 2.0 * delta)[1]


def zero_error_cases(limit: float, delta: float) -> int:
    """The fewest images, none wrong, whose upper bound reaches ``limit``: 1 - delta ** (1/n)
    <= limit, in closed form (72 for 5% at delta 0.025)."""
    return max(1, math.ceil(math.log(delta) / math.log1p(-limit) - 1e-9))


def fixed_sequence(errors, totals, order, limit: float, delta: float) -> int | None:
    """Learn-then-Test's fixed-sequence test: walk the candidates in ``order``; a candidate
    passes when the upper bound of ``errors[j] / totals[j]`` is at most ``limit``; stop at the
    first that fails. Returns the last candidate that passed (None: the first one failed)."""
    bounds: dict[tuple[int, int], float] = {}
    last = None
    for j in order:
        key = (int(errors[j]), int(totals[j]))
        if key not in bounds:
            bounds[key] = upper_bound(*key, delta)
        if bounds[key] > limit:
            break
        last = j
    return last


class NotCertifiable(Exception):
    """No band holds the guarantee on these images: how many more of each class would be
    needed at least (0 where a class has enough; for ``DECIDED`` an estimate at the error rate
    seen; -1 for both when more images like these would not help: the limit is below the error
    rate they show). The caller words it."""

    def __init__(self, normal_needed: int, pneumonia_needed: int) -> None:
        super().__init__(f"needs {normal_needed} more NORMAL, {pneumonia_needed} more PNEUMONIA")
        self.normal_needed, self.pneumonia_needed = normal_needed, pneumonia_needed


@dataclass(frozen=True)
class Certificate:
    """A certified band and the counts it was certified on: ``low_errors`` of ``low_total``
    wrong on the NORMAL side (pneumonias below ``t_low``: of all pneumonias for ``CLASS``, of
    the NORMAL calls for ``DECIDED``), and the same on the PNEUMONIA side, each with its upper
    bound. ``t_low == t_high``: one threshold holds both promises, nothing is referred."""

    t_low: float
    t_high: float
    guarantee: str
    low_limit: float
    high_limit: float
    confidence: float
    n_normal: int
    n_pneumonia: int
    low_errors: int
    low_total: int
    low_bound: float
    high_errors: int
    high_total: int
    high_bound: float


def _growth(errors: int, total: int, limit: float, delta: float) -> float:
    """By how much the images would have to grow, at the error rate seen among ``total``
    calls, before ``errors / total`` certifies ``limit`` (inf when the rate is not below it)."""
    rate = errors / max(1, total)
    if rate >= limit:
        return math.inf
    n = max(1, int(total))
    while n <= 1000 * max(1, int(total)):
        if upper_bound(math.ceil(rate * n), n, delta) <= limit:
            return n / max(1, int(total))
        n = math.ceil(n * 1.1)
    return math.inf


def _cuts(p: np.ndarray) -> np.ndarray:
    """Candidate thresholds, ascending: below every score, halfway between each two distinct
    scores, above every score (a cut never sits on an image's own score)."""
    u = np.unique(p)
    return np.concatenate([[u[0] / 2], (u[:-1] + u[1:]) / 2, [(u[-1] + 1) / 2]])


def certify_band(p, labels, *, guarantee: str = CLASS, low_limit: float = 0.05,
                 high_limit: float = 0.05, confidence: float = CONFIDENCE) -> Certificate:
    """The widest-deciding band whose two error rates are certified at ``confidence`` on these
    labelled images (``labels``: 1 PNEUMONIA, 0 NORMAL). ``low_limit`` bounds the NORMAL side
    (missed pneumonias for ``CLASS``, wrong NORMAL calls for ``DECIDED``), ``high_limit`` the
    PNEUMONIA side. Raises ``NotCertifiable`` (with how many more of each class) when either side
    cannot be certified at all; ``ValueError`` for an unknown guarantee or a limit outside (0, 1).
    """
    if guarantee not in GUARANTEES:
        raise ValueError(f"unknown guarantee {guarantee!r}")
    if not (0 < low_limit < 1 and 0 < high_limit < 1 and 0 < confidence < 1):
        raise ValueError("limits and confidence must lie strictly between 0 and 1")
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    if p.size != y.size or not np.isfinite(p).all():
        raise ValueError("one finite P per label is needed")
    delta = (1.0 - confidence) / 2  # each side; Bonferroni for both together
    pos, neg = np.sort(p[y == 1]), np.sort(p[y == 0])
    n_pos, n_neg = len(pos), len(neg)
    need_low, need_high = zero_error_cases(low_limit, delta), zero_error_cases(high_limit, delta)
    if p.size == 0 or min(n_pos, n_neg) == 0:
        raise NotCertifiable(max(0, max(need_low, need_high) - n_neg),
                             max(0, max(need_low, need_high) - n_pos))
    cuts = _cuts(p)
    missed = np.searchsorted(pos, cuts, side="left")  # pneumonias below each cut
    cleared = np.searchsorted(neg, cuts, side="left")  # normals below each cut
    false_alarms = n_neg - cleared  # normals at or above each cut
    last = len(cuts) - 1
    if guarantee == CLASS:
        low_err, low_tot = missed, np.full(len(cuts), n_pos)
        high_err, high_tot = false_alarms, np.full(len(cuts), n_neg)
        low_order, high_order = range(0, last + 1), range(last, -1, -1)
    else:
        called_normal = missed + cleared
        low_err, low_tot = missed, called_normal
        high_err, high_tot = false_alarms, p.size - called_normal
        # the sequence starts where enough images are called to certify half the limit with
        # no error (so one early error does not end it): fixed by the scores, never the labels
        start_low = zero_error_cases(low_limit / 2, delta)
        start_high = zero_error_cases(high_limit / 2, delta)
        low_start = min(last, int(np.searchsorted(called_normal, start_low, side="left")))
        high_start = max(0, int(np.searchsorted(-high_tot, -start_high, side="right")) - 1)
        low_order, high_order = range(low_start, last + 1), range(high_start, -1, -1)
    j_low = fixed_sequence(low_err, low_tot, low_order, low_limit, delta)
    j_high = fixed_sequence(high_err, high_tot, high_order, high_limit, delta)
    if j_low is None or j_high is None:
        if guarantee == CLASS:  # fails only with too few of a class to certify even 0 errors
            raise NotCertifiable(max(0, need_high - n_neg) if j_high is None else 0,
                                 max(0, need_low - n_pos) if j_low is None else 0)
        growth = max(1.0 if j_low is not None else _growth(low_err[low_start],
                                                           low_tot[low_start], low_limit, delta),
                     1.0 if j_high is not None else _growth(
                         high_err[high_start], high_tot[high_start], high_limit, delta))
        if math.isinf(growth):
            raise NotCertifiable(-1, -1)  # more images of this kind would not help
        raise NotCertifiable(max(1, math.ceil(n_neg * (growth - 1))),
                             max(1, math.ceil(n_pos * (growth - 1))))
    if j_low >= j_high:  # the two certified stretches overlap: one threshold holds both
        passed_low = set(low_order[:list(low_order).index(j_low) + 1])
        passed_high = set(high_order[:list(high_order).index(j_high) + 1])
        both = sorted(passed_low & passed_high)
        j_low = j_high = both[len(both) // 2] if both else j_low
    return Certificate(
        t_low=float(cuts[j_low]), t_high=float(cuts[j_high]), guarantee=guarantee,
        low_limit=low_limit, high_limit=high_limit, confidence=confidence,
        n_normal=n_neg, n_pneumonia=n_pos,
        low_errors=int(low_err[j_low]), low_total=int(low_tot[j_low]),
        low_bound=upper_bound(int(low_err[j_low]), int(low_tot[j_low]), delta),
        high_errors=int(high_err[j_high]), high_total=int(high_tot[j_high]),
        high_bound=upper_bound(int(high_err[j_high]), int(high_tot[j_high]), delta))
