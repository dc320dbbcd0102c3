"""``python -m training train|evaluate|export|reexport`` (argparse; a JSON config file may set
defaults)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from desktop.atomicio import atomic_write_text
from desktop.referband import CARD_KEY
from training.augment import PRESETS
from training.data import DataError, list_split, load_split, train_val
from training.loop import fit, pick_device, plain_args, save_checkpoint

log = logging.getLogger("training")


def _add_recipe(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("recipe (defaults = the reference MVP)")
    g.add_argument("--epochs-head", type=int, default=20)
    g.add_argument("--epochs-finetune", type=int, default=15)
    g.add_argument("--lr-head", type=float, default=5e-4)
    g.add_argument("--lr-finetune", type=float, default=1e-5)
    g.add_argument("--weight-decay", type=float, default=0.0)
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--patience", type=int, default=5, help="early stopping on validation loss")
    g.add_argument("--class-weights", default="auto",
                   help="'auto' (inverse class frequency) or 'w_normal,w_pneumonia' "
                        "(0.65,0.35 reproduces the MVP)")
    g.add_argument("--label-smoothing", type=float, default=0.0)
    g.add_argument("--augment", choices=sorted(PRESETS), default="reference")
    g.add_argument("--per-image-norm", action="store_true",
                   help="standardise each image's intensities inside the model")
    g.add_argument("--equalize", type=float, default=0.0, metavar="FRACTION",
                   help="blend this much (0-1) of the histogram-equalised image into the input, "
                        "inside the model")
    g.add_argument("--clahe", type=float, default=0.0, metavar="CLIP",
                   help="contrast-limited adaptive histogram equalisation (CLAHE) of the input "
                        "inside the model, with this clip limit (e.g. 2, OpenCV's usual); "
                        "0 = off; not with --equalize")
    g.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant",
                   help="fine-tuning LR: constant, or cosine decay over --epochs-finetune")
    g.add_argument("--ema-decay", type=float, default=0.0, metavar="DECAY",
                   help="validate and export an exponential moving average of the fine-tuned "
                        "weights (per step, e.g. 0.995); 0 = off")
    g.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA",
                   help="fine-tuning: blend each batch with a shuffled copy, the blend drawn "
                        "from Beta(ALPHA, ALPHA) (e.g. 0.2); 0 = off")
    g.add_argument("--teachers", nargs="+", metavar="MODEL_PT",
                   help="fine-tuning: learn also from these exported models' mean answer on "
                        "the same augmented batch (training.distill)")
    g.add_argument("--distill", type=float, default=0.0, metavar="SHARE",
                   help="with --teachers: the teachers' share of the loss, in (0, 1]")
    g.add_argument("--tta-flip", action="store_true",
                   help="the exported model averages the image and its mirror")
    g.add_argument("--cache-views", type=int, default=4,
                   help="head phase: cached feature views per image (1 plain + augmented)")
    g.add_argument("--val-fraction", type=float, default=0.1)
    g.add_argument("--seed", type=int, default=0, help="initialisation, order, augmentation")
    g.add_argument("--split-seed", type=int, default=0, help="which patients go to validation")


def build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """(the program's parser, its ``train`` sub-parser, whose defaults a config file sets)."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train, calibrate on validation, export model.pt")
    t.add_argument("--data", type=Path, required=True,
                   help="folder with train/{NORMAL,PNEUMONIA} (and optionally val/, test/)")
    t.add_argument("--out", type=Path, help="model.pt to write (none: train only)")
    t.add_argument("--work-dir", type=Path, default=Path("runs/train"),
                   help="checkpoint.pt, final.pt and summary.json go here")
    t.add_argument("--init-weights", type=Path,
                   help="local mobilenet_v3_small ImageNet state_dict (never downloaded)")
    t.add_argument("--resume", type=Path, help="checkpoint.pt to continue from")
    t.add_argument("--config", type=Path, help="JSON file of recipe values (flags win)")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    t.add_argument("--no-progress", dest="progress", action="store_false")
    t.add_argument("--max-steps", type=int, help="cap on fine-tuning steps per epoch (smoke)")
    t.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="stop fine-tuning (best weights kept) once this much time has passed")
    _add_scope_options(t)
    _add_data_path(t)
    _add_recipe(t)

    e = sub.add_parser("evaluate", help="figures and plots of a model.pt on a labelled split")
    e.add_argument("--model", type=Path, required=True)
    e.add_argument("--data", type=Path, required=True,
                   help="folder with test/{NORMAL,PNEUMONIA}, or a {NORMAL,PNEUMONIA} folder")
    e.add_argument("--split", default="test")
    e.add_argument("--out", type=Path, default=Path("runs/evaluate"))
    e.add_argument("--record-in-card", type=int, metavar="N_EVALUATIONS",
                   help="write these figures into the model's card as metrics.test, with N = "
                        "how many times the test split was evaluated during development")

    x = sub.add_parser("export", help="model.pt from a training checkpoint (final.pt), or an "
                                      "existing model.pt calibrated and checked anew")
    source = x.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="final.pt of `training train`")
    source.add_argument("--from-model", type=Path, metavar="MODEL_PT",
                        help="an exported model.pt: its weights and recipe, with calibration, "
                             "operating points and scope check fitted again on --data's "
                             "validation (test figures must then be evaluated again)")
    x.add_argument("--data", type=Path, required=True, help="the data the checkpoint used")
    x.add_argument("--out", type=Path, required=True)
    x.add_argument("--tta-flip", action=argparse.BooleanOptionalAction, default=None)
    x.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    _add_scope_options(x)

    r = sub.add_parser("reexport", help="rewrite a model.pt in the current layout (same weights "
                                        "and card; outputs checked equal); with --data, add a "
                                        "scope check fitted on the same weights")
    r.add_argument("--model", type=Path, required=True)
    r.add_argument("--out", type=Path, help="where to write (default: replace --model)")
    r.add_argument("--data", type=Path, help="the data the model was trained on (fits the scope "
                                             "check; without it the file keeps its own)")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    _add_scope_options(r)
    c = sub.add_parser("card-tables", help="rewrite the card:NAME tables of documents from a "
                                           "model.pt's card (README.md, docs/model_card.md)")
    c.add_argument("--model", type=Path, required=True)
    c.add_argument("documents", type=Path, nargs="+")
    return parser, t


def _add_data_path(p: argparse.ArgumentParser) -> None:
    from training.batches import PLACEMENTS
    from training.distributed import DEFAULT_TIMEOUT_MIN

    g = p.add_argument_group("data path and processes (no effect on the result)")
    g.add_argument("--cache-dir", type=Path,
                   help="where the decoded images are cached, one file per split, reused while "
                        "the files are unchanged (default: WORK_DIR/image-cache; on several "
                        "nodes, a local disk of each node)")
    g.add_argument("--no-cache", dest="cache", action="store_false",
                   help="decode the data set into every process's memory instead")
    g.add_argument("--placement", choices=PLACEMENTS, default="auto",
                   help="images resident in memory (or on the GPU), or read from the cache by "
                        "DataLoader workers; auto: resident up to 1 GiB")
    g.add_argument("--loader-workers", type=int, default=2, metavar="N",
                   help="DataLoader worker processes per training process")
    g.add_argument("--dist-timeout", type=float, default=DEFAULT_TIMEOUT_MIN,
                   metavar="MINUTES", help="under torchrun: a process that waits this long for "
                                           "the others (one crashed) ends the run with an error")


def _add_scope_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scope check (fitted at export, inside model.pt)")
    g.add_argument("--ood-data", type=Path, nargs="+", metavar="DIR",
                   help="out-of-scope examples: DIR/not_cxr/<kind>/... (not chest X-rays) and "
                        "DIR/cxr_*/... (chest X-rays unlike the training ones: cxr_adult/ "
                        "adults, cxr_lateral/, cxr_unusual/...), one or more DIRs; a "
                        "MANIFEST.csv names each file's source and licence (only openly "
                        "licensed files are fitted on)")
    g.add_argument("--feature-cache", type=Path, metavar="DIR",
                   help="keep the network's features of every image set here and reuse them "
                        "(e.g. runs/features; refitting the check then takes seconds)")
    g.add_argument("--age-range", type=int, nargs=2, metavar=("LOW", "HIGH"),
                   help="ages in years of the training patients (e.g. 1 5): DICOMs of patients "
                        "outside it are marked unusual")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser, train_parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None):
        values = json.loads(args.config.read_text(encoding="utf-8"))
        unknown = sorted(k for k in values if k.replace("-", "_") not in vars(args))
        if unknown:
            parser.error(f"unknown keys in {args.config}: {', '.join(unknown)}")
        train_parser.set_defaults(**{k.replace("-", "_"): v for k, v in values.items()})
        args = parser.parse_args(argv)
    if getattr(args, "command", None) == "train":
        _check_distill(parser, args)
        _check_normalisation(parser, args)
    return args


def _check_normalisation(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--clahe is a clip limit (0 = off) and takes the place of --equalize: refused before the
    data are read, not after."""
    if args.clahe < 0:
        parser.error(f"--clahe is a clip limit (e.g. 2), or 0 for none; got {args.clahe}")
    if args.clahe > 0 and args.equalize > 0:
        parser.error("--clahe and --equalize do not combine; choose one")


def _check_distill(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--teachers and --distill come together, the share in (0, 1], every teacher a file."""
    if bool(args.teachers) != (args.distill > 0):
        parser.error("--teachers and --distill go together: name the teacher model files and "
                     "give their share of the loss (e.g. --distill 0.8)")
    if args.teachers:
        if not 0.0 < args.distill <= 1.0:
            parser.error(f"--distill is the teachers' share of the loss, between 0 and 1; "
                         f"got {args.distill}")
        missing = [t for t in args.teachers if not Path(t).is_file()]
        if missing:
            parser.error(f"teacher model file not found: {missing[0]}")
        if args.mixup > 0:
            parser.error("--mixup and --teachers do not combine; choose one")


def _counts(data_dir: Path, train, val) -> dict:
    counts = {"train": train.counts(), "val": val.counts()}
    test_dir = data_dir / "test"
    if test_dir.is_dir():
        try:
            _, labels, _ = list_split(test_dir)
            counts["test"] = {"NORMAL": labels.count(0), "PNEUMONIA": labels.count(1)}
        except DataError:
            pass
    return counts


def cmd_train(args: argparse.Namespace) -> int:
    """Train (several processes under torchrun: see ``training.distributed``), then, in the main
    process only, assess on validation, write final.pt and summary.json, and export."""
    from training import distributed
    from training.card import assess_validation
    from training.model import load_init_weights, network_for, sha256_of

    torch.manual_seed(args.seed)
    if args.teachers:  # the card names the teachers by content, not only by path
        args.teachers_sha256 = [sha256_of(Path(t)) for t in args.teachers]
    context = distributed.setup(pick_device(args.device), args.dist_timeout)
    device = context.device
    if not context.is_main:  # one voice: the main process logs and shows progress
        logging.getLogger().setLevel(logging.WARNING)
        args.progress = False
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    log.info("device: %s", device)
    failed = True
    try:
        cache_dir = (args.cache_dir or args.work_dir / "image-cache") if args.cache else None
        train, val, rule = train_val(args.data, val_fraction=args.val_fraction,
                                     seed=args.split_seed, progress=args.progress,
                                     cache_dir=cache_dir, context=context)
        log.info("train %s, validation %s (%s)", train.counts(), val.counts(), rule)
        model = network_for(vars(args))
        init = load_init_weights(model, args.init_weights)
        resume = torch.load(args.resume, map_location="cpu", weights_only=True) \
            if args.resume else None
        args.work_dir.mkdir(parents=True, exist_ok=True)
        teacher = None
        if args.teachers:
            from training.distill import load_ensemble
            teacher = load_ensemble([Path(t) for t in args.teachers])
        state = fit(model, train, val, args, device, args.work_dir / "checkpoint.pt", resume,
                    context, teacher)
        failed = False
    finally:  # the others are done; the main process goes on alone
        distributed.teardown(context, failed=failed)
    if not context.is_main:
        return 0
    assessment = assess_validation(model, val, device, tta_flip=args.tta_flip)
    final = {"model": state["model"], "args": plain_args(args), "history": state["history"],
             "epochs_run": state["epochs_run"], "wall_time_s": state["wall_time_s"],
             "init_weights": init, "device": str(device.type), "split_rule": rule,
             "val_paths": [p.name for p in val.paths]}
    save_checkpoint(final, args.work_dir / "final.pt")
    summary = {k: v for k, v in assessment.items()}
    summary.update(recipe=plain_args(args), epochs_run=state["epochs_run"],
                   wall_time_s=round(state["wall_time_s"], 1), history=state["history"])
    atomic_write_text(args.work_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    if args.out:
        scope = _fit_scope(model, train, val, args, device, args.tta_flip)
        _export(model, final, assessment, _counts(args.data, train, val), args.out,
                args.tta_flip, scope)
    return 0


def _fit_scope(model, train, val, args, device, tta_flip: bool, temperature: float = 1.0):
    """The scope check, fitted on this model's own features: (head, card section)."""
    from training.augment import PRESETS
    from training.export import ExportedClassifier
    from training.scope import fit_scope, load_ood

    wrapper = ExportedClassifier(model.cpu().eval(), temperature, tta_flip).to(device).eval()

    @torch.no_grad()
    def features(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([wrapper.scope_features(images[i:i + 128].to(device)).float().cpu()
                          for i in range(0, len(images), 128)])

    if getattr(args, "feature_cache", None):
        from training.cache import cached_features
        from training.export import verification_batch

        features = cached_features(features, args.feature_cache, verification_batch())

    ood = load_ood(*args.ood_data) if getattr(args, "ood_data", None) else None
    if ood is None:
        log.warning("no --ood-data: the scope check learns 'not a chest X-ray' from synthetic "
                    "pages, charts and textures only, and has no adult score")
    recipe = getattr(args, "augment", None) or "framing"
    age = tuple(args.age_range) if getattr(args, "age_range", None) else None
    head, section = fit_scope(features, train, val, augment_cfg=PRESETS.get(recipe),
                              ood=ood, age_range=age, seed=getattr(args, "seed", 0))
    log.info("scope check: %.1f%% of validation in scope; thresholds %s",
             100 * section["validation"]["in_scope"], section["thresholds"])
    return head, section


def _export(model, final: dict, assessment: dict, counts: dict, out: Path,
            tta_flip: bool, scope=None) -> None:
    from training.card import build_card
    from training.export import export_model

    recipe = {k: v for k, v in final["args"].items()
              if k not in ("command", "data", "out", "work_dir", "resume", "config", "progress",
                           "verbose", "device", "max_steps", "init_weights", "deadline",
                           "time_budget", "cache", "cache_dir", "placement", "loader_workers",
                           "dist_timeout")}
    recipe["tta_flip"] = tta_flip
    card = build_card(assessment, per_image_norm=bool(final["args"]["per_image_norm"]),
                      equalize=float(final["args"].get("equalize", 0.0)),
                      clahe=float(final["args"].get("clahe", 0.0)),
                      tta_flip=tta_flip, recipe=recipe, epochs_run=final["epochs_run"],
                      init_weights=final["init_weights"],
                      device=final["device"], wall_time_s=final["wall_time_s"],
                      split_rule=final["split_rule"], counts=counts)
    if final.get("test_split_looks"):
        card["test_split_looks"] = final["test_split_looks"]
    head = None
    if scope is not None:
        head, card["scope_check"] = scope
    export_model(model.cpu().eval(), card, out, temperature=assessment["temperature"],
                 tta_flip=tta_flip, history=final["history"], scope=head,
                 bias=assessment.get("bias", 0.0))
    print(f"wrote {out} and {out.name}.sha256")


def cmd_export(args: argparse.Namespace) -> int:
    from training.card import assess_validation
    from training.model import network_for

    final = (torch.load(args.checkpoint, map_location="cpu", weights_only=True)
             if args.checkpoint else _checkpoint_of(args.from_model))
    recipe = final["args"]
    tta = bool(recipe.get("tta_flip")) if args.tta_flip is None else args.tta_flip
    train, val, rule = train_val(args.data, val_fraction=recipe["val_fraction"],
                                 seed=recipe.get("split_seed", 0))
    if "val_paths" in final and [p.name for p in val.paths] != final["val_paths"]:
        raise DataError(f"the validation split of {args.data} is not the one "
                        f"{args.checkpoint} was trained with; pass the same --data.")
    model = network_for(recipe)
    model.load_state_dict(final["model"])
    device = pick_device(args.device)
    assessment = assess_validation(model.to(device), val, device, tta_flip=tta)
    final.setdefault("split_rule", rule)
    args.augment, args.seed = recipe.get("augment"), recipe.get("seed", 0)
    scope = _fit_scope(model, train, val, args, device, tta, assessment["temperature"])
    _export(model, final, assessment, _counts(args.data, train, val), args.out, tta, scope)
    return 0


def _checkpoint_of(model_path: Path) -> dict:
    """What ``training train`` would have left in final.pt for an exported model.pt: its
    weights (in the training layout), its recipe and its run's record, from its card."""
    from training.export import load_history, load_scripted, network_of

    old, card = load_scripted(model_path)
    net, wrap = network_of(old, model_path)
    training = card.get("training", {})
    _, train_parser = build_parser()
    defaults = vars(train_parser.parse_args(["--data", "."]))
    args = {**{k: (str(v) if isinstance(v, Path) else v) for k, v in defaults.items()},
            **training.get("recipe", {}), "per_image_norm": wrap["per_image_norm"],
            "equalize": wrap["equalize"], "clahe": wrap["clahe"], "tta_flip": wrap["tta_flip"]}
    return {"model": {f"net.{k}": v for k, v in net.items()}, "args": args,
            "history": load_history(model_path), "epochs_run": training.get("epochs_run", {}),
            "wall_time_s": float(training.get("wall_time_s", 0)),
            "init_weights": training.get("init_weights", "unknown"),
            "device": training.get("device", "unknown"),
            "split_rule": card.get("data", {}).get("split_rule"),
            "test_split_looks": _test_split_looks(card)}


def _test_split_looks(card: dict) -> list[dict]:
    """Every test-split look an exported file's card records (the same weights keep their
    history); cards before the list existed recorded only a count and their own date."""
    if card.get("test_split_looks"):
        return list(card["test_split_looks"])
    count = int(card.get("metrics", {}).get("test", {}).get(
        "test_split_evaluations_during_development", 0))
    looks = [{"evaluation_number": k, "note": "recorded as a count only (see the model card's "
                                              "history)"} for k in range(1, count)]
    if count:
        looks.append({"evaluation_number": count, "date": str(card.get("created", ""))[:10],
                      "model_version": card.get("model_version"), "split": "test"})
    return looks


def cmd_card_tables(args: argparse.Namespace) -> int:
    from training.card_tables import refresh
    from training.export import load_scripted

    _, card = load_scripted(args.model)
    for document in args.documents:
        text = document.read_text(encoding="utf-8")
        atomic_write_text(document, refresh(text, card))
        print(f"rewrote the card tables of {document}")
    return 0


def cmd_reexport(args: argparse.Namespace) -> int:
    from training.export import reexport

    out = args.out or args.model
    fit = None
    if args.data is not None:
        def fit(model, meta, tta_flip, temperature):
            recipe = meta.get("training", {}).get("recipe", {})
            train, val, _ = train_val(args.data, val_fraction=recipe.get("val_fraction", 0.1),
                                      seed=recipe.get("split_seed", 0))
            args.augment, args.seed = recipe.get("augment"), recipe.get("seed", 0)
            device = pick_device(args.device)
            return _fit_scope(model, train, val, args, device, tta_flip, temperature)
    difference = reexport(args.model, out, fit_scope=fit)
    print(f"wrote {out} and {out.name}.sha256 (largest probability difference {difference:.1e})")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from training.card import figures_at_points
    from training.export import load_history, load_scripted, update_metadata
    from training.metrics import calibration_error, expected_calibration_error
    from training.plots import save_plots
    from training.refer import band_figures

    model, meta = load_scripted(args.model)
    folder = args.data / args.split if (args.data / args.split).is_dir() else args.data
    split = load_split(folder)
    check = meta.get("scope_check")
    with torch.inference_mode():
        if check is not None:
            probs, scores = (torch.cat(parts) for parts in zip(*(
                model.assess(split.images[i:i + 128]) for i in range(0, len(split), 128)),
                strict=True))
        else:
            probs, scores = torch.cat([model(split.images[i:i + 128])
                                       for i in range(0, len(split), 128)]), None
    probs = probs[:, 1].numpy()
    y = split.labels.numpy()
    figures = figures_at_points(y, probs, meta)
    figures["expected_calibration_error"] = round(expected_calibration_error(y, probs), 4)
    figures["calibration_error"] = round(calibration_error(y, probs), 4)
    scope = _scope_rates(scores, check, split) if check is not None else None
    band = None
    if meta.get(CARD_KEY):  # what the refer band does here: referred, errors among decided
        band = band_figures(y, probs, meta[CARD_KEY]["t_low"], meta[CARD_KEY]["t_high"])
        figures["refer_band"] = band
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"model": str(args.model), "data": str(folder), "metrics": figures}
    if scope is not None:
        result["scope"] = scope
    atomic_write_text(args.out / "metrics.json", json.dumps(result, indent=2) + "\n")
    np.save(args.out / "probabilities.npy", probs)
    for png in save_plots(meta, y, probs, args.out, load_history(args.model)):
        print(f"wrote {png}")
    _print_figures(figures)
    if band is not None:
        print("refer band: " + ", ".join(
            f"{k} {band[k]['k']}/{band[k]['n']} ({band[k]['share']})"
            for k in ("missed", "false_alarm", "referred", "accuracy_decided")))
    if scope is not None:
        print("scope: " + ", ".join(f"{k} {scope[k]:.4f}" for k in ("in_scope", "unusual",
                                                                    "not_chest_xray")))
    if args.record_in_card is not None:
        card = {k: v for k, v in figures.items() if k not in ("operating_points", CARD_KEY)}
        card["at_operating_points"] = figures["operating_points"]
        card["test_split_evaluations_during_development"] = args.record_in_card
        meta["metrics"]["test"] = card
        meta.setdefault("test_split_looks", []).append({
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "model_version": meta.get("model_version"), "split": args.split,
            "evaluation_number": args.record_in_card})
        if scope is not None:
            meta["scope_check"]["test"] = scope
        if band is not None:
            meta[CARD_KEY]["test"] = band
        update_metadata(args.model, meta)
        print(f"recorded these figures in {args.model} (metrics.test"
              + (", scope_check.test)" if scope is not None else ")"))
    return 0


def _scope_rates(scores: torch.Tensor, check: dict, split) -> dict:
    """The scope states of a labelled split (what share in scope, unusual, not a chest X-ray,
    and the reasons), by class too."""
    from desktop.engine.scope import IN_SCOPE, judge, scores_dict
    from desktop.modelfile import CLASSES
    from training.scope import scope_rates

    states = [judge({}, scores_dict(row), check) for row in scores.tolist()]
    out = scope_rates(states)
    for k, name in enumerate(CLASSES):
        mine = [s for s, label in zip(states, split.labels.tolist(), strict=True) if label == k]
        out[f"in_scope_{name.lower()}"] = round(
            sum(s.state == IN_SCOPE for s in mine) / max(len(mine), 1), 4)
    return out


def _print_figures(figures: dict) -> None:
    rows = [("model threshold", figures)] + list(figures["operating_points"].items())
    print(f"{'point':<18}{'thr':>7}{'acc':>8}{'sens':>8}{'spec':>8}{'prec':>8}{'f1':>8}"
          f"{'AUC':>8}")
    for name, f in rows:
        print(f"{name:<18}{f['threshold']:>7.3f}{f['accuracy']:>8.4f}{f['sensitivity']:>8.4f}"
              f"{f['specificity']:>8.4f}{f['precision']:>8.4f}{f['f1']:>8.4f}"
              f"{f['roc_auc']:>8.4f}")
    if "expected_calibration_error" in figures:
        print(f"expected calibration error (15 bins): {figures['expected_calibration_error']:.4f}")
    if "calibration_error" in figures:
        print(f"calibration error of P (10 bins): {figures['calibration_error']:.4f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    try:
        commands = {"train": cmd_train, "evaluate": cmd_evaluate, "export": cmd_export,
                    "reexport": cmd_reexport, "card-tables": cmd_card_tables}
        code = commands[args.command](args)
    except (DataError, FileNotFoundError, ValueError) as exc:
        log.debug("failed", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("%s took %.1f s", args.command, time.monotonic() - started)
    return code
