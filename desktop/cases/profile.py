"""The site profile: a calibration saved as a small JSON file (written atomically), and which
profile is in force.

It holds the name, the date, the model file it was fitted for (sha256), the cases per class,
the Platt slope and bias, the threshold and the goal it was chosen for, and the figures with
their 95% intervals (what monitoring compares the site's flagged share against). A profile
fitted for another model file is never applied: the user is told, and asked to calibrate again.

Version 2 adds the refer band certified on the site's cases (``refer_band``, as
``desktop.referband.ReferBand`` holds it, on the recalibrated P; null when calibration was told
``--no-refer`` or could not certify one) and its figures. A version-1 profile still loads, with
no band (the single threshold decides), and ``SiteProfile.notice`` says so. A band that is not
valid (NaN, outside [0, 1], ``t_low > t_high``, counts that are not the profile's) refuses the
whole profile, as any other value does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from desktop.atomicio import atomic_write_text
from desktop.cases.calibration import Rate, Study
from desktop.engine.site import MAX_BIAS, MAX_SLOPE, MIN_SLOPE, SiteCalibration
from desktop.engine.threshold import format_threshold
from desktop.errors import N_, Sentence, UserError, WriteError
from desktop.referband import CARD_KEY, ReferBand

log = logging.getLogger(__name__)

FORMAT = "cxr-site-profile"
VERSION = 2  # 2: the refer band
BAND_FIGURES = ("referred", "missed", "false_alarms", "wrong_normal_calls",
                "wrong_pneumonia_calls", "wrong_decided")  # BandFigures' rates, in the profile

OTHER_MODEL = N_("The site profile {name} was fitted for another model file, so it is not "
                 "applied; calibrate again for this model.")
IN_FORCE = N_("Site profile “{name}” in force: threshold {threshold}.")
UNREADABLE = N_("The site profile {name} could not be read, so it is not applied; choose the "
                "file that calibration wrote, or calibrate again.")

NO_BAND = N_("The site profile {name} was written by an older version and has no refer band, so "
             "its threshold decides every image; calibrate again to have the uncertain ones "
             "referred to a human reader.")

BAD_NAME = N_("The profile was not saved: give it a name of 1 to 200 characters, without line "
              "breaks or other control characters.")


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
    version: int = VERSION

    @property
    def name(self) -> str:
        return self.calibration.name

    @property
    def band(self) -> ReferBand | None:
        return self.calibration.band

    @property
    def notice(self) -> Sentence | None:
        """What to tell the user when the profile is applied: a version-1 profile has no band."""
        return Sentence(NO_BAND, name=self.name) if self.version < 2 else None

    @property
    def flagged_interval(self) -> tuple[float, float] | None:
        """The 95% interval of the share called PNEUMONIA when it was fitted."""
        flagged = (self.figures.get("proposed") or {}).get("flagged")
        return (float(flagged[1]), float(flagged[2])) if flagged else None


def _rates(point) -> dict:
    return {"threshold": point.threshold, "sensitivity": point.sensitivity.as_list(),
            "specificity": point.specificity.as_list(), "flagged": point.flagged.as_list()}


def profile_from_study(study: Study, *, name: str, model_sha256: str,
                       model_version: str | None, source: str) -> dict:
    """The JSON object saved for ``study``."""
    band = study.band
    figures = {"auc": study.auc, "ece_before": study.ece_before,
               "ece_after_cross_validated": study.ece_after,
               "shipped": _rates(study.shipped), "proposed": _rates(study.proposed)}
    if band is not None:
        figures["band"] = {key: getattr(band, key).as_list() for key in BAND_FIGURES}
    return {
        "format": FORMAT, "version": VERSION, "name": name,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model_sha256": model_sha256, "model_version": model_version, "source": source,
        "cases": {"NORMAL": study.n_normal, "PNEUMONIA": study.n_pneumonia,
                  "out_of_scope": study.n_out_of_scope},
        "platt": {"slope": study.slope, "bias": study.bias},
        "threshold": study.proposed.threshold,
        "goal": {"kind": study.goal, "target_sensitivity": study.target},
        "figures": figures,
        CARD_KEY: None if band is None else band.band.as_dict(),
    }


def default_name(today: dt.date | None = None) -> str:
    """A new profile's name until the user gives one: "calibration-2026-12-07" (it reads as a
    name in "Site profile “…” in force", which "site" did not)."""
    return f"calibration-{(today or dt.date.today()).isoformat()}"


def save_profile(path: Path, profile: dict) -> None:
    """Write ``profile``; one that ``load_profile`` would refuse is never written (the name is
    the only part a person types: that is the sentence)."""
    try:
        validate(profile)
    except ValueError as exc:
        log.warning("Not saving the site profile %s: %s", path, exc)
        raise UserError(BAD_NAME) from exc
    try:
        atomic_write_text(Path(path), json.dumps(profile, indent=2, allow_nan=False) + "\n")
    except OSError as exc:
        log.exception("Cannot write the site profile %s", path)
        raise WriteError(name=Path(path).name) from exc


# A profile is a few kilobytes; anything larger is not one (and a link to /dev/zero never ends).
MAX_BYTES = 256 * 1024


def read_bounded(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes; ``ValueError``
    otherwise, at once: a device, a FIFO (opened without waiting for a writer) or a directory
    is never read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > limit:
            raise ValueError(f"{info.st_size} bytes, more than {limit}")
        chunks, size = [], 0
        while chunk := os.read(fd, limit + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ValueError(f"more than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number a profile may hold")


def parse(data: bytes) -> dict:
    """The JSON object in ``data`` (UTF-8); ``ValueError`` for anything else, NaN and Infinity
    included, and for nesting too deep to read."""
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError as exc:
        raise ValueError("nested too deep") from exc
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    return raw


# --- validation: every value a profile holds, checked before any of it is used ----------------

def _number(value, what: str, low: float, high: float, *, open_ends: bool = False) -> float:
    """``value`` as a float if it is a JSON number (not a bool, not a string), finite and in
    [low, high] (or (low, high) with ``open_ends``); ``ValueError`` naming ``what`` otherwise."""
    try:
        number = float(value) if type(value) in (int, float) else math.nan
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{what}: not a finite number: {str(value)[:40]}")
    value = number
    inside = low < value < high if open_ends else low <= value <= high
    if not inside:
        raise ValueError(f"{what}: {value!r} outside {'(' if open_ends else '['}{low}, {high}"
                         f"{')' if open_ends else ']'}")
    return float(value)


def _fraction(value, what: str) -> float:
    """A threshold (or a band's end): strictly between 0 and 1."""
    return _number(value, what, 0.0, 1.0, open_ends=True)


def _count(value, what: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{what}: not a count: {value!r}")
    return value


def _object(raw: dict, key: str, *, required: bool = False) -> dict:
    value = raw.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key}: not an object")
    return value


def _rate(value, what: str, n: int | None) -> tuple[float, float, float]:
    """[value, low, high] of a proportion with low <= value <= high; with its denominator
    ``n``, the value must be a whole number of cases out of n."""
    if not isinstance(value, list) or len(value) != 3:
        raise ValueError(f"{what}: not [value, low, high]")
    rate, low, high = (_number(v, what, 0.0, 1.0) for v in value)
    if not low <= rate <= high:
        raise ValueError(f"{what}: the value is outside its interval")
    if n is not None and n > 0 and abs(rate * n - round(rate * n)) > max(1e-3, n * 2e-6):
        raise ValueError(f"{what}: {rate} is not a whole number of its {n} cases")
    return rate, low, high


def _text(value, what: str, *, limit: int = 200, empty: bool = False) -> str:
    """A string without control characters (a name is printed on terminals and in CSV files)."""
    if not isinstance(value, str) or len(value) > limit or (not value.strip() and not empty):
        raise ValueError(f"{what}: not a short text")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError(f"{what}: holds control characters")
    return value


def validate(raw, path: Path | None = None) -> SiteProfile:
    """The profile in the JSON object ``raw``, every value checked: the one place that decides
    what a valid profile is (a new field is checked here). ``ValueError`` saying what is wrong
    otherwise; nothing is clamped or half-used."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    version = raw.get("version", 1)
    if type(version) is not int or not 1 <= version <= VERSION:
        raise ValueError(f"version {version!r} is not one this program reads")
    sha = raw.get("model_sha256")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ValueError("model_sha256: not a SHA-256")
    platt = _object(raw, "platt", required=True)
    slope = _number(platt.get("slope"), "platt.slope", MIN_SLOPE, MAX_SLOPE)
    bias = _number(platt.get("bias"), "platt.bias", -MAX_BIAS, MAX_BIAS)
    threshold = _fraction(raw.get("threshold"), "threshold")
    cases = _object(raw, "cases")
    n = {label: _count(cases[label], f"cases.{label}") if label in cases else None
         for label in ("NORMAL", "PNEUMONIA", "out_of_scope")}
    fitted = (n["NORMAL"] or 0) + (n["PNEUMONIA"] or 0)
    prevalence = n["PNEUMONIA"] / fitted if n["NORMAL"] is not None and \
        n["PNEUMONIA"] is not None and fitted else None
    goal = _object(raw, "goal")
    if goal.get("kind", "balanced") not in ("balanced", "sensitivity"):
        raise ValueError("goal.kind: not balanced or sensitivity")
    target = goal.get("target_sensitivity")
    if target is not None:
        target = _fraction(target, "goal.target_sensitivity")
    figures = _object(raw, "figures")
    for key in ("auc", "ece_before", "ece_after_cross_validated"):
        if figures.get(key) is not None:
            _number(figures[key], f"figures.{key}", 0.0, 1.0)
    sensitivity = specificity = None
    denominators = {"sensitivity": n["PNEUMONIA"], "specificity": n["NORMAL"],
                    "flagged": fitted if n["NORMAL"] is not None else None}
    for name in ("shipped", "proposed"):
        point = _object(figures, name)
        if not point:
            continue
        rates = {key: _rate(point[key], f"figures.{name}.{key}", denominators[key])
                 for key in ("sensitivity", "specificity", "flagged") if key in point}
        if "threshold" in point:
            point_threshold = _fraction(point["threshold"], f"figures.{name}.threshold")
            if name == "proposed" and abs(point_threshold - threshold) > 1e-9:
                raise ValueError("figures.proposed.threshold is not the profile's threshold")
        if name == "proposed":
            sensitivity, specificity = rates.get("sensitivity"), rates.get("specificity")
    band = _band(raw, version, n, fitted, figures)
    calibration = SiteCalibration(
        name=_text(raw.get("name"), "name"), slope=slope, bias=bias, threshold=threshold,
        model_sha256=sha, prevalence=prevalence, sensitivity=sensitivity,
        specificity=specificity, band=band)
    return SiteProfile(calibration, _text(raw.get("created", ""), "created", empty=True),
                       goal.get("kind", ""), target, {k: v for k, v in n.items() if v is not None},
                       figures, path, version)


def _band(raw: dict, version: int, n: dict, fitted: int, figures: dict) -> ReferBand | None:
    """The version-2 refer band, checked (``ReferBand.from_dict``) and consistent with the
    profile: certified on the profile's own cases, its figures whole numbers of them. A
    version-1 profile holds none (a band in one is not ours: refused)."""
    data = raw.get(CARD_KEY)
    if version < 2:
        if data is not None or "band" in figures:
            raise ValueError(f"{CARD_KEY}: a version-1 profile has no refer band")
        return None
    if data is None:
        if "band" in figures:
            raise ValueError("figures.band without a refer band")
        return None
    band = ReferBand.from_dict(data)
    _text(band.fitted_on, f"{CARD_KEY}.fitted_on", empty=True)
    for label, count in (("NORMAL", band.n_normal), ("PNEUMONIA", band.n_pneumonia)):
        if n[label] is not None and n[label] != count:
            raise ValueError(f"{CARD_KEY}: certified on {count} {label}, the profile has "
                             f"{n[label]}")
    rates = _object(figures, "band")
    denominators = {"referred": fitted if n["NORMAL"] is not None else None,
                    "missed": n["PNEUMONIA"], "false_alarms": n["NORMAL"]}
    for key in BAND_FIGURES:
        if key in rates:
            _rate(rates[key], f"figures.band.{key}", denominators.get(key))
    return band


def load_profile(path: Path) -> SiteProfile:
    """The profile at ``path``; ``ProfileError`` (the "could not be read" sentence) when it is
    missing, not a regular file of a profile's size, or any value in it is not valid."""
    path = Path(path)
    try:
        return validate(parse(read_bounded(path)), path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
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


@dataclass(frozen=True)
class Applied:
    """What ``apply_profile`` did: the profile now in force (or None), why the chosen one is not
    applied (or None), and the results whose verdict flipped."""

    profile: SiteProfile | None
    problem: Sentence | None
    flipped: list

    @property
    def notice(self) -> Sentence | None:
        """What to say about the profile applied (a version-1 profile: no refer band)."""
        return None if self.profile is None else self.profile.notice


def apply_profile(session, path: str | Path | None, model_sha256: str) -> Applied:
    """THE way a site profile is applied, for the window and ``predict`` alike: read and check
    the file at ``path`` (None: no profile), then put it in force on ``session`` (a
    ``desktop.engine.session.Session``: its P, its presets, its refer band (``site.band``; none
    for a version-1 profile) and the words shown with them) or, when it cannot be applied, the
    model's own calibration. Never half-applied."""
    profile, problem = profile_in_force(path, model_sha256)
    flipped = session.set_site(profile.calibration if profile is not None else None)
    return Applied(profile, problem, flipped)


def in_force_sentence(site: SiteCalibration, threshold: float) -> Sentence:
    """"Site profile “clinic-A” in force: threshold 0.553." with the threshold in force now
    (the profile's own, or a preset mapped onto its scale)."""
    return Sentence(IN_FORCE, name=site.name, threshold=format_threshold(threshold))


def interval_text(rate: list[float] | Rate) -> str:
    """``[0.91, 0.85, 0.95]`` -> ``"91% (85–95%)"``."""
    value, low, high = (rate.value, rate.low, rate.high) if isinstance(rate, Rate) else rate
    return f"{100 * value:.0f}% ({100 * low:.0f}–{100 * high:.0f}%)"
