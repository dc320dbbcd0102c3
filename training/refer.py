"""The shipped model's refer band: certified on the patient-level validation split and each of
its shifted views, written in the card with the guarantee it was fitted for.

Below ``t_low`` NORMAL, at or above ``t_high`` PNEUMONIA, between REFER. The guarantee is
``desktop.stats``'s (Learn-then-Test, exact Clopper–Pearson bounds), asked of every view: on
plain validation and on each of the five shifted views (``training.augment.SHIFT_VIEWS``, the
stand-ins for other hospitals' framing and exposure the release rule already scores), each
certified at confidence 1 - 0.05 / 6, so all six promises hold together with 95% confidence
(Bonferroni); the band is the narrowest that contains every view's band. The test split is
only evaluated for the record (``python -m training evaluate --record-in-card``).

``python -m training.refer_release`` adds the band to a shipped file; ``make train`` fits it as
part of the card (``training.card``).
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from desktop.referband import ReferBand
from desktop.stats import CLASS, CONFIDENCE, Rate, band_rates, certify_band
from training.augment import SHIFT_VIEWS, shifted

log = logging.getLogger(__name__)

MISSED, FALSE_ALARM = 0.05, 0.05  # the guarantee the shipped band is certified for


def band_figures(y: np.ndarray, p: np.ndarray, t_low: float, t_high: float) -> dict:
    """What a band does on labelled images, for the card (``desktop.stats.band_rates``, the
    site study's own): pneumonias called NORMAL and normals called PNEUMONIA (count, of, share,
    exact 95% interval), the share referred and the accuracy among the images decided."""
    rates = band_rates(y, p, t_low, t_high)
    wrong = rates["wrong_decided"]

    def plain(rate: Rate) -> dict:
        return {"k": rate.k, "n": rate.n, "share": round(rate.value, 4) if rate.n else None,
                "low": round(rate.low, 4), "high": round(rate.high, 4)}

    return {"n": int(len(np.asarray(y).reshape(-1))), "missed": plain(rates["missed"]),
            "false_alarm": plain(rates["false_alarms"]), "referred": plain(rates["referred"]),
            "accuracy_decided": plain(Rate.of(wrong.n - wrong.k, wrong.n))}


def fit_band(y: np.ndarray, p_views: dict[str, np.ndarray], *, missed: float = MISSED,
             false_alarm: float = FALSE_ALARM) -> dict:
    """The card's ``refer_band``: certified on every view of ``p_views`` (``"plain"`` first)
    at confidence 1 - (1 - CONFIDENCE) / len(views), the band containing them all, with its
    figures per view. Raises ``desktop.stats.NotCertifiable`` when a view cannot be."""
    each = 1.0 - (1.0 - CONFIDENCE) / len(p_views)
    certs = {name: certify_band(p, y, guarantee=CLASS, low_limit=missed,
                                high_limit=false_alarm, confidence=each)
             for name, p in p_views.items()}
    plain = certs["plain"]
    t_low = min(c.t_low for c in certs.values())
    t_high = max(c.t_high for c in certs.values())
    figures = {name: band_figures(y, p, t_low, t_high) for name, p in p_views.items()}
    band = ReferBand(
        t_low=round(t_low, 6), t_high=round(t_high, 6), guarantee=CLASS, low_limit=missed,
        high_limit=false_alarm, confidence=CONFIDENCE, n_normal=plain.n_normal,
        n_pneumonia=plain.n_pneumonia,
        low_bound=max(round(c.low_bound, 6) for c in certs.values()),
        high_bound=max(round(c.high_bound, 6) for c in certs.values()),
        referred=figures["plain"]["referred"]["share"],
        fitted_on="the patient-level validation split and its five shifted views")
    return band.as_dict() | {
        "rule": [
            "Learn-then-Test (Angelopoulos, Bates et al. 2021): candidate cuts between the "
            "images' scores tested in a fixed order from the cut that calls nothing, each against "
            "the one-sided exact (Clopper-Pearson) upper bound of its error rate; the threshold is "
            "the last cut before the first failure (desktop.stats.certify_band).",
            f"Certified on plain validation and on each of its {len(p_views) - 1} shifted views "
            f"(training.augment.SHIFT_VIEWS), each at confidence {each:.4f} (both sides "
            f"Bonferroni-split), so all hold together with {CONFIDENCE:.0%} confidence; the band "
            "is the narrowest containing every view's band.",
            "The test split is evaluated once, for the record (refer_band.test).",
        ],
        "per_view": {name: {"t_low": round(c.t_low, 6), "t_high": round(c.t_high, 6)}
                     for name, c in certs.items()},
        "validation": figures,
    }


@torch.inference_mode()
def probabilities(model, images: torch.Tensor, batch: int = 128) -> np.ndarray:
    """P(pneumonia) of a scripted ``model.pt`` on uint8 images [N, 1, H, W]."""
    return torch.cat([model(images[i:i + batch])[:, 1]
                      for i in range(0, len(images), batch)]).numpy().astype(np.float64)


def view_probabilities(model, images: torch.Tensor) -> dict[str, np.ndarray]:
    """P on plain images and on each shifted view (fixed seeds, as the release rule's)."""
    out = {"plain": probabilities(model, images)}
    for name, cfg in SHIFT_VIEWS.items():
        out[name] = probabilities(model, shifted(images, cfg=cfg))
    return out
