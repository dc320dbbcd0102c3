"""``python -m desktop --self-test`` from the source tree: the window opens on the bundled model,
classifies the built-in image, writes a report and closes; the same check the packaged app
runs (``tests/desktop/test_packaging.py``, slow), here in seconds, so a change to the window
that breaks it is caught by every run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.gui


def test_the_self_test_passes_from_the_source_tree(x_display, tmp_path):
    env = dict(os.environ, CXR_CONFIG_DIR=str(tmp_path / "config"),
               CXR_LOG_DIR=str(tmp_path / "logs"))
    result = subprocess.run([sys.executable, "-m", "desktop", "--self-test"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("self-test OK"), result.stdout
