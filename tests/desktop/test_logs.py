"""The log: tracebacks land in the log folder's file, and what C decoders print on stderr goes
to the log instead of the user's console."""

import logging
import os
import sys

import pytest

from desktop import logs


@pytest.fixture
def log_file(tmp_path):
    """Logging set up into the test's own folder; the handlers removed afterwards."""
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        yield logs.setup_logging()
    finally:
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
                h.close()
        logs._handler = None
        logging.captureWarnings(False)


def flushed_text(path) -> str:
    for h in logging.getLogger().handlers:
        h.flush()
    return path.read_text(encoding="utf-8")


def test_log_file_records_tracebacks(tmp_path, log_file):
    path = log_file
    assert path == tmp_path / "logs" / logs.LOG_FILE
    try:
        raise RuntimeError("boom for the log")
    except RuntimeError:
        logging.getLogger("desktop.test").exception("Reading failed")
    text = flushed_text(path)
    assert "Reading failed" in text and "Traceback" in text and "boom for the log" in text


def test_what_c_code_prints_on_stderr_goes_to_the_log_not_the_console(log_file, capfd):
    with logs.native_stderr_to_log():
        os.write(2, b"libjpeg: Premature end of JPEG file\n")
        print("our own sentence", file=sys.stderr)
    err = capfd.readouterr().err
    assert "Premature end" not in err and "our own sentence" in err
    assert "Native libraries wrote to stderr:\nlibjpeg: Premature end of JPEG file" in (
        flushed_text(log_file))
