"""A contact sheet of where two models look: each full-resolution sample with the Grad-CAM map of
model A (left) and model B (right), for comparing them by eye.

    .venv/bin/python docs/plots/heatmap_sheet.py OLD_MODEL.pt NEW_MODEL.pt OUT.jpg \
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

    from desktop.engine.inference import Engine
    from desktop.reading.imaging import read_image
    from desktop.reports.overlay import blend_heatmap

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_a", type=Path)
    parser.add_argument("model_b", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=Path,
                        default=REPO.parent / "shared" / "data" / "fullres_samples")
    parser.add_argument("--tile", type=int, default=150)
    args = parser.parse_args()
    import numpy as np
    engines = [Engine.load(args.model_a), Engine.load(args.model_b)]
    files = sorted(args.samples.rglob("*.jpeg"))
    columns, tile = 4, args.tile  # 4 samples per row, each as a pair of tiles
    rows = (len(files) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (2 * tile + 8), rows * (tile + 16)), "white")
    draw = ImageDraw.Draw(sheet)
    shares = [[], []]  # per model: (share of the map in the lung box, in the lowest fifth)
    for n, path in enumerate(files):
        xray = read_image(path, preview_size=tile * 2)
        x0, y0 = (n % columns) * (2 * tile + 8), (n // columns) * (tile + 16)
        for k, engine in enumerate(engines):
            heat = engine.explain(xray.model_input)
            shares[k].append(_shares(np.asarray(heat, dtype=np.float64)))
            p = float(engine.predict_batch(xray.model_input[None])[0])
            pair = blend_heatmap(xray.preview, heat).resize((tile, tile))
            sheet.paste(pair, (x0 + k * tile, y0))
            draw.text((x0 + k * tile + 2, y0 + tile + 1), f"{'AB'[k]} p={p:.2f}", fill="black")
        draw.text((x0 + 2, y0 + 2), path.parent.name[0], fill="white")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    jpeg = args.out.suffix.lower() in (".jpg", ".jpeg")
    sheet.save(args.out, optimize=True, **({"quality": 85} if jpeg else {}))
    print("wrote", args.out)
    for k, name in enumerate("AB"):
        lung, low = np.mean(shares[k], axis=0)
        print(f"model {name}: {lung:.1%} of the map in the lung box, {low:.1%} in the lowest "
              f"fifth (mean over {len(files)} samples)")
    return 0


def _shares(heat) -> tuple[float, float]:
    """A rough, mask-free proxy for "on the lungs": the map's share inside the box where the
    lung fields sit on a framed frontal film (x 15-85%, y 10-80%), and in the lowest fifth
    (abdomen, electrodes, labels)."""
    h, w = heat.shape
    total = float(heat.sum()) or 1.0
    lung = float(heat[int(0.10 * h):int(0.80 * h), int(0.15 * w):int(0.85 * w)].sum())
    return lung / total, float(heat[int(0.80 * h):].sum()) / total


if __name__ == "__main__":
    sys.exit(main())
