"""The log file: where tracebacks go, so the user sees one sentence and support sees the rest.

``setup_logging()`` adds a rotating file handler (1 MB x 3) in the user's log folder
(``platformdirs.user_log_dir``; ``CXR_LOG_DIR`` overrides it) to the root logger, and routes
uncaught exceptions of the main and worker threads, and Python warnings, there too. If the
folder cannot be created, it logs to stderr instead: logging must never stop the app.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

APP_NAME = "cxr-pneumonia"
LOG_FILE = "cxr-pneumonia.log"
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"

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
