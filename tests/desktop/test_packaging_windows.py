"""The Windows bundle, built here under Wine (`make package-windows`), passes its self-test.

One slow build per session (about 10 minutes from an empty cache on 2 cores, a few with
.wine-build/ kept). The build itself runs the exe's --self-test under Wine + Xvfb from a path with
spaces and non-ASCII letters and fails when it fails; these tests read what it printed and left.
Needs Debian's wine, wine64, xvfb, xauth and unzip (.ci/run installs them).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.desktop.conftest import make_bundle

ROOT = Path(__file__).resolve().parents[2]
APP = "cxr-pneumonia"
DIST = ROOT / "dist" / "windows"
BUILD_TIMEOUT_S = 3600
MiB = 2**20


@pytest.fixture(scope="module")
def windows_build(bundled_model) -> subprocess.CompletedProcess:
    missing = [tool for tool in ("wine", "xvfb-run", "xauth", "unzip") if not shutil.which(tool)]
    assert not missing, f"install {' '.join(missing)} (Debian: wine wine64 xvfb xauth unzip)"
    return make_bundle("package-windows", bundled_model, BUILD_TIMEOUT_S)


@pytest.mark.slow
def test_windows_exe_passes_its_self_test_under_wine(windows_build):
    lines = [line for line in windows_build.stdout.splitlines() if line.startswith("self-test")]
    assert len(lines) == 1 and lines[0].startswith("self-test OK"), windows_build.stdout[-3000:]
    assert "matches build" in lines[0] and "report written (" in lines[0]
    assert "drag-and-drop on" in lines[0]


@pytest.mark.slow
def test_windows_bundle_ships_the_vc_runtime_and_no_build_files(windows_build):
    app_dir = DIST / APP
    names = {path.name.lower() for path in app_dir.rglob("*") if path.is_file()}
    assert f"{APP}.exe" in names
    assert {"msvcp140.dll", "vcruntime140_threads.dll", "torch_cpu.dll"} <= names
    assert not [name for name in names if name.endswith((".lib", ".pdb", ".h"))]
    assert not [name for name in names if name.startswith("gdcm") and name.endswith(".exe")]
    internal = app_dir / "_internal"
    codecs = {path.name.split(".")[0] for path in (internal / "imagecodecs").glob("_*")}
    assert {"_jpeg", "_jpegls"} <= codecs and len(codecs) < 8, codecs  # 12-bit JPEG, JPEG-LS
    assert not list((internal / "PIL").glob("_avif*"))  # probed, never read
    size = sum(path.stat().st_size for path in app_dir.rglob("*") if path.is_file())
    assert size <= 550e6, f"bundle {size / MiB:.0f} MiB"
    archive = DIST / f"{APP}.zip"
    assert archive.stat().st_size <= 200e6, f"zip {archive.stat().st_size / MiB:.0f} MiB"
    with zipfile.ZipFile(archive) as opened:
        assert f"{APP}/{APP}.exe" in opened.namelist()
