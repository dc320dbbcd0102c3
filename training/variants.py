"""Chest radiographs unlike the training images, made from them: how other hospitals' films
differ (dense opacities, tubes and lines, side markers, collimation borders, tight and wide
fields, harsh or flat exposure, equalised contrast, tilt). The scope check learns "is a chest
radiograph at all" from these as well as from the training images, so that a chest X-ray from
elsewhere is *unusual* (verdict shown, marked), not "not a chest X-ray".

uint8 [N, 1, 224, 224] in and out, like the reader's output; seeded: the same call gives the
same images.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from desktop.modelfile import INPUT_SIZE

KINDS = ("opacity", "lines", "marker", "border", "field", "exposure", "equalised", "tilt")
_GRID = np.mgrid[0:INPUT_SIZE, 0:INPUT_SIZE].astype(np.float32) / INPUT_SIZE


def _opacity(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Airspace disease: bright soft patches over one or both lung fields, up to a white-out."""
    y, x = _GRID
    arr = np.asarray(img, dtype=np.float32) / 255.0
    cloud = np.zeros_like(arr)
    for _ in range(int(rng.integers(1, 5))):
        cx = rng.choice([rng.uniform(0.2, 0.42), rng.uniform(0.58, 0.8)])
        cy, sx, sy = rng.uniform(0.3, 0.8), rng.uniform(0.06, 0.2), rng.uniform(0.08, 0.3)
        cloud += rng.uniform(0.3, 0.9) * np.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))
    cloud = np.clip(cloud, 0, 1)
    return Image.fromarray(np.round(255 * (arr + cloud * (0.85 - arr).clip(0))).astype(np.uint8))


def _lines(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Portable films: tubes, catheters and ECG leads (thin bright curves), electrodes."""
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 6))):
        pts = rng.uniform(0, INPUT_SIZE, (3, 2))
        t = np.linspace(0, 1, 24)[:, None]
        curve = (1 - t) ** 2 * pts[0] + 2 * t * (1 - t) * pts[1] + t ** 2 * pts[2]
        draw.line([tuple(p) for p in curve], fill=int(rng.integers(170, 256)),
                  width=int(rng.integers(1, 4)))
    for _ in range(int(rng.integers(0, 5))):
        cx, cy, r = rng.uniform(10, 214), rng.uniform(10, 214), rng.uniform(3, 7)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=int(rng.integers(200, 256)))
    return img


def _marker(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A side marker or a burnt-in label ("L", "R", "AP", "PORTABLE", a date) in a corner."""
    draw = ImageDraw.Draw(img)
    text = str(rng.choice(["L", "R", "AP", "PA", "PORTABLE", "SUPINE", "ERECT", "12/03 08:14"]))
    x, y = rng.choice([8.0, 150.0]) + rng.uniform(0, 40), rng.choice([6.0, 190.0]) + rng.uniform(
        0, 20)
    if rng.random() < 0.5:
        draw.rectangle([x - 3, y - 3, x + 9 * len(text) + 3, y + 18], fill=int(rng.integers(0, 60)))
    draw.text((x, y), text, fill=int(rng.integers(200, 256)))
    return img


def _border(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Collimation: a black or white frame of uneven widths around the field."""
    draw = ImageDraw.Draw(img)
    fill = 0 if rng.random() < 0.6 else 255
    w = rng.integers(0, 30, 4)
    draw.rectangle([0, 0, INPUT_SIZE, int(w[0])], fill=fill)
    draw.rectangle([0, INPUT_SIZE - int(w[1]), INPUT_SIZE, INPUT_SIZE], fill=fill)
    draw.rectangle([0, 0, int(w[2]), INPUT_SIZE], fill=fill)
    draw.rectangle([INPUT_SIZE - int(w[3]), 0, INPUT_SIZE, INPUT_SIZE], fill=fill)
    return img


def _field(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A tighter field (the lungs only) or a wider one (neck and abdomen, a taller thorax)."""
    zoom = float(np.exp(rng.uniform(np.log(0.55), np.log(1.8))))
    stretch = float(np.exp(rng.uniform(-0.3, 0.3)))
    w, h = INPUT_SIZE / zoom * stretch, INPUT_SIZE / zoom / stretch
    cx = INPUT_SIZE / 2 + rng.uniform(-0.1, 0.1) * INPUT_SIZE
    cy = INPUT_SIZE / 2 + rng.uniform(-0.1, 0.15) * INPUT_SIZE
    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return img.transform((INPUT_SIZE, INPUT_SIZE), Image.Transform.EXTENT, box,
                         Image.Resampling.BILINEAR, fillcolor=int(rng.choice([0, 0, 255])))


def _exposure(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Over- or under-exposed, flat or harsh, soft or noisy."""
    arr = np.asarray(img, dtype=np.float32) / 255.0
    arr = arr.clip(1e-4) ** float(np.exp(rng.uniform(-0.9, 0.9)))
    arr = (arr - arr.mean()) * rng.uniform(0.4, 1.7) + arr.mean() + rng.uniform(-0.2, 0.2)
    arr = arr + rng.normal(0, rng.uniform(0, 0.04), arr.shape)
    out = Image.fromarray(np.round(255 * arr.clip(0, 1)).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.5))))


def _equalised(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Processed as some archives store them: histogram-equalised or auto-contrasted."""
    return ImageOps.equalize(img) if rng.random() < 0.5 else ImageOps.autocontrast(img, cutoff=2)


def _tilt(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A patient not square to the detector: tilted up to 20 degrees, off centre."""
    return img.rotate(float(rng.uniform(-20, 20)), Image.Resampling.BILINEAR,
                      translate=tuple(rng.uniform(-20, 20, 2)), fillcolor=0)


_MAKERS = {"opacity": _opacity, "lines": _lines, "marker": _marker, "border": _border,
           "field": _field, "exposure": _exposure, "equalised": _equalised, "tilt": _tilt}


def radiograph_variants(images: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """Each image changed in one to three of the ``KINDS`` ways (the first named is the one it
    is counted under): chest radiographs of other kinds, same shape and dtype as ``images``."""
    rng = np.random.default_rng(seed)
    out, kinds = [], []
    for i, image in enumerate(images):
        img = Image.fromarray(image[0].numpy(), "L")
        first = KINDS[i % len(KINDS)]
        extra = rng.choice(KINDS, int(rng.integers(0, 3)), replace=False)
        for kind in (first, *(k for k in extra if k != first)):
            img = _MAKERS[kind](img, rng)
        out.append(np.asarray(img, dtype=np.uint8))
        kinds.append(first)
    return torch.from_numpy(np.stack(out))[:, None], kinds
