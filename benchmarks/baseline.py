"""The reference MVP's path, the yardstick of every speed figure: one image at a time,
PIL full decode to RGB, torchvision Resize((224, 224)) / ToTensor / Normalize(ImageNet), eager
torchvision mobilenet_v3_small with the project's head.

The weights are copied from the model under test, so both sides run the same network; only the
path around it differs. `python -m benchmarks.baseline FOLDER` classifies a folder the MVP way
(the whole-process comparison of `throughput.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from PIL import Image
from torchvision import transforms

from desktop.modelfile import quiet_torchscript
from training.model import build_mobilenet, unfold_grey_stem

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class ReferencePath:
    """file -> (verdict, P(pneumonia)) exactly as the MVP did it."""

    def __init__(self, model_path: Path | None = None, threshold: float = 0.5):
        self.net = build_mobilenet().eval()
        if model_path is not None:
            self._copy_weights(model_path)
        self.threshold = threshold
        self.transform = transforms.Compose([
            transforms.Resize((224, 224)),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ])

    def _copy_weights(self, model_path: Path) -> None:
        with quiet_torchscript():
            scripted = torch.jit.load(str(model_path), map_location="cpu")
        prefix = "model.net."
        state = {k[len(prefix):]: v for k, v in scripted.state_dict().items()
                 if k.startswith(prefix)}
        self.net.load_state_dict(unfold_grey_stem(state))  # the MVP's 3-channel first conv

    def predict(self, path: Path) -> tuple[str, float]:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        x = self.transform(rgb).unsqueeze(0)
        with torch.no_grad():
            p = float(torch.softmax(self.net(x), dim=1)[0, 1])
        return ("PNEUMONIA" if p >= self.threshold else "NORMAL"), p


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    model = Path(argv[1]) if len(argv) > 1 else None
    reference = ReferencePath(model)
    for path in sorted(folder.iterdir()):
        verdict, p = reference.predict(path)
        print(f"{path.name}\t{verdict}\t{p:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
