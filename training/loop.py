"""The two training phases, torchvision-reference style: ``train_one_epoch``, ``evaluate``,
checkpoint dicts written atomically after every epoch, and early stopping with the best weights
restored.

Phase "head": backbone frozen, so its pooled features are computed once per cached view (one
plain + a few augmented views of every image) and the head trains on those. Phase "finetune":
the whole net at a low LR, with every BatchNorm kept in eval mode (the offline weights have BN
folded in).
"""

from __future__ import annotations

import io
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from desktop.atomicio import atomic_write_bytes
from training.augment import PRESETS, AugmentConfig
from training.batches import augment_each, batches, place, seed_of
from training.data import Split
from training.distributed import Context, wrap
from training.features import Features
from training.metrics import roc_auc
from training.model import ChestXRayNet, freeze_batchnorm

log = logging.getLogger(__name__)

PHASES = ("head", "finetune")
SINGLE = Context()


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is available; "
                         "use --device cpu")
    return torch.device(name)


def class_weights(labels: torch.Tensor, spec: str) -> torch.Tensor:
    """'auto': inverse class frequency (mean weight 1); else 'w_normal,w_pneumonia'."""
    if spec == "auto":
        counts = torch.bincount(labels, minlength=2).double().clamp_min(1)
        return (counts.sum() / (2 * counts)).float()
    values = [float(v) for v in spec.split(",")]
    if len(values) != 2 or min(values) <= 0:
        raise ValueError("--class-weights takes 'auto' or two positive numbers: 0.65,0.35")
    return torch.tensor(values)


def save_checkpoint(state: dict, path: Path) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def plain_args(args) -> dict:
    """The recipe as plain values (loadable with ``weights_only=True``)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
            if not callable(v)}


def cpu_state(module: nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


@dataclass
class EarlyStopping:
    """Tracks the best validation loss of a phase and the weights that reached it."""

    patience: int
    best_loss: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    best_state: dict | None = field(default=None, repr=False)

    def step(self, loss: float, epoch: int, module: nn.Module) -> bool:
        """Records an epoch; True when training should stop."""
        if loss < self.best_loss - 1e-6:
            self.best_loss, self.best_epoch, self.bad_epochs = loss, epoch, 0
            self.best_state = cpu_state(module)
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def as_dict(self) -> dict:
        return {"patience": self.patience, "best_loss": self.best_loss,
                "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
                "best_state": self.best_state}

    @classmethod
    def from_dict(cls, d: dict) -> EarlyStopping:
        return cls(d["patience"], d["best_loss"], d["best_epoch"], d["bad_epochs"],
                   d["best_state"])


# --- inference helpers ------------------------------------------------------------------------

@torch.no_grad()
def predict_logits(model: ChestXRayNet, images: torch.Tensor, device: torch.device, *,
                   tta_flip: bool = False, batch_size: int = 256) -> torch.Tensor:
    """Logits [N, 2] (on the CPU) of uint8 images, in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device).float() / 255.0
        logits = model(x)
        if tta_flip:
            logits = 0.5 * (logits + model(x.flip(3)))
        out.append(logits.float().cpu())
    model.train(was_training)
    return torch.cat(out)


@torch.no_grad()
def cache_features(model: ChestXRayNet, split: Split, device: torch.device, views: int,
                   cfg: AugmentConfig, seed: int, batch_size: int = 256, progress: bool = True,
                   context: Context = SINGLE, workers: int = 0, folder: Path | None = None,
                   placement: str = "auto", name: str = "features") -> Features:
    """Pooled backbone features [views, N, 576]: view 0 plain, the others augmented.

    Each process runs the backbone on its shard of the split; every process gets every row,
    gathered a batch at a time (resident, or in a file of ``folder`` when large: see
    ``training.features``).
    """
    was_training = model.training
    model.eval()
    plain = PRESETS["none"]
    features = Features(views, len(split), model.net.classifier[0].in_features, folder=folder,
                        name=name, placement=placement)
    try:
        for v in range(views):
            for images, _, idx in batches(split, context.sampler(len(split), shuffle=False),
                                          batch_size, device, workers=workers,
                                          progress=progress,
                                          desc=f"cache features {v + 1}/{views}"):
                x = augment_each(images, idx, plain if v == 0 else cfg, seed_of(seed, v))
                features.put(v, *context.gather_rows(idx, model.pooled_features(x).float()))
        features.check_complete()
    except BaseException:
        features.close()
        raise
    model.train(was_training)
    return features


@torch.no_grad()
def split_logits(model: nn.Module, split: Split, device: torch.device,
                 context: Context = SINGLE, workers: int = 0,
                 batch_size: int = 256) -> torch.Tensor:
    """Logits [N, 2] (on the CPU) of every image of ``split``, each process doing its shard."""
    was_training = model.training
    model.eval()
    index, rows = [], []
    for images, _, idx in batches(split, context.sampler(len(split), shuffle=False),
                                  batch_size, device, workers=workers):
        rows.append(model(images.float() / 255.0).float().cpu())
        index.append(idx)
    model.train(was_training)
    return context.gather_by_index(torch.cat(index), torch.cat(rows), len(split))


def evaluate(model: ChestXRayNet, criterion: nn.Module, split: Split, device: torch.device,
             context: Context = SINGLE, workers: int = 0) -> dict:
    """Validation loss, accuracy (threshold 0.5) and ROC AUC of ``split`` (every image once,
    whatever the number of processes)."""
    return _figures(split_logits(model, split, device, context, workers), split.labels,
                    criterion)


def _figures(logits: torch.Tensor, labels: torch.Tensor, criterion: nn.Module) -> dict:
    loss = float(criterion(logits, labels))
    p = torch.softmax(logits, 1)[:, 1].numpy()
    y = labels.numpy()
    return {"val_loss": loss, "val_acc": float(((p >= 0.5) == y).mean()),
            "val_auc": roc_auc(y, p)}


# --- one epoch of each phase ------------------------------------------------------------------

def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def train_one_epoch_head(head: nn.Module, optimizer: torch.optim.Optimizer,
                         criterion: nn.Module, feats: Features, labels: torch.Tensor,
                         batch_size: int, g: torch.Generator, desc: str,
                         progress: bool) -> float:
    """One pass over the cached features; each image shows one randomly chosen view."""
    head.train()
    n = feats.n
    order = torch.randperm(n, generator=g)
    view = torch.randint(0, feats.views, (n,), generator=g)
    total, seen = 0.0, 0
    bar = tqdm(range(0, n, batch_size), desc=desc, disable=not progress, leave=False)
    device = next(head.parameters()).device
    for start in bar:
        idx = order[start:start + batch_size]
        x = feats.take(view[idx], idx).to(device)
        loss = criterion(head(x), labels[idx].to(device))
        total += _step(optimizer, loss) * len(idx)
        seen += len(idx)
        bar.set_postfix(loss=f"{total / seen:.4f}")
    return total / seen


def train_one_epoch(model: nn.Module, optimizer: torch.optim.Optimizer,
                    criterion: nn.Module, split: Split, device: torch.device,
                    cfg: AugmentConfig, batch_size: int, seed: int, epoch: int, desc: str,
                    progress: bool, max_steps: int | None = None,
                    after_step=None, context: Context = SINGLE, workers: int = 0,
                    mixup: float = 0.0, teacher: nn.Module | None = None,
                    distill: float = 0.0) -> float:
    """One pass over ``split`` with augmented batches; BatchNorm stays in eval mode.

    ``batch_size`` is the global batch: each of the processes takes its share of it from a
    ``DistributedSampler`` (seeded, ``set_epoch``). ``criterion`` has ``reduction="none"``; the
    loss is normalised by the whole batch's weight, so DDP's average of the processes'
    gradients is the gradient of the single-process loss. ``after_step()`` runs after every
    optimiser step (the LR schedule, the weight average). ``mixup`` > 0 blends each batch with
    a shuffled copy of itself, the blend drawn from Beta(mixup, mixup) and the loss blended the
    same way (Zhang et al. 2018): softer targets, a regulariser against confident mistakes;
    seeded per step like the augmentation. ``teacher`` (with ``distill`` = its share of the
    loss, ``training.distill``) answers the same augmented batch, and the student learns from
    its soft answer beside the labels. Returns the epoch's mean loss.
    """
    if teacher is not None and mixup > 0.0:
        raise ValueError("--mixup and --teachers do not combine; choose one")
    model.train()
    freeze_batchnorm(model)
    sampler = context.sampler(len(split), shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    weights = criterion.weight
    total, weight = 0.0, 0.0
    for step, (images, labels, index) in enumerate(batches(
            split, sampler, math.ceil(batch_size / context.world), device, workers=workers,
            desc=desc, progress=progress)):
        if max_steps is not None and step >= max_steps:
            break
        x = augment_each(images, index, cfg, seed_of(seed, epoch))
        y = labels.to(device)
        if mixup > 0.0:
            x, losses, mine = _mixed_loss(model, criterion, x, y, mixup,
                                          seed_of(seed, epoch, step, context.rank))
        else:
            if teacher is None:
                losses = criterion(model(x), y)
            else:
                with torch.no_grad():
                    taught = teacher(x)
                losses = distilled_losses(model(x), y, taught, criterion, distill)
            mine = float(weights[y].sum()) if weights is not None else float(len(y))
        (batch_weight,) = context.sum(mine)
        _step(optimizer, losses.sum() * (context.world / batch_weight))
        total += float(losses.detach().sum())
        weight += mine
        if after_step is not None:
            after_step()
    total, weight = context.sum(total, weight)
    return total / max(weight, 1e-12)


def _mixed_loss(model: nn.Module, criterion: nn.Module, x: torch.Tensor, y: torch.Tensor,
                alpha: float, seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(mixed batch, per-item mixed losses, the batch's weight) for one mixup step."""
    g = torch.Generator().manual_seed(seed)
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(len(y), generator=g).to(y.device)
    mixed = lam * x + (1.0 - lam) * x[perm]
    out = model(mixed)
    losses = lam * criterion(out, y) + (1.0 - lam) * criterion(out, y[perm])
    weights = criterion.weight
    if weights is None:
        return mixed, losses, float(len(y))
    return mixed, losses, float(lam * weights[y].sum() + (1.0 - lam) * weights[y[perm]].sum())


def distilled_losses(out: torch.Tensor, y: torch.Tensor, teacher_logits: torch.Tensor,
                     criterion: nn.Module, alpha: float) -> torch.Tensor:
    """Per-item loss: (1 - alpha) x the recipe's hard-label loss + alpha x the cross-entropy
    against the teachers' probabilities, the latter weighted by the item's class weight like
    the former, so a batch's weight (and DDP's normalisation) is unchanged."""
    hard = criterion(out, y)
    soft = -(torch.softmax(teacher_logits.float(), 1) * torch.log_softmax(out, 1)).sum(1)
    weights = criterion.weight
    if weights is not None:
        soft = soft * weights[y]
    return (1.0 - alpha) * hard + alpha * soft


# --- the whole run ----------------------------------------------------------------------------

def fit(model: ChestXRayNet, train: Split, val: Split, args, device: torch.device,
        checkpoint_path: Path, resume: dict | None = None, context: Context = SINGLE,
        teacher: nn.Module | None = None) -> dict:
    """Runs (or continues) both phases; returns the final checkpoint dict (best weights loaded).

    ``args`` carries the recipe (see ``training.cli``). A checkpoint is written after every
    epoch (by the main process only); ``resume`` is such a checkpoint. ``teacher`` (frozen: an
    ensemble of ``training.distill``) teaches the fine-tuning phase, with ``args.distill``.
    """
    cfg = PRESETS[args.augment]
    weights = class_weights(train.labels, args.class_weights).to(device)
    criterion = nn.CrossEntropyLoss(weight=weights, label_smoothing=args.label_smoothing)
    per_item = nn.CrossEntropyLoss(weight=weights, label_smoothing=args.label_smoothing,
                                   reduction="none")
    eval_criterion = nn.CrossEntropyLoss(weight=weights.cpu())
    state = resume or {"phase": "head", "epoch": 0, "history": [], "stopper": None,
                       "wall_time_s": 0.0, "epochs_run": {"head": 0, "finetune": 0}}
    if resume:
        model.load_state_dict(resume["model"])
        log.info("resuming: phase %s after epoch %d", resume["phase"], resume["epoch"])
    model.to(device)
    train, val = place([train, val], device, getattr(args, "placement", "auto"))
    started = time.monotonic() - state["wall_time_s"]
    budget = getattr(args, "time_budget", None)
    args.deadline = time.monotonic() + budget if budget else None

    def checkpoint(optimizer: torch.optim.Optimizer | None,
                   stopper: EarlyStopping | None, trained: nn.Module | None = None) -> None:
        state.update(model=cpu_state(trained if trained is not None else model),
                     stopper=stopper.as_dict() if stopper else None,
                     optimizer=optimizer.state_dict() if optimizer else None,
                     wall_time_s=time.monotonic() - started, args=plain_args(args))
        if context.is_main:
            save_checkpoint(state, checkpoint_path)

    if state["phase"] == "head":
        _phase_head(model, train, val, args, device, cfg, criterion, eval_criterion, state,
                    checkpoint, context)
        state.update(phase="finetune", epoch=0, stopper=None, optimizer=None)
        checkpoint(None, None)
    if state["phase"] == "finetune":
        _phase_finetune(model, train, val, args, device, cfg, per_item, eval_criterion, state,
                        checkpoint, context, teacher)
        state.update(phase="done", stopper=None, optimizer=None)
        checkpoint(None, None)
    model.load_state_dict(state["model"])
    return state


def _phase_head(model, train, val, args, device, cfg, criterion, eval_criterion, state,
                checkpoint, context: Context = SINGLE) -> None:
    """The head on cached features: cheap, so every process trains it the same way (only the
    caching is shared out)."""
    for p in model.parameters():
        p.requires_grad_(False)
    head = model.net.classifier
    for p in head.parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(head.parameters(), lr=args.lr_head,
                                 weight_decay=args.weight_decay)
    stopper = _resumed_stopper(state, optimizer, args.patience)
    if state["epoch"] >= args.epochs_head or stopper.bad_epochs >= args.patience:
        _restore_best(model, stopper)
        return
    workers = getattr(args, "loader_workers", 0)
    with cache_features(model, train, device, args.cache_views, cfg, args.seed,
                        progress=args.progress, context=context, workers=workers,
                        folder=getattr(args, "work_dir", None),
                        placement=getattr(args, "placement", "auto"),
                        name="train features") as feats:
        with cache_features(model, val, device, 1, cfg, args.seed, progress=args.progress,
                            context=context, workers=workers, name="val features") as cached:
            val_feats = cached.take(0, torch.arange(len(val)))
        _train_head(head, optimizer, criterion, eval_criterion, feats, val_feats, train, val,
                    args, device, state, stopper, model, checkpoint)
    _restore_best(model, stopper)
    state["model"] = cpu_state(model)


def _train_head(head, optimizer, criterion, eval_criterion, feats: Features, val_feats, train,
                val, args, device, state, stopper, model, checkpoint) -> None:
    for epoch in range(state["epoch"], args.epochs_head):
        torch.manual_seed(args.seed + epoch)
        g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        loss = train_one_epoch_head(head, optimizer, criterion, feats, train.labels,
                                    args.batch_size, g, f"head {epoch + 1}/{args.epochs_head}",
                                    args.progress)
        head.eval()
        with torch.no_grad():
            val_logits = head(val_feats.to(device)).float().cpu()
        figures = _figures(val_logits, val.labels, eval_criterion)
        if _end_epoch(state, "head", epoch, loss, figures, stopper, model, optimizer,
                      checkpoint):
            break


def _phase_finetune(model, train, val, args, device, cfg, criterion, eval_criterion, state,
                    checkpoint, context: Context = SINGLE,
                    teacher: nn.Module | None = None) -> None:
    for p in model.parameters():
        p.requires_grad_(True)
    freeze_batchnorm(model)
    trained = wrap(model, context)  # DDP with several processes; validated on ``model``
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=args.lr_finetune, weight_decay=args.weight_decay)
    stopper = _resumed_stopper(state, optimizer, args.patience)
    steps = math.ceil(len(train) / args.batch_size)
    if args.max_steps is not None:
        steps = min(steps, args.max_steps)
    schedule = _lr_schedule(optimizer, args, steps, state)
    workers = getattr(args, "loader_workers", 0)
    average = _weight_average(model, args, state)
    if teacher is not None:
        teacher = teacher.to(device)
        log.info("distilling (the teachers' share of the loss %.2f)", args.distill)
    evaluated = average.module if average is not None else model

    def after_step() -> None:
        if schedule is not None:
            schedule.step()
        if average is not None:
            average.update_parameters(model)

    def extra_state() -> dict:
        return {"schedule": schedule.state_dict() if schedule is not None else None,
                "average": cpu_state(average) if average is not None else None}

    for epoch in range(state["epoch"], args.epochs_finetune):
        if stopper.bad_epochs >= args.patience:
            break
        if args.deadline is not None and time.monotonic() > args.deadline:
            log.warning("finetune: --time-budget reached after %d epochs; stopping", epoch)
            break
        torch.manual_seed(args.seed + 100 + epoch)
        loss = train_one_epoch(trained, optimizer, criterion, train, device, cfg,
                               args.batch_size, args.seed + 100, epoch,
                               f"finetune {epoch + 1}/{args.epochs_finetune}", args.progress,
                               args.max_steps, after_step, context, workers,
                               float(getattr(args, "mixup", 0.0) or 0.0), teacher,
                               float(getattr(args, "distill", 0.0) or 0.0))
        figures = evaluate(evaluated, eval_criterion, val, device, context, workers)
        state.update(extra_state())
        if _end_epoch(state, "finetune", epoch, loss, figures, stopper, evaluated, optimizer,
                      checkpoint, model):
            break
    _restore_best(model, stopper)
    state["model"] = cpu_state(model)


def _lr_schedule(optimizer, args, steps_per_epoch: int, state: dict):
    """Cosine decay of the fine-tuning LR over all its epochs (per step), or None (constant)."""
    if getattr(args, "lr_schedule", "constant") != "cosine":
        return None
    total = max(1, args.epochs_finetune * steps_per_epoch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if state.get("schedule"):
        schedule.load_state_dict(state["schedule"])
    return schedule


def _weight_average(model: nn.Module, args, state: dict):
    """An exponential moving average of the fine-tuned weights (torch.optim.swa_utils), or None.

    Validation, early stopping and the exported weights then use the average, which moves more
    smoothly than the weights of the last step.
    """
    decay = float(getattr(args, "ema_decay", 0.0) or 0.0)
    if decay <= 0.0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    if state.get("average"):
        average.load_state_dict(state["average"])
    return average


def _resumed_stopper(state: dict, optimizer: torch.optim.Optimizer,
                     patience: int) -> EarlyStopping:
    """The phase's early-stopping record, and the optimizer state, from a checkpoint if any."""
    if not state["stopper"]:
        return EarlyStopping(patience)
    optimizer.load_state_dict(state["optimizer"])
    return EarlyStopping.from_dict(state["stopper"])


def _end_epoch(state: dict, phase: str, epoch: int, loss: float, figures: dict,
               stopper: EarlyStopping, model: nn.Module, optimizer: torch.optim.Optimizer,
               checkpoint, trained: nn.Module | None = None) -> bool:
    """Records the epoch, writes the checkpoint; True when early stopping says stop.

    ``model`` is what was validated (and what the best weights are taken from); ``trained`` the
    module being optimised when that is another one (a weight average of it).
    """
    stop = _record(state, phase, epoch, loss, figures, stopper, model)
    checkpoint(optimizer, stopper, trained)
    if stop:
        log.info("%s: early stop after epoch %d (best %d)", phase, epoch + 1,
                 stopper.best_epoch + 1)
    return stop


def _record(state: dict, phase: str, epoch: int, loss: float, figures: dict,
            stopper: EarlyStopping, model: nn.Module) -> bool:
    row = {"phase": phase, "epoch": epoch + 1, "train_loss": round(loss, 5),
           **{k: round(v, 5) for k, v in figures.items()}}
    state["history"].append(row)
    state["epoch"] = epoch + 1
    state["epochs_run"][phase] = epoch + 1
    stop = stopper.step(figures["val_loss"], epoch, model)
    log.info("%s epoch %d: train loss %.4f, val loss %.4f, val acc %.4f, val AUC %.4f",
             phase, epoch + 1, loss, figures["val_loss"], figures["val_acc"], figures["val_auc"])
    return stop


def _restore_best(model: nn.Module, stopper: EarlyStopping) -> None:
    if stopper.best_state is not None:
        model.load_state_dict(stopper.best_state)
        log.info("restored the best weights (epoch %d, val loss %.4f)", stopper.best_epoch + 1,
                 stopper.best_loss)

