"""A site's recalibration of P(pneumonia), and the one function that applies it.

A clinic fits a slope and a bias on the model's log-odds from its own confirmed cases
(``desktop.cases.calibration``) and a threshold for its goal; the result is a site profile
(``desktop.cases.profile``). Wherever a probability is shown, exported, reported or recorded,
it went through ``recalibrated`` here first (``Session.add`` / ``Session.set_site``), so the
window, ``predict``, the CSV files and the reports cannot disagree. No Tk, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.referband import ReferBand

# P is clipped this far from 0 and 1 before taking log-odds: the model's sigmoid saturates to
# exactly 0.0 or 1.0 in float32, and a finite log-odds keeps the fit and the mapping defined.
EPS = 1e-7

# What a sane recalibration is. A Platt slope near 0 gives every image nearly the same P (a fit
# on contradictory labels ends there), a large one makes P a step; the model's log-odds span
# about ±16 (EPS), so a bias beyond ±15 would move every image to one side. A profile outside
# these bounds is refused (``desktop.cases.profile.validate``), and ``calibrate`` never writes one.
MIN_SLOPE, MAX_SLOPE = 0.05, 10.0
MAX_BIAS = 15.0


def log_odds(p):
    """log(p / (1 - p)), P clipped to [EPS, 1 - EPS]; a float for a float, an array for one."""
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    out = np.log(q) - np.log1p(-q)
    return float(out) if out.ndim == 0 else out


def recalibrated(p, slope: float, bias: float):
    """The site's P(pneumonia) for the model's ``p``: sigmoid(slope * log-odds(p) + bias)."""
    z = slope * np.asarray(log_odds(p)) + bias
    out = 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, without overflow
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class SiteCalibration:
    """What applying a site profile needs: its name (shown wherever P is), the Platt slope and
    bias, the site's threshold (on the recalibrated P) and the model file it was fitted for; and
    what is said of it wherever its threshold and P are shown: the share of pneumonia among the
    cases it was fitted on (what its P is calibrated to) and its threshold's sensitivity and
    specificity there (value, low, high of the 95% interval), where the profile has them."""

    name: str
    slope: float
    bias: float
    threshold: float
    model_sha256: str
    prevalence: float | None = None
    sensitivity: tuple[float, float, float] | None = None
    specificity: tuple[float, float, float] | None = None
    band: ReferBand | None = None  # version-2 profiles: the refer band fitted on its cases

    def apply(self, p):
        return recalibrated(p, self.slope, self.bias)

    def fits(self, model_sha256: str) -> bool:
        """A profile applies only to the model file it was fitted on (a new version of the model
        needs a new calibration: published thresholds moved a lot between versions)."""
        return bool(model_sha256) and self.model_sha256 == model_sha256
