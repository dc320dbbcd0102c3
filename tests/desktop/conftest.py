"""Fixtures the packaging tests (Linux and Windows bundles) share."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.model_fixtures import write_input_sensitive_model

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = ROOT / "assets" / "model.pt"


@pytest.fixture(scope="module")
def bundled_model(tmp_path_factory) -> Path:
    """``assets/model.pt`` when it exists (what ships), else a small model made here whose
    output depends on its input, so "bundle and source agree" can fail."""
    if SHIPPED_MODEL.is_file():
        return SHIPPED_MODEL
    return write_input_sensitive_model(tmp_path_factory.mktemp("bundled_model"))


def make_bundle(target: str, model: Path, timeout_s: float) -> subprocess.CompletedProcess:
    """``make <target>`` bundling ``model``; the test fails with the end of its output."""
    env = dict(os.environ, CXR_PACKAGE_MODEL=str(model))
    build = subprocess.run(
        ["make", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s,
    )
    assert build.returncode == 0, f"make {target} failed:\n{(build.stdout + build.stderr)[-5000:]}"
    return build


@pytest.fixture
def sao_paulo(monkeypatch):
    """This computer's clock in São Paulo (UTC-3, no daylight saving since 2019)."""
    monkeypatch.setenv("TZ", "America/Sao_Paulo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def english_and_own_logging(monkeypatch):
    """Messages in English whatever this machine's locale; logging and language restored (a
    command's ``main`` sets up logging into the test's folder; the next test must not inherit
    that handler)."""
    import logging
    import sys
    import threading

    from desktop import logs
    from desktop.i18n import set_language

    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.setenv(name, "en_US.UTF-8")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)
    sys.excepthook, threading.excepthook = hooks
    logs._handler = None
    set_language("en")
