"""Batched augmentation on tensors (one affine warp + intensity jitter per batch, CPU or GPU).

The "framing" preset attacks the data set's shortcut: every training NORMAL image shares one
framing, while new images vary in zoom, position, aspect and contrast.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    hflip: bool = True
    rotate_deg: float = 10.0
    zoom_min: float = 1.0  # < 1 zooms out: the image shrinks inside a black border
    zoom_max: float = 1.0  # > 1 zooms in (a random crop, resized)
    aspect: float = 0.0  # log-uniform stretch of width against height, e.g. 0.15 = +-16%
    translate: float = 0.0  # fraction of the image size
    brightness: float = 0.1  # multiplicative factor in [1-b, 1+b]
    contrast: float = 0.1  # around the image mean, factor in [1-c, 1+c]
    gamma: float = 0.0  # log-uniform exponent, e.g. 0.3 = gamma in [0.74, 1.35]
    noise: float = 0.0  # std of additive Gaussian noise
    blur: float = 0.0  # largest Gaussian blur sigma in pixels (half the images are blurred)

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    "none": AugmentConfig(hflip=False, rotate_deg=0.0, brightness=0.0, contrast=0.0),
    # the reference MVP: horizontal flip, rotation +-10 degrees, brightness/contrast +-10%
    "reference": AugmentConfig(),
    "framing": AugmentConfig(
        rotate_deg=10.0, zoom_min=0.75, zoom_max=1.25, aspect=0.15, translate=0.08,
        brightness=0.2, contrast=0.3, gamma=0.35, noise=0.01,
    ),
    "framing_strong": AugmentConfig(
        rotate_deg=15.0, zoom_min=0.6, zoom_max=1.4, aspect=0.25, translate=0.12,
        brightness=0.25, contrast=0.4, gamma=0.5, noise=0.015,
    ),
    # framing with tighter and looser crops (zoom 0.7-1.5): a field cropped close to the lungs
    "framing_crop": AugmentConfig(
        rotate_deg=10.0, zoom_min=0.7, zoom_max=1.5, aspect=0.15, translate=0.1,
        brightness=0.2, contrast=0.3, gamma=0.35, noise=0.01, blur=0.8,
    ),
    # framing, wider zoom-out (small children in a large field), softer and noisier images
    "framing_wide": AugmentConfig(
        rotate_deg=10.0, zoom_min=0.6, zoom_max=1.3, aspect=0.2, translate=0.1,
        brightness=0.2, contrast=0.35, gamma=0.45, noise=0.015, blur=1.2,
    ),
}

# The "shifted validation": validation images re-framed and re-contrasted with a fixed seed, a
# stand-in for a new hospital's images that validation carved from train does not show.
SHIFT = AugmentConfig(
    hflip=False, rotate_deg=5.0, zoom_min=0.8, zoom_max=1.2, aspect=0.2, translate=0.06,
    brightness=0.15, contrast=0.3, gamma=0.4, noise=0.0,
)


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def augment(images: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """uint8 [B, 1, H, W] (any device) -> float [B, 1, H, W] in [0, 1], randomly augmented.

    Random numbers come from the CPU generator ``g``, so a seed gives the same batch on any device.
    """
    x = images.float() / 255.0
    n, dev = x.size(0), x.device
    if cfg.gamma > 0:
        gamma = torch.exp(_uniform(n, -cfg.gamma, cfg.gamma, g)).to(dev)
        x = x.clamp_min(1e-6) ** gamma.view(n, 1, 1, 1)
    if cfg.contrast > 0:
        c = _uniform(n, 1 - cfg.contrast, 1 + cfg.contrast, g).to(dev).view(n, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * c + mean
    if cfg.brightness > 0:
        x = x * _uniform(n, 1 - cfg.brightness, 1 + cfg.brightness, g).to(dev).view(n, 1, 1, 1)
    if cfg.noise > 0:
        noise = torch.randn(x.shape, generator=g).to(dev)
        x = x + cfg.noise * noise
    x = x.clamp(0.0, 1.0)
    if cfg.blur > 0:
        x = _blur(x, cfg.blur, g)
    grid = F.affine_grid(_affine(n, cfg, g).to(dev), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _blur(x: torch.Tensor, max_sigma: float, g: torch.Generator) -> torch.Tensor:
    """Gaussian blur with a random sigma per image (half of them left sharp)."""
    n, dev = x.size(0), x.device
    sigma = _uniform(n, 0.3, max_sigma, g) * (torch.rand(n, generator=g) < 0.5)
    radius = max(1, math.ceil(3 * max_sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (t[None] / sigma.clamp_min(1e-3)[:, None]) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).to(dev)  # sigma 0 -> a delta: unchanged
    rows = x.reshape(1, n, *x.shape[2:])
    rows = F.conv2d(F.pad(rows, (radius, radius, 0, 0), mode="replicate"),
                    kernel[:, None, None, :], groups=n)
    cols = F.conv2d(F.pad(rows, (0, 0, radius, radius), mode="replicate"),
                    kernel[:, None, :, None], groups=n)
    return cols.reshape(x.shape)


def _affine(n: int, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """[n, 2, 3] maps output to input coordinates (normalised [-1, 1])."""
    angle = _uniform(n, -cfg.rotate_deg, cfg.rotate_deg, g) * (math.pi / 180)
    zoom = torch.exp(_uniform(n, math.log(cfg.zoom_min), math.log(cfg.zoom_max), g))
    stretch = torch.exp(_uniform(n, -cfg.aspect, cfg.aspect, g))
    sx, sy = 1.0 / (zoom * stretch), stretch / zoom
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0) if cfg.hflip else torch.ones(n)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cos * sx * flip
    theta[:, 0, 1] = -sin * sy
    theta[:, 1, 0] = sin * sx * flip
    theta[:, 1, 1] = cos * sy
    theta[:, 0, 2] = _uniform(n, -2 * cfg.translate, 2 * cfg.translate, g)
    theta[:, 1, 2] = _uniform(n, -2 * cfg.translate, 2 * cfg.translate, g)
    return theta


# Distribution-shifted views of validation, each one kind of change a new hospital brings. A model
# is chosen on these and on plain validation, never on the test split.
SHIFT_VIEWS = {
    "shifted": SHIFT,  # all of it at once, moderate
    "exposure": AugmentConfig(hflip=False, rotate_deg=0.0, brightness=0.25, contrast=0.45,
                              gamma=0.6),  # darker/lighter, flatter/harsher; same framing
    "zoom_out": AugmentConfig(hflip=False, rotate_deg=3.0, zoom_min=0.62, zoom_max=0.8,
                              translate=0.05, brightness=0.0, contrast=0.0),  # a wider field
    "crop": AugmentConfig(hflip=False, rotate_deg=3.0, zoom_min=1.2, zoom_max=1.45,
                          translate=0.05, brightness=0.0, contrast=0.0),  # a tighter field
    "soft": AugmentConfig(hflip=False, rotate_deg=0.0, brightness=0.0, contrast=0.2,
                          noise=0.02, blur=1.5),  # blurred, noisy, low-contrast
}


def shifted(images: torch.Tensor, seed: int = 1234, cfg: AugmentConfig = SHIFT) -> torch.Tensor:
    """A fixed shifted view of ``images`` (uint8 in, uint8 out): ``cfg`` applied with ``seed``."""
    return augmented_uint8(images, cfg, torch.Generator().manual_seed(seed))


def augmented_uint8(images: torch.Tensor, cfg: AugmentConfig,
                    g: torch.Generator) -> torch.Tensor:
    """``cfg`` applied to uint8 images with the generator ``g``, back to uint8, in batches."""
    out = torch.empty_like(images)
    for start in range(0, len(images), 256):
        batch = augment(images[start:start + 256], cfg, g)
        out[start:start + 256] = (batch * 255).round().to(torch.uint8)
    return out
