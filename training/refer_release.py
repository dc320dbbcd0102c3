"""A shipped ``model.pt`` gains the refer band (``training.refer``) on the same weights:
``python -m training.refer_release --model assets/model.pt --data DATA --out model.pt``.
A new file, so a new model version (the test split's looks name the file they looked at); the
test split is then evaluated once with ``python -m training evaluate --record-in-card N``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path

from desktop.referband import CARD_KEY
from training.data import train_val
from training.export import load_scripted, update_metadata
from training.refer import fit_band, view_probabilities

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    model, card = load_scripted(args.model)
    recipe = card.get("training", {}).get("recipe", {})
    _, val, rule = train_val(args.data, val_fraction=recipe.get("val_fraction", 0.1),
                             seed=recipe.get("split_seed", 0), progress=False)
    log.info("validation %s (%s)", val.counts(), rule)
    section = fit_band(val.labels.numpy(), view_probabilities(model, val.images))
    log.info("refer band %.4f to %.4f; validation referred %.1f%%", section["t_low"],
             section["t_high"], 100 * section["validation"]["plain"]["referred"]["share"])
    if args.out.resolve() != args.model.resolve():  # the same weights, in a new file
        shutil.copyfile(args.model, args.out)
    _, card = load_scripted(args.out)
    card[CARD_KEY] = section
    now = datetime.now(timezone.utc)  # a new file, so a new version: looks name their file
    card["model_version"] = now.strftime("%Y.%m.%d.%H%M")
    card["created"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    update_metadata(args.out, card)
    print(f"wrote {args.out}: refer band {section['t_low']:.4f} to {section['t_high']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
