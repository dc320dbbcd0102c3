"""``python -m desktop history …`` and ``python -m desktop calibrate …``: the case history and
site calibration for scripts (the window has the same, see ``desktop.ui.history_view``).

- ``history [--db PATH] export --csv FILE [filters]``: the results with their cases, as CSV
  (``--verdict NORMAL|PNEUMONIA|REFER|none``).
- ``history [--db PATH] stats [--by week|50] [--profile FILE]``: counts, then per period the
  share called PNEUMONIA, the share referred to a human reader (where a refer band decided),
  the share out of scope and the agreement with confirmed diagnoses, with a warning where the
  flagged share left the profile's interval, or the referred share its band's.
- ``calibrate DIR --out site.json [--target-sensitivity 0.95]``: fit a site profile on a labelled
  folder (``DIR/NORMAL``, ``DIR/PNEUMONIA``); ``calibrate --from-history`` on the confirmed cases.
  The profile holds a refer band certified on the same cases: by default at most 5% of
  pneumonias called NORMAL and 5% of normals called PNEUMONIA (``--refer A,B`` in percent),
  ``--refer-decided C`` for at most C% of the NORMAL and of the PNEUMONIA calls wrong,
  ``--no-refer`` for none (the single threshold decides, as before version 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop.cases.store import NO_ANSWER
from desktop.errors import N_, UserError
from desktop.i18n import LANGUAGES, class_name, gettext, set_language, system_language
from desktop.modelfile import POSITIVE
from desktop.outcomes import DECISIONS
from desktop.safetext import for_terminal

EXIT_OK, EXIT_FAILED = 0, 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl+C
INTERRUPTED = N_("Interrupted; nothing was written.")
EXPORTED = N_("{count} results written to {path}.")
STATS = N_("{cases} cases, {results} results, {confirmed} with a confirmed diagnosis.")
PERIOD = N_("{period}: {cases} cases, {pneumonia} {flagged}, out of scope {scope}, agreement "
            "{agreement}")  # a case (a file's content) counts once, by its newest result
PERIOD_REFERRED = N_("{period}: {cases} cases, {pneumonia} {flagged}, referred {referred}, out of "
                     "scope {scope}, agreement {agreement}")  # where a refer band decided
PROFILE_SAVED = N_("Site profile {name} written to {file}: threshold {threshold}.")
CANNOT_OPEN = N_("The case history could not be opened; check that its folder can be read "
                 "and written. The details are in the log file.")
PROFILE_ACTIVE = N_("It is now the profile in force for the window and predict.")
BAND_ON_CASES = N_("On these {cases} cases it refers {referred} to a human reader; {wrong} of the "
                   "decided ones are wrong.")


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _percent(text: str) -> float:
    """A guarantee's limit given in percent (``5`` or ``2.5``), as a fraction."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0.0 < value < 100.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100 (percent), got {text}")
    return value / 100.0


def _percent_pair(text: str) -> tuple[float, float]:
    """``A,B``: at most A% of pneumonias called NORMAL, at most B% of normals PNEUMONIA."""
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"two percentages A,B are needed, got {text!r}")
    return _percent(parts[0]), _percent(parts[1])


def refer_goal(args):
    """The guarantee ``calibrate`` certifies its refer band for (None: ``--no-refer``)."""
    from desktop.cases.calibration import DEFAULT_REFER, ReferGoal
    from desktop.stats import CLASS, DECIDED

    if args.no_refer:
        return None
    if args.refer_decided is not None:
        return ReferGoal(DECIDED, args.refer_decided, args.refer_decided)
    if args.refer is not None:
        return ReferGoal(CLASS, *args.refer)
    return DEFAULT_REFER


def history_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m desktop history",
                                     description="The case history database, for scripts.")
    parser.add_argument("--db", type=Path, metavar="PATH",
                        help="the history database (default: the user's)")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default=None)
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the results as CSV")
    export.add_argument("--csv", type=Path, required=True, metavar="FILE")
    export.add_argument("--since", metavar="YYYY-MM-DD", type=_day,
                        help="from this day (this computer's local calendar day, as the "
                             "window's History view)")
    export.add_argument("--until", metavar="YYYY-MM-DD", type=_day,
                        help="up to and including this local day")
    export.add_argument("--verdict", choices=[*map(str, DECISIONS), NO_ANSWER],
                        help="only results with this answer (REFER: referred to a human "
                             "reader; none: no verdict, not chest X-rays)")
    export.add_argument("--confirmed", choices=["yes", "no"])
    stats = commands.add_parser("stats", help="counts and monitoring per period")
    stats.add_argument("--by", choices=["week", "50"], default="week")
    stats.add_argument("--profile", type=Path, metavar="FILE",
                       help="compare with this site profile (default: the active one)")
    return parser


def _day(text: str) -> str:
    """A ``YYYY-MM-DD`` argument, refused by argparse with its usage line otherwise."""
    import datetime as dt

    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    return text


def history_main(argv: Sequence[str]) -> int:
    from desktop.logs import setup_logging

    args = history_parser().parse_args(argv)
    setup_logging()
    set_language(args.lang or system_language())
    try:
        return _history(args)
    except KeyboardInterrupt:  # Ctrl+C: the history is only read; an unfinished CSV is removed
        _err(gettext(INTERRUPTED))
        return EXIT_INTERRUPTED
    except UserError as exc:
        _err(exc.user_message())
        return EXIT_FAILED


def _history(args) -> int:
    from desktop.cases.store import (
        DatabaseError,
        HistoryDamagedError,
        HistoryStore,
        HistoryUnreadableError,
        default_db_path,
        is_damage,
    )
    from desktop.cases.walcheck import stale_wal_warning

    db = args.db or default_db_path()
    if args.command == "export":
        _check_export_path(args.csv, db)
    if (warning := stale_wal_warning(db)) is not None:  # before SQLite reads the WAL
        _err(warning.user_message())
    try:
        store = HistoryStore.open(db, read_only=True)  # creates, moves and marks nothing
    except UserError:
        raise
    except Exception:  # noqa: BLE001 - one sentence, the traceback logged
        import logging

        logging.getLogger(__name__).exception("Cannot open the history %s", db)
        _err(gettext(CANNOT_OPEN))
        return EXIT_FAILED
    if store.notice is not None:
        _err(store.notice.user_message())
    try:
        if args.command == "export":
            return _export(store, args)
        return _stats(store, args)
    except DatabaseError as exc:  # a damaged page, or tables of a future schema
        import logging

        logging.getLogger(__name__).exception("Cannot read the history %s", db)
        raise (HistoryDamagedError(name=db.name) if is_damage(exc)
               else HistoryUnreadableError(name=db.name)) from exc
    finally:
        store.close()


def _check_export_path(out: Path, db: Path) -> None:
    """The CSV may replace no file we keep (the history, the model, the profile in force)."""
    from desktop import outpaths as guard
    from desktop.modelfile import default_model_path
    from desktop.settings import load_settings, settings_path

    guard.check_outputs([out], [(guard.history_files(db), guard.HISTORY),
                          (guard.model_files(default_model_path()), guard.MODEL),
                          ([load_settings().site_profile], guard.PROFILE),
                          ([settings_path()], guard.SETTINGS)])


def _export(store, args) -> int:
    from desktop.cases.export import write_history_csv
    from desktop.cases.store import Filters, local_days

    since, until = local_days(args.since, args.until)
    filters = Filters(since=since, until=until, verdict=args.verdict,
                      confirmed=None if args.confirmed is None else args.confirmed == "yes")
    rows = store.rows(filters)
    write_history_csv(args.csv, rows)  # WriteError: its sentence
    _err(gettext(EXPORTED).format(count=len(rows), path=args.csv.resolve()))
    return EXIT_OK


def _stats(store, args) -> int:
    from desktop.cases.monitoring import (
        REFERRAL_SHIFTED,
        SHIFTED,
        periods,
        referral_interval,
    )
    from desktop.cases.profile import interval_text, load_profile
    from desktop.settings import load_settings

    rows = store.rows()
    confirmed = len({r.case_id for r in rows if r.confirmed})
    print(gettext(STATS).format(cases=store.case_count(), results=len(rows),
                                confirmed=confirmed))
    interval = referral = None
    path = args.profile or load_settings().site_profile
    if path:
        try:
            profile = load_profile(Path(path))
            interval = profile.flagged_interval
            referral = referral_interval(profile.calibration.band)  # a version-1 one has none
        except UserError as exc:
            _err(exc.user_message())
    for period in periods(rows, by="week" if args.by == "week" else "block",
                          calibration_interval=interval, referral_interval=referral):
        line = PERIOD_REFERRED if period.referred.n else PERIOD
        print(gettext(line).format(
            pneumonia=class_name(POSITIVE), period=period.label, cases=period.results,
            flagged=interval_text(period.flagged) if period.flagged.n else "—",
            referred=interval_text(period.referred) if period.referred.n else "—",
            scope=interval_text(period.out_of_scope),
            agreement=interval_text(period.agreement) if period.agreement.n else "—"))
        for left, sentence, rate, bounds in ((period.shifted, SHIFTED, period.flagged, interval),
                                             (period.referral_shifted, REFERRAL_SHIFTED,
                                              period.referred, referral)):
            if left:
                print("  " + gettext(sentence).format(
                    pneumonia=class_name(POSITIVE), share=f"{100 * rate.value:.0f}%",
                    low=f"{100 * bounds[0]:.0f}%", high=f"{100 * bounds[1]:.0f}%",
                    period=period.label))
    return EXIT_OK


def calibrate_parser() -> argparse.ArgumentParser:
    from desktop.modelfile import default_model_path

    parser = argparse.ArgumentParser(
        prog="python -m desktop calibrate",
        description="Fit a site profile (recalibrated P and a threshold) on this site's "
        "labelled images.")
    parser.add_argument("folder", type=Path, nargs="?", metavar="DIR",
                        help="labelled images in DIR/NORMAL and DIR/PNEUMONIA")
    parser.add_argument("--from-history", action="store_true",
                        help="use the history's cases with a confirmed NORMAL or PNEUMONIA")
    parser.add_argument("--db", type=Path, metavar="PATH",
                        help="the history database for --from-history (default: the user's)")
    parser.add_argument("--out", type=Path, required=True, metavar="site.json")
    parser.add_argument("--target-sensitivity", type=_fraction, metavar="X",
                        help="choose the threshold whose sensitivity is at least X at the lower "
                        "end of its 95%% interval (default: balanced, the largest Youden J)")
    refer = parser.add_mutually_exclusive_group()
    refer.add_argument("--refer", type=_percent_pair, metavar="A,B",
                       help="certify a refer band (95%% confidence) with at most A%% of "
                       "pneumonias called NORMAL and at most B%% of normals called PNEUMONIA; "
                       "images between its two thresholds are referred to a human reader "
                       "(default: 5,5)")
    refer.add_argument("--refer-decided", type=_percent, metavar="C",
                       help="certify the band so that at most C%% of the NORMAL calls and of "
                       "the PNEUMONIA calls are wrong (needs more labelled images)")
    refer.add_argument("--no-refer", action="store_true",
                       help="no refer band: the single threshold decides every image")
    parser.add_argument("--name", help="the profile's name (default: the output file's stem)")
    parser.add_argument("--report", type=Path, metavar="study.pdf",
                        help="also write the one-page calibration study")
    parser.add_argument("--activate", action="store_true",
                        help="make it the profile in force (saved in the settings)")
    parser.add_argument("--model", type=Path, default=default_model_path(), metavar="PATH")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default=None)
    return parser


def calibrate_main(argv: Sequence[str]) -> int:
    from desktop.logs import native_stderr_to_log, setup_logging

    parser = calibrate_parser()
    args = parser.parse_args(argv)
    if (args.folder is None) == (not args.from_history):
        parser.error("name a labelled folder DIR, or --from-history (one of the two)")
    setup_logging()
    set_language(args.lang or system_language())
    try:
        with native_stderr_to_log():
            return _calibrate(args)
    except KeyboardInterrupt:
        _err(gettext(INTERRUPTED))
        return EXIT_INTERRUPTED
    except UserError as exc:
        _err(exc.user_message())
        return EXIT_FAILED


def _calibrate(args) -> int:
    from desktop.cases.calibration import calibrate
    from desktop.cases.profile import profile_from_study, save_profile
    from desktop.cases.samples import classify_labelled, confirmed_samples_at, labelled_files
    from desktop.engine.inference import Engine
    from desktop.engine.threshold import ThresholdPolicy, format_threshold
    from desktop.settings import load_settings, save_settings

    files = None if args.from_history else labelled_files(args.folder)
    _check_calibrate_paths(args, [path for path, _label in files or []])
    engine = Engine.load(args.model)
    if args.from_history:
        samples = confirmed_samples_at(args.db, engine.sha256)
    else:
        samples = classify_labelled(engine, files)
    left_out = samples.left_out()
    if left_out is not None:
        _err(left_out.user_message())
    p_model, labels = samples.arrays()
    study = calibrate(p_model, labels,
                      shipped_threshold=ThresholdPolicy.from_card(engine.metadata).threshold,
                      target_sensitivity=args.target_sensitivity,
                      n_out_of_scope=samples.out_of_scope, refer=refer_goal(args))
    name = args.name or args.out.stem
    save_profile(args.out, profile_from_study(
        study, name=name, model_sha256=engine.sha256,
        model_version=engine.metadata.get("model_version"),
        source="history" if args.from_history else "folder"))
    _err(gettext(PROFILE_SAVED).format(name=name, file=args.out.resolve(),
                                       threshold=format_threshold(study.proposed.threshold)))
    _say_band(study)
    if args.report is not None:
        from desktop.reports.study_pdf import save_study

        save_study(args.report, study, profile_name=name, model_sha256=engine.sha256)
    if args.activate:
        settings = load_settings()
        settings.site_profile = str(args.out.resolve())
        save_settings(settings)
        _err(gettext(PROFILE_ACTIVE))
    return EXIT_OK


def _say_band(study) -> None:
    """The band the profile holds and what it did on its cases, or why it holds none."""
    from desktop.cases.profile import interval_text
    from desktop.reports.wording import band_promise

    if study.band_problem is not None:
        _err(study.band_problem.user_message())
    if study.band is None:
        return
    figures = study.band
    _err(band_promise(figures.band))
    _err(gettext(BAND_ON_CASES).format(cases=study.n_normal + study.n_pneumonia,
                                       referred=interval_text(figures.referred),
                                       wrong=interval_text(figures.wrong_decided)))


def _check_calibrate_paths(args, inputs: list[Path]) -> None:
    """``--out`` and ``--report`` may replace no file we keep or read (the history, the model,
    the settings, a labelled image), nor each other. ``--out`` may replace an older profile:
    writing a profile is what it is for."""
    from desktop import outpaths as guard
    from desktop.cases.store import default_db_path
    from desktop.settings import settings_path

    guard.check_outputs([args.out, args.report], [
        (guard.history_files(args.db or default_db_path()), guard.HISTORY),
        (guard.model_files(args.model), guard.MODEL),
        ([settings_path()], guard.SETTINGS),
        (inputs, guard.INPUT)])


def _err(message: str) -> None:
    print(for_terminal(message), file=sys.stderr, flush=True)
