"""Teaching mode ("read first"): the reader's own read is recorded before the model's answer is
shown, then compared. Labels come from the folder an image lies in (``NORMAL/``, ``PNEUMONIA/``,
the training layout), or from the confirmed diagnoses of the history. The reads are kept in the
history's own ``teaching_reads`` table, apart from the clinic's cases (a class's reads are not
the clinic's record). The summary -- reader vs confirmed, model vs confirmed, reader vs model,
and the two confusion tables -- is computed here, for the window and for export alike; the
export lists each image too.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from desktop.cases.calibration import Rate
from desktop.cases.store import TeachingRead
from desktop.outcomes import Outcome

LABELS = ("NORMAL", "PNEUMONIA")  # a folder's label, a read, a confirmed diagnosis
LABELLED_FOLDER = "labelled folder"  # how a label from the folder was confirmed (stored as is)


def folder_label(path: Path, levels: int = 3) -> str | None:
    """``NORMAL`` / ``PNEUMONIA`` when one of the file's nearest folders is named so."""
    for parent in list(Path(path).parents)[:levels]:
        if parent.name.upper() in LABELS:
            return parent.name.upper()
    return None


@dataclass(frozen=True)
class ReaderSummary:
    reads: int
    reader_vs_confirmed: Rate
    model_vs_confirmed: Rate
    reader_vs_model: Rate
    reader_table: dict[tuple[str, str], int]  # (confirmed, reader's read) -> cases
    model_table: dict[tuple[str, str], int]  # (confirmed, model's verdict) -> cases
    images: tuple[TeachingRead, ...] = ()  # each image read, oldest first
    referred: Rate = Rate.of(0, 0)  # REFER among the images the model answered (a P, no
    # withheld), counted apart from its verdicts
    referred_table: dict[str, int] | None = None  # confirmed -> cases the model referred


def summarize(rows: list[TeachingRead]) -> ReaderSummary:
    """Over the images read first (one read per image: the newest)."""
    newest: dict[str, TeachingRead] = {}
    for row in rows:
        if row.reader_read in LABELS and (row.sha256 not in newest or
                                          row.created >= newest[row.sha256].created):
            newest[row.sha256] = row
    cases = sorted(newest.values(), key=lambda r: r.created)
    known = [r for r in cases if r.confirmed in LABELS]
    judged = [r for r in cases if r.verdict in (Outcome.NORMAL, Outcome.PNEUMONIA)]
    both = [r for r in known if r.verdict in (Outcome.NORMAL, Outcome.PNEUMONIA)]
    answered = [r for r in cases if r.verdict in (Outcome.NORMAL, Outcome.PNEUMONIA,
                                                  Outcome.REFER)]
    referred = [r for r in answered if r.verdict == Outcome.REFER]
    reader_table = {(c, r): 0 for c in LABELS for r in LABELS}
    model_table = dict(reader_table)
    for row in known:
        reader_table[(row.confirmed, row.reader_read)] += 1
    for row in both:
        model_table[(row.confirmed, row.verdict)] += 1
    return ReaderSummary(
        reads=len(cases),
        reader_vs_confirmed=Rate.of(sum(r.reader_read == r.confirmed for r in known), len(known)),
        model_vs_confirmed=Rate.of(sum(r.verdict == r.confirmed for r in both), len(both)),
        reader_vs_model=Rate.of(sum(r.reader_read == r.verdict for r in judged), len(judged)),
        reader_table=reader_table, model_table=model_table, images=tuple(cases),
        referred=Rate.of(len(referred), len(answered)),
        referred_table={label: sum(r.confirmed == label for r in referred)
                        for label in LABELS})


def summary_csv_text(summary: ReaderSummary) -> str:
    """The summary as CSV: the three agreements, both confusion tables, then each image (what
    a teacher goes through with the class: file, the reader's read, the model's, confirmed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["measure", "agree", "of", "share", "ci_low", "ci_high"])
    for name, rate in (("reader_vs_confirmed", summary.reader_vs_confirmed),
                       ("model_vs_confirmed", summary.model_vs_confirmed),
                       ("reader_vs_model", summary.reader_vs_model),
                       ("model_referred", summary.referred)):
        writer.writerow([name, rate.k, rate.n, *(f"{v:.4f}" for v in (
            rate.value if rate.n else 0.0, rate.low, rate.high))])
    writer.writerow([])
    writer.writerow(["table", "confirmed", "called", "cases"])
    for name, table in (("reader", summary.reader_table), ("model", summary.model_table)):
        for (confirmed, called), count in table.items():
            writer.writerow([name, confirmed, called, count])
    for confirmed, count in (summary.referred_table or {}).items():
        writer.writerow(["model", confirmed, Outcome.REFER, count])
    writer.writerow([])
    writer.writerow(["file", "reader_read", "model_verdict", "p_pneumonia", "confirmed",
                     "read_at"])
    for image in summary.images:
        writer.writerow([image.file_name, image.reader_read, image.verdict or "",
                         "" if image.p is None or image.verdict is None else f"{image.p:.4f}",
                         image.confirmed or "", image.created])
    return buffer.getvalue()
