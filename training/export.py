"""Writes ``model.pt``: the TorchScript wrapper, saving with the card, and checking the result.

What the file must hold (names, classes, the card's schema, the ``.sha256`` sidecar) is
``desktop.modelfile``; what the card says is ``training.card``. The archive holds the network,
its preprocessing, the fitted temperature, a Grad-CAM ``explain`` method that needs no autograd
(so it works under ``torch.inference_mode`` and in a frozen app), and the card as
``metadata.json``.
"""

from __future__ import annotations

import copy
import io
import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from desktop.modelfile import (
    FORMAT_VERSION,
    HISTORY_FILE,
    INPUT_SIZE,
    METADATA_FILE,
    check_card,
    quiet_torchscript,
    sha256_hex,
    write_with_checksum,
)
from training.model import CLAHE_TILES, ChestXRayNet, fold_grey_stem, network_for, unfold_grey_stem
from training.scope import SCOPE_TAP, ScopeHead

log = logging.getLogger(__name__)


class ExportedClassifier(nn.Module):
    """uint8 [N, 1, H, W] -> calibrated probabilities [N, 2]; ``explain`` -> [N, H, W] in [0, 1];
    ``assess`` -> the probabilities and the scope scores [N, 5] of one forward pass."""

    def __init__(self, model: ChestXRayNet, temperature: float = 1.0, tta_flip: bool = False,
                 fold_stem: bool = True, scope: ScopeHead | None = None, bias: float = 0.0):
        super().__init__()
        # fold_stem=False only writes the older, slower layout (tests of `reexport`).
        self.model = (fold_grey_stem(model) if fold_stem else copy.deepcopy(model)).cpu().eval()
        self.register_buffer("temperature", torch.tensor(float(temperature)))
        # Platt scaling: softmax(logits / T + [0, b]); b = 0 is temperature scaling alone.
        self.register_buffer("bias", torch.tensor([0.0, float(bias)]))
        self.tta_flip = tta_flip
        self.scope_tap = SCOPE_TAP
        # An unfitted head scores nothing out of scope; the card says whether one was fitted.
        self.scope = (scope if scope is not None else ScopeHead()).cpu().eval()

    def _to_float(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != 1:
            raise ValueError("expected uint8 images shaped [N, 1, H, W]")
        return x.to(torch.float32) / 255.0

    def _network(self, xf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and scope features of float images, from one pass through the network."""
        h = self.model.normalise(xf)
        taps: list[torch.Tensor] = []
        for i, layer in enumerate(self.model.net.features):
            h = layer(h)
            if i == self.scope_tap:
                taps.append(h.mean(dim=(2, 3)))
                taps.append(h.std(dim=(2, 3)))
        pooled = h.mean(dim=(2, 3))
        return self.model.head(pooled), torch.cat([pooled, taps[0], taps[1]], dim=1)

    def _both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and scope features, each averaged over the image and its mirror when
        ``tta_flip``: both go through the network as one batch (the same numbers as two calls,
        in less time than two)."""
        xf = self._to_float(x)
        if not self.tta_flip:
            return self._network(xf)
        n = xf.size(0)
        logits, feats = self._network(torch.cat([xf, xf.flip(3)]))
        return 0.5 * (logits[:n] + logits[n:]), 0.5 * (feats[:n] + feats[n:])

    @torch.jit.export
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits (averaged over a horizontal flip when ``tta_flip``)."""
        return self._both(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x) / self.temperature + self.bias, dim=1)

    @torch.jit.export
    def scope_features(self, x: torch.Tensor) -> torch.Tensor:
        """What the scope check looks at: [N, 672] (``training.scope``)."""
        return self._both(x)[1]

    @torch.jit.export
    def assess(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Calibrated probabilities [N, 2] and scope scores [N, 5] (``desktop.engine.scope.SCORES``)
        from the same forward pass."""
        logits, feats = self._both(x)
        return torch.softmax(logits / self.temperature + self.bias, dim=1), self.scope(feats)

    @torch.jit.export
    def explain(self, x: torch.Tensor) -> torch.Tensor:
        """Grad-CAM of the PNEUMONIA log-odds on the last conv feature map.

        The gradient through the pooled head is computed in closed form:
        d(l_P - l_N)/d pooled = ((W2[1] - W2[0]) * hardswish'(W1 p + b1)) @ W1, and Grad-CAM's
        channel weights are that gradient (spatial mean of the map's gradient, up to a constant
        that the [0, 1] rescaling removes).
        """
        xf = self._to_float(x)
        fmap = self.model.feature_map(xf)
        pooled = fmap.mean(dim=(2, 3))
        fc1 = self.model.net.classifier[0]
        fc2 = self.model.net.classifier[3]
        z = F.linear(pooled, fc1.weight, fc1.bias)
        slope = torch.where(z < -3.0, torch.zeros_like(z), (2.0 * z + 3.0) / 6.0)
        slope = torch.where(z > 3.0, torch.ones_like(z), slope)
        direction = fc2.weight[1] - fc2.weight[0]
        weights = torch.matmul(slope * direction, fc1.weight)
        cam = torch.relu((weights[:, :, None, None] * fmap).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=(x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        cam = cam[:, 0]
        lo = cam.amin(dim=(1, 2), keepdim=True)
        span = cam.amax(dim=(1, 2), keepdim=True) - lo
        scaled = (cam - lo) / span.clamp_min(1e-12)
        return torch.where(span > 1e-12, scaled, torch.zeros_like(cam))


def script(module: nn.Module) -> torch.jit.ScriptModule:
    with quiet_torchscript():
        return torch.jit.script(module)


def load_scripted(path: Path) -> tuple[torch.jit.ScriptModule, dict]:
    """Loads a model.pt with ``torch.jit.load`` alone; returns (module, metadata)."""
    extra = {METADATA_FILE: ""}
    if not Path(path).is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        with quiet_torchscript():
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        return module.eval(), json.loads(extra[METADATA_FILE])
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{path} is not a model.pt written by `python -m training export` "
                         f"({str(exc).splitlines()[0][:120]})") from exc


def load_history(path: Path) -> list[dict]:
    """The training history stored beside the card (empty when the file has none)."""
    extra = {HISTORY_FILE: ""}
    with quiet_torchscript():
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return json.loads(extra[HISTORY_FILE]) if extra[HISTORY_FILE] else []


def _save_bytes(module: torch.jit.ScriptModule, metadata: dict,
                history: list[dict] | None) -> bytes:
    buf = io.BytesIO()
    extra = {METADATA_FILE: json.dumps(metadata, indent=2, ensure_ascii=False).encode("utf-8")}
    if history:
        extra[HISTORY_FILE] = json.dumps(history).encode("utf-8")
    with quiet_torchscript():
        torch.jit.save(module, buf, _extra_files=extra)
    return buf.getvalue()


def verification_batch(n: int = 4, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, INPUT_SIZE, INPUT_SIZE), dtype=torch.uint8, generator=g)


def export_model(
    model: ChestXRayNet,
    metadata: dict,
    out_path: Path,
    *,
    temperature: float = 1.0,
    tta_flip: bool = False,
    history: list[dict] | None = None,
    scope: ScopeHead | None = None,
    bias: float = 0.0,
) -> Path:
    """Scripts, saves atomically with ``metadata.json`` + ``.sha256``, reloads and compares."""
    check_card(metadata)
    wrapper = ExportedClassifier(model, temperature, tta_flip, scope=scope, bias=bias).eval()
    scripted = script(wrapper)
    out_path = Path(out_path)
    write_with_checksum(out_path, _save_bytes(scripted, metadata, history))
    verify_export(wrapper, out_path, metadata)
    log.info("wrote %s (%.1f MB)", out_path, out_path.stat().st_size / 1e6)
    return out_path


def verify_export(wrapper: nn.Module, path: Path, metadata: dict) -> None:
    """The reloaded file must give the in-memory model's outputs and carry the same card."""
    loaded, card = load_scripted(path)
    batch = verification_batch()
    with torch.inference_mode():
        for name in ("forward", "explain", "assess"):
            expected = getattr(wrapper, name)(batch)
            got = getattr(loaded, name)(batch)
            pairs = zip(expected, got, strict=True) if name == "assess" else [(expected, got)]
            if not all(torch.allclose(e, g, atol=1e-4, rtol=1e-4) for e, g in pairs):
                raise RuntimeError(f"exported {path} differs from the in-memory model ({name})")
    if card != json.loads(json.dumps(metadata)):
        raise RuntimeError(f"metadata inside {path} differs from what was written")


def network_of(scripted: torch.jit.ScriptModule, src: Path) -> tuple[dict, dict]:
    """An exported file's network weights in the training layout (grey stem unfolded) and how
    the file wraps them: ``per_image_norm``, ``equalize``, ``clahe``, ``clahe_tiles``,
    ``tta_flip``, ``temperature``, ``bias`` (``training.model.network_for`` builds the network
    from it). Used to re-export a file and to calibrate it anew from its weights."""
    try:
        wrap = {"per_image_norm": bool(scripted.model.per_image_norm),
                "tta_flip": bool(scripted.tta_flip),
                "temperature": float(scripted.temperature),
                "bias": float(scripted.bias[1]) if hasattr(scripted, "bias") else 0.0}
    except AttributeError as exc:
        raise ValueError(f"{src} is not a model.pt written by `python -m training export`") \
            from exc
    wrap["equalize"] = float(getattr(scripted.model, "equalize", 0.0))  # older files: none
    wrap["clahe"] = float(getattr(scripted.model, "clahe", 0.0))  # older files: none
    wrap["clahe_tiles"] = int(getattr(scripted.model, "clahe_tiles", CLAHE_TILES))
    prefix = "model.net."
    state = unfold_grey_stem({k[len(prefix):]: v for k, v in scripted.state_dict().items()
                              if k.startswith(prefix)})
    return state, wrap


def reexport(src: Path, out: Path, fit_scope=None) -> float:
    """Rewrites ``src`` in the current export layout (grey stem folded, mirror in the same batch,
    one pass for the probabilities and the scope scores): same weights, temperature, flip
    averaging, card and history; no data needed. The file keeps its scope check, if it has one;
    ``fit_scope(model, card, tta_flip, temperature) -> (ScopeHead, section)`` fits a new one
    (``python -m training reexport --data``), and the card then takes format version 2.

    The new file's probabilities are checked against the old file's before anything is written;
    returns the largest difference seen. The card records the re-export.
    """
    from training.card import source_commit

    src, out = Path(src), Path(out)
    old, meta = load_scripted(src)
    history = load_history(src)
    state, wrap = network_of(old, src)
    tta_flip, temperature, bias = wrap["tta_flip"], wrap["temperature"], wrap["bias"]
    model = network_for(wrap)
    model.net.load_state_dict(state)
    meta = dict(meta)
    scope = None
    if fit_scope is not None:
        scope, meta["scope_check"] = fit_scope(model.eval(), meta, tta_flip, temperature)
        meta["format_version"] = FORMAT_VERSION
    elif "scope_check" in meta:
        scope = ScopeHead()
        scope.load_state_dict({k[len("scope."):]: v for k, v in old.state_dict().items()
                               if k.startswith("scope.")})
    wrapper = ExportedClassifier(model.eval(), temperature, tta_flip, scope=scope,
                                 bias=bias).eval()
    batch = torch.cat([verification_batch(16, seed=1),
                       torch.zeros_like(verification_batch(1)),
                       torch.full_like(verification_batch(1), 255)])
    with torch.inference_mode():
        difference = float((wrapper(batch) - old(batch)).abs().max())
        maps_agree = torch.allclose(wrapper.explain(batch), old.explain(batch), atol=1e-4)
    if difference > 1e-5 or not maps_agree:
        raise ValueError(f"re-exporting {src} changed its outputs (max difference "
                         f"{difference:.2e}); nothing was written")
    previous = meta.get("re_exported")
    meta["re_exported"] = {
        "from_sha256": sha256_hex(src.read_bytes()),
        "reason": "the current layout: first convolution reading the grey channel once, image "
                  "and mirror in one batch, probabilities and scope scores from one pass"
                  + ("; scope check fitted on the same weights" if fit_scope else ""),
        "max_probability_difference": difference,
        "torch_version": torch.__version__.split("+")[0],
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source_commit": source_commit(),
    }
    if previous:
        meta["re_exported"]["previous"] = previous
    check_card(meta)
    write_with_checksum(out, _save_bytes(script(wrapper), meta, history))
    verify_export(wrapper, out, meta)
    return difference


def update_metadata(path: Path, metadata: dict) -> None:
    """Rewrites the model card inside an existing model.pt (e.g. to add test metrics)."""
    check_card(metadata)
    module, _ = load_scripted(path)
    write_with_checksum(Path(path), _save_bytes(module, metadata, load_history(path)))
    _, card = load_scripted(path)
    if card != json.loads(json.dumps(metadata)):
        raise RuntimeError(f"metadata inside {path} was not updated")
