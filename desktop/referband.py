"""The refer band: two thresholds on P(pneumonia) and the guarantee they were certified for,
as the model card (``refer_band``, part of the model-file contract) and a version-2 site
profile hold it.

Below ``t_low`` NORMAL, at or above ``t_high`` PNEUMONIA, between REFER (``desktop.outcomes``).
The band is read from a file, so it is hostile until checked: ``from_dict`` refuses NaN, values
outside [0, 1], ``t_low > t_high``, an unknown guarantee or limits outside (0, 1), raising
``ValueError`` (the caller turns it into the card's or the profile's one sentence), and never
returns half a band. How it is certified is ``desktop.stats.certify_band``; its words are
``desktop.reports.wording.band_promise``. No Tk, no torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from desktop.stats import CLASS, GUARANTEES

CARD_KEY = "refer_band"  # where the model card and a site profile keep it
DECIMALS = 6


def _unit(value, name: str, *, open_ends: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} is not a number")
    value = float(value)
    if not math.isfinite(value) or not (0.0 <= value <= 1.0) or (
            open_ends and value in (0.0, 1.0)):
        raise ValueError(f"{name} is outside its range")
    return value


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} is not a count")
    return value


@dataclass(frozen=True)
class ReferBand:
    """``t_low``/``t_high`` on the P they judge (the model's own, or a site profile's), the
    guarantee (``stats.CLASS``: at most ``low_limit`` of pneumonias called NORMAL and
    ``high_limit`` of normals called PNEUMONIA; ``stats.DECIDED``: at most those shares of the
    NORMAL and the PNEUMONIA calls wrong), its confidence, the images it was certified on, and
    what it showed there (``referred``: the share of those images between the thresholds;
    ``low_bound``/``high_bound``: the certified upper bounds)."""

    t_low: float
    t_high: float
    guarantee: str = CLASS
    low_limit: float = 0.05
    high_limit: float = 0.05
    confidence: float = 0.95
    n_normal: int = 0
    n_pneumonia: int = 0
    low_bound: float | None = None
    high_bound: float | None = None
    referred: float | None = None
    fitted_on: str = ""  # "validation" for the card's; a profile's is its own cases

    @classmethod
    def from_certificate(cls, cert, referred: float | None = None,
                         fitted_on: str = "") -> ReferBand:
        return cls(t_low=round(cert.t_low, DECIMALS), t_high=round(cert.t_high, DECIMALS),
                   guarantee=cert.guarantee, low_limit=cert.low_limit,
                   high_limit=cert.high_limit, confidence=cert.confidence,
                   n_normal=cert.n_normal, n_pneumonia=cert.n_pneumonia,
                   low_bound=round(cert.low_bound, DECIMALS),
                   high_bound=round(cert.high_bound, DECIMALS),
                   referred=None if referred is None else round(referred, DECIMALS),
                   fitted_on=fitted_on)

    @classmethod
    def from_dict(cls, data) -> ReferBand:
        """A band read from a card or a profile, every field checked (``ValueError``)."""
        if not isinstance(data, dict):
            raise ValueError("the refer band is not a table of values")
        t_low, t_high = _unit(data.get("t_low"), "t_low"), _unit(data.get("t_high"), "t_high")
        if t_low > t_high:
            raise ValueError("t_low is above t_high")
        guarantee = data.get("guarantee", CLASS)
        if guarantee not in GUARANTEES:
            raise ValueError("unknown guarantee")
        optional = {}
        for name in ("low_bound", "high_bound", "referred"):
            if data.get(name) is not None:
                optional[name] = _unit(data[name], name)
        fitted_on = data.get("fitted_on", "")
        if not isinstance(fitted_on, str):
            raise ValueError("fitted_on is not text")
        return cls(t_low=t_low, t_high=t_high, guarantee=guarantee,
                   low_limit=_unit(data.get("low_limit", 0.05), "low_limit", open_ends=True),
                   high_limit=_unit(data.get("high_limit", 0.05), "high_limit", open_ends=True),
                   confidence=_unit(data.get("confidence", 0.95), "confidence", open_ends=True),
                   n_normal=_count(data.get("n_normal", 0), "n_normal"),
                   n_pneumonia=_count(data.get("n_pneumonia", 0), "n_pneumonia"),
                   fitted_on=fitted_on[:200], **optional)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def width(self) -> float:
        return self.t_high - self.t_low
