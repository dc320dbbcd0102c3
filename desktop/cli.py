"""``python -m desktop predict``: classify files and folders without a window.

One line per file, in the order given (folders expanded, see ``desktop.files``). Text lines are
for people (messages in ``--lang``, else the system language); ``--json`` lines and the ``--csv``
file are for programs (English error messages, so they read the same everywhere). The exit
status is non-zero only when nothing could be classified (or the requested CSV could not be
written).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop.errors import N_, UserError, WriteError
from desktop.i18n import LANGUAGES, gettext, ngettext, set_language, system_language

log = logging.getLogger(__name__)

CSV_COLUMNS = ("file", "path", "verdict", "p_pneumonia", "threshold", "error")
EXIT_OK, EXIT_NOTHING_CLASSIFIED = 0, 1

NO_FILES = N_("No image files were found. Name image files or folders that contain them.")
NOTHING_CLASSIFIED = N_("No file could be classified.")
DISCLAIMER = N_("Research and teaching tool. Not for clinical diagnosis.")


def threshold_type(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from desktop.inference import DEFAULT_MODEL_PATH

    parser = argparse.ArgumentParser(
        prog="python -m desktop predict",
        description="Classify chest X-ray files (NORMAL / PNEUMONIA) without the window. "
        "Research and teaching tool. Not for clinical diagnosis.",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER",
                        help="image files (JPEG, PNG, BMP, TIFF, DICOM) or folders to scan")
    parser.add_argument("--threshold", type=threshold_type, default=None, metavar="T",
                        help="P(pneumonia) at or above which the verdict is PNEUMONIA "
                        "(default: the model card's default operating point)")
    parser.add_argument("--csv", type=Path, metavar="OUT",
                        help="also write the results to this CSV file (written atomically)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per line: path, verdict, p_pneumonia, "
                        "threshold, error")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH, metavar="PATH",
                        help="model file, with its .sha256 beside it (default: %(default)s)")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default=None,
                        help="language of the text output (default: the system's)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from desktop.logs import setup_logging

    setup_logging()
    set_language(args.lang or system_language())
    try:
        return _run(args)
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from desktop.files import collect_images
    from desktop.inference import Engine

    files = collect_images(args.paths)
    if not files:
        _err(gettext(NO_FILES))
        return EXIT_NOTHING_CLASSIFIED
    try:
        engine = Engine.load(args.model)
    except UserError as exc:
        _err(exc.user_message())
        return EXIT_NOTHING_CLASSIFIED
    threshold = engine.default_threshold if args.threshold is None else args.threshold
    rows = []
    for prediction in engine.predict_paths(files, preview_size=None):
        row = result_row(prediction, threshold)
        rows.append(row)
        if args.json:
            print(json.dumps({k: row[k] for k in ("path", "verdict", "p_pneumonia", "threshold",
                                                  "error")}), flush=True)
        else:
            print(text_line(prediction, threshold), flush=True)
    classified = sum(1 for row in rows if row["verdict"] is not None)
    if not args.json:
        total = len(rows)
        summary = ngettext("{ok} of {total} file classified.",
                           "{ok} of {total} files classified.", total)
        _err(summary.format(ok=classified, total=total) + " " + gettext(DISCLAIMER))
    if args.csv is not None:
        try:
            write_csv(args.csv, rows)
        except UserError as exc:
            _err(exc.user_message())
            return EXIT_NOTHING_CLASSIFIED
    if classified == 0:
        _err(gettext(NOTHING_CLASSIFIED))
        return EXIT_NOTHING_CLASSIFIED
    return EXIT_OK


def result_row(prediction, threshold: float) -> dict:
    """The machine-readable record of one file (English error text)."""
    return {
        "file": prediction.path.name,
        "path": str(prediction.path),
        "verdict": prediction.verdict(threshold),
        "p_pneumonia": round(prediction.p_pneumonia, 6) if prediction.ok else None,
        "threshold": threshold,
        "error": None if prediction.ok else str(prediction.error),
    }


def text_line(prediction, threshold: float) -> str:
    path = _one_line(str(prediction.path))
    if prediction.ok:
        return f"{prediction.verdict(threshold):<9}  {prediction.p_pneumonia:.3f}  {path}"
    label = gettext("ERROR")
    return f"{label:<9}  {'-':>5}  {path}: {prediction.error.user_message()}"


def write_csv(path: Path, rows: list[dict]) -> None:
    """The same columns as the window's "Export CSV"; written atomically."""
    from desktop.atomicio import atomic_write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([
            row["file"],
            row["path"],
            row["verdict"] or "",
            f"{row['p_pneumonia']:.4f}" if row["p_pneumonia"] is not None else "",
            f"{row['threshold']:.4f}",
            row["error"] or "",
        ])
    try:
        atomic_write_text(path, buffer.getvalue())
    except OSError as exc:
        log.exception("Cannot write %s", path)
        raise WriteError(name=str(path)) from exc


def _one_line(text: str) -> str:
    """File names may hold newlines or tabs; keep one line per file."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
