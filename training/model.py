"""The network: torchvision MobileNetV3-Small with the project's 2-class head.

Input normalisation lives here (and therefore inside the exported TorchScript file), so training
and the desktop app can never disagree about how pixels are scaled.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn
from torchvision.models import mobilenet_v3_small

from desktop.modelfile import CLASSES

log = logging.getLogger(__name__)

FEATURE_DIM = 576
HEAD_HIDDEN = 256


def build_mobilenet() -> nn.Module:
    """torchvision's mobilenet_v3_small (no weights: never the network) with our head."""
    net = mobilenet_v3_small(weights=None)
    net.classifier = nn.Sequential(
        nn.Linear(FEATURE_DIM, HEAD_HIDDEN),
        nn.Hardswish(),
        nn.Dropout(p=0.2),
        nn.Linear(HEAD_HIDDEN, len(CLASSES)),
    )
    return net


def equalize_histogram(x: torch.Tensor) -> torch.Tensor:
    """Per-image histogram equalisation of floats in [0, 1], shape [N, 1, H, W], on 256 grey levels.

    Each image's grey levels are mapped through its own cumulative histogram, so an image's
    exposure and contrast (a darker or flatter radiograph from another hospital) no longer change
    what the network sees; the order of the grey levels is kept. The darkest level present maps
    to 0, so a black border (a zoomed-out or padded image) stays black and takes no contrast from
    the rest. Scripted into the exported model: the app feeds it the reader's output unchanged.
    """
    n = x.size(0)
    levels = (x.clamp(0.0, 1.0) * 255.0).round().to(torch.long).reshape(n, -1)
    offsets = torch.arange(n, device=x.device).reshape(n, 1) * 256
    counts = torch.bincount((levels + offsets).reshape(-1), minlength=n * 256)
    cdf = counts.reshape(n, 256).cumsum(1).to(x.dtype)
    lowest = cdf.gather(1, levels.amin(dim=1, keepdim=True))
    mapped = (cdf - lowest) / (cdf[:, 255:] - lowest).clamp_min(1.0)
    return mapped.gather(1, levels).reshape(x.shape)


CLAHE_TILES = 8  # tiles per side, OpenCV's default tileGridSize (8, 8): 28x28-pixel tiles


def _tile_neighbours(size: int, tiles: int, device: torch.device,
                     dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each pixel along one axis: the nearest tile centre at or before it, the next one, and
    the weight of the next one. Pixel and tile centres are compared where they lie (pixel i at
    i + 0.5), so a mirrored image gets the mirrored result (the mirror averaging of
    ``tta_flip``); OpenCV compares pixel i with the tile centres, half a pixel off. Beyond the
    first and last centres both neighbours are the same tile (the edges and corners keep the
    nearest tile's mapping)."""
    step = size // tiles
    position = (torch.arange(size, device=device, dtype=dtype) + 0.5) / step - 0.5
    before = torch.floor(position)
    weight = position - before
    first = before.to(torch.long)
    return first.clamp(0, tiles - 1), (first + 1).clamp(0, tiles - 1), weight


def clahe(x: torch.Tensor, clip_limit: float, tiles: int = CLAHE_TILES) -> torch.Tensor:
    """Contrast-limited adaptive histogram equalisation (Zuiderveld 1994, OpenCV's
    ``createCLAHE(clip_limit, (tiles, tiles))``) of floats in [0, 1], shape [N, 1, H, W], on 256
    grey levels; the result is in [0, 1].

    Global equalisation spends the grey levels on what is common in the whole image (the dark
    background, the bright mediastinum); CLAHE equalises each of ``tiles`` x ``tiles`` tiles on
    its own, so the lung fields get their own contrast whatever their exposure. Each tile's
    histogram is clipped at ``clip_limit`` times the mean count per grey level and the excess
    spread evenly over all levels, so no tile's mapping is steeper than ``clip_limit`` + 1: the
    noise of a flat region is not blown up into texture, and a uniform image stays uniform. Each
    pixel is then mapped through the cumulative histograms of the four nearest tiles, weighted
    bilinearly by the distance to their centres, so no tile edges show. Unlike OpenCV, the clip
    is not rounded down to whole counts, the excess is spread exactly evenly and the result is
    not rounded to 8 bits. Batched and scripted into the exported model: the app feeds it the
    reader's output unchanged. H and W must be multiples of ``tiles`` (the model's input is
    always 224 x 224).
    """
    n, h, w = x.size(0), x.size(2), x.size(3)
    if x.size(1) != 1 or h % tiles != 0 or w % tiles != 0:
        raise ValueError("clahe expects [N, 1, H, W] images with H and W multiples of tiles")
    th, tw = h // tiles, w // tiles
    levels = (x.clamp(0.0, 1.0) * 255.0).round().to(torch.long).reshape(n, h, w)
    # per-tile histograms: one bincount over (image, tile row, tile column, level)
    by_tile = levels.reshape(n, tiles, th, tiles, tw).permute(0, 1, 3, 2, 4)
    offsets = torch.arange(n * tiles * tiles, device=x.device).reshape(n, tiles, tiles, 1, 1) * 256
    counts = torch.bincount((by_tile + offsets).reshape(-1), minlength=n * tiles * tiles * 256)
    hist = counts.reshape(n * tiles * tiles, 256).to(x.dtype)
    limit = clip_limit * (th * tw) / 256.0
    clipped = hist.clamp_max(limit)
    excess = (hist - clipped).sum(dim=1, keepdim=True)
    lut = ((clipped + excess / 256.0).cumsum(1) / float(th * tw)).clamp(0.0, 1.0).reshape(n, -1)
    # bilinear interpolation between the mappings of the four nearest tile centres
    y1, y2, wy = _tile_neighbours(h, tiles, x.device, x.dtype)
    x1, x2, wx = _tile_neighbours(w, tiles, x.device, x.dtype)
    wy, wx = wy.reshape(h, 1), wx.reshape(1, w)
    top = ((1.0 - wx) * _mapped(lut, levels, y1, x1, tiles)
           + wx * _mapped(lut, levels, y1, x2, tiles))
    bottom = ((1.0 - wx) * _mapped(lut, levels, y2, x1, tiles)
              + wx * _mapped(lut, levels, y2, x2, tiles))
    return ((1.0 - wy) * top + wy * bottom).reshape(x.shape)


def _mapped(lut: torch.Tensor, levels: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
            tiles: int) -> torch.Tensor:
    """Each pixel's level [N, H, W] through the mapping of the tile at (its row's ``rows``, its
    column's ``cols``); ``lut`` is [N, tiles * tiles * 256]."""
    n, h, w = levels.size(0), levels.size(1), levels.size(2)
    tile = rows.reshape(h, 1) * tiles + cols.reshape(1, w)
    return lut.gather(1, (tile * 256 + levels).reshape(n, h * w)).reshape(n, h, w)


class ChestXRayNet(nn.Module):
    """Float images in [0, 1], shape [N, 1, H, W] -> logits [N, 2].

    ``per_image_norm`` standardises each image's intensities (mean 0, std 0.5) instead of the
    fixed x*2-1 scaling; both land roughly in the [-1, 1] range the offline weights expect, but
    per-image standardisation removes global brightness/contrast differences between hospitals.
    ``equalize`` (0 to 1) blends that much of the histogram-equalised image into the input
    (``equalize_histogram``), before either scaling. ``clahe`` (a clip limit, e.g. 2; 0 = off)
    replaces the input by its CLAHE (``clahe``, ``clahe_tiles`` tiles a side), before either
    scaling. Global and local equalisation are two answers to the same question (how much of
    the exposure the network should see), so one model takes one of them: asking for both is
    refused.
    """

    def __init__(self, per_image_norm: bool = False, equalize: float = 0.0, clahe: float = 0.0,
                 clahe_tiles: int = CLAHE_TILES):
        super().__init__()
        if equalize > 0.0 and clahe > 0.0:
            raise ValueError("histogram equalisation (equalize) and CLAHE (clahe) do not "
                             "combine; choose one")
        if clahe < 0.0 or clahe_tiles < 1:
            raise ValueError(f"the CLAHE clip limit must be 0 (off) or positive, and its tiles "
                             f"at least 1; got {clahe:g} and {clahe_tiles}")
        self.net = build_mobilenet()
        self.per_image_norm = per_image_norm
        self.equalize = float(equalize)
        self.clahe = float(clahe)
        self.clahe_tiles = int(clahe_tiles)
        self.grey_stem = False  # True once fold_grey_stem() made the first conv take 1 channel

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.clahe > 0.0:
            x = clahe(x, self.clahe, self.clahe_tiles)
        if self.equalize > 0.0:
            x = self.equalize * equalize_histogram(x) + (1.0 - self.equalize) * x
        if self.per_image_norm:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
            x = (x - mean) / std * 0.5
        else:
            x = x * 2.0 - 1.0
        if self.grey_stem:
            return x
        return x.expand(-1, 3, -1, -1)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Last convolutional feature map [N, 576, 7, 7] (Grad-CAM's target layer)."""
        return self.net.features(self.normalise(x))

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(2, 3))

    def head(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.net.classifier(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled_features(x))


def network_for(options: Mapping) -> ChestXRayNet:
    """The network with the input normalisation that ``options`` names: a recipe (the command
    line's, a checkpoint's), or how an exported file wraps its weights
    (``training.export.network_of``). What an older recipe or file does not name is off."""
    return ChestXRayNet(per_image_norm=bool(options.get("per_image_norm", False)),
                        equalize=float(options.get("equalize", 0.0)),
                        clahe=float(options.get("clahe", 0.0)),
                        clahe_tiles=int(options.get("clahe_tiles", CLAHE_TILES)))


def fold_grey_stem(model: ChestXRayNet) -> ChestXRayNet:
    """A copy whose first convolution reads the grey channel once instead of three copies of it.

    The network sees the grey image repeated on 3 channels, so the first convolution equals one
    over a single channel with the kernel summed across channels (exact up to float rounding):
    the same logits for about a quarter less model time (benchmarks/results.md).
    """
    folded = copy.deepcopy(model)
    if folded.grey_stem:
        return folded
    conv = folded.net.features[0][0]
    stem = nn.Conv2d(1, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                     conv.dilation, conv.groups, bias=conv.bias is not None)
    with torch.no_grad():
        stem.weight.copy_(conv.weight.sum(dim=1, keepdim=True))
        if conv.bias is not None:
            stem.bias.copy_(conv.bias)
    folded.net.features[0][0] = stem.to(conv.weight.device)
    folded.grey_stem = True
    return folded


def unfold_grey_stem(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse for state dicts of ``build_mobilenet()``: a 1-channel first kernel spread
    evenly over 3 identical channels (same function on grey images)."""
    key = "features.0.0.weight"
    if key in state and state[key].size(1) == 1:
        state = dict(state)
        state[key] = state[key].expand(-1, 3, -1, -1) / 3.0
    return state


def freeze_batchnorm(module: nn.Module) -> None:
    """Keep every BatchNorm in eval mode with frozen parameters.

    The offline weights have BN folded into the convolutions (BN is a pass-through in eval mode);
    in train mode BN would renormalise with batch statistics and fine-tuning collapses.
    """
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def torchvision_cached_weights() -> Path | None:
    """torchvision's own cached ImageNet file, if a previous online run left one (never fetched)."""
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(hub.glob("mobilenet_v3_small-*.pth")) if hub.is_dir() else []
    return found[0] if found else None


def load_init_weights(model: ChestXRayNet, path: Path | None) -> str:
    """Load ImageNet backbone weights from a local file; returns a description for the card.

    With no file (and no torchvision cache) it warns loudly and leaves the random init.
    The classifier of the file (1000 ImageNet classes) is dropped: our head is new.
    """
    if path is None:
        path = torchvision_cached_weights()
    if path is None:
        log.warning(
            "NO INIT WEIGHTS: training from scratch (random initialisation). Expect far worse "
            "accuracy; pass --init-weights PATH to a mobilenet_v3_small ImageNet state_dict."
        )
        return "none (random)"
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"init weights file not found: {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    backbone = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    missing, unexpected = model.net.load_state_dict(backbone, strict=False)
    missing = [k for k in missing if not k.startswith("classifier.")]
    if missing or unexpected:
        raise ValueError(
            f"{path.name} is not a mobilenet_v3_small state_dict "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    digest = sha256_of(path)
    log.info("initialised backbone from %s (sha256 %s)", path, digest[:12])
    return f"{path.name} sha256:{digest}"
