"""Take the README's screenshots of the real window on a private Xvfb screen (1280x800).

    .venv/bin/python docs/screenshots/make_screenshots.py [--model assets/model.pt]
        [--samples ../shared/data/fullres_samples]

Needs Xvfb and ImageMagick's ``import``. Images come from the shared full-resolution samples
(never committed); only the PNG screenshots are. Look at every one after taking it.
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

from tests.gui_support import virtual_display  # noqa: E402

OUT = Path(__file__).resolve().parent


def settle(app, condition=lambda: True, timeout_s: float = 120.0) -> None:
    """Run the Tk loop until ``condition()`` holds, then a little longer so drawing is done."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the window did not get there in time")
        app.root.update()
        time.sleep(0.01)
    for _ in range(30):
        app.root.update()
        time.sleep(0.01)


def shoot(app, name: str) -> None:
    settle(app)
    # The screen is taller than the picture: the app keeps room for a task bar below its window.
    subprocess.run(["import", "-window", "root", "-crop", "1280x800+0+0", "+repage",
                    str(OUT / f"{name}.png")], check=True)
    print("wrote", OUT / f"{name}.png")


def select(app, file_name: str) -> None:
    tree = app.table.tree
    iid = next(i for i in tree.get_children() if tree.item(i, "values")[0] == file_name)
    tree.selection_set(iid)
    tree.focus(iid)
    tree.see(iid)
    # A batch keeps no images: the worker reads the selected file again for its preview.
    settle(app, lambda: app.selected is not None and app.selected.path.name == file_name and (
        app.selected.model_input is not None or app.selected.preview_error is not None))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "assets" / "model.pt")
    parser.add_argument("--samples", type=Path, default=REPO.parent / "shared" / "data" /
                        "fullres_samples")
    args = parser.parse_args()
    if not args.model.exists():
        raise SystemExit(f"no model at {args.model}; train/export one or pass --model")
    pneumonia = sorted((args.samples / "PNEUMONIA").iterdir())
    normal = sorted((args.samples / "NORMAL").iterdir())

    with tempfile.TemporaryDirectory() as scratch, virtual_display("1280x880x24"):
        os.environ["CXR_CONFIG_DIR"] = str(Path(scratch) / "config")
        os.environ["CXR_LOG_DIR"] = str(Path(scratch) / "logs")
        from desktop import i18n
        from desktop.app import App, make_root
        from desktop.settings import Settings

        i18n.set_language("en")
        root, dnd = make_root()
        settings = Settings(language="en", window_geometry="1280x774+0+0")
        app = App(root, settings, model_path=args.model, dnd=dnd)
        settle(app, lambda: app.model_ready or app.model_error)
        if app.model_error:
            raise SystemExit(str(app.model_error))

        app.open_paths([pneumonia[0]])
        settle(app, lambda: not app.pending)
        shoot(app, "single_result")

        app.clear_results()
        app.open_paths([args.samples])
        settle(app, lambda: not app.pending)
        app.sort_by("p_pneumonia")
        app.sort_by("p_pneumonia")  # descending: most suspicious first
        select(app, normal[1].name)
        shoot(app, "batch_table")

        app.set_language("pt_BR")
        select(app, pneumonia[2].name)
        shoot(app, "portuguese")

        app.set_language("en")
        select(app, pneumonia[0].name)
        app.show_heatmap.set(True)
        app.heatmap_toggled()
        settle(app, lambda: app.selected.heatmap is not None)
        shoot(app, "heatmap_on")

        app.show_model_card()
        settle(app)
        app.dialog.geometry("760x700+260+50")
        shoot(app, "model_card")
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
