"""The Windows bundle, built here under Wine (`make package-windows`), passes its self-test, and
its installer installs, upgrades and uninstalls it as a clinic's user or IT department would.

One slow build per session (about 10 minutes from an empty cache on 2 cores, a few with
.wine-build/ kept). The build itself runs the exe's --self-test under Wine + Xvfb from a path with
spaces and non-ASCII letters and fails when it fails; these tests read what it printed and left,
then run the installer (a few minutes more) in the build's Wine prefix.
Needs Debian's wine, wine64, xvfb, xauth, unzip and nsis (.ci/run installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
import zipfile
from pathlib import Path

import pytest

from desktop import __version__
from tests.conftest import SHARED_DATA, require_shared
from tests.desktop.conftest import make_bundle

ROOT = Path(__file__).resolve().parents[2]
APP = "cxr-pneumonia"
DIST = ROOT / "dist" / "windows"
BUILD_TIMEOUT_S = 3600
RUN_TIMEOUT_S = 600
MiB = 2**20


@pytest.fixture(scope="module")
def windows_build(bundled_model) -> subprocess.CompletedProcess:
    tools = ("wine", "xvfb-run", "xauth", "unzip", "makensis")
    missing = [tool for tool in tools if not shutil.which(tool)]
    assert not missing, f"install {' '.join(missing)} (Debian: wine wine64 xvfb xauth unzip nsis)"
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
    assert {f"{APP}.exe", f"{APP}-cli.exe"} <= names  # the window and its console twin
    assert {"msvcp140.dll", "vcruntime140_threads.dll", "torch_cpu.dll"} <= names
    assert not [name for name in names if name.endswith((".lib", ".pdb", ".h"))]
    assert not [name for name in names if "gdcm" in name or "charls.cp" in name]  # not used
    internal = app_dir / "_internal"
    codecs = {path.name.split(".")[0] for path in (internal / "imagecodecs").glob("_*")}
    assert {"_jpeg", "_jpegls", "_jpeg2k"} <= codecs and len(codecs) < 9, codecs  # the reader's
    assert not list((internal / "PIL").glob("_avif*"))  # probed, never read
    size = sum(path.stat().st_size for path in app_dir.rglob("*") if path.is_file())
    assert size <= 550e6, f"bundle {size / MiB:.0f} MiB"
    archive = DIST / f"{APP}.zip"
    assert archive.stat().st_size <= 200e6, f"zip {archive.stat().st_size / MiB:.0f} MiB"
    with zipfile.ZipFile(archive) as opened:
        assert f"{APP}/{APP}.exe" in opened.namelist()


# -- the installer, as a user without admin rights and as IT (silent) use it ------------------

PREFIX = Path(os.environ.get("CXR_WINE_CACHE", ROOT / ".wine-build")).resolve() / "prefix"
FOLDER = r"C:\users\Public\João Silva\Área de Trabalho"  # spaces and accents
TARGET = FOLDER + r"\Programas cxr"
UNINSTALL_KEY = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall" + "\\" + APP
# What Wine's console programs print through a pipe with an en_US.UTF-8 locale: Windows' ANSI
# code page for English (a real console gets every letter through WriteConsoleW).
CODE_PAGE = "cp1252"


def unix(path: str) -> Path:
    """Where a C:\\ path of the build's Wine prefix is on this machine."""
    return PREFIX / "drive_c" / path[3:].replace("\\", "/")


def wine(*args: str, gui: bool = False, timeout_s: float = RUN_TIMEOUT_S):
    """``wine ARGS`` in the build's prefix, as build.sh sets it up: (status, stdout, stderr).
    Output is read from pipes as it comes (Windows Python dies writing to a plain file), and only
    until the program ends: Wine's helper processes may hold a pipe open after that."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CXR_", "PYTHON", "WINE", "LC_", "LANG"))}
    env.update(WINEPREFIX=str(PREFIX), WINEARCH="win64", WINEDEBUG="-all",
               WINEDLLOVERRIDES="ucrtbase=n,b;winedbg.exe=d;mscoree=d;mshtml=d",
               KMP_AFFINITY="disabled", LANG="en_US.UTF-8")
    command = ["wine", *args]
    if gui:
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *command]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks: dict[int, list[bytes]] = {1: [], 2: []}

    def pump(stream, sink):
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            sink.append(chunk)

    pumps = [threading.Thread(target=pump, args=(stream, chunks[n]), daemon=True)
             for n, stream in ((1, process.stdout), (2, process.stderr))]
    for thread in pumps:
        thread.start()
    try:
        status = process.wait(timeout_s)
    finally:
        process.kill()
    for thread in pumps:
        thread.join(5)
    return (status, b"".join(chunks[1]).decode(CODE_PAGE, "replace"),
            b"".join(chunks[2]).decode(CODE_PAGE, "replace"))


def wait_until(condition, what: str, deadline_s: float = 120) -> None:
    """The NSIS uninstaller copies itself to %TEMP% and returns at once; poll for its work."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def registered() -> str:
    """The uninstall entry as ``reg query`` prints it (accents folded to ASCII), or ""."""
    status, out, _ = wine("reg", "query", UNINSTALL_KEY, timeout_s=120)
    return out if status == 0 else ""


def ascii_folded(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def predict_line(output: str, path: str) -> tuple[str, float]:
    """(verdict, P) of the text line that ends with ``path`` exactly, as printed."""
    [line] = [line for line in output.splitlines() if line.endswith("  " + path)]
    verdict, p = line.split()[:2]
    return verdict, float(p)


@pytest.fixture(scope="module")
def images() -> tuple[str, str]:
    """A data-set JPEG and a DICOM made here from another one, under the accented folder:
    their Windows paths."""
    import numpy as np
    from PIL import Image

    from tests.support.fuzz_corpus import dicom_bytes

    data = require_shared(SHARED_DATA / "chest_xray_224" / "test")
    jpeg, dicom = FOLDER + r"\raio x tórax.jpeg", FOLDER + r"\João pneumonia.dcm"
    unix(FOLDER).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sorted((data / "NORMAL").glob("*.jpeg"))[0], unix(jpeg))
    pixels = np.asarray(Image.open(sorted((data / "PNEUMONIA").glob("*.jpeg"))[0]).convert("L"))
    unix(dicom).write_bytes(dicom_bytes(pixels, extra={
        "Modality": "DX", "BodyPartExamined": "CHEST", "ViewPosition": "PA"}))
    return jpeg, dicom


@pytest.fixture(scope="module")
def installer(windows_build) -> Path:
    path = DIST / f"{APP}-setup-{__version__}.exe"
    assert path.is_file(), windows_build.stdout[-2000:]
    return path


@pytest.mark.slow
def test_installer_installs_upgrades_and_uninstalls_keeping_the_history(
        installer, images, bundled_model):
    jpeg, dicom = images
    data = next(iter(PREFIX.glob("drive_c/users/*/AppData/Local"))) / APP  # platformdirs'
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(unix(TARGET), ignore_errors=True)
    setup = ["/S", "/CurrentUser"]  # what a user without admin rights gets (Wine's is admin)
    status, _, _ = wine(str(installer), *setup, "/D=" + TARGET)
    assert status == 0 and (unix(TARGET) / f"{APP}-cli.exe").is_file()
    # Apps & features, for this user
    assert f"InstallLocation    REG_SZ    {ascii_folded(TARGET)}\r\n" in registered()
    assert list(PREFIX.glob("drive_c/users/*/AppData/Roaming/Microsoft/Windows/Start Menu/"
                            "Programs/CXR Pneumonia.lnk"))
    cli = TARGET + rf"\{APP}-cli.exe"

    # The console exe prints each file's line, the path exactly as given, the verdict and P of
    # the Linux source, and exits 0; the case history records them.
    status, out, err = wine(cli, "predict", "--lang", "en", jpeg, dicom)
    assert status == 0, err[-3000:]
    source = subprocess.run(
        [sys.executable, "-m", "desktop", "predict", "--lang", "en", "--no-history",
         "--no-profile", "--model", str(bundled_model), str(unix(jpeg)), str(unix(dicom))],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=True).stdout
    for path in (jpeg, dicom):
        verdict, p = predict_line(out, path)
        expected_verdict, expected_p = predict_line(source, str(unix(path)))
        assert verdict == expected_verdict in ("NORMAL", "PNEUMONIA")
        assert abs(p - expected_p) <= 0.002, (path, p, expected_p)
    assert "\\\\" not in out
    history = data / "history.db"
    assert history.is_file()
    recorded = history.read_bytes()

    # A missing file: one sentence, a non-zero status a script can test.
    status, out, err = wine(cli, "predict", "--lang", "en", FOLDER + r"\não existe.png")
    assert status != 0 and "Traceback" not in err and err.strip(), (status, err[-2000:])

    # Upgrade over itself without /D: the same folder (from the registry), history untouched.
    status, _, _ = wine(str(installer), *setup)
    assert status == 0 and (unix(TARGET) / f"{APP}.exe").is_file()
    assert history.read_bytes() == recorded
    status, out, err = wine(cli, "--self-test", gui=True)
    assert status == 0 and re.search(r"^self-test OK", out, re.M), (out + err)[-3000:]

    # Silent uninstall: the program, its Start-menu entry and its Apps & features entry go;
    # the user's history and settings stay.
    status, _, _ = wine(TARGET + r"\uninstall.exe", "/S")
    assert status == 0
    wait_until(lambda: not unix(TARGET).exists(), "the program folder is still there")
    assert history.read_bytes() == recorded
    assert not list(PREFIX.glob("drive_c/users/*/AppData/Roaming/Microsoft/Windows/Start Menu/"
                                "Programs/CXR Pneumonia.lnk"))
    wait_until(lambda: not registered(), "the uninstaller is still in Apps & features", 60)
