"""Take the window in each language at the smallest size (800x600) and at full size (1280x774):
a folder of the samples and the three scope examples, the lateral film selected (the longest
scope sentence), the heatmap on. What issue 22 asked to look at; written to ``sizes/``.

    .venv/bin/python docs/screenshots/make_sizes.py [--model assets/model.pt]
        [--samples ../shared/data/fullres_samples] [--out docs/screenshots/sizes]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_screenshots import scope_examples, select, settle  # noqa: E402

from tests.support.gui_support import virtual_display  # noqa: E402

SIZES = {"800x600": (800, 600), "full": (1280, 774)}
LANGUAGES = ("en", "es", "pt_BR")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "assets" / "model.pt")
    parser.add_argument("--samples", type=Path, default=REPO.parent / "shared" / "data" /
                        "fullres_samples")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "sizes")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pneumonia = sorted((args.samples / "PNEUMONIA").iterdir())
    normal = sorted((args.samples / "NORMAL").iterdir())

    with tempfile.TemporaryDirectory() as scratch, virtual_display("1280x880x24"):
        os.environ["CXR_CONFIG_DIR"] = str(Path(scratch) / "config")
        os.environ["CXR_LOG_DIR"] = str(Path(scratch) / "logs")
        os.environ["CXR_DATA_DIR"] = str(Path(scratch) / "data")
        from desktop import i18n
        from desktop.settings import Settings
        from desktop.ui.app import App
        from desktop.ui.style import make_root

        folder = scope_examples(normal[3], pneumonia[0], Path(scratch) / "scope")
        for sample in normal[:3] + pneumonia[1:4]:
            shutil.copy(sample, folder / sample.name)
        i18n.set_language("en")
        root, dnd = make_root()
        app = App(root, Settings(language="en", window_geometry="1280x774+0+0"),
                  model_path=args.model, dnd=dnd)
        settle(app, lambda: app.state.model_ready or app.state.model_error)
        app.open_paths([folder])
        settle(app, lambda: not app.state.pending)
        app.show_heatmap.set(True)
        app.heatmap_toggled()
        for language in LANGUAGES:
            app.set_language(language)
            for name, (width, height) in SIZES.items():
                app.root.geometry(f"{width}x{height}+0+0")
                settle(app, lambda w=width: app.root.winfo_width() == w)
                select(app, "chest lateral.dcm")
                settle(app, lambda: app.state.selected.heatmap is not None
                       or app.state.selected.heatmap_error is not None)
                out = args.out / f"{language}-{name}.png"
                below_menu = app.root.winfo_rooty()  # the menu bar sits above the window's area
                subprocess.run(["import", "-window", "root", "-crop",
                                f"{width}x{height + below_menu}+0+0", "+repage", str(out)],
                               check=True)
                print("wrote", out)
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
