"""The log file: where tracebacks go, so the user sees one sentence and support sees the rest.

``setup_logging()`` adds a rotating file handler (1 MB x 3) in the user's log folder
(``platformdirs.user_log_dir``; ``CXR_LOG_DIR`` overrides it) to the root logger, and routes
uncaught exceptions of the main and worker threads, and Python warnings, there too. If the
folder cannot be created, it logs to stderr instead: logging must never stop the app.

``native_stderr_to_log()`` does the same for what C libraries print on file descriptor 2
(libjpeg's "Not a JPEG file: starts with 0x00 0x00", GDCM's and OpenJPEG's complaints), which no
Python setting reaches: the command line keeps its stderr for its own sentences.
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

APP_NAME = "cxr-pneumonia"
LOG_FILE = "cxr-pneumonia.log"
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"

NATIVE_STDERR_KEPT = 64_000  # bytes of C libraries' stderr copied to the log per command

_handler: logging.Handler | None = None


def log_dir() -> Path:
    override = os.environ.get("CXR_LOG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def log_file_path() -> Path:
    return log_dir() / LOG_FILE


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Attach the file handler once; returns the log file, or None when only stderr works."""
    global _handler
    root = logging.getLogger()
    if _handler is not None and _handler in root.handlers:
        return Path(_handler.baseFilename) if isinstance(_handler, logging.FileHandler) else None
    path: Path | None = log_file_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=True
        )
    except OSError:
        handler, path = logging.StreamHandler(sys.stderr), None
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    _handler = handler
    # Library warnings about damaged input (Pillow's "Truncated File Read", pydicom's missing
    # delimiters) belong in the log with the file's story, not on the user's console.
    logging.captureWarnings(True)
    _route_uncaught_exceptions()
    if path is None:
        logging.getLogger(__name__).warning("Cannot create the log folder; logging to stderr")
    return path


def _route_uncaught_exceptions() -> None:
    """Log, then hand on to the previous hooks (which print to stderr as usual)."""
    log = logging.getLogger("uncaught")
    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def excepthook(kind, value, tb):
        if not issubclass(kind, KeyboardInterrupt):
            log.critical("Uncaught exception", exc_info=(kind, value, tb))
        previous_hook(kind, value, tb)

    def thread_excepthook(args):
        if args.exc_type is not SystemExit:
            log.critical(
                "Uncaught exception in thread %s",
                getattr(args.thread, "name", "?"),
                exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
            )
        previous_thread_hook(args)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


@contextlib.contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """While inside, file descriptor 2 writes to a temporary file, appended to the log at the
    end; ``sys.stderr`` (our own messages) keeps writing to the real stderr.

    When ``sys.stderr`` is not the descriptor-2 stream (replaced by a test harness, or closed),
    it is left alone; only descriptor 2 is redirected.
    """
    log = logging.getLogger("native")
    try:
        sys.stderr.flush()
        console = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        console = False
    try:
        saved = os.dup(2)
        capture = tempfile.TemporaryFile()
        os.dup2(capture.fileno(), 2)
    except OSError:  # no descriptor 2 at all (a GUI launcher): nothing to keep clean
        yield
        return
    real_stderr = sys.stderr
    if console:
        sys.stderr = open(os.dup(saved), "w", encoding=real_stderr.encoding,  # noqa: SIM115
                          errors=real_stderr.errors, buffering=1)
    try:
        yield
    finally:
        if console:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = real_stderr
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text = capture.read(NATIVE_STDERR_KEPT).decode("utf-8", "replace").strip()
        capture.close()
        if text:
            log.info("Native libraries wrote to stderr:\n%s", text)
