"""Single-image latency of two or more model files, interleaved file by file in one process, so
that every model sees the same machine load: is a new model "no slower than today"?

    .venv/bin/python -m benchmarks.compare_models OLD.pt NEW.pt [--rounds 3]

The path is `Engine.predict_paths([file])` as the `predict` command calls it, one torch thread,
on 100 of the 224-px test-split files and the 40 full-resolution samples.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import fullres_files, median_p95, small_files
from benchmarks.latency import time_ms


def main(argv: list[str] | None = None) -> int:
    import torch

    from desktop.engine.inference import Engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    engines = {str(path): Engine.load(path) for path in args.models}
    for label, files in (("224-px", small_files(100)), ("full-res", fullres_files())):
        for engine in engines.values():  # warm-up: TorchScript's first calls, the decoders
            for f in files[:5]:
                list(engine.predict_paths([f], preview_size=None))
        times: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(args.rounds):
            for f in files:
                for name, engine in engines.items():
                    times[name].append(time_ms(
                        lambda e=engine, f=f: list(e.predict_paths([f], preview_size=None))))
        for name, values in times.items():
            median, p95 = median_p95(values)
            print(f"{label:9s} {name:40s} median {median:6.2f} ms   p95 {p95:6.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
