"""``python -m desktop``: the window, the ``predict`` command, or the packaged smoke test.

- ``python -m desktop [FILES...]``: the window (files/folders opened at once).
- ``python -m desktop predict FILE_OR_FOLDER... [options]``: headless (see ``desktop.cli``).
  To open a file literally named ``predict`` in the window, write ``./predict``.
- ``python -m desktop history …`` / ``calibrate …``: the case history and site calibration
  (see ``desktop.cli_cases``).
- ``python -m desktop dicom send|outbox|echo|listen …``: the DICOM node (see ``desktop.cli_dicom``).
- ``python -m desktop --self-test``: the packaged app's smoke test.

Each branch imports only what it needs, so ``predict`` never loads Tk.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

PROCESS_START = time.perf_counter()

COMMANDS = """commands (each has its own --help):
  predict FILE_OR_FOLDER...   classify without the window (CSV, JSON, PDF report); applies the
                              site profile made active in the window unless --no-profile
  history ...                 the case history: export, stats
  calibrate DIR | --from-history --out FILE.json
                              fit a site profile on this site's labelled images, with a refer
                              band (--refer A,B, --refer-decided C, --no-refer)"""


# What a shell reports for a command stopped with Ctrl+C (128 + SIGINT), on every platform.
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Ctrl+C ends any command quietly with ``EXIT_INTERRUPTED`` (no traceback: what ``predict``
    printed was already recorded file by file)."""
    _printable_streams()
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _printable_streams() -> None:
    """Output redirected on Windows is in the ANSI code page (a console itself gets every
    letter): a file name that page cannot spell prints with an escape instead of ending the
    command with UnicodeEncodeError. (A windowed exe may have no streams at all.)"""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "predict":
        from desktop.cli import main as predict_main

        return predict_main(argv[1:])
    if argv and argv[0] in ("history", "calibrate"):
        from desktop.cli_cases import calibrate_main, history_main

        return (history_main if argv[0] == "history" else calibrate_main)(argv[1:])
    if argv and argv[0] == "dicom":
        from desktop.cli_dicom import main as dicom_main

        return dicom_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m desktop",
        description="Offline chest X-ray pneumonia classifier. "
        "Research and teaching tool. Not for clinical diagnosis. "
        "Without a command: the window.",
        epilog=COMMANDS, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", metavar="FILE_OR_FOLDER",
                        help="images or folders to open in the window")
    parser.add_argument("--self-test", action="store_true",
                        help="run the packaged application's smoke test and exit")
    args = parser.parse_args(argv)
    if args.self_test:
        from desktop.selftest import main as selftest_main

        return selftest_main(process_start=PROCESS_START)
    from desktop.ui.app import main as app_main

    return app_main(args.files)


if __name__ == "__main__":
    sys.exit(main())
