"""The words for one result: its verdict, probability, confidence and scope, decided once.

The window's table and result pane, the PDF reports and ``predict``'s text lines all call
``describe``, so a file cannot be "NORMAL" in one place and "Error" in another, or show a
probability here and a dash there. The words follow the session's threshold and the current
language; the marks are shapes drawn beside them, so colour never carries meaning alone.
No Tk here: this floor is shared by the window, the reports and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.engine.results import Result
from desktop.engine.scope import IN_SCOPE, NOT_CHEST_XRAY, UNUSUAL, without_patient_facts
from desktop.engine.session import Session, withheld
from desktop.engine.threshold import format_threshold
from desktop.errors import N_
from desktop.i18n import class_name, format_decimal, gettext
from desktop.modelfile import POSITIVE
from desktop.outcomes import ORDER, Outcome
from desktop.reports.labels import percent, scope_text
from desktop.stats import CLASS

# What a result is, for its words, its colour and its drawn shape: the outcomes, in their order.
VERDICT_KINDS = tuple(str(outcome) for outcome in ORDER)
# The classes' names come from desktop.i18n.class_name (these two msgids are its catalog entries).
VERDICT_WORDS = {Outcome.PNEUMONIA: N_("PNEUMONIA"), Outcome.NORMAL: N_("NORMAL"),
                 Outcome.REFER: N_("Undetermined: refer to a human reader"),
                 Outcome.WITHHELD: N_("No verdict"), Outcome.UNREADABLE: N_("Could not classify")}
# The same, short, in the table's verdict column and at the start of a text line.
SHORT_WORDS = {Outcome.REFER: N_("Refer"), Outcome.WITHHELD: N_("No verdict"),
               Outcome.UNREADABLE: N_("Error")}
LINE_WORDS = {Outcome.REFER: N_("REFER"), Outcome.WITHHELD: N_("NO VERDICT"),
              Outcome.UNREADABLE: N_("ERROR")}
# A shape per kind, in front of the verdict in the table; a shape per scope state.
VERDICT_MARKS = {Outcome.NORMAL: "●", Outcome.PNEUMONIA: "▲", Outcome.REFER: "◐",
                 Outcome.WITHHELD: "⊘", Outcome.UNREADABLE: "✕"}
IN_SCOPE_MARK, UNUSUAL_MARK, WITHHELD_MARK, UNCHECKED_MARK = "✓", "◆", "⊘", "○"
SCOPE_MARKS = {IN_SCOPE: IN_SCOPE_MARK, UNUSUAL: UNUSUAL_MARK, NOT_CHEST_XRAY: WITHHELD_MARK}
NO_VERDICT_DETAIL = N_("The model gives no verdict on images outside its scope.")
# What the probability and the threshold are, in words a clinician reads correctly: P is a
# model's estimate at its training set's mix of cases, the threshold the line it is judged by;
# a "confidence" is only said for the class shown when it is at least even.
AT_OR_ABOVE = N_("P(pneumonia) = {p}, at or above the threshold {threshold}.")
BELOW = N_("P(pneumonia) = {p}, below the threshold {threshold}.")
# With a refer band deciding, the verdict's side is the band's, not the (waiting) threshold's.
AT_OR_ABOVE_BAND = N_("P(pneumonia) = {p}, at or above the refer band {low} to {high}.")
BELOW_BAND = N_("P(pneumonia) = {p}, below the refer band {low} to {high}.")
CONFIDENCE = N_("Confidence {confidence}.")
INSIDE_BAND = N_("P(pneumonia) = {p}, inside the refer band {low} to {high}: the model is not sure "
                 "enough to answer; have a person read this image.")
# What a refer band promises, and what it does not (the threshold panel, the About box, reports).
PROMISE_CLASS = N_("Refer band {low} to {high}: with {confidence} confidence, at most {missed} of "
                   "pneumonias are called normal and at most {false_alarm} of normals are called "
                   "pneumonia; images between are referred to a human reader.")
PROMISE_DECIDED = N_("Refer band {low} to {high}: with {confidence} confidence, at most {missed} "
                     "of normal calls and at most {false_alarm} of pneumonia calls are wrong; "
                     "images between are referred to a human reader.")
PROMISE_LIMIT = N_("This holds for images like the {n} it was certified on; a new site needs its "
                   "own band (Cases > Calibrate for this site).")
BORDERLINE = {
    Outcome.NORMAL: N_("Borderline: the model leans to pneumonia, but not as far as the "
                       "threshold."),
    Outcome.PNEUMONIA: N_("Borderline: the model leans to normal, but the threshold is lower."),
}
P_MEANS_SHARE = N_("P is the model's estimate for an image like its training images, {share} of "
                   "which showed pneumonia; it is not this patient's chance of having it.")
P_MEANS_ASSUMED = N_("P is the model's estimate where {share} of images like this show pneumonia; "
                     "it is not this patient's chance of having it.")
P_MEANS_SITE = N_("P is the site profile {name}'s estimate where {share} of images like this "
                  "show pneumonia (the share among the cases it was fitted on); it is not this "
                  "patient's chance of having it.")
P_MEANS_SITE_UNKNOWN = N_("P is the site profile {name}'s estimate, refitted on its own cases; it "
                          "is not this patient's chance of having pneumonia.")
P_MEANS = N_("P is the model's estimate for an image like its training images; it is not this "
             "patient's chance of having pneumonia.")


@dataclass(frozen=True)
class Wording:
    """One result in words, at one threshold, in the current language."""

    kind: str  # one of VERDICT_KINDS
    verdict: str  # "PNEUMONIA", "No verdict", "Could not classify"
    table_verdict: str  # "▲ PNEUMONIA", "▲ PNEUMONIA ◆" (unusual), "⊘ No verdict", "✕ Error"
    line_verdict: str  # a text line's first word: "PNEUMONIA", "NO VERDICT", "ERROR"
    probability: str  # "0.873", "—" where no verdict is shown
    report_probability: str  # the same in a report and a text line ("—": no P is shown)
    confidence: float | None  # of the class shown; None without a verdict or below even odds
    detail: str  # under the verdict in the result pane and a report: P against the threshold
    status: str  # the table's status column: "Classified", the scope's reason, the error
    scope: str  # the scope state in words with its reason ("" unread or not checked)
    scope_mark: str  # "✓ In scope…" etc. for the pane ("" when there is nothing to say)
    scope_kind: str | None  # IN_SCOPE, UNUSUAL, NOT_CHEST_XRAY, "unchecked"; None unread
    scope_reason: str  # the reason alone ("" when none)
    line_note: str  # after a text line's path: the error, the reason, "unusual: reason"
    problem: str  # why the file could not be classified, else ""


def verdict_label(verdict: str | None, mark: bool = True) -> str:
    """A verdict alone in words (a stored case's, a reader's button), with its table mark."""
    kind = Outcome.UNREADABLE if verdict is None else verdict
    text = _words(kind)
    return f"{VERDICT_MARKS[kind]} {text}" if mark and kind in VERDICT_MARKS else text


def describe(result: Result, session: Session, *, patient_facts: bool = True) -> Wording:
    """The words for ``result`` at ``session``'s threshold. ``patient_facts=False`` (a report
    that leaves the computer: the archive's PDF) says the scope without the patient's age
    (``desktop.engine.scope.without_patient_facts``)."""
    if not result.ok:
        problem = result.error.user_message() if result.error is not None else ""
        return Wording(
            kind=Outcome.UNREADABLE, verdict=_words(Outcome.UNREADABLE),
            table_verdict=f"{VERDICT_MARKS[Outcome.UNREADABLE]} "
            + gettext(SHORT_WORDS[Outcome.UNREADABLE]),
            line_verdict=gettext(LINE_WORDS[Outcome.UNREADABLE]), probability="—",
            report_probability=_probability(result.p_pneumonia), confidence=None,
            detail=problem, status=problem, scope=problem, scope_mark="", scope_kind=None,
            scope_reason="", line_note=problem, problem=problem)
    scope = result.scope if patient_facts else without_patient_facts(result.scope)
    state = scope.state if scope is not None else None
    reason = scope.reason.user_message() if scope is not None and scope.reason else ""
    scope_mark = "" if scope is None else (
        f"{SCOPE_MARKS.get(state, UNCHECKED_MARK)} " + scope_text(scope, name_withheld=False))
    common = dict(scope=scope_text(scope),
                  scope_mark=scope_mark, scope_kind=None if scope is None else
                  (state or "unchecked"), scope_reason=reason, problem="")
    if withheld(result):
        return Wording(
            kind=Outcome.WITHHELD, verdict=_words(Outcome.WITHHELD),
            table_verdict=f"{VERDICT_MARKS[Outcome.WITHHELD]} "
            + gettext(SHORT_WORDS[Outcome.WITHHELD]),
            line_verdict=gettext(LINE_WORDS[Outcome.WITHHELD]), probability="—", confidence=None,
            report_probability="—",
            detail=gettext(NO_VERDICT_DETAIL), status=scope_text(scope, name_withheld=False),
            line_note=reason, **common)
    kind = session.verdict(result)
    if kind is Outcome.REFER:
        band = session.band
        return Wording(
            kind=kind, verdict=_words(kind),
            table_verdict=f"{VERDICT_MARKS[kind]} " + gettext(SHORT_WORDS[kind]) + (
                f" {UNUSUAL_MARK}" if state == UNUSUAL else ""),
            report_probability=_probability(result.p_pneumonia),
            line_verdict=gettext(LINE_WORDS[kind]), probability=_probability(result.p_pneumonia),
            confidence=None,
            detail=gettext(INSIDE_BAND).format(p=_probability(result.p_pneumonia),
                                               low=format_threshold(band.t_low),
                                               high=format_threshold(band.t_high)),
            status=scope_text(scope) if state == UNUSUAL else gettext("Referred"),
            line_note=gettext("unusual: {reason}").format(reason=reason)
            if state == UNUSUAL else "", **common)
    confidence = session.confidence(result)
    if confidence is not None and confidence < 0.5:  # the threshold decided against the lean
        confidence, lean = None, gettext(BORDERLINE[kind])
    else:
        lean = gettext(CONFIDENCE).format(confidence=percent(confidence))
    p, band = _probability(result.p_pneumonia), session.band
    if band is not None:
        side = gettext(AT_OR_ABOVE_BAND if kind == POSITIVE else BELOW_BAND).format(
            p=p, low=format_threshold(band.t_low), high=format_threshold(band.t_high))
    else:
        side = gettext(AT_OR_ABOVE if kind == POSITIVE else BELOW).format(
            p=p, threshold=format_threshold(session.threshold))
    table = f"{VERDICT_MARKS[kind]} " + _words(kind)
    status, note = gettext("Classified"), ""
    if state == UNUSUAL:
        table += f" {UNUSUAL_MARK}"
        status = scope_text(scope)
        note = gettext("unusual: {reason}").format(reason=reason)
    return Wording(
        kind=kind, verdict=_words(kind), table_verdict=table,
        report_probability=_probability(result.p_pneumonia),
        line_verdict=kind, probability=_probability(result.p_pneumonia), confidence=confidence,
        detail=side + " " + lean,
        status=status, line_note=note, **common)


def band_promise(band) -> str:
    """What the refer band in force promises, and for which images, in one or two sentences
    (``band``: a ``desktop.referband.ReferBand``)."""
    text = PROMISE_CLASS if band.guarantee == CLASS else PROMISE_DECIDED
    return gettext(text).format(
        low=format_threshold(band.t_low), high=format_threshold(band.t_high),
        confidence=percent(band.confidence), missed=percent(band.low_limit),
        false_alarm=percent(band.high_limit)) + " " + gettext(PROMISE_LIMIT).format(
        n=band.n_normal + band.n_pneumonia)


def p_meaning(card: dict | None, site=None) -> str:
    """What P(pneumonia) is: with a site profile in force (``site``, the session's
    ``SiteCalibration``), an estimate at the share of pneumonia among the cases the profile was
    fitted on; else, from the model's card, at the prevalence its calibration assumes
    (``calibration.prevalence_assumed``), else at the training set's share of pneumonia (when
    the card gives its counts); never the patient's own chance."""
    if site is not None:
        if site.prevalence is None:
            return gettext(P_MEANS_SITE_UNKNOWN).format(name=site.name)
        return gettext(P_MEANS_SITE).format(name=site.name, share=percent(site.prevalence))
    assumed = ((card or {}).get("calibration") or {}).get("prevalence_assumed")
    if isinstance(assumed, (int, float)) and 0 < assumed < 1:
        return gettext(P_MEANS_ASSUMED).format(share=percent(assumed))
    counts = ((card or {}).get("data") or {}).get("counts") or {}
    train = counts.get("train") or {}
    try:
        total = sum(int(v) for v in train.values())
        share = int(train[POSITIVE]) / total
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return gettext(P_MEANS)
    return gettext(P_MEANS_SHARE).format(share=percent(share))


def _words(kind: str) -> str:
    """A kind's word: a class's translated name (one function for every text), else its own."""
    return class_name(kind) if kind in (Outcome.NORMAL, Outcome.PNEUMONIA) else gettext(
        VERDICT_WORDS.get(kind, kind))


def _probability(p: float | None) -> str:
    """P as people read it: three decimals in the current language ("0,873" in es)."""
    return "—" if p is None else format_decimal(p, 3)
