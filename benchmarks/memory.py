"""Peak resident memory (RSS) of the app process: model loaded, then during a 400-file batch.

Each figure comes from a fresh child process (the kernel's high-water mark, VmHWM, reset after
loading), so nothing else in the benchmark run counts. The batch is measured as the `predict`
command runs it (rows printed and dropped); the window's figure comes from `responsiveness.py`,
which runs the real window. The dev venv's torch is the CUDA build, whose libraries alone add
~400 MB of RSS; where the packaging venv (`.venv-package`, CPU-only torch as shipped) exists, it
is measured too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import (
    REPO,
    Row,
    folder_of_copies,
    fullres_files,
    standalone,
    status_kib,
)

TARGET_MB = 500
PACKAGE_PYTHON = REPO / ".venv-package" / "bin" / "python"


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def mb(field: str) -> float:
    return status_kib(field) / 1024


def child(mode: str, model: str, folder: str) -> None:
    """Runs in the child: prints one JSON object with the figures."""
    files = sorted(Path(folder).iterdir())
    out = {}
    if mode == "baseline":
        from benchmarks.baseline import ReferencePath

        reference = ReferencePath(Path(model))
        out["loaded"] = mb("VmRSS")
        reset_peak()
        for f in files:
            reference.predict(f)
        out["batch"] = mb("VmHWM")
    else:
        from desktop.engine.inference import Engine

        engine = Engine.load(model)
        out["loaded"] = mb("VmRSS")
        out["loaded_anon"] = mb("RssAnon")
        reset_peak()
        for _ in engine.predict_paths(files, preview_size=None):
            pass
        out["batch"] = mb("VmHWM")
    print(json.dumps(out))


def measure(python: Path, mode: str, model: Path, folder: Path) -> dict:
    proc = subprocess.run(
        [str(python), "-m", "benchmarks.memory", "--child", mode, str(model), str(folder)],
        cwd=REPO, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def package_python_works() -> bool:
    if not PACKAGE_PYTHON.exists():
        return False
    probe = subprocess.run([str(PACKAGE_PYTHON), "-c", "import desktop.engine.inference"], cwd=REPO,
                           capture_output=True, stdin=subprocess.DEVNULL)
    return probe.returncode == 0


def run(model_path: Path, workdir: Path, n_files: int = 400) -> list[Row]:
    folder = folder_of_copies(fullres_files(), n_files, workdir)
    base = measure(Path(sys.executable), "baseline", model_path, folder)
    rows = []
    runs = [("dev venv, CUDA-build torch", Path(sys.executable))]
    if package_python_works():
        runs.insert(0, ("shipped CPU-only torch", PACKAGE_PYTHON))
    for label, python in runs:
        app = measure(python, "app", model_path, folder)
        rows += [
            Row(f"peak RSS, model loaded ({label})", app["loaded"], base["loaded"], "MB",
                f"< {TARGET_MB} MB", app["loaded"] < TARGET_MB),
            Row(f"peak RSS, {n_files}-file batch, command ({label})", app["batch"],
                base["batch"], "MB", f"< {TARGET_MB} MB", app["batch"] < TARGET_MB),
        ]
    return rows


if __name__ == "__main__":
    standalone(run, child)
