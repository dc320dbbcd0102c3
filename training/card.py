"""The model card's content: calibration and operating points chosen on validation, the figures,
the recipe and the data, as the dict that goes into model.pt (its schema is
``desktop.modelfile``'s, described in docs/contracts.md)."""

from __future__ import annotations

import logging
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from desktop.modelfile import (
    CARD_INTENDED_USE,
    CARD_LIMITATIONS,
    CLASSES,
    FORMAT_VERSION,
    INPUT_SIZE,
    POSITIVE,
)
from desktop.referband import CARD_KEY
from desktop.stats import NotCertifiable
from training.augment import SHIFT_VIEWS, shifted
from training.calibration import calibrated_positive, platt_positive
from training.calibration_choice import RULE, choose, score_forms
from training.data import Split
from training.loop import predict_logits
from training.metrics import (
    binary_metrics,
    calibration_error,
    expected_calibration_error,
    rounded,
    sensitivity_threshold,
    youden_threshold,
)
from training.model import CLAHE_TILES, ChestXRayNet
from training.refer import fit_band

log = logging.getLogger(__name__)

HIGH_SENSITIVITY = 0.98
MODEL_NAME = "cxr-pneumonia-mobilenetv3s"
DATA_NAME = "Kermany 2018 chest X-ray (pediatric)"
INTENDED_USE = CARD_INTENDED_USE
LIMITATIONS = list(CARD_LIMITATIONS)


def source_commit() -> str:
    """The git commit of the training code, or "unknown" outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def input_spec(per_image_norm: bool, tta_flip: bool, equalize: float = 0.0,
               clahe: float = 0.0) -> dict:
    """The card's ``input``: what the reader hands the model and what the model does with it."""
    norm = (
        "x/255, then per-image standardisation (mean 0, std 0.5) inside the model"
        if per_image_norm
        else "x/255 scaled to [-1, 1] inside the model"
    )
    if equalize > 0:
        norm = (f"x/255, {equalize:g} of it replaced by its histogram-equalised image, then "
                + norm.removeprefix("x/255, then ").removeprefix("x/255 "))
    if clahe > 0:
        norm = (f"x/255, then CLAHE (contrast-limited adaptive histogram equalisation: clip "
                f"limit {clahe:g}, {CLAHE_TILES}x{CLAHE_TILES} tiles, 256 grey levels), then "
                + norm.removeprefix("x/255, then ").removeprefix("x/255 "))
    return {
        "height": INPUT_SIZE, "width": INPUT_SIZE, "channels": 1, "dtype": "uint8",
        "resize": "squash to 224x224, aspect ratio not kept (bilinear, antialiased)",
        "normalisation": norm,
        "test_time_augmentation": "mean logits of image and its mirror" if tta_flip else "none",
    }


def base_metadata(*, per_image_norm: bool, tta_flip: bool, equalize: float = 0.0,
                  clahe: float = 0.0) -> dict:
    """The parts of the card that do not depend on training results."""
    now = datetime.now(timezone.utc)
    return {
        "format_version": FORMAT_VERSION,
        "model_name": MODEL_NAME,
        "model_version": now.strftime("%Y.%m.%d"),
        "classes": list(CLASSES),
        "positive_class": POSITIVE,
        "input": input_spec(per_image_norm, tta_flip, equalize, clahe),
        "intended_use": INTENDED_USE,
        "limitations": list(LIMITATIONS),
        "torch_version": torch.__version__.split("+")[0],
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source_commit": source_commit(),
    }


def assess_validation(model: ChestXRayNet, val: Split, device: torch.device, *,
                      tta_flip: bool) -> dict:
    """Calibration chosen by ``training.calibration_choice``'s rule on validation and its
    shifted views, ECE before/after (and cross-validated), operating points and figures, all on
    validation only."""
    logits = predict_logits(model, val.images, device, tta_flip=tta_flip)
    view_logits = {name: predict_logits(model, shifted(val.images, cfg=cfg), device,
                                        tta_flip=tta_flip)
                   for name, cfg in SHIFT_VIEWS.items()}
    y = val.labels.numpy()
    candidates = score_forms(logits, val.labels, view_logits)
    form = choose(candidates)
    temperature, bias = candidates[form]["temperature"], candidates[form]["bias"]
    p = platt_positive(logits, temperature, bias).numpy()
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
    views, p_views = {}, {"plain": p}
    for name, view in view_logits.items():
        p_view = p_views[name] = platt_positive(view, temperature, bias).numpy()
        views[name] = rounded(binary_metrics(y, p_view, threshold))
        views[name]["ece"] = round(expected_calibration_error(y, p_view), 4)
        views[name]["calibration_error"] = round(calibration_error(y, p_view), 4)
    out = {
        "temperature": temperature,
        "bias": bias,
        "form": form,
        "prevalence_assumed": candidates[form]["prevalence_assumed"],
        "choice": {"rule": list(RULE), "candidates": candidates, "chosen": form},
        "val_ece_before": expected_calibration_error(y, calibrated_positive(logits, 1.0).numpy()),
        "val_ece_after": expected_calibration_error(y, p),
        "val_calibration_error": candidates[form]["val_calibration_error"],
        "val_ece_cross_validated": candidates[form]["val_calibration_error_cross_validated"],
        "operating_points": points,
        "validation": rounded(binary_metrics(y, p, points[0]["threshold"])),
        "validation_shifted": {k: v for k, v in views["shifted"].items()
                               if k not in ("ece", "calibration_error")},
        "validation_views": views,
        "refer_band": _refer_band(y, p_views),
    }
    log.info("calibration %s: T=%.3f b=%.3f ECE %.4f -> %.4f; balanced t=%.3f acc %.4f AUC "
             "%.4f; shifted acc %.4f AUC %.4f", form, temperature, bias, out["val_ece_before"],
             out["val_ece_after"], points[0]["threshold"], out["validation"]["accuracy"],
             out["validation"]["roc_auc"], out["validation_shifted"]["accuracy"],
             out["validation_shifted"]["roc_auc"])
    return out


def _refer_band(y: np.ndarray, p_views: dict) -> dict | None:
    """The card's refer band (``training.refer``), or None (logged) where validation is too
    small to certify one: the app then decides by the threshold alone."""
    try:
        return fit_band(y, p_views)
    except NotCertifiable as exc:
        log.warning("no refer band: validation cannot certify one (%s)", exc)
        return None


def build_card(assessment: dict, *, per_image_norm: bool, tta_flip: bool, recipe: dict,
               epochs_run: dict, init_weights: str, device: str,
               wall_time_s: float, split_rule: str, counts: dict,
               equalize: float = 0.0, clahe: float = 0.0) -> dict:
    meta = base_metadata(per_image_norm=per_image_norm, tta_flip=tta_flip, equalize=equalize,
                         clahe=clahe)
    balanced = assessment["operating_points"][0]
    meta.update({
        "threshold": balanced["threshold"],
        "default_operating_point": "balanced",
        "operating_points": assessment["operating_points"],
        "calibration": calibration_section(assessment),
        **({CARD_KEY: assessment["refer_band"]} if assessment.get("refer_band") else {}),
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


METHODS = {
    "temperature": "temperature scaling on validation: softmax(logits / temperature)",
    "platt_50": "Platt scaling on validation, bias moved to 50% prevalence: "
                "sigmoid((l1 - l0) / temperature + bias)",
    "platt": "Platt scaling on validation: sigmoid((l1 - l0) / temperature + bias)",
}


def prevalence_note(prevalence: float) -> str:
    """What P(pneumonia) means, for the card and the About box."""
    return (f"P(pneumonia) is calibrated for a prevalence of {prevalence:.0%}: among images "
            f"like these, {prevalence:.0%} of them showing pneumonia. Where pneumonia is rarer "
            "(or more common), the true share at a given P is lower (or higher); a site "
            "calibration adapts P to a clinic's own cases.")


def calibration_section(assessment: dict) -> dict:
    """The card's ``calibration``: the form the rule chose, what P assumes, and the figures of
    every candidate on validation and its shifted views."""
    form = assessment.get("form", "platt")
    prevalence = assessment.get("prevalence_assumed")
    out = {
        "method": METHODS[form],
        "form": form,
        "temperature": round(assessment["temperature"], 6),
        "bias": round(assessment.get("bias", 0.0), 6),
        "val_ece_before": round(assessment["val_ece_before"], 4),
        "val_ece_after": round(assessment["val_ece_after"], 4),
        "ece_definition": "val_ece_*: confidence of the predicted class, 15 equal bins "
                          "(Guo et al. 2017); calibration_error: P(pneumonia) against the "
                          "labels, 10 equal bins of P",
    }
    if prevalence is not None:
        out["prevalence_assumed"] = prevalence
        out["prevalence_note"] = prevalence_note(prevalence)
    if "choice" in assessment:
        out["val_calibration_error"] = assessment["val_calibration_error"]
        out["val_calibration_error_cross_validated"] = assessment["val_ece_cross_validated"]
        out["views_calibration_error"] = {
            name: view["calibration_error"]
            for name, view in assessment.get("validation_views", {}).items()}
        out["choice"] = assessment["choice"]
    return out


def figures_at_points(y: np.ndarray, p: np.ndarray, meta: dict) -> dict:
    """Figures at the card's default threshold plus each operating point."""
    figures = rounded(binary_metrics(y, p, float(meta["threshold"])))
    figures["operating_points"] = {
        op["name"]: rounded(binary_metrics(y, p, float(op["threshold"])))
        for op in meta["operating_points"]
    }
    return figures
