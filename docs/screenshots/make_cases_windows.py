"""Take every window issue 28 named -- the main window, Cases → History (and its Set confirmed
diagnosis dialog), Calibrate (before and after a run), Monitoring, Read first (after a read) --
in en, pt_BR and es, on a 1280x800 and an 800x600 screen, with the openbox window manager and
with none. The whole screen is taken (``import -window root``), so what falls off it shows.

    .venv/bin/python docs/screenshots/make_cases_windows.py [--model assets/model.pt]
        [--samples ../shared/data/fullres_samples] [--out docs/screenshots/cases]
        [--screens 1280x800 800x600] [--managers none openbox] [--languages en pt_BR es]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.gui_support import virtual_display  # noqa: E402


def settle(root, condition=lambda: True, timeout_s: float = 60.0) -> None:
    """Run the Tk loop until ``condition()`` holds, then a little more for the drawing."""
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        root.update()
        time.sleep(0.01)
    for _ in range(30):
        root.update()
        time.sleep(0.01)


def shoot(path: Path) -> None:
    subprocess.run(["import", "-window", "root", str(path)], check=True)


def confirmed_cases(model_sha256: str, n: int = 80) -> None:
    """Confirmed cases in the history, so Calibrate has something to fit."""
    import numpy as np

    from desktop.cases.store import CaseRecord, HistoryStore

    store = HistoryStore.open()
    rng = np.random.default_rng(0)
    for i in range(n):
        p = float(np.clip(rng.normal(0.75 if i % 2 else 0.3, 0.2), 0.01, 0.99))
        case = store.record(CaseRecord(
            sha256=f"{i:064d}", file_name=f"case{i}.png", path=f"/x/case{i}.png", size=1,
            model_sha256=model_sha256, model_version="1", profile="", p_model=p, p=p,
            threshold=0.5, verdict=None, scope="in_scope", scope_reason=None, origin="window"))
        store.confirm([case], "PNEUMONIA" if i % 2 else "NORMAL", how="radiologist")
    store.close()


def one_run(args, screen: str, manager: str, language: str) -> None:
    from desktop import i18n
    from desktop.settings import Settings
    from desktop.ui.app import App
    from desktop.ui.history_view import ConfirmDialog
    from desktop.ui.style import make_root

    tag = f"{screen}_{manager}_{language}"
    i18n.set_language(language)
    root, dnd = make_root()
    app = App(root, Settings(language=language), model_path=args.model, dnd=dnd)
    settle(root, lambda: app.state.model_ready)
    files = (sorted((args.samples / "PNEUMONIA").iterdir())[:3]
             + sorted((args.samples / "NORMAL").iterdir())[:3])
    app.open_paths(files)
    settle(root, lambda: not app.state.pending)
    app.history.wait_recorded()
    settle(root)
    shoot(args.out / f"main_{tag}.png")

    app.show_history()
    view = app.history.history_view
    settle(root, lambda: view.tree.get_children())
    shoot(args.out / f"history_{tag}.png")
    view.tree.selection_set(view.tree.get_children()[:2])
    dialog = ConfirmDialog(view, 2)
    settle(root, dialog.winfo_ismapped)
    shoot(args.out / f"confirm_{tag}.png")
    dialog.destroy()
    view.close()

    app.show_calibration()
    view = app.history.calibration_view
    settle(root, view.winfo_ismapped)
    shoot(args.out / f"calibrate-before_{tag}.png")
    view.run()
    settle(root, lambda: view.study is not None)
    shoot(args.out / f"calibrate-after_{tag}.png")
    view.close()

    app.show_monitoring()
    view = app.history.monitoring_view
    settle(root, lambda: view.tree.get_children())
    shoot(args.out / f"monitoring_{tag}.png")
    view.close()

    app.show_teaching()
    view = app.history.teaching_view
    view.open_files(files[:2])
    settle(root, lambda: view.result is not None)
    view.record_read("NORMAL")
    settle(root)
    shoot(args.out / f"teaching_{tag}.png")
    view.close()
    app.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "assets" / "model.pt")
    parser.add_argument("--samples", type=Path,
                        default=REPO.parent / "shared" / "data" / "fullres_samples")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "cases")
    parser.add_argument("--screens", nargs="+", default=["1280x800", "800x600"])
    parser.add_argument("--managers", nargs="+", default=["none", "openbox"])
    parser.add_argument("--languages", nargs="+", default=["en", "pt_BR", "es"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if len(args.screens) > 1:  # one process per screen: a Tk left on a closed screen ends it
        for screen in args.screens:
            subprocess.run([sys.executable, __file__, "--model", str(args.model), "--samples",
                            str(args.samples), "--out", str(args.out), "--screens", screen,
                            "--managers", *args.managers, "--languages", *args.languages],
                           check=True)
        return 0
    for screen in args.screens:
        with virtual_display(f"{screen}x24"):
            for manager in args.managers:
                wm = None
                if manager == "openbox":
                    wm = subprocess.Popen(["openbox", "--sm-disable"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1.0)  # a screenshot, not a test: let it take the screen
                for language in args.languages:
                    with tempfile.TemporaryDirectory() as scratch:
                        for kind in ("CONFIG", "LOG", "DATA"):
                            os.environ[f"CXR_{kind}_DIR"] = str(Path(scratch) / kind.lower())
                        sha = (args.model.parent / (args.model.name + ".sha256")).read_text()
                        confirmed_cases(sha.split()[0])
                        one_run(args, screen, manager, language)
                if wm is not None:
                    wm.terminate()
                    wm.wait()
    print(f"Screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
