"""The site profile: a calibration saved as a small JSON file (written atomically), and which
profile is in force.

It holds the name, the date, the model file it was fitted for (sha256), the cases per class,
the Platt slope and bias, the threshold and the goal it was chosen for, and the figures with
their 95% intervals (what monitoring compares the site's flagged share against). A profile
fitted for another model file is never applied: the user is told, and asked to calibrate again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from desktop.atomicio import atomic_write_text
from desktop.cases.calibration import Rate, Study
from desktop.engine.site import SiteCalibration
from desktop.errors import N_, Sentence, UserError, WriteError

log = logging.getLogger(__name__)

FORMAT = "cxr-site-profile"
VERSION = 1

OTHER_MODEL = N_("The site profile {name} was fitted for another model file, so it is not "
                 "applied; calibrate again for this model.")
IN_FORCE = N_("Site profile {name} in force: threshold {threshold}.")
UNREADABLE = N_("The site profile {name} could not be read, so it is not applied; choose the "
                "file that calibration wrote, or calibrate again.")


class ProfileError(UserError):
    message = UNREADABLE


@dataclass(frozen=True)
class SiteProfile:
    """A profile file's content; ``calibration`` is what applying it needs."""

    calibration: SiteCalibration
    created: str
    goal: str
    target: float | None
    cases: dict
    figures: dict
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.calibration.name

    @property
    def flagged_interval(self) -> tuple[float, float] | None:
        """The 95% interval of the share called PNEUMONIA when it was fitted."""
        flagged = self.figures.get("proposed", {}).get("flagged")
        return (float(flagged[1]), float(flagged[2])) if flagged else None


def _rates(point) -> dict:
    return {"threshold": point.threshold, "sensitivity": point.sensitivity.as_list(),
            "specificity": point.specificity.as_list(), "flagged": point.flagged.as_list()}


def profile_from_study(study: Study, *, name: str, model_sha256: str,
                       model_version: str | None, source: str) -> dict:
    """The JSON object saved for ``study``."""
    return {
        "format": FORMAT, "version": VERSION, "name": name,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model_sha256": model_sha256, "model_version": model_version, "source": source,
        "cases": {"NORMAL": study.n_normal, "PNEUMONIA": study.n_pneumonia,
                  "out_of_scope": study.n_out_of_scope},
        "platt": {"slope": study.slope, "bias": study.bias},
        "threshold": study.proposed.threshold,
        "goal": {"kind": study.goal, "target_sensitivity": study.target},
        "figures": {"auc": study.auc, "ece_before": study.ece_before,
                    "ece_after_cross_validated": study.ece_after,
                    "shipped": _rates(study.shipped), "proposed": _rates(study.proposed)},
    }


def save_profile(path: Path, profile: dict) -> None:
    try:
        atomic_write_text(Path(path), json.dumps(profile, indent=2) + "\n")
    except OSError as exc:
        log.exception("Cannot write the site profile %s", path)
        raise WriteError(name=Path(path).name) from exc


def load_profile(path: Path) -> SiteProfile:
    """The profile at ``path``; ``ProfileError`` when it is missing or not a profile."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT or int(raw.get("version", 0)) > VERSION:
            raise ValueError(f"not a profile this version reads: {raw.get('format')!r}")
        calibration = SiteCalibration(
            name=str(raw["name"]), slope=float(raw["platt"]["slope"]),
            bias=float(raw["platt"]["bias"]), threshold=float(raw["threshold"]),
            model_sha256=str(raw["model_sha256"]))
        goal = raw.get("goal") or {}
        return SiteProfile(calibration, str(raw.get("created", "")), str(goal.get("kind", "")),
                           goal.get("target_sensitivity"), dict(raw.get("cases") or {}),
                           dict(raw.get("figures") or {}), path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("Cannot read the site profile %s: %s", path, exc)
        raise ProfileError(name=path.name) from exc


def profile_in_force(path: str | Path | None, model_sha256: str
                     ) -> tuple[SiteProfile | None, Sentence | None]:
    """The profile at ``path`` if it can be applied to the model ``model_sha256``, else None and
    the sentence saying why not (None, None: no profile chosen)."""
    if not path:
        return None, None
    try:
        profile = load_profile(Path(path))
    except ProfileError as exc:
        return None, exc
    if not profile.calibration.fits(model_sha256):
        return None, Sentence(OTHER_MODEL, name=profile.name)
    return profile, None


def interval_text(rate: list[float] | Rate) -> str:
    """``[0.91, 0.85, 0.95]`` -> ``"91% (85–95%)"``."""
    value, low, high = (rate.value, rate.low, rate.high) if isinstance(rate, Rate) else rate
    return f"{100 * value:.0f}% ({100 * low:.0f}–{100 * high:.0f}%)"
