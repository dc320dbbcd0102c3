"""Model files for the tests, written by the project's own export code: a complete, schema-valid
card with made-up figures (marked as such everywhere), on a seeded random network."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop.modelfile import MODEL_FILE


def xray_like(seed: int = 0, size: tuple[int, int] = (640, 560), noise: float = 12.0):
    """A chest-X-ray-like grey image (uint8 [h, w]): a bright body, two dark lung fields whose
    darkness depends on ``seed``, and noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    image = np.full((h, w), 200.0)
    for cx in (0.32 * w, 0.68 * w):
        inside = ((x - cx) / (0.15 * w)) ** 2 + ((y - 0.5 * h) / (0.3 * h)) ** 2 < 1
        image[inside] = 60 + 40 * seed % 3
    image += rng.normal(0, noise, size=(h, w)) if noise else 0
    return np.clip(image, 0, 255).astype(np.uint8)


def _figures(n_normal: int, n_pneu: int, threshold: float) -> dict:
    tn, fp, fn, tp = n_normal - 3, 3, 2, n_pneu - 2
    n = n_normal + n_pneu
    return {
        "n": n, "n_normal": n_normal, "n_pneumonia": n_pneu,
        "accuracy": round((tn + tp) / n, 4), "sensitivity": round(tp / n_pneu, 4),
        "specificity": round(tn / n_normal, 4), "precision": round(tp / (tp + fp), 4),
        "f1": round(2 * tp / (2 * tp + fp + fn), 4), "roc_auc": 0.99, "threshold": threshold,
        "confusion": [[tn, fp], [fn, tp]],
    }


def sample_metadata(operating_points: list[dict] | None = None) -> dict:
    """A card that follows the schema; ``operating_points`` replace the two made-up ones (the
    first is the default)."""
    from training.card import MODEL_NAME, base_metadata

    meta = base_metadata(per_image_norm=False, tta_flip=False)
    meta["format_version"] = 1  # no scope check (see write_scoped_test_model)
    meta["model_name"] = MODEL_NAME + "-TEST"
    points = operating_points or [
        {"name": "balanced", "threshold": 0.5, "rule": "TEST VALUES (made up)",
         "val_sensitivity": 0.96, "val_specificity": 0.94},
        {"name": "high_sensitivity", "threshold": 0.2, "rule": "TEST VALUES (made up)",
         "val_sensitivity": 0.99, "val_specificity": 0.85},
    ]
    meta["operating_points"] = points
    meta["default_operating_point"] = points[0]["name"]
    meta["threshold"] = points[0]["threshold"]
    meta["calibration"] = {"method": "TEST VALUES (made up)", "temperature": 1.0,
                           "val_ece_before": 0.05, "val_ece_after": 0.02}
    meta["metrics"] = {"validation": _figures(134, 386, 0.5),
                       "test": dict(_figures(234, 390, 0.5),
                                    test_split_evaluations_during_development=0)}
    meta["training"] = {"recipe": {"note": "TEST MODEL: random weights, never trained"},
                        "epochs_run": {"head": 0, "finetune": 0}, "seed": 0,
                        "init_weights": "none (random)", "device": "cpu", "wall_time_s": 0}
    meta["data"] = {"name": "none (TEST MODEL)", "licence": "n/a",
                    "split_rule": "n/a", "counts": {}}
    meta["limitations"] = ["TEST MODEL with random weights: its predictions mean nothing."]
    meta["intended_use"] = "Automated tests only. Not for clinical diagnosis."
    return meta


def write_test_model(out_dir: Path, seed: int = 0, operating_points: list[dict] | None = None,
                     model=None) -> Path:
    """A seeded, randomly initialised model (or ``model``) exported by the real export code."""
    import torch

    from training.export import export_model
    from training.model import ChestXRayNet

    torch.manual_seed(seed)
    model = (model or ChestXRayNet()).eval()
    return export_model(model, sample_metadata(operating_points), Path(out_dir) / MODEL_FILE)


def write_input_sensitive_model(out_dir: Path, operating_points: list[dict] | None = None) -> Path:
    """A random model whose batch-norm statistics are fitted to X-ray-like inputs, so that
    different images get different probabilities (``write_test_model``'s answers about the same
    for every image, which would let a test that compares verdicts pass by accident).
    Deterministic: the same call gives the same network."""
    import numpy as np
    import torch

    from desktop.selftest import synthetic_chest_xray
    from training.model import ChestXRayNet

    torch.manual_seed(0)
    model = ChestXRayNet()
    base = np.asarray(synthetic_chest_xray(224), dtype=np.float32) / 255
    rng = np.random.default_rng(0)
    batch = np.stack([np.clip(base * rng.uniform(0.6, 1.4) + rng.normal(0, 0.1, base.shape), 0, 1)
                      for _ in range(16)]).astype(np.float32)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # a plain average over the fitting batch
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(batch[:, None]))
    return write_test_model(out_dir, operating_points=operating_points, model=model)


def write_scoped_test_model(out_dir: Path, seed: int = 0) -> Path:
    """A random network with a scope check fitted, by the real code, on ``xray_like`` images:
    they are in its scope; synthetic pages, charts and textures are not (format 2 card)."""
    import torch

    from training.data import Split
    from training.export import ExportedClassifier, export_model
    from training.model import ChestXRayNet
    from training.scope import fit_scope

    torch.manual_seed(seed)
    model = ChestXRayNet().eval()
    wrapper = ExportedClassifier(model).eval()

    def split(seeds) -> Split:
        from PIL import Image

        from desktop.reading.imaging import squash

        arrays = [np.asarray(squash(Image.fromarray(xray_like(s, (320 + 8 * (s % 9), 300)))))
                  for s in seeds]
        images = torch.from_numpy(np.stack(arrays))[:, None]
        return Split(images, torch.tensor([s % 2 for s in seeds]), [Path(f"{s}.png")
                                                                    for s in seeds])

    @torch.no_grad()
    def features(images):
        return torch.cat([wrapper.scope_features(images[i:i + 64])
                          for i in range(0, len(images), 64)])

    head, section = fit_scope(features, split(range(100, 220)), split(range(300, 360)),
                              age_range=(1, 5), subset=120)
    card = sample_metadata()
    card["format_version"] = 2
    card["scope_check"] = section
    return export_model(model, card, Path(out_dir) / MODEL_FILE, scope=head)
