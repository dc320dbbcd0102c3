"""The scope check inside ``model.pt``: scores that tell how far an input is from the images the
model was trained on, fitted by ``python -m training export`` on the model's own features.

The features are those of the same forward pass that gives the probabilities (the pooled final
feature map, and the mean and spread of block ``SCOPE_TAP``'s activations: 672 numbers). On them:
- ``chest_xray``: a logistic score, chest X-ray (the training images, their augmented, rotated
  and inverted versions, adult chest X-rays) against everything else (pages, charts, screens,
  textures, mosaics made by ``training.negatives``, and out-of-scope photos and scans given with
  ``--ood-data``);
- ``adult``: a logistic score, adult chest X-rays (from ``--ood-data``) against the training
  images;
- ``distance``: a class-conditional Mahalanobis distance to the training images (in a
  principal subspace, plus the residual), one per feature group, relative to validation;
- ``rotated`` and ``inverted``: a five-way softmax (upright, turned 90/180/270 degrees, inverted),
  learnt from the training images turned and inverted.
Thresholds are chosen on the patient-level validation split so that at least
``VALIDATION_PASS`` of it is in scope; ``desktop.engine.scope.judge`` applies them. The card
records the
method, thresholds, validation figures, and the figures on every out-of-scope group, each from
a fit that did not see that group's source.
"""

from __future__ import annotations

import csv
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from desktop.engine.scope import NOT_CHEST_XRAY, SCORES, STATES, UNUSUAL, judge, scores_dict
from training.augment import PRESETS, SHIFT_VIEWS, AugmentConfig, augmented_uint8, shifted
from training.data import Split

log = logging.getLogger(__name__)

SCOPE_TAP = 8  # MobileNetV3-Small block whose activations (mean, std) join the pooled features
FEATURE_PARTS = (("final", 576), ("block_mean", 48), ("block_std", 48))
FEATURE_DIM = sum(d for _, d in FEATURE_PARTS)
PCA_DIMS = 64
VALIDATION_PASS = 0.99  # at least this share of validation must be in scope
FAMILY_SHARE = 0.005  # what a learned score may put out of scope of validation and its views
# what the chest-radiograph score may withhold of validation, its views and its radiograph
# variants (a compromise held out on ood_dev's sources: 0.5% withheld no chest X-ray there and
# 94% of the non-chest images, 1% withheld 3 of 97 chest X-rays and 98% of the rest)
CHEST_SHARE = 0.0075
CHEST_L2 = 1e-3  # weaker than the other scores' penalty: it separated held-out sources better
_MARGIN = 0.002  # kept below that budget, so a rounding of one image does not cross it
EDGE = 1e-4  # how far a cut stays from the score at its edge (where the next score is farther):
# the noise between two runs measured 6e-6 (batch size alone moves a score that much)
ORIENTATIONS = ("upright", "rot90", "rot180", "rot270", "inverted")
# Licences under which an out-of-scope image may shape the shipped file; others only test it.
_OPEN = ("cc by", "cc0", "mit", "bsd", "apache", "psf", "matplotlib licence", "public domain")
_CLOSED = ("no licence", "gpl", "-nc", " nc", "non-commercial", "noncommercial", "research",
           "not stated", "education")


def open_licence(text: str) -> bool:
    """Whether a MANIFEST licence text allows using the image to fit a file we hand out."""
    text = text.lower()
    return any(word in text for word in _OPEN) and not any(word in text for word in _CLOSED)


# --- the module that goes into model.pt -----------------------------------------------------


class _Gaussian(nn.Module):
    """Mahalanobis distance of one feature group to the nearer class mean, per dimension."""

    def __init__(self, start: int, end: int, k: int) -> None:
        super().__init__()
        self.start, self.end = start, end
        d = end - start
        self.register_buffer("means", torch.zeros(2, d))
        self.register_buffer("basis", torch.zeros(k, d))
        self.register_buffer("variances", torch.ones(k))
        self.register_buffer("residual", torch.ones(()))
        self.register_buffer("scale", torch.ones(()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        part = z[:, self.start:self.end]
        best = torch.full((z.size(0),), math.inf, dtype=z.dtype, device=z.device)
        for c in range(2):
            d = part - self.means[c]
            proj = d @ self.basis.t()
            rest = (d * d).sum(1) - (proj * proj).sum(1)
            dist = (proj * proj / self.variances).sum(1) + rest.clamp_min(0.0) / self.residual
            best = torch.minimum(best, dist)
        return best / float(self.end - self.start) / self.scale


class ScopeHead(nn.Module):
    """Scope features [N, 672] -> scores [N, 5] in ``desktop.engine.scope.SCORES`` order."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("center", torch.zeros(FEATURE_DIM))
        self.register_buffer("spread", torch.ones(FEATURE_DIM))
        self.register_buffer("cxr_w", torch.zeros(FEATURE_DIM))
        self.register_buffer("cxr_b", torch.zeros(()))
        self.register_buffer("adult_w", torch.zeros(FEATURE_DIM))
        self.register_buffer("adult_b", torch.full((), -30.0))
        self.register_buffer("orient_w", torch.zeros(len(ORIENTATIONS), FEATURE_DIM))
        self.register_buffer("orient_b", torch.zeros(len(ORIENTATIONS)))
        parts, start = [], 0
        for _, d in FEATURE_PARTS:
            parts.append(_Gaussian(start, start + d, min(PCA_DIMS, d - 1)))
            start += d
        self.parts = nn.ModuleList(parts)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        z = (feats - self.center) / self.spread
        cxr = z @ self.cxr_w + self.cxr_b
        adult = z @ self.adult_w + self.adult_b
        distance = torch.zeros(z.size(0), dtype=z.dtype, device=z.device)
        for part in self.parts:
            distance = distance + part(z)
        distance = distance / float(len(self.parts))
        orient = torch.softmax(z @ self.orient_w.t() + self.orient_b, dim=1)
        rotated = orient[:, 1] + orient[:, 2] + orient[:, 3]
        return torch.stack([cxr, adult, distance, rotated, orient[:, 4]], dim=1)


# --- out-of-scope images given by the user ----------------------------------------------------


@dataclass
class OodImages:
    """Out-of-scope images read by the app's reader, with where each came from."""

    images: torch.Tensor  # uint8 [N, 1, 224, 224]
    paths: list[str]
    groups: list[str]  # e.g. "not_cxr/photo", "cxr_adult"
    sources: list[str]  # who published it (the leave-one-out unit)
    licences: list[str]
    facts: list[dict] = field(default_factory=list)  # the reader's source dict

    def mask(self, condition) -> np.ndarray:
        return np.array([bool(condition(i)) for i in range(len(self.paths))], dtype=bool)

    @property
    def is_chest(self) -> np.ndarray:
        return self.mask(lambda i: self.groups[i].startswith("cxr"))

    @property
    def is_adult(self) -> np.ndarray:
        return self.mask(lambda i: self.groups[i].startswith("cxr_adult"))

    @property
    def fittable(self) -> np.ndarray:
        return self.mask(lambda i: open_licence(self.licences[i]))


def load_ood(*folders: Path) -> OodImages:
    """``folder/cxr_*/...`` (chest X-rays unlike the training ones: ``cxr_adult``,
    ``cxr_lateral``, ``cxr_unusual``...) and ``folder/not_cxr/<kind>/...`` (anything else), of
    each folder. A ``MANIFEST.csv`` (``path, group, source_repo, licence``) names each file's
    source and licence; without it every file counts as its folder's source and as fittable.
    With several folders (``ood_dev`` and ``cxr_more``), each path starts with its folder's
    name."""
    images, paths, groups, sources, licences, facts = [], [], [], [], [], []
    for folder in folders:
        _read_ood_folder(Path(folder), len(folders) > 1, images, paths, groups, sources,
                         licences, facts)
    tensor = torch.from_numpy(np.stack(images))[:, None] if images else torch.empty(
        (0, 1, 224, 224), dtype=torch.uint8)
    log.info("read %d out-of-scope examples from %s", len(paths),
             ", ".join(str(f) for f in folders))
    return OodImages(tensor, paths, groups, sources, licences, facts)


def _read_ood_folder(folder: Path, prefixed: bool, images: list, paths: list, groups: list,
                     sources: list, licences: list, facts: list) -> None:
    from desktop.errors import ReadError
    from desktop.reading.files import collect_images
    from desktop.reading.imaging import read_image

    manifest = {}
    if (folder / "MANIFEST.csv").is_file():
        with open(folder / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
            manifest = {row["path"]: row for row in csv.DictReader(fh)}
    for path in collect_images([folder]):
        rel = path.relative_to(folder).as_posix()
        parts = rel.split("/")
        group = parts[0] if parts[0] != "not_cxr" or len(parts) < 3 else f"not_cxr/{parts[1]}"
        if not group.startswith(("cxr", "not_cxr")):
            continue
        try:
            xray = read_image(path, preview_size=None)
        except ReadError as exc:
            log.info("out-of-scope example %s not read: %s", rel, exc)
            continue
        row = manifest.get(rel, {})
        images.append(xray.model_input)
        paths.append(f"{folder.name}/{rel}" if prefixed else rel)
        groups.append(group)
        sources.append(row.get("source_repo") or group)
        # the user's own folder (no MANIFEST): theirs to fit on
        licences.append(row.get("licence") or ("unknown" if manifest
                                               else "cc0 (the user's own images)"))
        facts.append(xray.source)


# --- fitting -----------------------------------------------------------------------------------


def _logistic(pos: torch.Tensor, neg: torch.Tensor, l2: float = 1e-2) -> tuple[torch.Tensor,
                                                                                 float]:
    """Class-balanced L2 logistic regression on standardised features: (weights, bias)."""
    x = torch.cat([pos, neg]).double()
    y = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))]).double()
    w = torch.where(y == 1, 0.5 / len(pos), 0.5 / len(neg)).double()
    weights = torch.zeros(x.size(1), dtype=torch.float64, requires_grad=True)
    bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([weights, bias], max_iter=150, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (w * nn.functional.binary_cross_entropy_with_logits(
            x @ weights + bias, y, reduction="none")).sum() + l2 * (weights ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return weights.detach().float(), float(bias.detach())


def _softmax_regression(groups: list[torch.Tensor], l2: float = 1e-2) -> tuple[torch.Tensor,
                                                                                torch.Tensor]:
    x = torch.cat(groups).double()
    y = torch.cat([torch.full((len(g),), k) for k, g in enumerate(groups)])
    w = torch.cat([torch.full((len(g),), 1.0 / (len(g) * len(groups))) for g in groups]).double()
    weights = torch.zeros(len(groups), x.size(1), dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(len(groups), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([weights, bias], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (w * nn.functional.cross_entropy(x @ weights.t() + bias, y, reduction="none")
                ).sum() + l2 * (weights ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return weights.detach().float(), bias.detach().float()


def _fit_gaussian(part: _Gaussian, z: torch.Tensor, labels: torch.Tensor) -> None:
    block = z[:, part.start:part.end].double()
    means = torch.stack([block[labels == c].mean(0) for c in (0, 1)])
    centred = torch.cat([block[labels == c] - means[c] for c in (0, 1)])
    _, s, vt = torch.linalg.svd(centred, full_matrices=False)
    variances = s ** 2 / len(centred)
    k = part.basis.size(0)
    part.means.copy_(means.float())
    part.basis.copy_(vt[:k].float())
    part.variances.copy_(variances[:k].clamp_min(1e-8).float())
    part.residual.copy_(variances[k:].mean().clamp_min(1e-8).float())


@dataclass
class _FitData:
    """Raw scope features (what ``ScopeHead`` takes) of everything the fit looks at."""

    in_scope: torch.Tensor  # the training images and their augmented views
    in_labels: torch.Tensor
    orient: list[torch.Tensor]  # upright, rot90, rot180, rot270, inverted
    synthetic: torch.Tensor
    synthetic_kinds: list[str]
    ood: torch.Tensor | None
    val: torch.Tensor
    val_views: dict[str, torch.Tensor]
    variants: torch.Tensor  # chest radiographs of other kinds, made from training images
    val_variants: torch.Tensor  # the same, made from validation images (threshold only)


def _quantile(values: torch.Tensor, q: float) -> float:
    return float(torch.quantile(values.double(), q))


def _lower_cut(values: torch.Tensor, share: float) -> float:
    """A threshold below which (strictly) at most ``share`` of ``values`` fall, just below the
    lowest value it lets through (see ``_upper_cut``)."""
    ordered = torch.sort(values.double()).values
    m = min(math.floor(share * len(ordered)), len(ordered) - 1)
    if m == 0:
        return float(ordered[0]) - EDGE
    return float(ordered[m]) - min(float(ordered[m] - ordered[m - 1]) / 2, EDGE)


def _upper_cut(values: torch.Tensor, share: float) -> float:
    """A threshold at or above which at most ``share`` of ``values`` lie, just below the lowest
    value it stops: ``EDGE`` away from it, or half-way to the next value down where they are
    closer. A cut placed on a validation image's own score left that image within 1e-6 of it,
    and float32 noise between two runs moved it across (issue 35)."""
    ordered = torch.sort(values.double()).values
    k = math.floor(share * len(ordered))
    if k <= 0:
        return float(ordered[-1]) + EDGE
    if k >= len(ordered):
        return float(ordered[0]) - EDGE
    return float(ordered[-k]) - min(float(ordered[-k] - ordered[-k - 1]) / 2, EDGE)


def fit_scope(features, train: Split, val: Split, *, augment_cfg: AugmentConfig | None = None,
              ood: OodImages | None = None, age_range: tuple[int, int] | None = None,
              seed: int = 0, subset: int = 3000) -> tuple[ScopeHead, dict]:
    """Fit the scope check on ``features`` (uint8 images -> float [N, 672], the exported model's
    own ``scope_features``); returns the head and the card's ``scope_check`` section."""
    from training.negatives import synthetic_negatives
    from training.variants import radiograph_variants

    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(train), generator=g)[:subset]
    some = train.images[pick]
    views = [train.images, augmented_uint8(some, augment_cfg or PRESETS["framing"], g),
             augmented_uint8(some, PRESETS["framing_wide"], g)]
    in_raw = torch.cat([features(v) for v in views])
    in_labels = torch.cat([train.labels, train.labels[pick], train.labels[pick]])
    head = ScopeHead()
    head.center.copy_(in_raw.mean(0))
    head.spread.copy_(in_raw.std(0).clamp_min(1e-6))

    quarter = some[: max(4, len(some) // 4)]
    neg_images, neg_kinds = synthetic_negatives(max(250, len(quarter) // 2), some, seed=seed)
    data = _FitData(
        in_scope=in_raw, in_labels=in_labels,
        orient=[features(quarter), features(torch.rot90(quarter, 1, (2, 3))),
                features(torch.flip(quarter, (2, 3))), features(torch.rot90(quarter, 3, (2, 3))),
                features(255 - quarter)],
        synthetic=features(neg_images), synthetic_kinds=neg_kinds,
        ood=features(ood.images) if ood is not None and len(ood.paths) else None,
        val=features(val.images),
        val_views={name: features(shifted(val.images, cfg=cfg))
                   for name, cfg in SHIFT_VIEWS.items()},
        variants=features(radiograph_variants(some[: subset // 2], seed=seed)[0]),
        val_variants=torch.cat([features(radiograph_variants(val.images, seed=seed + k)[0])
                                for k in (1, 2)]),
    )
    for part in head.parts:
        _fit_gaussian(part, _standard(head, data.in_scope), data.in_labels)
        part.scale.copy_(torch.tensor(_quantile(part(_standard(head, data.val)), 0.99)))
    orient_w, orient_b = _softmax_regression([_standard(head, x) for x in data.orient])
    head.orient_w.copy_(orient_w)
    head.orient_b.copy_(orient_b)
    fittable = ood.fittable if data.ood is not None else None
    _fit_learned(head, data, ood, fittable)
    thresholds = _thresholds(head, data)
    check = {"thresholds": thresholds, "age_range_years": list(age_range) if age_range else None}
    section = _card_section(head, data, ood, fittable, check, neg_kinds)
    return head, section


def _standard(head: ScopeHead, feats: torch.Tensor) -> torch.Tensor:
    """Features as the head's scores see them (centred and scaled on the training images)."""
    return (feats - head.center) / head.spread


def _fit_learned(head: ScopeHead, data: _FitData, ood: OodImages | None,
                 use: np.ndarray | None) -> None:
    """The two logistic scores, on the fittable out-of-scope images in ``use``."""
    positives = [_thinned(data.in_scope), *data.orient[1:], data.variants]
    negatives = [data.synthetic]
    adults = None
    if data.ood is not None and use is not None:
        chest, adult = torch.from_numpy(ood.is_chest), torch.from_numpy(ood.is_adult)
        keep = torch.from_numpy(use)
        positives.append(data.ood[chest & keep])
        negatives.append(data.ood[~chest & keep])
        adults = data.ood[adult & keep]
    w, b = _logistic(_standard(head, torch.cat(positives)), _standard(head, torch.cat(negatives)),
                     l2=CHEST_L2)
    head.cxr_w.copy_(w)
    head.cxr_b.copy_(torch.tensor(b))
    if adults is not None and len(adults) >= 5:
        w, b = _logistic(_standard(head, adults), _standard(head, _thinned(data.in_scope)))
        head.adult_w.copy_(w)
        head.adult_b.copy_(torch.tensor(b))
    else:
        head.adult_w.zero_()
        head.adult_b.fill_(-30.0)


def _thinned(feats: torch.Tensor, most: int = 4000) -> torch.Tensor:
    """Every k-th row, at most ``most``: the logistic fits weigh classes equally anyway, and
    they run once per held-out source."""
    return feats[:: max(1, math.ceil(len(feats) / most))]


def _thresholds(head: ScopeHead, data: _FitData) -> dict[str, float]:
    """Each learned score's threshold on validation and its shifted views (re-framed,
    re-exposed, cropped, softened: a new hospital's framing alone must not put an image out of
    scope); the distance's takes what is left of plain validation's budget, so that at least
    ``VALIDATION_PASS`` of it is in scope."""
    with torch.no_grad():
        scores = head(data.val)
        family = torch.cat([scores, *(head(v) for v in data.val_views.values())])
        # chest radiographs of other kinds (opacities, lines, markers, other fields and
        # exposures) made from validation: not one of them may be called "not a chest X-ray"
        # for its look alone
        chest_family = torch.cat([family[:, 0], head(data.val_variants)[:, 0]])
    limits = {
        "chest_xray": _lower_cut(chest_family, CHEST_SHARE),
        "adult": max(_upper_cut(family[:, 1], FAMILY_SHARE), -20.0),
        "rotated": max(0.5, _upper_cut(family[:, 3], 0.001)),
        "inverted": max(0.5, _upper_cut(family[:, 4], 0.001)),
    }
    flagged = ((scores[:, 0] < limits["chest_xray"]) | (scores[:, 1] >= limits["adult"])
               | (scores[:, 3] >= limits["rotated"]) | (scores[:, 4] >= limits["inverted"]))
    budget = (1.0 - VALIDATION_PASS) - _MARGIN - float(flagged.double().mean())
    rest = scores[~flagged, 2]
    share = max(budget, 0.0) * len(scores) / max(len(rest), 1)
    limits["distance"] = _upper_cut(rest, share)
    # rounded for the card, never so that a value on the edge changes side
    return {"chest_xray": math.floor(limits["chest_xray"] * 1e6) / 1e6,
            **{name: math.ceil(value * 1e6) / 1e6 for name, value in limits.items()
               if name != "chest_xray"}}


def _states(head: ScopeHead, feats: torch.Tensor, check: dict,
            facts: list[dict] | None = None) -> list:
    with torch.no_grad():
        scores = head(feats).tolist()
    facts = facts or [{}] * len(scores)
    return [judge(f, scores_dict(s), check) for f, s in zip(facts, scores, strict=True)]


def scope_rates(scopes: list) -> dict:
    """The share of each scope state and the reasons given, as the card records them."""
    counts = Counter(s.state for s in scopes)
    n = max(len(scopes), 1)
    out = {"n": len(scopes), **{state: round(counts[state] / n, 4) for state in STATES}}
    reasons = Counter(str(s.reason) for s in scopes if s.reason is not None)
    out["reasons"] = dict(reasons.most_common())
    return out


def _card_section(head: ScopeHead, data: _FitData, ood: OodImages | None,
                  fittable: np.ndarray | None, check: dict, neg_kinds: list[str]) -> dict:
    section = {
        "method": "scores on the network's own features (pooled final map + mean/std of block "
                  f"{SCOPE_TAP}, averaged over the image and its mirror): logistic chest-X-ray "
                  "and adult scores, class-conditional Mahalanobis distance (principal subspace "
                  "+ residual, per feature group), and an orientation softmax; thresholds "
                  f"chosen on validation so that at least {VALIDATION_PASS:.0%} of it is in "
                  "scope",
        "chest_xray_score": "is it a chest radiograph at all: fitted on chest X-rays of every "
                            "kind (the training images; turned, inverted; radiograph variants "
                            "of them: opacities, tubes and lines, markers, collimation, tight "
                            "and wide fields, harsh and flat exposure, equalised, tilted; openly "
                            "licensed adult chest X-rays) against non-chest images (synthetic "
                            "pages, charts, screens, textures, mosaics and radiographs of other "
                            "body parts; openly licensed real ones); its threshold lets through "
                            f"all but {CHEST_SHARE:.2%} of validation, its shifted views and "
                            "its radiograph variants. Below it the verdict is withheld; a chest "
                            "X-ray unlike the training images is marked unusual by the other "
                            "scores.",
        "scores": list(SCORES),
        "thresholds": check["thresholds"],
        "age_range_years": check["age_range_years"],
        "validation": scope_rates(_states(head, data.val, check)),
        "validation_views": {name: scope_rates(_states(head, feats, check))
                             for name, feats in data.val_views.items()},
        "fitted_on": {
            "in_scope": "the training images (plain, and two augmented views of a subset), "
                        "turned 90/180/270 degrees and inverted for the orientation score",
            "synthetic_negatives": dict(Counter(neg_kinds)),
            "out_of_scope_examples": [],
        },
    }
    if ood is None or data.ood is None:
        section["adult_score"] = "not fitted (no adult chest X-rays given)"
        return section
    used = Counter((ood.sources[i], ood.groups[i], ood.licences[i])
                   for i in np.flatnonzero(fittable))
    section["fitted_on"]["out_of_scope_examples"] = [
        {"source": source, "group": group, "licence": licence, "n": n}
        for (source, group, licence), n in sorted(used.items())]
    section["out_of_scope_groups"] = _held_out_figures(head, data, ood, fittable, check)
    return section


def _held_out_figures(head: ScopeHead, data: _FitData, ood: OodImages,
                      fittable: np.ndarray, check: dict) -> dict:
    """Per group: the states its images get from a check fitted without their source (sources
    that shaped the shipped check are left out one at a time, and the check refitted)."""
    states: list = [None] * len(ood.paths)
    sources = np.array(ood.sources)
    for source in sorted({ood.sources[i] for i in np.flatnonzero(fittable)}):
        trial = ScopeHead()
        trial.load_state_dict(head.state_dict())
        _fit_learned(trial, data, ood, fittable & (sources != source))
        trial_check = dict(check, thresholds=_thresholds(trial, data))
        index = np.flatnonzero(sources == source)
        for i, scope in zip(index, _states(trial, data.ood[index], trial_check,
                                           [ood.facts[i] for i in index]), strict=True):
            states[i] = scope
    shipped = _states(head, data.ood, check, ood.facts)
    states = [shipped[i] if scope is None else scope for i, scope in enumerate(states)]
    groups = np.array(ood.groups)
    out = {}
    for group in sorted(set(ood.groups)):
        index = np.flatnonzero(groups == group)
        figures = scope_rates([states[i] for i in index])
        caught = {UNUSUAL, NOT_CHEST_XRAY} if group.startswith("cxr") else {NOT_CHEST_XRAY}
        figures["caught"] = round(sum(states[i].state in caught for i in index) / len(index), 4)
        # what the shipped check itself says of them (it saw the sources in "in_fit")
        figures["caught_by_shipped_check"] = round(
            sum(shipped[i].state in caught for i in index) / len(index), 4)
        figures["in_fit"] = int(fittable[index].sum())
        by_source = {}
        for source in sorted({ood.sources[i] for i in index}):
            mine = [i for i in index if sources[i] == source]
            by_source[source] = {
                "n": len(mine),
                **{state: round(sum(states[i].state == state for i in mine) / len(mine), 4)
                   for state in STATES},
                "caught": round(sum(states[i].state in caught for i in mine) / len(mine), 4),
                "in_fit": bool(fittable[mine[0]])}
        figures["by_source"] = by_source
        out[group] = figures
    log.info("scope check on the out-of-scope groups (each from a fit without its source): %s",
             {g: f["caught"] for g, f in out.items()})
    return out
