"""Out-of-scope images made by code, for fitting the scope check: pages of text, charts and
screens, textures and noise, mosaics of chest X-rays, and radiographs of other body parts (limbs,
hands, a pelvis, a breast, a dental arch: grey, X-ray-like, and not a chest). They carry no
licence but this project's, so a model fitted on them can be shared freely; real out-of-scope
photos and scans, when given (``--ood-data``), are added to them.

Every image is uint8 [1, 224, 224], like the reader's output. Seeded: the same call gives the
same images.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from desktop.modelfile import INPUT_SIZE

KINDS = ("document", "chart", "screen", "texture", "mosaic", "other_xray")
_WORDS = ("patient report radiology findings clinic lungs normal study image series date name "
          "total value result table figure page chapter data model number the of and in").split()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def _document(rng: np.random.Generator) -> Image.Image:
    """A page of text lines, dark on light (sometimes inverted or turned)."""
    page = Image.new("L", (448, 448), int(rng.integers(200, 256)))
    draw = ImageDraw.Draw(page)
    size = int(rng.integers(10, 26))
    y = int(rng.integers(5, 40))
    while y < 430:
        words = " ".join(rng.choice(_WORDS, int(rng.integers(3, 12))))
        draw.text((int(rng.integers(5, 40)), y), words, fill=int(rng.integers(0, 80)),
                  font=_font(size))
        y += size + int(rng.integers(2, 14))
    if rng.random() < 0.2:
        page = Image.eval(page, lambda v: 255 - v)
    if rng.random() < 0.3:
        page = page.rotate(float(rng.choice([90, 180, 270, rng.uniform(-8, 8)])), fillcolor=255)
    return page


def _chart(rng: np.random.Generator) -> Image.Image:
    """Axes with lines, bars or dots, a title and tick labels."""
    img = Image.new("L", (448, 448), 255 if rng.random() < 0.8 else 30)
    draw = ImageDraw.Draw(img)
    ink = 0 if img.getpixel((0, 0)) > 128 else 230
    left, bottom = 50, 400
    draw.line([(left, 40), (left, bottom), (430, bottom)], fill=ink, width=2)
    kind = rng.integers(0, 3)
    for series in range(int(rng.integers(1, 4))):
        shade = int(rng.integers(0, 180)) if ink == 0 else int(rng.integers(120, 256))
        xs = np.linspace(left + 10, 420, int(rng.integers(6, 30)))
        ys = bottom - 20 - np.cumsum(rng.normal(0, 25, len(xs))) % 330
        if kind == 0:
            draw.line(list(zip(xs, ys, strict=True)), fill=shade, width=int(rng.integers(1, 4)))
        elif kind == 1:
            width = max(2, int((420 - left) / len(xs) / 2))
            for x, y in zip(xs, ys, strict=True):
                shift = series * 3
                draw.rectangle([x - width / 2 + shift, y, x + width / 2 + shift, bottom],
                               fill=shade)
        else:
            for x, y in zip(xs, ys, strict=True):
                r = int(rng.integers(2, 6))
                draw.ellipse([x - r, y - r, x + r, y + r], fill=shade)
    for tick in range(6):
        draw.text((left - 40, bottom - tick * 60), f"{tick * 10}", fill=ink, font=_font(12))
    draw.text((120, 10), " ".join(rng.choice(_WORDS, 4)), fill=ink, font=_font(16))
    return img


def _screen(rng: np.random.Generator) -> Image.Image:
    """An application window: bars, panels, buttons and text."""
    img = Image.new("L", (448, 448), int(rng.integers(180, 250)))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 448, 24], fill=int(rng.integers(40, 120)))
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, 380)), int(rng.integers(30, 400))
        x1, y1 = x0 + int(rng.integers(40, 200)), y0 + int(rng.integers(15, 120))
        draw.rectangle([x0, y0, x1, y1], fill=int(rng.integers(0, 256)),
                       outline=int(rng.integers(0, 120)))
        draw.text((x0 + 4, y0 + 2), " ".join(rng.choice(_WORDS, 2)), fill=0, font=_font(12))
    return img


def _texture(rng: np.random.Generator) -> Image.Image:
    """Noise, smooth noise (like terrain), stripes, checkers or a gradient."""
    kind = rng.integers(0, 5)
    y, x = np.mgrid[0:224, 0:224] / 224.0
    if kind == 0:
        arr = rng.normal(128, rng.uniform(10, 80), (224, 224))
    elif kind == 1:
        small = rng.normal(0, 1, (int(rng.integers(4, 16)),) * 2)
        arr = np.asarray(Image.fromarray(small.astype(np.float32), "F").resize(
            (224, 224), Image.Resampling.BICUBIC))
        arr = 128 + 60 * arr / (np.abs(arr).max() + 1e-6)
    elif kind == 2:
        arr = 128 + 100 * np.sin(2 * np.pi * rng.uniform(2, 30) * (x * np.cos(rng.uniform(0, 3))
                                                                   + y * np.sin(rng.uniform(0, 3))))
    elif kind == 3:
        n = int(rng.integers(2, 16))
        arr = ((np.floor(x * n) + np.floor(y * n)) % 2) * 255
    else:
        arr = 255 * (x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1) + rng.uniform(0, 1))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    return img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 2))))


def _mosaic(rng: np.random.Generator, xrays: torch.Tensor) -> Image.Image:
    """A grid of 2x2 to 4x4 chest X-rays (a contact sheet is not one X-ray)."""
    n = int(rng.integers(2, 5))
    tile = INPUT_SIZE // n
    sheet = Image.new("L", (tile * n, tile * n), 0)
    for row in range(n):
        for col in range(n):
            pick = xrays[int(rng.integers(0, len(xrays)))][0].numpy()
            sheet.paste(Image.fromarray(pick, "L").resize((tile, tile)), (col * tile, row * tile))
    return sheet


def _bone(draw: ImageDraw.ImageDraw, a, b, width: float, shade: int) -> None:
    """A long bone from ``a`` to ``b``: a bright shaft with brighter cortex and round ends."""
    draw.line([a, b], fill=shade, width=int(width))
    draw.line([a, b], fill=min(255, shade + 40), width=max(1, int(width / 3)))
    for x, y in (a, b):
        r = width * 0.8
        draw.ellipse([x - r, y - r, x + r, y + r], fill=shade)


def _other_xray(rng: np.random.Generator) -> Image.Image:
    """A radiograph of another body part: a limb or a hand, a pelvis, a breast (mammogram) or a
    dental arch, soft tissue round bright bone on a dark field, blurred and noisy."""
    img = Image.new("L", (448, 448), int(rng.integers(0, 40)))
    draw = ImageDraw.Draw(img)
    kind = int(rng.integers(0, 5))
    tissue = int(rng.integers(60, 120))
    if kind == 0:  # a limb: one or two long bones in a soft-tissue sleeve, maybe a joint
        x, tilt = rng.uniform(150, 300), rng.uniform(-60, 60)
        draw.line([(x - tilt, 0), (x + tilt, 448)], fill=tissue, width=int(rng.integers(120, 220)))
        for dx in ([0] if rng.random() < 0.5 else [-25, 25]):
            _bone(draw, (x - tilt + dx, rng.uniform(-20, 60)), (x + tilt + dx, rng.uniform(
                250, 470)), rng.uniform(18, 40), int(rng.integers(170, 230)))
    elif kind == 1:  # a hand: a palm and five rays of small bones
        cx, cy = rng.uniform(180, 270), rng.uniform(280, 340)
        draw.ellipse([cx - 90, cy - 70, cx + 90, cy + 110], fill=tissue)
        for k in range(5):
            angle = np.deg2rad(-70 + 35 * k + rng.uniform(-8, 8))
            x, y = cx + 40 * np.sin(angle), cy - 40 * np.cos(angle)
            for _ in range(3):
                nx, ny = x + 55 * np.sin(angle), y - 55 * np.cos(angle)
                draw.line([(x, y), (nx, ny)], fill=tissue, width=34)
                _bone(draw, (x, y), (nx, ny), 14, int(rng.integers(170, 230)))
                x, y = nx + 6 * np.sin(angle), ny - 6 * np.cos(angle)
    elif kind == 2:  # a pelvis: a wide bony ring, two femoral heads and shafts
        draw.ellipse([40, 60, 408, 330], fill=tissue)
        draw.ellipse([90, 100, 358, 300], outline=int(rng.integers(170, 230)), width=28)
        for side in (-1, 1):
            hx = 224 + side * rng.uniform(110, 140)
            draw.ellipse([hx - 35, 250, hx + 35, 320], fill=int(rng.integers(180, 235)))
            _bone(draw, (hx, 290), (hx + side * 20, 460), 40, int(rng.integers(170, 230)))
    elif kind == 3:  # a breast: a half disc of fibroglandular texture against one edge
        side = 0 if rng.random() < 0.5 else 448
        r = rng.uniform(200, 330)
        draw.ellipse([side - r, 224 - r * 1.2, side + r, 224 + r * 1.2], fill=tissue + 30)
        arr = np.asarray(img, dtype=np.float32)
        grain = np.asarray(Image.fromarray(rng.normal(0, 1, (56, 56)).astype(np.float32), "F")
                           .resize((448, 448), Image.Resampling.BICUBIC))
        img = Image.fromarray(np.clip(arr + 35 * grain * (arr > tissue), 0, 255).astype(
            np.uint8))
    else:  # a dental panoramic: a wide arch of bright teeth in a grey band
        draw.rectangle([0, 120, 448, 340], fill=tissue)
        for k in range(16):
            x = 20 + k * 26 + rng.uniform(-3, 3)
            for top, sign in ((230, -1), (240, 1)):
                lift = 40 * ((x - 224) / 224) ** 2
                y0 = top + sign * 10 - lift * sign * -1
                draw.rounded_rectangle([x, min(y0, y0 + sign * 80), x + 20,
                                        max(y0, y0 + sign * 80)], radius=6,
                                       fill=int(rng.integers(190, 250)))
    img = img.rotate(float(rng.uniform(-20, 20)), fillcolor=0)
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(1, 4))))
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0, rng.uniform(2, 8), (448, 448))
    if rng.random() < 0.15:
        arr = 255 - arr
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def synthetic_negatives(n: int, xrays: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, list]:
    """``n`` out-of-scope images (uint8 [n, 1, 224, 224]) spread over ``KINDS``, and their
    kinds; ``xrays`` (uint8 [M, 1, 224, 224]) are the tiles of the mosaics."""
    rng = np.random.default_rng(seed)
    images, kinds = [], []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        img = _mosaic(rng, xrays) if kind == "mosaic" else {
            "document": _document, "chart": _chart, "screen": _screen, "texture": _texture,
            "other_xray": _other_xray,
        }[kind](rng)
        images.append(np.asarray(img.resize((INPUT_SIZE, INPUT_SIZE),
                                            Image.Resampling.BILINEAR), dtype=np.uint8))
        kinds.append(kind)
    return torch.from_numpy(np.stack(images))[:, None], kinds
