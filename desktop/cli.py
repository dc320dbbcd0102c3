"""``python -m desktop predict``: classify files and folders without a window.

One line per file, in the order given (folders expanded, see ``desktop.reading.files``). Text
lines are for people (messages in ``--lang``, else the system language; the words come from
``desktop.reports.wording``, as in the window); ``--json`` lines and the ``--csv`` file are for
programs (English error messages, so they read the same everywhere). stderr holds our own
sentences only: the summary, what the folder scan skipped and why, errors; what C decoders print
there goes to the log (``desktop.logs.native_stderr_to_log``). ``--report`` writes the window's
batch report (``desktop.reports.content``), rows in the order given; patient names and IDs
appear in it only with ``--show-identifiers``. The command takes its options from its arguments
only, never from the window's saved settings, with two exceptions: the site profile made active
(in the window or by ``calibrate --activate``) applies here too, so a clinic's calibration gives
the same verdicts everywhere; ``--profile FILE`` names another, ``--no-profile`` uses none, and
stderr says which is in force; and ``--send`` without ``--to`` sends to the archive saved in the
window (over TLS with the files saved with it; ``--tls-ca``/``--tls-cert``/``--tls-key`` name
others). Where a refer band is in force (the profile's, or the model card's), it decides: REFER
between its thresholds; ``--no-refer`` turns it off, and so does an explicit ``--threshold`` or
``--operating-point`` (said once on stderr): then the single threshold decides. ``--send`` writes
a DICOM SR for each DICOM image into the outbox as it is classified (``--picture`` adds the
report picture as a Secondary Capture, ``--pdf`` the image's own report in the output's
language as an Encapsulated PDF: never the batch report), then sends them
(``desktop.cli_send.ResultSender``, as ``dicom send`` does); what cannot be delivered now waits
in the outbox, said on stderr. The exit status is non-zero only when no file got a verdict or a
referral (or the requested CSV or report could not be written, or --send names no archive or a TLS
file that does not load).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop.errors import N_, UserError
from desktop.i18n import LANGUAGES, gettext, set_language, system_language
from desktop.reports.labels import DISCLAIMER
from desktop.reports.wording import describe
from desktop.safetext import for_terminal, one_line

log = logging.getLogger(__name__)

EXIT_OK, EXIT_NOTHING_CLASSIFIED = 0, 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl+C
INTERRUPTED = N_("Interrupted; the files the command writes at its end were not written.")

NO_FILES = N_("No image files were found. Name image files or folders that contain them.")
NOTHING_CLASSIFIED = N_("No file got a verdict.")
NO_SCOPE_CHECK = N_("This model has no scope check: nothing says whether the images are chest "
                    "X-rays like its training images.")
REPORT_WRITTEN = N_("Report written to {path}.")
BAND_OFF = N_("The refer band is off because a threshold was chosen: that threshold decides "
              "every image (leave out --threshold and --operating-point to have uncertain images "
              "referred).")


def threshold_type(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from desktop.modelfile import default_model_path

    parser = argparse.ArgumentParser(
        prog="python -m desktop predict",
        description="Classify chest X-ray files (NORMAL / PNEUMONIA) without the window. "
        "Research and teaching tool. Not for clinical diagnosis.",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER",
                        help="image files (JPEG, PNG, BMP, TIFF, DICOM) or folders to scan")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--threshold", type=threshold_type, default=None, metavar="T",
                        help="P(pneumonia) at or above which the verdict is PNEUMONIA, on the "
                        "site profile's P when one is in force (default: the profile's "
                        "threshold, else the model card's default operating point)")
    choice.add_argument("--operating-point", metavar="NAME",
                        help="one of the model card's operating points (e.g. balanced, "
                        "high_sensitivity), at its exact threshold; with a site profile in "
                        "force, mapped onto the profile's P (the same images flagged), or "
                        "'site' for the profile's own")
    parser.add_argument("--csv", type=Path, metavar="OUT",
                        help="also write the results to this CSV file (written atomically; "
                        "the same columns as the window's Export CSV)")
    parser.add_argument("--report", type=Path, metavar="OUT.pdf",
                        help="also write a PDF report: the counts, then one row per file "
                        "(thumbnail, verdict, P, scope), as the window's Save batch report")
    parser.add_argument("--show-identifiers", action="store_true",
                        help="put the patient's name and ID (from DICOM files) in the --report "
                        "PDF and the --pdf reports (default: left out)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per line: path, verdict, p_pneumonia, "
                        "threshold, error")
    parser.add_argument("--model", type=Path, default=default_model_path(), metavar="PATH",
                        help="model file, with its .sha256 beside it (default: %(default)s)")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default=None,
                        help="language of the text output (default: the system's)")
    history = parser.add_mutually_exclusive_group()
    history.add_argument("--no-history", action="store_true",
                         help="do not record the results in the case history")
    history.add_argument("--history", type=Path, metavar="PATH",
                         help="record into this history database instead of the user's")
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--profile", type=Path, metavar="FILE",
                         help="apply this site profile (from 'python -m desktop calibrate'); "
                         "default: the profile made active in the window or by 'calibrate "
                         "--activate' (the only setting of the window this command takes)")
    profile.add_argument("--no-profile", action="store_true",
                         help="use the model's own calibration and thresholds")
    parser.add_argument("--no-refer", action="store_true",
                        help="no refer band: the single threshold decides every image (an "
                        "explicit --threshold or --operating-point also turns the band off)")
    from desktop.cli_send import (
        PDF_HELP,
        PICTURE_HELP,
        add_tls_arguments,
        aet_type,
        destination_type,
    )

    parser.add_argument("--send", action="store_true",
                        help="also send each DICOM image's result (a DICOM SR) to the archive; "
                        "what it cannot take now waits in the outbox ('python -m desktop dicom "
                        "outbox')")
    parser.add_argument("--to", type=destination_type, metavar="AET@HOST:PORT",
                        help="with --send: the archive (default: the one saved in the window, "
                        "Cases → DICOM archive and outbox…)")
    parser.add_argument("--calling-aet", type=aet_type, default=None, metavar="AET",
                        help="with --send: this computer's AE title (default: the saved one)")
    parser.add_argument("--picture", action="store_true", help="with --send: " + PICTURE_HELP)
    parser.add_argument("--pdf", action="store_true", help="with --send: " + PDF_HELP)
    add_tls_arguments(parser, before="with --send: ")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.send and (args.to is not None or args.calling_aet is not None or args.picture
                          or args.pdf or args.tls_ca or args.tls_cert or args.tls_key):
        parser.error("--to, --calling-aet, --picture, --pdf and --tls-* go with --send")
    from desktop.logs import native_stderr_to_log, setup_logging

    setup_logging()
    set_language(args.lang or system_language())
    try:
        with native_stderr_to_log():
            return _run(args)
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:  # Ctrl+C: what was printed is recorded; no traceback
        _err(gettext(INTERRUPTED))
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from desktop.cases.recorder import Recorder, classified_rows
    from desktop.cli_send import ResultSender, archive_chosen
    from desktop.engine.results import write_csv
    from desktop.reading.files import scan

    if args.send and not archive_chosen(args):
        return 2
    found = scan(args.paths)
    files, skipped = found.files, found.skipped.summary()
    if not files:
        _err(gettext(NO_FILES))
        if skipped:
            _err(skipped)
        return EXIT_NOTHING_CLASSIFIED
    try:
        _check_outputs(args, files)
    except UserError as exc:  # e.g. --csv naming the history: refused before anything is done
        _err(exc.user_message())
        return EXIT_NOTHING_CLASSIFIED
    loaded = engine_and_session(args)
    if loaded is None:
        return EXIT_NOTHING_CLASSIFIED
    engine, session = loaded
    policy = session.policy
    if args.operating_point is not None and not policy.choose(args.operating_point):
        names = ", ".join(p["name"] for p in policy.points) or "none"
        _err(f"--operating-point: the model has no operating point {args.operating_point!r} "
             f"(it has: {names}).")
        return 2
    if args.threshold is not None:
        policy.set_custom(args.threshold)
    _choose_refer(args, session)
    if session.site is not None:  # said with the threshold in force, the summary's own
        from desktop.cases.profile import in_force_sentence

        _err(in_force_sentence(session.site, policy.threshold).user_message())
    if session.band is not None:
        from desktop.reports.wording import band_promise

        _err(band_promise(session.band))
    recorder = None if args.no_history else Recorder(
        args.history, notify=lambda sentence: _err(sentence.user_message()))
    model_version = engine.metadata.get("model_version")
    # each file recorded (committed) before its line is printed; with --send its SR queued
    # in the outbox as it is classified, and sent when all are
    with ResultSender(args, engine, session) if args.send else nullcontext() as sending:
        for row, result in classified_rows(engine, files, session, recorder,
                                           model_version=model_version, origin="predict"):
            if args.json:
                print(json.dumps(row.as_json()), flush=True)
            else:
                print(text_line(session, result), flush=True)
            if sending is not None:
                sending.take(row, result)
    counts = session.counts()
    classified = counts["NORMAL"] + counts["PNEUMONIA"] + counts["REFER"]  # an answer each
    if not args.json:
        _err(session.summary() + " " + gettext(DISCLAIMER))
        if engine.scope_check is None:
            _err(gettext(NO_SCOPE_CHECK))
    if skipped:
        _err(skipped)
    if args.csv is not None:
        try:
            write_csv(args.csv, session.rows())
        except UserError as exc:
            _err(exc.user_message())
            return EXIT_NOTHING_CLASSIFIED
    if args.report is not None and not _write_report(args.report, session, engine, args):
        return EXIT_NOTHING_CLASSIFIED
    if classified == 0:
        _err(gettext(NOTHING_CLASSIFIED))
        return EXIT_NOTHING_CLASSIFIED
    return EXIT_OK


def _check_outputs(args: argparse.Namespace, files: Sequence[Path]) -> None:
    """``OverwriteRefusedError`` when ``--csv`` or ``--report`` names a file this run reads or
    keeps: the history, the model, the profile, the settings, an input (or each other)."""
    from desktop import outpaths as guard
    from desktop.cases.store import default_db_path
    from desktop.settings import load_settings, settings_path

    if args.csv is None and args.report is None:
        return
    history = [] if args.no_history else guard.history_files(args.history or default_db_path())
    profile = None if args.no_profile else (args.profile or load_settings().site_profile)
    guard.check_outputs([args.csv, args.report], [
        (history, guard.HISTORY),
        (guard.model_files(args.model), guard.MODEL),
        ([profile], guard.PROFILE),
        ([settings_path()], guard.SETTINGS),
        ([*files, *map(Path, args.paths)], guard.INPUT)])


def engine_and_session(args: argparse.Namespace):
    """``args.model`` loaded and checked, and a session on its card's operating points with the
    site profile in force (``_apply_profile``): what every command that classifies starts from
    (``predict``, ``dicom send``). None when the model cannot be loaded (its sentence said)."""
    from desktop.engine.inference import Engine
    from desktop.engine.session import Session
    from desktop.engine.threshold import ThresholdPolicy

    try:
        engine = Engine.load(args.model)
    except UserError as exc:
        _err(exc.user_message())
        return None
    session = Session(ThresholdPolicy.from_card(engine.metadata))
    _apply_profile(args, session, engine.sha256)
    return engine, session


def _choose_refer(args: argparse.Namespace, session) -> None:
    """The refer band decides unless ``--no-refer``, ``--threshold`` or ``--operating-point``
    chose the single threshold; the last two say so once when a band was in force."""
    if session.policy.band is None:
        return
    chosen = args.threshold is not None or args.operating_point is not None
    if args.no_refer or chosen:
        session.set_refer(False)
        if chosen and not args.no_refer:
            _err(gettext(BAND_OFF))


def _apply_profile(args: argparse.Namespace, session, model_sha256: str) -> None:
    """The site profile ``--profile`` names, else the one made active in the window's settings
    (Cases → Calibrate, or ``calibrate --activate``), unless ``--no-profile``; one sentence on
    stderr when it cannot be applied (the model's own calibration is used then)."""
    from desktop.cases.profile import apply_profile
    from desktop.settings import load_settings

    if args.no_profile:
        return
    path = args.profile if args.profile is not None else load_settings().site_profile
    applied = apply_profile(session, path, model_sha256)
    if applied.problem is not None:
        _err(applied.problem.user_message())
    if applied.notice is not None:  # a version-1 profile: no refer band
        _err(applied.notice.user_message())


def _write_report(path: Path, session, engine, args: argparse.Namespace) -> bool:
    """The batch report of every file classified or refused, in the order given; patient
    identifiers only with ``--show-identifiers``."""
    from desktop.reports.content import batch_report
    from desktop.reports.pdf import save_batch

    quiet = args.json
    content = batch_report(list(session.results.values()), session, engine.metadata,
                           engine.sha256, show_identifiers=args.show_identifiers)
    try:
        save_batch(path, content)
    except UserError as exc:
        _err(exc.user_message())
        return False
    if not quiet:
        _err(gettext(REPORT_WRITTEN).format(path=path.resolve()))
    return True


def text_line(session, result) -> str:
    """One line for people: the verdict at the session's threshold (or why there is none), P,
    the path (controls and undecodable bytes escaped: ``desktop.safetext.one_line``), and the
    reason when the image is outside the model's scope."""
    words = describe(result, session)
    path = one_line(str(result.path))
    p = "-" if words.kind in ("error", "withheld") else words.report_probability
    line = f"{words.line_verdict:<9}  {p:>5}  {path}"
    if words.kind in ("error", "withheld"):
        return f"{line}: {words.line_note}"
    return f"{line}  [{words.line_note}]" if words.line_note else line


def _err(message: str) -> None:
    """Our sentences may quote a file or profile name: no escape sequence reaches the
    terminal raw."""
    print(for_terminal(message), file=sys.stderr, flush=True)
