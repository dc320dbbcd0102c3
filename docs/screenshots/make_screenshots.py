"""Take the README's screenshots of the real window on a private Xvfb screen (1280x800).

    .venv/bin/python docs/screenshots/make_screenshots.py [--model assets/model.pt]
        [--samples ../shared/data/fullres_samples]

Needs Xvfb, ImageMagick's ``import`` and poppler's ``pdftoppm`` (the report page). Images come
from the shared full-resolution samples (never committed); only the PNG screenshots are. The
DICOM of the information panel's shot is made here from one of them, with made-up tags and a
made-up patient. Look at every one after taking it.
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
    def shown() -> bool:
        picked = app.state.selected
        return picked is not None and picked.path.name == file_name and (
            picked.model_input is not None or picked.preview_error is not None)

    settle(app, shown)


def dicom_from(sample: Path, out: Path) -> Path:
    """A DX chest DICOM of a sample's pixels (12-bit values), with made-up facts, two window
    presets and a made-up patient (the panel hides the name and ID)."""
    import numpy as np
    from PIL import Image

    from tests.support.fuzz_corpus import dicom_bytes

    pixels = np.asarray(Image.open(sample).convert("L"), dtype=np.uint16) * 16
    out.write_bytes(dicom_bytes(pixels, extra={
        "Modality": "DX", "BodyPartExamined": "CHEST", "ViewPosition": "PA",
        "PatientName": "EXAMPLE^PATIENT", "PatientID": "DEMO-0001", "PatientAge": "004Y",
        "PatientSex": "F", "StudyDate": "20240131", "Manufacturer": "Example Imaging",
        "ImagerPixelSpacing": [0.15, 0.15], "BitsStored": 12, "HighBit": 11,
        "WindowCenter": [2000, 1500], "WindowWidth": [4000, 1600],
        "WindowCenterWidthExplanation": ["FULL", "LUNG"]}))
    return out


def scope_examples(frontal_normal: Path, frontal_pneumonia: Path, folder: Path) -> Path:
    """A folder with an image in scope, one unusual (a DICOM tagged as a lateral view) and one
    that is no chest X-ray (a colour gradient drawn here)."""
    import shutil

    import numpy as np
    from PIL import Image

    from tests.support.fuzz_corpus import dicom_bytes

    folder.mkdir(parents=True)
    shutil.copy(frontal_pneumonia, folder / "chest frontal.jpeg")
    pixels = np.asarray(Image.open(frontal_normal).convert("L"), dtype=np.uint16) * 16
    (folder / "chest lateral.dcm").write_bytes(dicom_bytes(pixels, extra={
        "Modality": "DX", "BodyPartExamined": "CHEST", "ViewPosition": "LL",
        "BitsStored": 12, "HighBit": 11}))
    y, x = np.mgrid[0:400, 0:600]
    rgb = np.stack([x * 255 / 600, y * 255 / 400, 128 + 0 * x], -1).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(folder / "holiday photo.jpg")
    return folder


def hottest_point(viewer) -> tuple[float, float]:
    """Where on the canvas the heatmap is hottest (the fitted view), to zoom in there."""
    import numpy as np

    heat = viewer.picture.heatmap
    row, column = np.unravel_index(int(np.argmax(heat)), heat.shape)
    (w, h), viewport = viewer.picture.size, viewer.viewport()
    x = viewport.offset[0] + (column + 0.5) / heat.shape[1] * w * viewer.scale
    y = viewport.offset[1] + (row + 0.5) / heat.shape[0] * h * viewer.scale
    return x, y


def report_page(app, scratch: Path, name: str) -> None:
    """File → Save report of the image shown, its first page drawn by pdftoppm."""
    pdf = scratch / f"{name}.pdf"
    if not app.save_report(pdf):
        raise SystemExit(app.status_label.cget("text"))
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(OUT / name)], check=True)
    print("wrote", OUT / f"{name}.png")


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
        from desktop.settings import Settings
        from desktop.ui.app import App
        from desktop.ui.style import make_root

        i18n.set_language("en")
        root, dnd = make_root()
        settings = Settings(language="en", window_geometry="1280x774+0+0")
        app = App(root, settings, model_path=args.model, dnd=dnd)
        settle(app, lambda: app.state.model_ready or app.state.model_error)
        if app.state.model_error:
            raise SystemExit(str(app.state.model_error))

        app.open_paths([pneumonia[0]])
        settle(app, lambda: not app.state.pending)
        shoot(app, "single_result")

        app.state.clear_results()
        app.open_paths([args.samples])
        settle(app, lambda: not app.state.pending)
        app.state.sort_by("p_pneumonia")
        app.state.sort_by("p_pneumonia")  # descending: most suspicious first
        select(app, normal[1].name)
        shoot(app, "batch_table")

        app.set_language("pt_BR")
        select(app, pneumonia[2].name)
        shoot(app, "portuguese")

        app.set_language("en")
        select(app, pneumonia[0].name)
        app.show_heatmap.set(True)
        app.heatmap_toggled()
        settle(app, lambda: app.state.selected.heatmap is not None)
        shoot(app, "heatmap_on")

        app.show_model_card()
        settle(app)
        app.dialog.geometry("760x700+260+50")
        shoot(app, "model_card")
        app.dialog.close()

        # The viewer: zoomed into the right lung, a narrower window by right-drag, the heatmap
        # at a lower opacity; then that view as a PDF report.
        viewer = app.pane.preview.viewer
        hot = hottest_point(viewer)
        for _ in range(3):
            app.pane.preview.change(lambda: viewer.zoom_by(1.25, at=hot))
        width, height = viewer.canvas  # then drag the hot spot towards the middle
        app.pane.preview.change(lambda: viewer.pan(width / 2 - hot[0], height / 2 - hot[1]))
        viewer.begin_window_drag()
        app.pane.preview.change(lambda: viewer.drag_window(-60, -10))
        viewer.end_window_drag()
        app.heat_opacity.set(0.4)
        app.pane.opacity_changed()
        settle(app)
        shoot(app, "viewer_zoomed")
        report_page(app, Path(scratch), "report_page")

        # The information panel of a DICOM: its facts, the patient's name and ID hidden.
        app.show_heatmap.set(False)
        app.heatmap_toggled()
        app.state.clear_results()
        if not app.show_image_info.get():
            app.run_command("image_info")
        dicom = dicom_from(normal[0], Path(scratch) / "chest.dcm")
        app.open_paths([dicom])
        settle(app, lambda: not app.state.pending and app.state.selected is not None
               and app.state.selected.model_input is not None)
        app.pane.choose_window("file_2")  # the file's own LUNG window
        shoot(app, "image_info")

        # The three scopes side by side in the table: a frontal X-ray, the same kind of image
        # tagged as a lateral view, and a colour picture drawn here; the lateral one selected.
        app.run_command("image_info")
        app.pane.choose_window("default")
        app.state.clear_results()
        files = scope_examples(normal[3], pneumonia[0], Path(scratch) / "scope")
        app.open_paths([files])
        settle(app, lambda: not app.state.pending)
        select(app, "chest lateral.dcm")
        shoot(app, "scope_states")
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
