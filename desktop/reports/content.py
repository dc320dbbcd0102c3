"""What a PDF report says, in the current language: one image's report and a batch's. No Tk, no
PDF library: ``desktop.reports.pdf`` lays this out; the window (File → Save report…, Save batch
report…) and ``python -m desktop predict --report`` build their content here, from the same
``Session`` that labels the table, so a report cannot say another verdict than the screen.

Every report carries the verdict (or "no verdict" and why), P(pneumonia), the scope and its
reason, the threshold with its operating point and validation figures, the model's name,
version and sha256 prefix, the date, and the disclaimer. The patient's name and ID appear only
when the user has turned on ``Settings.show_identifiers``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.engine.results import Result
from desktop.engine.scope import IN_SCOPE, NOT_CHEST_XRAY, UNUSUAL
from desktop.engine.session import Session
from desktop.engine.threshold import SITE_POINT, ThresholdPolicy, format_threshold
from desktop.i18n import gettext
from desktop.outcomes import DECISIONS, Outcome
from desktop.reports.image_info import identifier_rows, info_rows
from desktop.reports.labels import (
    DISCLAIMER,
    app_version,
    operating_point_figures,
    operating_point_label,
    operating_point_rule,
    point_figures_text,
)
from desktop.reports.wording import band_promise, describe, p_meaning

SHA_PREFIX = 12  # hex digits of the model's sha256 a report shows
# The shape of a verdict (desktop.reports.wording.VERDICT_KINDS) and of a scope state (drawn,
# never a glyph the font may lack).
SCOPE_KINDS = (IN_SCOPE, UNUSUAL, NOT_CHEST_XRAY, "unchecked")
VERDICTS = DECISIONS  # the kinds whose P is set against the threshold or band in words

Rows = list[tuple[str, str]]


@dataclass(frozen=True)
class Entry:
    """One file as a report shows it."""

    name: str
    path: Path
    fingerprint: str | None  # of the model input classified: a re-read must give it again
    verdict_kind: str  # one of VERDICT_KINDS
    verdict: str
    probability: str  # "0.873", or "—" when the file could not be read
    result_line: str  # "P(pneumonia) = 0.873 · Confidence 87%", or inside the refer band ("":
    # unreadable, withheld)
    scope_kind: str | None  # one of SCOPE_KINDS; None when the file could not be read
    scope: str  # the state in words, with its reason
    problem: str  # why the file could not be classified, else ""
    identifiers: str = ""  # "Patient: Doe, Jane · ID H-123" when shown, else ""


@dataclass
class SingleReport:
    title: str
    created: str
    entry: Entry
    image: Any  # PIL image as the viewer showed it (at a higher resolution), or None
    image_caption: str  # zoom, window, heatmap
    image_note: str  # why there is no image, else ""
    heatmap_shown: bool
    heatmap_caption: str
    threshold: Rows
    facts: Rows  # the file's facts (desktop.reports.image_info)
    model: Rows
    headings: dict[str, str]
    disclaimer: str


@dataclass
class BatchReport:
    title: str
    created: str
    summary: str  # the status bar's sentence
    counts: Rows
    threshold: Rows
    model: Rows
    entries: list[Entry]
    columns: list[str]  # image, file, verdict, P(pneumonia), scope
    headings: dict[str, str]
    disclaimer: str
    show_identifiers: bool = False
    notes: dict[str, str] = field(default_factory=dict)  # texts for missing thumbnails
    scope_note: str = ""  # said once when no image was checked (a model without a check)


def created_text(now: dt.datetime | None = None) -> str:
    """"Created 2026-12-01 14:03" in local time."""
    now = now or dt.datetime.now().astimezone()
    return gettext("Created {date}").format(date=now.strftime("%Y-%m-%d %H:%M"))


def model_rows(card: dict | None, sha256: str) -> Rows:
    """The model as a report names it: name and version, the sha256 prefix, the app."""
    card = card or {}
    name = f"{card.get('model_name', '?')} {card.get('model_version', '')}".strip()
    digest = f"{sha256[:SHA_PREFIX]}…" if sha256 else "?"
    return [(gettext("Model"), name), (gettext("Model file SHA-256"), digest),
            (gettext("Application"), gettext("Version {version}").format(
                version=app_version()))]


def threshold_rows(policy: ThresholdPolicy, card: dict | None = None, site=None) -> Rows:
    """The refer band in force and what it promises (when one decides), the threshold, the
    operating point it is (or "custom"), and its figures; with the model's card, what
    P(pneumonia) means; the site profile in force (``desktop.engine.site.SiteCalibration``),
    when there is one."""
    band = policy.active_band
    rows = [(gettext("Refer band"), band_promise(band))] if band is not None else []
    rows.append((gettext("Threshold"), format_threshold(policy.threshold)))
    if card is not None:
        rows.append((gettext("What P means"), p_meaning(card, site)))
    if site is not None:
        rows.append((gettext("Site profile"), gettext(
            "{name}: P recalibrated on this site's confirmed cases").format(name=site.name)))
    point = policy.point(policy.preset)
    if point is None:
        rows.append((gettext("Operating point"),
                     gettext("Custom threshold: no validation figures for this value.")))
        return rows
    text = operating_point_label(point["name"])
    if point.get("rule"):
        text += f" ({operating_point_rule(point['rule'])})"
    rows.append((gettext("Operating point"), text))
    if point["name"] == SITE_POINT:
        figures = point_figures_text(point, card, site)
        rows += [(gettext("Site profile"), figures)] if figures else []
    else:  # a card point, mapped onto a profile's P: the same images flagged, the same figures
        rows += operating_point_figures(point, card)
    return rows


def entry(result: Result, session: Session, *, show_identifiers: bool = False,
          patient_facts: bool = True) -> Entry:
    """One result at the session's threshold, in the current language (``patient_facts``: as
    ``single_report``)."""
    words = describe(result, session, patient_facts=patient_facts)
    ids = identifier_rows(result.source, show_identifiers=True) if show_identifiers else []
    return Entry(
        name=result.path.name, path=result.path, fingerprint=result.fingerprint,
        verdict_kind=words.kind, verdict=words.verdict,
        probability=words.report_probability,
        result_line=words.detail if words.kind in VERDICTS else "",
        scope_kind=words.scope_kind, scope=words.scope, problem=words.problem,
        identifiers=" · ".join(f"{label}: {value}" for label, value in ids),
    )


def _headings() -> dict[str, str]:
    return {"result": gettext("Result"), "threshold": gettext("Decision threshold"),
            "facts": gettext("Image information"), "model": gettext("Model"),
            "image": gettext("Image"), "summary": gettext("Summary"),
            "files": gettext("Files, in the order of the table"),
            "low": gettext("low"), "high": gettext("high")}


def single_report(result: Result, session: Session, card: dict | None, sha256: str, *,
                  image=None, image_caption: str = "", heatmap_shown: bool = False,
                  show_identifiers: bool = False, patient_facts: bool = True,
                  now: dt.datetime | None = None) -> SingleReport:
    """The report of one image: ``image`` is what the viewer shows (zoom, window, heatmap).
    ``patient_facts=False`` says nothing the file tells of the patient but, with
    ``show_identifiers``, the name and ID: no age or sex among the facts, no age in the scope's
    reason (the Encapsulated PDF sent to the archive, ``desktop.reports.dicom_pdf``); the report
    saved on this computer keeps them."""
    note = ""
    if image is None:
        note = (gettext("No image: the file could not be read.") if not result.ok
                else gettext("No image: the preview was not available when the report was "
                             "saved."))
    return SingleReport(
        title=gettext("Chest X-ray: model result"),
        created=created_text(now),
        entry=entry(result, session, show_identifiers=show_identifiers,
                    patient_facts=patient_facts),
        image=image, image_caption=image_caption, image_note=note,
        heatmap_shown=heatmap_shown and image is not None,
        heatmap_caption=gettext("Grad-CAM: the regions that raised P(pneumonia) most. It shows "
                                "where the model looked, not where the disease is."),
        threshold=threshold_rows(session.policy, card, session.site),
        facts=info_rows(result.source, show_identifiers=show_identifiers,
                        patient_facts=patient_facts),
        model=model_rows(card, sha256),
        headings=_headings(),
        disclaimer=gettext(DISCLAIMER),
    )


def with_image(report: SingleReport, image, *, heatmap_shown: bool) -> SingleReport:
    """``report`` with its picture, made after its words (``desktop.reports.dicom_pdf``: the
    words are taken on the window's thread with the result's row, the picture made on the
    sending thread); ``heatmap_shown`` as ``single_report`` takes it."""
    return dataclasses.replace(report, image=image, image_note="" if image is not None
                               else report.image_note,
                               heatmap_shown=heatmap_shown and image is not None)


def batch_report(results: list[Result], session: Session, card: dict | None, sha256: str, *,
                 show_identifiers: bool = False, now: dt.datetime | None = None
                 ) -> BatchReport:
    """The report of many files, one row each in the order given (the table's)."""
    counts = session.counts()
    count_rows = [
        (gettext("Files"), str(len(session.results))),
        (gettext("PNEUMONIA"), str(counts[Outcome.PNEUMONIA])),
        (gettext("NORMAL"), str(counts[Outcome.NORMAL])),
        *([(gettext("Referred to a human reader"), str(counts[Outcome.REFER]))]
          if session.band is not None or counts[Outcome.REFER] else []),
        (gettext("No verdict (not chest X-rays)"), str(counts[Outcome.WITHHELD])),
        (gettext("Marked unusual"), str(counts["unusual"])),
        (gettext("Not classified (unreadable)"), str(counts[Outcome.UNREADABLE])),
    ]
    entries = [entry(r, session, show_identifiers=show_identifiers) for r in results]
    scope_note = ""
    kinds = {e.scope_kind for e in entries} - {None}
    if kinds == {"unchecked"}:  # one sentence for all, not the same one on every row
        scope_note = next(e.scope for e in entries if e.scope_kind == "unchecked")
        entries = [dataclasses.replace(e, scope=gettext("not checked"))
                   if e.scope_kind == "unchecked" else e for e in entries]
    return BatchReport(
        title=gettext("Chest X-rays: model results"),
        created=created_text(now),
        summary=session.summary(),
        counts=count_rows,
        threshold=threshold_rows(session.policy, card, session.site),
        model=model_rows(card, sha256),
        entries=entries,
        columns=[gettext("Image"), gettext("File"), gettext("Verdict"), gettext("P(pneumonia)"),
                 gettext("Scope")],
        headings=_headings(),
        disclaimer=gettext(DISCLAIMER),
        show_identifiers=show_identifiers,
        notes={"missing": gettext("no image"), "changed": gettext("file changed")},
        scope_note=scope_note,
    )


def page_text(page: int, pages: int) -> str:
    return gettext("Page {page} of {pages}").format(page=page, pages=pages)
