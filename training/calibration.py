"""Temperature scaling (Guo et al. 2017): one scalar T fitted on validation so that
softmax(logits / T) gives honest probabilities; the ranking (and so the ROC) is unchanged."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """T minimising the validation negative log-likelihood (golden-section search on log T)."""
    logits, labels = logits.double(), labels.long()

    def nll(log_t: float) -> float:
        return float(F.cross_entropy(logits / math.exp(log_t), labels))

    lo, hi = math.log(0.05), math.log(20.0)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(math.exp((lo + hi) / 2))


def calibrated_positive(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """P(PNEUMONIA) from logits [N, 2] at temperature T."""
    return torch.softmax(logits.double() / temperature, dim=1)[:, 1].float()
