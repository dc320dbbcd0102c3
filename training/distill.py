"""Knowledge distillation: one MobileNetV3-Small taught by the averaged answers of several.

The app runs one network, so an ensemble of the bundled recipe's seeds cannot ship as it is
(three times the latency, three files). Distillation (Hinton et al. 2015) keeps one file: the
student fine-tunes on a blend of the hard labels and the teachers' soft answer on the *same
augmented batch*, so it learns where the ensemble is unsure, which is what calibration on new
framing needs. The teachers are exported ``model.pt`` files (their network only: no
calibration, no scope check); their soft answer is the softmax of their mean logit.

    python -m training train ... --teachers A/model.pt B/model.pt C/model.pt --distill 0.8

``python -m training.distill --models A B C --data DIR`` scores the ensemble itself under the
release rule on validation only (``training.calibration_choice``): the ceiling a student can
hope to reach, measured before one is trained.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import torch
from torch import nn

from training.model import ChestXRayNet, fold_grey_stem, network_for

log = logging.getLogger(__name__)


class Ensemble(nn.Module):
    """Mean logit of its members: a model like any other for evaluation and as a teacher."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(0)


def load_member(path: Path) -> ChestXRayNet:
    """The network of an exported model.pt, in eval mode and frozen (grey stem folded: it only
    ever runs forward)."""
    from training.export import load_scripted, network_of

    scripted, _ = load_scripted(Path(path))
    state, wrap = network_of(scripted, Path(path))
    model = network_for(wrap)
    model.net.load_state_dict(state)
    model = fold_grey_stem(model.eval())
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_ensemble(paths: list[Path]) -> Ensemble:
    return Ensemble([load_member(p) for p in paths]).eval()


def score_ensemble(paths: list[Path], data: Path, device: str = "cpu") -> dict:
    """The ensemble's figures under the release rule, on the patient-level validation split
    (seed 0, 10%) and its shifted views; the test split is never read."""
    from training.card import assess_validation
    from training.data import train_val

    _, val, rule = train_val(data, val_fraction=0.1, seed=0, progress=False)
    ensemble = load_ensemble(paths).to(device)
    assessment = assess_validation(ensemble, val, torch.device(device), tta_flip=True)
    form = assessment["form"]
    chosen = assessment["choice"]["candidates"][form]
    return {"models": [str(p) for p in paths], "split_rule": rule, "form": form,
            "score": chosen["score"], "mean_balanced_accuracy": chosen["mean_balanced_accuracy"],
            "mean_calibration_error": chosen["mean_calibration_error"],
            "views": chosen["views"], "validation": assessment["validation"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.distill", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=Path, nargs="+", required=True, metavar="MODEL_PT")
    p.add_argument("--data", type=Path, required=True, help="the Kermany folder (train/, test/)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(score_ensemble(args.models, args.data, args.device), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
