"""Calibration on validation: the probabilities the file gives are those the validation images
bear out. Temperature scaling (Guo et al. 2017) fits one scalar T, softmax(logits / T); Platt
scaling fits T and a bias b on the logit difference, sigmoid((l1 - l0) / T + b), which also
undoes the shift class-weighted training puts into the logits. Both keep the ranking (and so the
ROC); the bias is what brings the validation calibration error down most."""

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


def fit_platt(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(T, b) minimising the validation negative log-likelihood of sigmoid((l1 - l0) / T + b)."""
    z = (logits[:, 1] - logits[:, 0]).double()
    y = labels.double()
    scale = torch.tensor(1.0 / fit_temperature(logits, labels), dtype=torch.float64,
                         requires_grad=True)
    bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([scale, bias], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(scale * z + bias, y)
        loss.backward()
        return loss

    opt.step(closure)
    scale_value = float(scale.detach())
    if not math.isfinite(scale_value) or scale_value <= 0:  # degenerate data: temperature only
        return fit_temperature(logits, labels), 0.0
    return 1.0 / scale_value, float(bias.detach())


def platt_positive(logits: torch.Tensor, temperature: float, bias: float) -> torch.Tensor:
    """P(PNEUMONIA) at (T, b): softmax(logits / T + [0, b])[:, 1]."""
    z = (logits[:, 1] - logits[:, 0]).double()
    return torch.sigmoid(z / temperature + bias).float()


def cross_validated_positive(logits: torch.Tensor, labels: torch.Tensor, folds: int = 5,
                             seed: int = 0) -> torch.Tensor:
    """Each validation image's probability from a Platt fit on the other folds: what the
    calibration error looks like on images the calibration did not see."""
    g = torch.Generator().manual_seed(seed)
    fold = torch.randperm(len(labels), generator=g) % folds
    out = torch.empty(len(labels))
    for k in range(folds):
        rest, mine = fold != k, fold == k
        if labels[rest].unique().numel() < 2:
            return platt_positive(logits, *fit_platt(logits, labels))
        t, b = fit_platt(logits[rest], labels[rest])
        out[mine] = platt_positive(logits[mine], t, b)
    return out
