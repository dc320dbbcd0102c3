"""End-to-end latency of one image, file on disk -> verdict, app versus the MVP's path.

The app's single-image path is `Engine.predict_paths([file])` as the `predict` command calls it
(no preview) and as the window calls it (with its preview). Each file is timed on both sides
back to back, several rounds, so both see the same machine load.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.baseline import ReferencePath
from benchmarks.common import (
    Row,
    fullres_files,
    median_p95,
    small_files,
    standalone,
)

TARGET_MS = 15.0


def gui_preview_size() -> int:
    try:
        from desktop.ui.worker import PREVIEW_MAX_SIDE
    except ImportError:
        return 720
    return PREVIEW_MAX_SIDE


def time_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def measure(engine, reference, files: list[Path], rounds: int) -> dict[str, list[float]]:
    preview = gui_preview_size()
    paths = {
        "app": lambda f: list(engine.predict_paths([f], preview_size=None)),
        "app_gui": lambda f: list(engine.predict_paths([f], preview_size=preview)),
        "baseline": reference.predict,
    }
    for f in files[:5]:  # warm-up: first calls of TorchScript and the decoders
        for fn in paths.values():
            fn(f)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for f in files:
            for name, fn in paths.items():
                times[name].append(time_ms(lambda fn=fn, f=f: fn(f)))
    return times


def measure_parts(engine, reference, files: list[Path], rounds: int) -> dict[str, list[float]]:
    """Where the time goes: decoding to the model's input, and one forward pass, each side."""
    import torch
    from PIL import Image

    from desktop.reading.imaging import load_model_input

    def base_decode(f):
        with Image.open(f) as im:
            return reference.transform(im.convert("RGB")).unsqueeze(0)

    app_in, base_in = load_model_input(files[0])[None], base_decode(files[0])

    def base_forward():
        with torch.no_grad():
            reference.net(base_in)

    parts = {
        "app_decode": lambda f: load_model_input(f),
        "base_decode": base_decode,
        "app_forward": lambda f: engine.predict_batch(app_in),
        "base_forward": lambda f: base_forward(),
    }
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(rounds):
        for f in files:
            for name, fn in parts.items():
                times[name].append(time_ms(lambda fn=fn, f=f: fn(f)))
    return times


def run(model_path: Path, workdir: Path | None = None, rounds: int = 3) -> list[Row]:
    from desktop.engine.inference import Engine

    engine = Engine.load(model_path)
    reference = ReferencePath(model_path)
    rows = []
    for label, files in [("full-res", fullres_files()), ("224-px", small_files(100))]:
        times = measure(engine, reference, files, rounds)
        app_med, app_p95 = median_p95(times["app"])
        gui_med, gui_p95 = median_p95(times["app_gui"])
        base_med, base_p95 = median_p95(times["baseline"])
        target = f"< {TARGET_MS:.0f} ms" if label == "full-res" else ""
        met = app_med < TARGET_MS if label == "full-res" else None
        n = f"{len(files)} files x {rounds}"
        rows += [
            Row(f"latency {label}, median (predict command)", app_med, base_med, "ms", target,
                met, n),
            Row(f"latency {label}, p95 (predict command)", app_p95, base_p95, "ms", note=n),
            Row(f"latency {label}, median (window, with preview)", gui_med, base_med, "ms",
                note=n),
            Row(f"latency {label}, p95 (window, with preview)", gui_p95, base_p95, "ms", note=n),
        ]
    parts = measure_parts(engine, reference, fullres_files(), rounds)
    med = {name: median_p95(values)[0] for name, values in parts.items()}
    tta = engine.metadata.get("input", {}).get("test_time_augmentation")
    rows += [
        Row("  of which: decode full-res file to model input, median", med["app_decode"],
            med["base_decode"], "ms", note="reader vs PIL full decode + transforms"),
        Row("  of which: model forward pass, 1 image, median", med["app_forward"],
            med["base_forward"], "ms",
            note=f"app model: {tta}" if tta else "TorchScript vs eager"),
    ]
    return rows


if __name__ == "__main__":
    standalone(run)
