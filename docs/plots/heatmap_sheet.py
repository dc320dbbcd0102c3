"""A contact sheet of where two models look: each full-resolution sample with the Grad-CAM map of
model A (left) and model B (right), for comparing them by eye.

    .venv/bin/python docs/plots/heatmap_sheet.py OLD_MODEL.pt NEW_MODEL.pt OUT.png \
        [--samples ../shared/data/fullres_samples]

The images come from ../shared (never committed); only the sheet is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main() -> int:
    from PIL import Image, ImageDraw

    from desktop.imaging import read_image
    from desktop.inference import Engine
    from desktop.overlay import blend_heatmap

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_a", type=Path)
    parser.add_argument("model_b", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=Path,
                        default=REPO.parent / "shared" / "data" / "fullres_samples")
    parser.add_argument("--tile", type=int, default=150)
    args = parser.parse_args()
    engines = [Engine.load(args.model_a), Engine.load(args.model_b)]
    files = sorted(args.samples.rglob("*.jpeg"))
    columns, tile = 4, args.tile  # 4 samples per row, each as a pair of tiles
    rows = (len(files) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (2 * tile + 8), rows * (tile + 16)), "white")
    draw = ImageDraw.Draw(sheet)
    for n, path in enumerate(files):
        xray = read_image(path, preview_size=tile * 2)
        x0, y0 = (n % columns) * (2 * tile + 8), (n // columns) * (tile + 16)
        for k, engine in enumerate(engines):
            heat = engine.explain(xray.model_input)
            p = float(engine.predict_batch(xray.model_input[None])[0])
            pair = blend_heatmap(xray.preview, heat).resize((tile, tile))
            sheet.paste(pair, (x0 + k * tile, y0))
            draw.text((x0 + k * tile + 2, y0 + tile + 1), f"{'AB'[k]} p={p:.2f}", fill="black")
        draw.text((x0 + 2, y0 + 2), path.parent.name[0], fill="white")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
