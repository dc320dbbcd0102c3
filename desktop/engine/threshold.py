"""Which decision threshold labels the results: one of the model card's operating points, or a
custom value. The window's slider and presets and ``predict --threshold/--operating-point`` all
go through a ``ThresholdPolicy``, so both give the same verdict for the same probability.

A preset is the card's exact threshold (0.2822, not the 0.28 a slider shows). A custom value is
kept as given (``predict --threshold``, a saved setting); a dragged slider picks hundredths.

With a site profile in force the P judged is the site's recalibrated P, so every preset moves to
that scale: the card's points are mapped through the profile's recalibration (the same images
stay on the same side, so the card's figures still hold for them), and the profile's own point
is added. A threshold and the P it judges are never on two scales.

The policy also holds the refer band (``desktop.referband``): the card's, or a version-2 site
profile's in place of it (a version-1 profile has none: then there is no band). While a band is
in force and the user has not turned it off (``refer``), the band decides and the threshold
waits; ``active_band`` is what ``desktop.outcomes.decide`` is given.
"""

from __future__ import annotations

import logging
import math

from desktop.i18n import format_decimal
from desktop.referband import CARD_KEY, ReferBand

log = logging.getLogger(__name__)

SITE_POINT = "site"  # the operating point a site profile adds (desktop.engine.site)


def format_threshold(value: float) -> str:
    """``0.5`` -> ``"0.50"``, ``0.2822`` -> ``"0.2822"``: two decimals, more only when the value
    has them (up to four), so a preset is never shown as another number than it is; with the
    current language's decimal symbol ("0,2822" in pt_BR and es): for people, never for files."""
    decimals = len(f"{value:.4f}".rstrip("0").partition(".")[2])
    return format_decimal(value, max(2, decimals))


def card_band(card: dict | None) -> ReferBand | None:
    """The card's refer band, or None where it has none or an invalid one: then the single
    threshold decides, and the log says why (training never writes one: ``modelfile``'s card
    check refuses it)."""
    data = (card or {}).get(CARD_KEY)
    if data is None:
        return None
    try:
        return ReferBand.from_dict(data)
    except ValueError as exc:
        log.warning("The model card's refer band is not used: %s", exc)
        return None


def _clamped(value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a threshold: {value!r}")
    return min(1.0, max(0.0, value))


class ThresholdPolicy:
    """The threshold in force and the preset it came from (``None``: custom)."""

    def __init__(self, operating_points: list[dict] | None = None,
                 default_point: str | None = None, fallback: float = 0.5,
                 band: ReferBand | None = None) -> None:
        self.points = [dict(p) for p in operating_points or []
                       if isinstance(p, dict) and "name" in p and "threshold" in p]
        self.card_points = [dict(p) for p in self.points]  # on the model's own P
        self.default_point = default_point if self.point(default_point) else None
        self.card_default = self.default_point
        self.threshold = _clamped(fallback)
        self.fallback = self.threshold
        self.preset: str | None = None
        self.on_site_scale = False  # the points are a site profile's (set_site)
        self.card_band = band  # on the model's own P
        self.band = band  # the band on the P judged: the card's, a site profile's, or None
        self.refer = True  # the user's choice: the band decides where there is one
        if self.default_point:
            self.choose(self.default_point)

    @classmethod
    def from_card(cls, card: dict | None) -> ThresholdPolicy:
        """The card's operating points, starting at its default one (else its ``threshold``)."""
        card = card or {}
        return cls(card.get("operating_points"), card.get("default_operating_point"),
                   float(card.get("threshold", 0.5)), band=card_band(card))

    @property
    def active_band(self) -> ReferBand | None:
        """The band that decides now: there is one and the user has not turned it off."""
        return self.band if self.refer else None

    def point(self, name: str | None) -> dict | None:
        return next((p for p in self.points if p["name"] == name), None) if name else None

    def choose(self, name: str) -> bool:
        """Use preset ``name`` at its exact threshold; False (nothing changes) if the card has
        no such point."""
        point = self.point(name)
        if point is None:
            return False
        self.threshold, self.preset = _clamped(point["threshold"]), point["name"]
        return True

    def set_site(self, site) -> None:
        """Put the presets on the scale of a site profile's P (``site``: a
        ``desktop.engine.site.SiteCalibration``): the card's points mapped through its
        recalibration, and its own threshold as the preset ``"site"``, the default and chosen.
        ``None`` puts the card's points back and chooses the preset that was in force (the
        card's default when it was the site's, or a custom value: those were on the site's
        scale). ``None`` while no profile is in force changes nothing (a custom threshold the
        user restored stays)."""
        was = self.preset
        if site is None:
            if not self.on_site_scale:
                return
            self.on_site_scale = False
            self.band = self.card_band
            self.points = [dict(p) for p in self.card_points]
            self.default_point = self.card_default
            if not (was is not None and self.choose(was)) and not (
                    self.default_point and self.choose(self.default_point)):
                self.set_custom(self.fallback)
            return
        self.points = [dict(p, threshold=float(site.apply(float(p["threshold"]))))
                       for p in self.card_points]
        self.points.append({"name": SITE_POINT, "threshold": float(site.threshold)})
        self.band = getattr(site, "band", None)  # a version-1 profile has none
        self.default_point = SITE_POINT
        self.on_site_scale = True
        self.choose(SITE_POINT)

    def set_custom(self, value: float) -> None:
        """A threshold given as a number: kept exact (clamped to [0, 1]), no preset."""
        self.threshold, self.preset = _clamped(value), None

    def slide(self, value: float) -> None:
        """The slider was moved to ``value``: a custom threshold, to the slider's hundredth (or
        the preset whose threshold that exactly is)."""
        self._to_hundredth(value)

    def step(self, delta: float) -> None:
        """The arrow keys: ``delta`` from here, landing on a hundredth."""
        self._to_hundredth(self.threshold + delta)

    def _to_hundredth(self, value: float) -> None:
        self.set_custom(round(_clamped(value), 2))
        for point in self.points:
            if abs(float(point["threshold"]) - self.threshold) < 1e-12:
                self.choose(point["name"])
                return

    def restore(self, threshold: float | None, preset: str | None) -> None:
        """What the user had chosen last time: a preset of this card, else a custom value, else
        the card's default."""
        if preset is not None and self.choose(preset):
            return
        if threshold is not None:
            self.set_custom(threshold)
        elif self.default_point:
            self.choose(self.default_point)
