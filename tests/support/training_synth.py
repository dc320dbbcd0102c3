"""Tiny synthetic X-ray folders for the training tests (made at test time, never committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, label: int, rng: np.random.Generator, size: int = 64) -> Path:
    """NORMAL: dark noisy field; PNEUMONIA: the same plus a bright blob (learnt in a few steps)."""
    img = rng.normal(60, 15, (size, size))
    if label == 1:
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        yy, xx = np.mgrid[:size, :size]
        img += 150 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 6) ** 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").save(path)
    return path


def make_split(root: Path, n_per_class: int, seed: int = 0, images_per_patient: int = 2) -> Path:
    """root/{NORMAL,PNEUMONIA} with Kermany-style names, several images per patient."""
    rng = np.random.default_rng(seed)
    for i in range(n_per_class):
        patient, shot = divmod(i, images_per_patient)
        write_image(root / "NORMAL" / f"IM-{patient:04d}-{shot + 1:04d}.jpeg", 0, rng)
        write_image(root / "PNEUMONIA" / f"person{patient}_bacteria_{i}.jpeg", 1, rng)
    return root


def legacy_model_file(path: Path, seed: int = 5) -> Path:
    """A model.pt in the layout written before 2026-11-25 (3-channel first convolution), with
    a sample card and a one-epoch history: what `python -m training reexport` upgrades."""
    import torch

    from desktop.modelfile import write_with_checksum
    from tests.support.model_fixtures import sample_metadata
    from training.export import ExportedClassifier, _save_bytes, script
    from training.model import ChestXRayNet

    torch.manual_seed(seed)
    wrapper = ExportedClassifier(ChestXRayNet().eval(), temperature=1.5, tta_flip=True,
                                 fold_stem=False).eval()
    history = [{"epoch": 1, "val_loss": 0.5}]
    write_with_checksum(path, _save_bytes(script(wrapper), sample_metadata(), history))
    return path


def calibrated_init_weights(path: Path, seed: int = 0) -> Path:
    """A mobilenet_v3_small state_dict for ``--init-weights``: random weights, but BatchNorm
    statistics measured on random images fed the way the model feeds them, so that its features
    have a sensible scale (a purely random network's pooled features are ~1e-9: nothing to
    learn from, every figure a tie)."""
    import torch

    from training.model import ChestXRayNet

    torch.manual_seed(seed)
    model = ChestXRayNet()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # a plain average over the batches
            m.reset_running_stats()
    model.train()
    with torch.no_grad():
        model(torch.rand(32, 1, 224, 224, generator=torch.Generator().manual_seed(seed)))
    torch.save(model.net.state_dict(), path)
    return path
