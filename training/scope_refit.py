"""The scope check of a shipped ``model.pt`` refitted on the same weights, within a CPU budget
(``python -m training.scope_refit``): the classifier, the standardisation, the distance and the
orientation score are kept as the file has them; the chest-radiograph and adult scores are
fitted again on new out-of-scope examples (e.g. ``ood_dev`` and ``cxr_more``), and every
threshold is chosen again on validation. Every figure on the out-of-scope examples comes from a
fit that did not see that example's source (``training.scope._held_out_figures``).

Why not ``python -m training reexport --data``: that fits everything again, on about 21,000
images' features; on the shared 2-core machine that took well over an hour. This needs about
8,000 (a sample of the training images, their turned, inverted, augmented and variant versions,
validation and half of it in each shifted view), and it reuses the same feature cache.
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime, timezone
from pathlib import Path

import torch

import training.scope as scope_mod
from training.augment import PRESETS, SHIFT_VIEWS, augmented_uint8, shifted
from training.cache import cached_features
from training.data import train_val
from training.export import (
    ExportedClassifier,
    load_scripted,
    network_of,
    reexport,
    update_metadata,
    verification_batch,
)
from training.model import network_for
from training.negatives import synthetic_negatives
from training.scope import (
    ScopeHead,
    _card_section,
    _fit_learned,
    _FitData,
    _thresholds,
    load_ood,
)
from training.variants import radiograph_variants

log = logging.getLogger(__name__)

N_TRAIN = 3072  # plain training images (the first rows of the carved training split)
N_SMALL = 256  # each of: turned/inverted, augmented, radiograph variants, synthetic negatives


def _features_of(model_path: Path, cache: Path):
    old, _ = load_scripted(model_path)
    state, wrap = network_of(old, model_path)
    model = network_for(wrap)
    model.net.load_state_dict(state)
    wrapper = ExportedClassifier(model.eval(), wrap["temperature"], wrap["tta_flip"]).eval()

    @torch.no_grad()
    def features(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([wrapper.scope_features(images[i:i + 128]).float()
                          for i in range(0, len(images), 128)])

    head = ScopeHead()
    head.load_state_dict({k[len("scope."):]: v for k, v in old.state_dict().items()
                          if k.startswith("scope.")})
    return cached_features(features, cache, verification_batch()), head


def fit_data(features, train, val, ood, augment: str | None, seed: int = 0):
    """The features ``_fit_learned`` and ``_thresholds`` look at, on a budget."""
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(train), generator=g)
    small = train.images[pick[:N_SMALL]]
    other = train.images[pick[N_SMALL:2 * N_SMALL]]
    aug = torch.cat([augmented_uint8(other[: N_SMALL // 2], PRESETS.get(augment or "framing",
                                                                        PRESETS["framing"]), g),
                     augmented_uint8(other[N_SMALL // 2:], PRESETS["framing_wide"], g)])
    neg_images, neg_kinds = synthetic_negatives(N_SMALL, other, seed=seed)
    half = val.images[::2]
    plain = features(train.images[:N_TRAIN])
    data = _FitData(
        in_scope=torch.cat([plain, features(aug)]),
        in_labels=torch.cat([train.labels[:N_TRAIN], train.labels[pick[N_SMALL:2 * N_SMALL]]]),
        orient=[torch.empty(0, plain.size(1)), features(torch.rot90(small, 1, (2, 3))),
                features(torch.flip(small, (2, 3))), features(torch.rot90(small, 3, (2, 3))),
                features(255 - small)],
        synthetic=features(neg_images), synthetic_kinds=neg_kinds,
        ood=features(ood.images),
        val=features(val.images),
        val_views={name: features(shifted(half, cfg=cfg)) for name, cfg in SHIFT_VIEWS.items()},
        variants=features(radiograph_variants(small, seed=seed)[0]),
        val_variants=features(radiograph_variants(half, seed=seed + 1)[0]),
    )
    return data, neg_kinds


def refit(head: ScopeHead, data: _FitData, ood, age_range, neg_kinds, chest_share: float):
    """A copy of ``head`` with its learned scores and thresholds fitted again; (head, section)."""
    new = ScopeHead()
    new.load_state_dict(head.state_dict())
    previous = scope_mod.CHEST_SHARE
    scope_mod.CHEST_SHARE = chest_share
    try:
        fittable = ood.fittable
        _fit_learned(new, data, ood, fittable)
        check = {"thresholds": _thresholds(new, data), "age_range_years": list(age_range)}
        section = _card_section(new, data, ood, fittable, check, neg_kinds)
    finally:
        scope_mod.CHEST_SHARE = previous
    section["refit"] = {
        "kept": "the network, the classifier and its calibration; the scope check's "
                "standardisation, its Mahalanobis distance (and its scale) and its orientation "
                "score, as the previous file had them",
        "refitted": "the chest-radiograph and adult logistic scores, and every threshold",
        "chest_share": chest_share,
        "features": f"{N_TRAIN} plain training images, {N_SMALL} augmented ones and {N_SMALL} "
                    "each turned 90/180/270 degrees, inverted and as radiograph variants; "
                    f"{N_SMALL} synthetic negatives; validation, and every other validation "
                    "image in each shifted view and as a radiograph variant (validation_views "
                    "counts those)",
    }
    section["chest_xray_score"] = section["chest_xray_score"].replace(
        f"all but {previous:.2%}", f"all but {chest_share:.2%}")
    return new, section


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--ood-data", type=Path, nargs="+", required=True)
    p.add_argument("--feature-cache", type=Path, default=Path("runs/features"))
    p.add_argument("--age-range", type=int, nargs=2, default=(1, 5))
    p.add_argument("--chest-share", type=float, default=scope_mod.CHEST_SHARE)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    features, head = _features_of(args.model, args.feature_cache)
    _, meta = load_scripted(args.model)
    recipe = meta.get("training", {}).get("recipe", {})
    train, val, _ = train_val(args.data, val_fraction=recipe.get("val_fraction", 0.1),
                              seed=recipe.get("split_seed", 0), progress=False)
    ood = load_ood(*args.ood_data)
    data, kinds = fit_data(features, train, val, ood, recipe.get("augment"),
                           seed=recipe.get("seed", 0))
    new, section = refit(head, data, ood, args.age_range, kinds, args.chest_share)
    reexport(args.model, args.out, fit_scope=lambda *_: (new, section))
    # a new file, so a new version: the test-split looks name the file they looked at
    _, card = load_scripted(args.out)
    now = datetime.now(timezone.utc)
    card["model_version"] = now.strftime("%Y.%m.%d")
    card["created"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    update_metadata(args.out, card)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
