"""The results of a session and what labels them: plain data in, plain data out, no Tk, no torch.

The window shows a ``Session``; ``python -m desktop predict`` fills one too. Verdicts, confidence,
counts, the table's order and the exported rows are computed here from each result's probability
and the session's ``ThresholdPolicy``, so the window and the command line cannot disagree.
The session also decides which results keep their images in memory (the ``images_kept`` most
recently viewed, the selected one always): a batch of thousands of files costs a few hundred
bytes per row.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from desktop.engine.results import Result, ResultRow
from desktop.engine.scope import NOT_CHEST_XRAY, UNUSUAL
from desktop.engine.site import SiteCalibration
from desktop.engine.threshold import ThresholdPolicy, format_threshold
from desktop.errors import N_, NP_
from desktop.i18n import gettext, ngettext
from desktop.modelfile import POSITIVE
from desktop.outcomes import ORDER, Outcome, decide

SUMMARY = NP_("{total} file: {pneumonia} pneumonia, {normal} normal, {errors} not classified "
              "(threshold {threshold}).",
              "{total} files: {pneumonia} pneumonia, {normal} normal, {errors} not classified "
              "(threshold {threshold}).")
BAND_SUMMARY = NP_("{total} file: {pneumonia} pneumonia, {normal} normal, {referred} referred to a "
                   "human reader, {errors} not classified (refer band {low} to {high}).",
                   "{total} files: {pneumonia} pneumonia, {normal} normal, {referred} referred to "
                   "a human reader, {errors} not classified (refer band {low} to {high}).")
SCOPE_SUMMARY = N_("Outside the model's scope: {withheld} with no verdict (not chest X-rays), "
                   "{unusual} marked unusual.")


def scope_state(result: Result) -> str | None:
    return result.scope.state if result.scope is not None else None


def withheld(result: Result) -> bool:
    """True where the verdict is withheld: the image is not a chest X-ray."""
    return result.ok and scope_state(result) == NOT_CHEST_XRAY


# Results whose preview, model input and heatmap stay in memory (~0.6 MB each, ~1.6 MB with the
# display buffer of a 16-bit image): the most recently viewed ones. Older ones are read from disk
# again when selected.
IMAGES_KEPT = 32
SORT_COLUMNS = ("file", "verdict", "p_pneumonia", "status")


class Session:
    """The results on screen (or of one ``predict`` run) and the threshold that labels them."""

    def __init__(self, policy: ThresholdPolicy | None = None,
                 images_kept: int = IMAGES_KEPT) -> None:
        self.policy = policy or ThresholdPolicy()
        self.results: dict[int, Result] = {}
        self.images_kept = max(1, images_kept)
        self.selected_key: int | None = None
        self._held: OrderedDict[int, None] = OrderedDict()  # keys with images, oldest view first
        self._keys = itertools.count(1)
        self.site: SiteCalibration | None = None  # the site profile in force, if any

    # --- results ------------------------------------------------------------------------------

    def add(self, result: Result) -> Result:
        """Keep ``result`` (it gets its key); its images are held if it brought any."""
        result.key = next(self._keys)
        if result.p_model is None:
            result.p_model = result.p_pneumonia
        self._recalibrate(result)
        self.results[result.key] = result
        if result.model_input is not None:
            self._hold(result, result.preview, result.model_input, result.display)
        return result

    def clear(self) -> None:
        self.results.clear()
        self._held.clear()
        self.selected_key = None

    # --- the threshold ------------------------------------------------------------------------

    @property
    def threshold(self) -> float:
        return self.policy.threshold

    def set_policy(self, policy: ThresholdPolicy) -> list[Result]:
        """Another threshold policy (a model's card arrived); the results whose verdict flipped."""
        def change() -> None:
            self.policy = policy
            if self.site is not None:
                policy.set_site(self.site)
        return self._relabel(change)

    def set_site(self, site: SiteCalibration | None) -> list[Result]:
        """Apply a site profile (its recalibrated P on every result, the presets on that scale,
        its threshold as the preset ``"site"``), or go back to the model's own calibration with
        ``None``; returns the results whose verdict flipped. Whether the profile fits the model
        and is valid is the caller's check (``desktop.cases.profile.apply_profile``)."""
        def change() -> None:
            self.site = site
            self.policy.set_site(site)
            for result in self.results.values():
                self._recalibrate(result)
        return self._relabel(change)

    def _recalibrate(self, result: Result) -> None:
        if result.p_model is not None:
            result.p_pneumonia = (self.site.apply(result.p_model) if self.site is not None
                                  else result.p_model)

    def slide(self, value: float) -> list[Result]:
        """The slider moved to ``value`` (a hundredth, or the preset there); the flipped results."""
        return self._relabel(lambda: self.policy.slide(value))

    def step(self, delta: float) -> list[Result]:
        """The arrow keys moved the threshold by ``delta``; the flipped results."""
        return self._relabel(lambda: self.policy.step(delta))

    def set_threshold(self, threshold: float) -> list[Result]:
        """A custom threshold, exact; returns the results whose verdict flipped (no model run)."""
        return self._relabel(lambda: self.policy.set_custom(threshold))

    def choose_preset(self, name: str) -> list[Result]:
        """The card's operating point ``name`` at its exact threshold; the flipped results."""
        return self._relabel(lambda: self.policy.choose(name))

    def set_refer(self, on: bool) -> list[Result]:
        """Turn the refer band on (where there is one) or off (the threshold decides alone);
        the results whose answer changed."""
        def change() -> None:
            self.policy.refer = bool(on)
        return self._relabel(change)

    @property
    def band(self):
        """The refer band deciding now (``desktop.referband.ReferBand``), or None."""
        return self.policy.active_band

    def _relabel(self, change) -> list[Result]:
        before = {key: self.verdict(r) for key, r in self.results.items()}
        change()
        return [r for key, r in self.results.items() if self.verdict(r) != before[key]]

    # --- what is shown ------------------------------------------------------------------------

    def outcome(self, result: Result) -> Outcome:
        """What ``result`` is now: UNREADABLE, WITHHELD (not a chest X-ray), or the decision at
        the current threshold or refer band (``desktop.outcomes.decide``, the one rule)."""
        if not result.ok:
            return Outcome.UNREADABLE
        if withheld(result):
            return Outcome.WITHHELD
        return decide(result.p_pneumonia, self.threshold, self.policy.active_band)

    def verdict(self, result: Result) -> Outcome | None:
        """The decision: NORMAL, PNEUMONIA, or REFER inside the refer band; None for an error
        row and where the verdict is withheld (not a chest X-ray)."""
        outcome = self.outcome(result)
        return outcome if outcome.is_decision else None

    def confidence(self, result: Result) -> float | None:
        """The probability of the class shown (P(pneumonia) for PNEUMONIA, else 1 - it); None
        without a class (REFER, withheld, error)."""
        shown = self.verdict(result)
        if shown is None or not shown.is_verdict:
            return None
        p = result.p_pneumonia
        return p if shown == POSITIVE else 1.0 - p

    def counts(self) -> dict[str, int]:
        """At the current threshold or band: one count per ``Outcome`` (keys are the outcomes,
        equal to their strings: ``counts["NORMAL"]``, ``counts["withheld"]``); and
        ``unusual``, how many of the decisions are marked."""
        counts: dict[str, int] = {outcome: 0 for outcome in ORDER}
        counts["unusual"] = 0
        for result in self.results.values():
            outcome = self.outcome(result)
            counts[outcome] += 1
            counts["unusual"] += outcome.is_decision and scope_state(result) == UNUSUAL
        return counts

    def summary(self) -> str:
        """The counts in one or two sentences of the current language (status bar, ``predict``)."""
        counts, total, band = self.counts(), len(self.results), self.band
        if band is not None:
            text = ngettext(BAND_SUMMARY[0], BAND_SUMMARY[1], total).format(
                total=total, pneumonia=counts[Outcome.PNEUMONIA], normal=counts[Outcome.NORMAL],
                referred=counts[Outcome.REFER], errors=counts[Outcome.UNREADABLE],
                low=format_threshold(band.t_low), high=format_threshold(band.t_high))
        else:
            text = ngettext(SUMMARY[0], SUMMARY[1], total).format(
                total=total, pneumonia=counts["PNEUMONIA"], normal=counts["NORMAL"],
                errors=counts["error"], threshold=format_threshold(self.threshold))
        if counts["withheld"] or counts["unusual"]:
            text += " " + gettext(SCOPE_SUMMARY).format(withheld=counts["withheld"],
                                                        unusual=counts["unusual"])
        return text

    def sorted_keys(self, column: str, descending: bool = False) -> list[int]:
        """Keys ordered by ``column`` (one of ``SORT_COLUMNS``); errors last in both directions
        (except by status, where they are what is sorted), and by verdict or P the images
        without a verdict (withheld) just before them: they show no P."""

        def sort_key(result: Result):
            if column == "file":
                return (result.path.name.casefold(), str(result.path))
            if column == "verdict":
                return (self.verdict(result) or "", result.p_pneumonia or 0.0)
            if column == "status":
                return (str(result.error) if result.error else "", result.path.name.casefold())
            return (result.p_pneumonia or 0.0, result.path.name.casefold())

        def group(result: Result) -> int:
            if column == "status":
                return 0
            if not result.ok:
                return 2
            return 1 if column in ("verdict", "p_pneumonia") and withheld(result) else 0

        by_name = lambda r: r.path.name.casefold()  # noqa: E731
        ordered = sorted((r for r in self.results.values() if group(r) == 0), key=sort_key,
                         reverse=descending)
        ordered += sorted((r for r in self.results.values() if group(r) == 1), key=by_name)
        ordered += sorted((r for r in self.results.values() if group(r) == 2), key=by_name)
        return [r.key for r in ordered]

    def row(self, result: Result) -> ResultRow:
        """The exported record of one result at the current threshold."""
        scope = result.scope
        held_back = withheld(result)
        decision, band = self.verdict(result), self.band
        return ResultRow(
            file=result.path.name,
            path=str(result.path),
            verdict=decision if decision is not None and decision.is_verdict else None,
            decision=decision,
            t_low=None if band is None else band.t_low,
            t_high=None if band is None else band.t_high,
            p_pneumonia=result.p_pneumonia if result.ok and not held_back else None,
            threshold=self.threshold,
            scope=scope.state if scope is not None and result.ok else None,
            scope_reason=str(scope.reason) if scope is not None and scope.reason and result.ok
            else None,
            error=str(result.error) if result.error is not None else None,
            score_outside_scope=result.p_pneumonia if held_back else None,
            profile=self.site.name if self.site is not None else None,
        )

    def rows(self, keys: Sequence[int] | None = None) -> list[ResultRow]:
        """The rows in ``keys`` order (e.g. the table's), else in the order files were added."""
        return [self.row(self.results[k]) for k in (keys if keys is not None else self.results)]

    # --- which results keep their images ------------------------------------------------------

    @property
    def held_keys(self) -> list[int]:
        """Keys of the results holding images, least recently viewed first."""
        return list(self._held)

    def select(self, key: int | None) -> Result | None:
        """Make ``key`` the result on screen: its images are the last to go, and a re-read that
        failed before is tried again (the file may be back) when the user comes back to it."""
        result = self.results.get(key) if key is not None else None
        if result is None:
            self.selected_key = None
            return None
        if result.key != self.selected_key:
            result.preview_error = None
        self.selected_key = result.key
        if result.key in self._held:
            self._held.move_to_end(result.key)
        return result

    def needs_preview(self, result: Result) -> bool:
        """True for a classified result whose image is not in memory: the worker re-reads it."""
        return result.ok and result.model_input is None and result.preview_error is None

    def preview_ready(self, key: int, preview, model_input: np.ndarray | None,
                      error=None, display=None) -> Result | None:
        """Store a re-read preview (and its display buffer), or why there is none; None when
        that result is gone."""
        result = self.results.get(key)
        if result is None:
            return None
        if error is not None:
            result.preview_error = error
        else:
            self._hold(result, preview, model_input, display)
        return result

    def heatmap_ready(self, key: int, heatmap: np.ndarray | None, error=None) -> Result | None:
        """Store a heatmap beside its preview; None when the result or its images are gone
        (a heatmap is only held together with them, so memory stays bounded)."""
        result = self.results.get(key)
        if result is None or result.key not in self._held:
            return None
        result.heatmap, result.heatmap_error = heatmap, error
        return result

    def _hold(self, result: Result, preview, model_input: np.ndarray, display=None) -> None:
        """Keep ``result``'s images as the most recently viewed; drop the oldest beyond the limit,
        never the selected result's."""
        result.preview, result.model_input, result.preview_error = preview, model_input, None
        result.display = display
        self._held[result.key] = None
        self._held.move_to_end(result.key)
        while len(self._held) > self.images_kept:
            oldest = next(key for key in self._held if key != self.selected_key)
            del self._held[oldest]
            dropped = self.results.get(oldest)
            if dropped is not None:
                dropped.drop_images()
