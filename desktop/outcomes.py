"""The one vocabulary of what a file's answer can be, and the rule that decides it.

Every place that shows, counts, filters, sorts, stores or exports an answer uses ``Outcome``:
the two verdicts (NORMAL, PNEUMONIA), REFER ("undetermined: refer to a human reader", where
P falls inside a certified refer band), and the two non-answers (WITHHELD: not a chest X-ray,
no verdict; UNREADABLE: the file could not be classified). The values are the strings files
and the case history have always held ("NORMAL", "PNEUMONIA", "withheld", "error"), plus
"REFER", so a CSV written before still reads the same.

``decide`` is the one rule: with a band, NORMAL below ``t_low``, PNEUMONIA at or above
``t_high``, REFER between; without one, the single threshold's verdict (``modelfile.verdict``).
Foundation: no Tk, no torch, no numpy.
"""

from __future__ import annotations

from enum import StrEnum

from desktop.modelfile import NEGATIVE, POSITIVE, verdict


class Outcome(StrEnum):
    NORMAL = NEGATIVE
    PNEUMONIA = POSITIVE
    REFER = "REFER"
    WITHHELD = "withheld"  # not a chest X-ray: no verdict is given
    UNREADABLE = "error"  # the file could not be read or classified

    @property
    def is_verdict(self) -> bool:
        """NORMAL or PNEUMONIA: an answer with a class."""
        return self in (Outcome.NORMAL, Outcome.PNEUMONIA)

    @property
    def is_decision(self) -> bool:
        """What the model answered on an in-scope image: a verdict or REFER (both have a P)."""
        return self.is_verdict or self is Outcome.REFER


# The order a table sorts by and a summary counts in: answers first, then the non-answers.
ORDER = (Outcome.PNEUMONIA, Outcome.NORMAL, Outcome.REFER, Outcome.WITHHELD, Outcome.UNREADABLE)
DECISIONS = tuple(o for o in ORDER if o.is_decision)  # the values a ``decision`` column holds


def decide(p: float, threshold: float, band=None) -> Outcome:
    """The answer for probability ``p`` of pneumonia: with ``band`` (an object with ``t_low``
    and ``t_high``, e.g. ``desktop.referband.ReferBand``) NORMAL below ``t_low``, PNEUMONIA
    at or above ``t_high``, REFER between; without one, ``threshold`` decides."""
    if band is not None:
        if p < band.t_low:
            return Outcome.NORMAL
        return Outcome.PNEUMONIA if p >= band.t_high else Outcome.REFER
    return Outcome(verdict(p, threshold))


def parse(value: object) -> Outcome | None:
    """A stored or exported value back to its ``Outcome`` (None for anything else: a stored
    value is checked, never trusted)."""
    try:
        return Outcome(value)
    except ValueError:
        return None
