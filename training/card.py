"""The model card: calibration and operating points chosen on validation, then the metadata dict
that goes into model.pt (schema in docs/contracts.md)."""

from __future__ import annotations

import logging

import numpy as np
import torch

from training.augment import SHIFT_VIEWS, shifted
from training.calibration import calibrated_positive, fit_temperature
from training.data import Split
from training.export import base_metadata
from training.loop import predict_logits
from training.metrics import (
    binary_metrics,
    expected_calibration_error,
    rounded,
    sensitivity_threshold,
    youden_threshold,
)
from training.model import ChestXRayNet

log = logging.getLogger(__name__)

HIGH_SENSITIVITY = 0.98
DATA_NAME = "Kermany 2018 chest X-ray (pediatric)"


def assess_validation(model: ChestXRayNet, val: Split, device: torch.device, *,
                      tta_flip: bool) -> dict:
    """Temperature, ECE before/after, operating points and figures, all on validation only."""
    logits = predict_logits(model, val.images, device, tta_flip=tta_flip)
    y = val.labels.numpy()
    temperature = fit_temperature(logits, val.labels)
    p = calibrated_positive(logits, temperature).numpy()
    balanced = youden_threshold(y, p)
    # never above the balanced point: "high sensitivity" must not be the less sensitive one
    high_sens = min(sensitivity_threshold(y, p, HIGH_SENSITIVITY), balanced)
    points = []
    for name, threshold, rule in (
        ("balanced", balanced, "max Youden J on validation"),
        ("high_sensitivity", high_sens, f"sensitivity >= {HIGH_SENSITIVITY} on validation"),
    ):
        m = binary_metrics(y, p, threshold)
        points.append({"name": name, "threshold": round(threshold, 4), "rule": rule,
                       "val_sensitivity": round(m["sensitivity"], 4),
                       "val_specificity": round(m["specificity"], 4)})
    threshold = points[0]["threshold"]
    views = {}
    for name, cfg in SHIFT_VIEWS.items():
        view_logits = predict_logits(model, shifted(val.images, cfg=cfg), device,
                                     tta_flip=tta_flip)
        p_view = calibrated_positive(view_logits, temperature).numpy()
        views[name] = rounded(binary_metrics(y, p_view, threshold))
        views[name]["ece"] = round(expected_calibration_error(y, p_view), 4)
    out = {
        "temperature": temperature,
        "val_ece_before": expected_calibration_error(y, calibrated_positive(logits, 1.0).numpy()),
        "val_ece_after": expected_calibration_error(y, p),
        "operating_points": points,
        "validation": rounded(binary_metrics(y, p, points[0]["threshold"])),
        "validation_shifted": {k: v for k, v in views["shifted"].items() if k != "ece"},
        "validation_views": views,
    }
    log.info("validation: T=%.3f ECE %.4f -> %.4f; balanced t=%.3f acc %.4f AUC %.4f; "
             "shifted acc %.4f AUC %.4f", temperature, out["val_ece_before"],
             out["val_ece_after"], points[0]["threshold"], out["validation"]["accuracy"],
             out["validation"]["roc_auc"], out["validation_shifted"]["accuracy"],
             out["validation_shifted"]["roc_auc"])
    return out


def build_card(assessment: dict, *, per_image_norm: bool, tta_flip: bool, recipe: dict,
               epochs_run: dict, init_weights: str, device: str,
               wall_time_s: float, split_rule: str, counts: dict) -> dict:
    meta = base_metadata(per_image_norm=per_image_norm, tta_flip=tta_flip)
    balanced = assessment["operating_points"][0]
    meta.update({
        "threshold": balanced["threshold"],
        "default_operating_point": "balanced",
        "operating_points": assessment["operating_points"],
        "calibration": {
            "method": "temperature scaling on validation",
            "temperature": round(assessment["temperature"], 4),
            "val_ece_before": round(assessment["val_ece_before"], 4),
            "val_ece_after": round(assessment["val_ece_after"], 4),
        },
        "metrics": {
            "validation": assessment["validation"],
            "validation_shifted": dict(
                assessment["validation_shifted"],
                note="validation images re-framed and re-contrasted with a fixed seed "
                     "(training.augment.SHIFT); a stand-in for new hospitals' framing",
            ),
        },
        "training": {
            "recipe": recipe, "epochs_run": epochs_run, "seed": recipe.get("seed", 0),
            "init_weights": init_weights, "device": device,
            "wall_time_s": round(wall_time_s, 1),
        },
        "data": {"name": DATA_NAME, "licence": "CC BY 4.0", "split_rule": split_rule,
                 "counts": counts},
    })
    return meta


def figures_at_points(y: np.ndarray, p: np.ndarray, meta: dict) -> dict:
    """Figures at the card's default threshold plus each operating point."""
    figures = rounded(binary_metrics(y, p, float(meta["threshold"])))
    figures["operating_points"] = {
        op["name"]: rounded(binary_metrics(y, p, float(op["threshold"])))
        for op in meta["operating_points"]
    }
    return figures
