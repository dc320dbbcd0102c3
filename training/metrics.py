"""Binary classification figures (PNEUMONIA = positive), in plain numpy so they are checkable.
The ROC curve, its area and the calibration error of P are ``desktop.stats``'s, the functions a
site's calibration study uses too (re-exported here for the training code)."""

from __future__ import annotations

import numpy as np

from desktop.stats import calibration_error, roc_auc, roc_curve

__all__ = ["balanced_accuracy", "binary_metrics", "calibration_error", "confusion",
           "expected_calibration_error", "prevalence_weights", "roc_auc", "roc_curve", "rounded",
           "sensitivity_threshold", "youden_threshold"]


def confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> list[list[int]]:
    """[[TN, FP], [FN, TP]]; predicted PNEUMONIA when ``p >= threshold``."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(p) >= threshold
    return [[int((~y & ~pred).sum()), int((~y & pred).sum())],
            [int((y & ~pred).sum()), int((y & pred).sum())]]


def _ratio(a: int, b: int) -> float:
    return float(a / b) if b else 0.0


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """The card's figures at one threshold (keys as in docs/contracts.md)."""
    (tn, fp), (fn, tp) = confusion(y, p, threshold)
    n = tn + fp + fn + tp
    precision = _ratio(tp, tp + fp)
    sensitivity = _ratio(tp, tp + fn)
    return {
        "n": n, "n_normal": tn + fp, "n_pneumonia": fn + tp,
        "accuracy": _ratio(tn + tp, n), "sensitivity": sensitivity,
        "specificity": _ratio(tn, tn + fp), "precision": precision,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn), "roc_auc": roc_auc(y, p),
        "threshold": float(threshold), "confusion": [[tn, fp], [fn, tp]],
    }


def rounded(figures: dict, digits: int = 4) -> dict:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in figures.items()}


def youden_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Threshold with the largest sensitivity + specificity - 1 (the highest on ties)."""
    fpr, tpr, thr = roc_curve(y, p)
    j = tpr - fpr
    return _between(thr, int(np.flatnonzero(j == j.max())[0]))


def sensitivity_threshold(y: np.ndarray, p: np.ndarray, min_sensitivity: float) -> float:
    """The highest threshold whose sensitivity is at least ``min_sensitivity``."""
    fpr, tpr, thr = roc_curve(y, p)
    return _between(thr, int(np.flatnonzero(tpr >= min_sensitivity)[0]))


def _between(thresholds: np.ndarray, k: int) -> float:
    """Midway between the chosen score and the next lower one: same validation confusion,
    less tied to one image's score."""
    if k == 0:
        return 1.0
    lower = thresholds[k + 1] if k + 1 < len(thresholds) else thresholds[k]
    return float((thresholds[k] + lower) / 2)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """ECE of the predicted class's confidence over equal-width bins (Guo et al. 2017)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=np.float64)
    confidence = np.maximum(p, 1 - p)
    correct = ((p >= 0.5).astype(int) == y).astype(float)
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def prevalence_weights(y: np.ndarray, prevalence: float) -> np.ndarray:
    """Per-image weights that give the positives a share ``prevalence`` of the total."""
    y = np.asarray(y).astype(bool)
    pos = prevalence / max(y.mean(), 1e-12)
    neg = (1 - prevalence) / max(1 - y.mean(), 1e-12)
    return np.where(y, pos, neg)


def balanced_accuracy(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    m = binary_metrics(y, p, threshold)
    return 0.5 * (m["sensitivity"] + m["specificity"])
