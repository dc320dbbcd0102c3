"""Train several variants of the recipe and compare them on validation only.

    python -m training.sweep --config training/configs/sweep.json --data DIR \
        --init-weights FILE --out runs/sweep [--parallel N] [--baseline assets/model.pt]

The config names a base recipe (a file of ``training/configs/``) and the variants, each a few
flags over it. Every variant is trained by ``python -m training train`` in its own process and
folder (``OUT/<name>/``: ``final.pt``, ``model.pt``, ``train.log``), so a sweep that stops can be
started again and skips what is done. ``--parallel N`` runs N at once (a GPU has room for several
of these small models; on a CPU keep 1). Then every ``model.pt`` (and a ``--baseline``) is
scored on the patient-level validation split and on its distribution-shifted views
(``training.augment.SHIFT_VIEWS``), and ``OUT/results.json`` and ``OUT/results.md`` are written.
The official test split is never read here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from desktop.atomicio import atomic_write_text
from training.augment import SHIFT_VIEWS, shifted
from training.data import train_val
from training.metrics import binary_metrics, expected_calibration_error, rounded

log = logging.getLogger("training.sweep")

CONFIGS = Path(__file__).resolve().parent / "configs"


def variant_recipes(config: dict) -> dict[str, dict]:
    """{name: full recipe}: the base file's values with each variant's overrides on top."""
    base_name = config.get("base")
    base = json.loads((CONFIGS / base_name).read_text()) if base_name else {}
    return {name: {**base, **overrides} for name, overrides in config["variants"].items()}


def train_variant(name: str, recipe: dict, args: argparse.Namespace) -> tuple[str, int, float]:
    """Runs ``python -m training train`` for one variant; (name, exit code, wall seconds)."""
    folder = args.out / name
    if (folder / "model.pt").is_file():
        return name, 0, 0.0
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(recipe, fh)
        config_path = fh.name
    command = [sys.executable, "-m", "training", "train", "--config", config_path,
               "--data", str(args.data), "--work-dir", str(folder), "--out",
               str(folder / "model.pt"), "--no-progress", "--device", args.device]
    if args.init_weights:
        command += ["--init-weights", str(args.init_weights)]
    if args.time_budget:
        command += ["--time-budget", str(args.time_budget)]
    command += args.extra
    resume = folder / "checkpoint.pt"
    if resume.is_file():
        command += ["--resume", str(resume)]
    started = time.monotonic()
    with open(folder / "train.log", "a", encoding="utf-8") as logfile:
        code = subprocess.call(command, stdout=logfile, stderr=subprocess.STDOUT,
                               env=dict(os.environ, PYTHONUNBUFFERED="1"))
    os.unlink(config_path)
    return name, code, time.monotonic() - started


def probabilities(model, images: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return torch.cat([model(images[i:i + 128])[:, 1] for i in range(0, len(images), 128)]
                         ).double().numpy()


def score(model_path: Path, val) -> dict:
    """Validation figures and those of every shifted view, at the file's default threshold."""
    from training.export import load_scripted

    model, meta = load_scripted(model_path)
    threshold = float(meta["threshold"])
    y = val.labels.numpy()
    views = {"validation": val.images}
    views.update({name: shifted(val.images, cfg=cfg) for name, cfg in SHIFT_VIEWS.items()})
    out = {"threshold": threshold, "size_mb": round(model_path.stat().st_size / 1e6, 2),
           "recipe": meta.get("training", {}).get("recipe", {}),
           "epochs_run": meta.get("training", {}).get("epochs_run"),
           "wall_time_s": meta.get("training", {}).get("wall_time_s")}
    for name, images in views.items():
        p = probabilities(model, images)
        figures = rounded(binary_metrics(y, p, threshold))
        figures["ece"] = round(expected_calibration_error(y, p), 4)
        out[name] = figures
    shifted_names = list(SHIFT_VIEWS)
    out["shifted_mean_auc"] = round(float(np.mean([out[n]["roc_auc"] for n in shifted_names])), 4)
    out["shifted_mean_specificity"] = round(
        float(np.mean([out[n]["specificity"] for n in shifted_names])), 4)
    out["shifted_mean_accuracy"] = round(
        float(np.mean([out[n]["accuracy"] for n in shifted_names])), 4)
    return out


def table(results: dict[str, dict]) -> str:
    views = ["validation", *SHIFT_VIEWS]
    head = ("| variant | " + " | ".join(f"{v} acc / spec / AUC" for v in views)
            + " | shifted mean AUC | val ECE | epochs | wall s |")
    lines = [head, "|" + " --- |" * (len(views) + 5)]
    for name, r in results.items():
        cells = [f"{r[v]['accuracy']:.4f} / {r[v]['specificity']:.4f} / {r[v]['roc_auc']:.4f}"
                 for v in views]
        epochs = r.get("epochs_run") or {}
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['shifted_mean_auc']:.4f} | "
                     f"{r['validation']['ece']:.4f} | {epochs.get('head', '-')}+"
                     f"{epochs.get('finetune', '-')} | {r.get('wall_time_s') or '-'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.sweep", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("runs/sweep"))
    parser.add_argument("--init-weights", type=Path)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--time-budget", type=float, help="per variant, seconds of fine-tuning")
    parser.add_argument("--baseline", type=Path, action="append", default=[],
                        help="a model.pt scored beside the variants (e.g. assets/model.pt)")
    parser.add_argument("--only", nargs="*", help="train only these variants")
    parser.add_argument("--score-only", action="store_true", help="train nothing, only score")
    parser.add_argument("extra", nargs="*", help="more flags for every `training train` run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    config = json.loads(args.config.read_text())
    recipes = variant_recipes(config)
    if args.only:
        recipes = {k: v for k, v in recipes.items() if k in args.only}
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.score_only:
        with ThreadPoolExecutor(max(1, args.parallel)) as pool:
            for name, code, seconds in pool.map(lambda kv: train_variant(*kv, args),
                                                recipes.items()):
                log.info("%s: exit %d after %.0f s", name, code, seconds)

    split_seed = int(config.get("split_seed", 0))
    _, val, rule = train_val(args.data, val_fraction=0.1, seed=split_seed, progress=False)
    results = {}
    for path in args.baseline:
        results[f"baseline:{path.name}"] = score(path, val)
    for name in variant_recipes(config):
        model_path = args.out / name / "model.pt"
        if model_path.is_file():
            results[name] = score(model_path, val)
    atomic_write_text(args.out / "results.json", json.dumps(results, indent=1) + "\n")
    text = f"Validation: {rule}; {len(val)} images.\n\n" + table(results)
    atomic_write_text(args.out / "results.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
