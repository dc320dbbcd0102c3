"""The engine: loads ``assets/model.pt`` (verified offline) and turns files into predictions.

One engine serves the window and the ``predict`` command. ``predict_paths`` hands chunks of files
to one worker thread per core ("lanes"); each decodes its chunk and runs the model on it as one
batch (Pillow and torch release the GIL), and the ``Result`` of each file is yielded in input
order. A file that cannot be read gives a result with its error; it never stops the batch.
Unexpected exceptions are logged with their traceback and shown as a generic translated sentence.

Only torch, numpy and the reader are needed: no torchvision, no training code. What the file
must be (checksum, card, classes) is ``desktop.modelfile``'s.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import torch

from desktop.engine.results import Result, fingerprint
from desktop.engine.scope import SCORES, Scope, judge, scores_dict
from desktop.engine.threshold import ThresholdPolicy
from desktop.errors import (
    InternalError,
    ModelError,
    ModelMissingError,
    ModelVersionError,
    ReadError,
    UserError,
)
from desktop.modelfile import (
    CLASSES,
    INPUT_SIZE,
    METADATA_FILE,
    POSITIVE,
    SUPPORTED_FORMAT_VERSIONS,
    default_model_path,
    quiet_torchscript,
    verify_checksum,
)
from desktop.reading.identity import FileIdentity, resolved_path
from desktop.reading.identity import identify as identify_file
from desktop.reading.imaging import XRay, read_image

log = logging.getLogger(__name__)

# Files per lane job (a batch of 4 images with their mirrors): as fast as chunks of 8, and less
# memory per lane (benchmarks/results.md).
BATCH_SIZE = 4


def _optimized_for_inference(module: Any, path: Path) -> Any:
    """The loaded model frozen and optimised for CPU inference (``explain`` kept): batches run
    markedly faster for a fraction of a second at load, with the same outputs. Where the
    optimisation is not available the model is used as loaded, with a log line."""
    preserved = [name for name in ("explain", "assess") if hasattr(module, name)]
    try:
        with quiet_torchscript():
            frozen = torch.jit.freeze(module, preserved_attrs=preserved)
            return torch.jit.optimize_for_inference(frozen, other_methods=preserved)
    except Exception:  # noqa: BLE001 - an optimisation, never a reason to refuse the model
        log.warning("Model %s runs unoptimised (freeze/optimize failed)", path, exc_info=True)
        return module


def available_cores() -> int:
    """Cores this process may use (the affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def lanes_for(cores: int) -> int:
    """Files decoded and classified in parallel: one lane per core, up to 4."""
    return max(1, min(4, cores))


def default_threads() -> int:
    """Intra-op threads for torch: one, since the parallelism comes from the lanes. On 2 cores a
    second thread makes a batch only about 1.5x faster, while a second lane doubles the work
    done, decoding included; both at once would compete for the same cores."""
    return 1


class Engine:
    """A verified model plus its card; its methods may be called from several threads at once."""

    def __init__(self, module: Any, metadata: dict, model_path: Path, sha256: str = "") -> None:
        self.module = module
        self.metadata = metadata
        self.model_path = model_path
        self.sha256 = sha256
        self.classes: list[str] = list(metadata.get("classes", CLASSES))
        self.positive_class: str = metadata.get("positive_class", POSITIVE)
        self.positive_index = self.classes.index(self.positive_class)
        self.operating_points: list[dict] = list(metadata.get("operating_points", []))
        self.default_threshold = ThresholdPolicy.from_card(metadata).threshold
        # The card's scope check (format 2); None: this model has none, file facts only.
        self.scope_check: dict | None = metadata.get("scope_check") if (
            metadata.get("format_version", 1) >= 2 and hasattr(module, "assess")) else None
        self.batch_size = BATCH_SIZE
        # One lane per core, each decoding its own chunk and running the model on it with one
        # torch thread: no hand-over between threads and no thread waiting for another (faster
        # than decoder threads feeding a model on several torch threads: benchmarks/results.md).
        self.lanes = lanes_for(available_cores())

    # --- loading ------------------------------------------------------------------------------

    @classmethod
    def load(
        cls, model_path: str | os.PathLike[str] | None = None, *, threads: int | None = None
    ) -> Engine:
        """Verify the checksum, load with ``torch.jit.load``, check the card's format version
        (default: the bundled ``assets/model.pt``)."""
        path = Path(model_path) if model_path is not None else default_model_path()
        try:
            data = path.read_bytes()  # verify and load the same bytes: no swap in between
        except FileNotFoundError as exc:
            raise ModelMissingError(name=str(path)) from exc
        except OSError as exc:
            log.exception("Cannot read the model file %s", path)
            raise ModelMissingError(name=str(path)) from exc
        digest = verify_checksum(path, data)
        extra = {METADATA_FILE: ""}
        try:
            with quiet_torchscript():
                module = torch.jit.load(io.BytesIO(data), map_location="cpu", _extra_files=extra)
            metadata = json.loads(extra[METADATA_FILE] or "null")
        except Exception as exc:
            log.exception("The model file %s passed its checksum but does not load", path)
            raise ModelError() from exc
        if not isinstance(metadata, dict):
            raise ModelVersionError(name=path.name, version="?")
        version = metadata.get("format_version")
        if version not in SUPPORTED_FORMAT_VERSIONS:
            raise ModelVersionError(name=path.name, version=version)
        classes = metadata.get("classes")
        if not isinstance(classes, list) or metadata.get("positive_class") not in classes:
            log.error("Model card of %s lacks classes/positive_class: %r", path, classes)
            raise ModelError()
        torch.set_num_threads(threads or default_threads())
        module = _optimized_for_inference(module.eval(), path)
        _check_outputs(module, len(classes), path, "scope_check" in metadata)
        log.info("Loaded model %s (sha256 %s…, version %s)", path, digest[:12],
                 metadata.get("model_version"))
        return cls(module, metadata, path, digest)

    # --- model calls --------------------------------------------------------------------------

    def predict_batch(self, inputs: np.ndarray) -> np.ndarray:
        """uint8 [N, 224, 224] -> P(PNEUMONIA) as float64 [N]."""
        return self.assess_batch(inputs)[0]

    def assess_batch(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8 [N, 224, 224] -> (P(PNEUMONIA) float64 [N], scope scores float64 [N, 5] in
        ``desktop.modelfile.SCOPE_SCORES`` order, or None for a model without a scope check),
        from one forward pass."""
        x = _as_tensor(inputs)
        with torch.inference_mode():  # thread-safe: the lanes call it at the same time
            if self.scope_check is None:
                probs, scores = self.module(x), None
            else:
                probs, scores = self.module.assess(x)
                scores = scores.to(torch.float64).numpy().copy()
            return probs[:, self.positive_index].to(torch.float64).numpy().copy(), scores

    def explain_batch(self, inputs: np.ndarray) -> np.ndarray:
        """uint8 [N, 224, 224] -> Grad-CAM maps float32 [N, 224, 224] in [0, 1]."""
        x = _as_tensor(inputs)
        with torch.inference_mode():
            maps = self.module.explain(x).to(torch.float32).numpy()
        return np.clip(maps, 0.0, 1.0)

    def explain(self, model_input: np.ndarray) -> np.ndarray:
        """One uint8 [224, 224] image -> its heatmap float32 [224, 224] in [0, 1]."""
        return self.explain_batch(np.asarray(model_input)[None])[0]

    # --- files --------------------------------------------------------------------------------

    def predict_paths(self, paths: Iterable[str | os.PathLike[str]], *,
                      cancel: threading.Event | None = None, **options) -> Iterator[Result]:
        """Yield one ``Result`` per path, in input order, until done or ``cancel`` is set;
        ``options`` are ``predict_chunks``' (``heatmaps``, ``preview_size``, ``identify``)."""
        chunks = self.predict_chunks(paths, cancel=cancel, **options)
        with closing(chunks):  # a caller that stops early shuts the lanes down at once
            for chunk in chunks:
                for prediction in chunk:
                    if _is_set(cancel):
                        return
                    yield prediction

    def predict_chunks(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        cancel: threading.Event | None = None,
        heatmaps: bool = False,
        preview_size: int | None = 1024,
        identify: bool = False,
    ) -> Iterator[list[Result]]:
        """The files' ``Result``s a chunk at a time (one lane job's, in input order): what a
        caller that writes each chunk at once (the case history) iterates.

        The files are cut into chunks of ``batch_size``; ``lanes`` worker threads each decode a
        chunk and run the model on it, at most ``lanes + 1`` chunks ahead of the one being
        yielded (memory stays bounded however many files there are).
        Each result holds its model input (and preview, unless ``preview_size=None``, as for
        the command line): the caller drops what it does not keep. ``identify``: each file read
        also gets its ``identity`` (content sha256, size, resolved path), taken in the lane.
        """
        chunks = _chunks((Path(p) for p in paths), self.batch_size)
        window: deque[Future] = deque()
        pool = ThreadPoolExecutor(self.lanes, thread_name_prefix="cxr-lane")
        folders: dict[str, str] | None = {} if identify else None

        def fill() -> None:
            while len(window) <= self.lanes and not _is_set(cancel):
                chunk = next(chunks, None)
                if chunk is None:
                    return
                window.append(pool.submit(self._run_chunk, chunk, heatmaps, preview_size,
                                          cancel, folders))

        try:
            fill()
            while window and not _is_set(cancel):
                predictions = window.popleft().result()
                fill()
                yield predictions
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _run_chunk(
        self,
        chunk: list[Path],
        heatmaps: bool,
        preview_size: int | None,
        cancel: threading.Event | None,
        folders: dict[str, str] | None = None,
    ) -> list[Result]:
        """One lane's work: decode the chunk's files, then classify them in one batch; with
        ``folders`` (the batch's resolved folders, shared by its lanes) each file read is also
        identified."""
        batch: list[tuple[Path, XRay | UserError]] = []
        for path in chunk:
            if _is_set(cancel):
                break
            batch.append((path, _decode(path, preview_size, folders is not None)))
        results = self._run_batch(batch, heatmaps)
        if folders is not None:  # results are in the batch's order
            for result, (_, item) in zip(results, batch, strict=True):
                if result.ok:
                    result.identity = _identity(result.path, item, folders)
        return results

    def _run_batch(
        self, batch: list[tuple[Path, XRay | UserError]], heatmaps: bool
    ) -> list[Result]:
        decoded = [(i, item) for i, (_, item) in enumerate(batch) if isinstance(item, XRay)]
        probs: dict[int, float] = {}
        scopes: dict[int, Scope] = {}
        maps: dict[int, np.ndarray] = {}
        failure: UserError | None = None
        if decoded:
            inputs = np.stack([xray.model_input for _, xray in decoded])
            try:
                values, scores = self.assess_batch(inputs)
                for k, (i, xray) in enumerate(decoded):
                    probs[i] = float(values[k])
                    scopes[i] = judge(xray.source, None if scores is None
                                      else scores_dict(scores[k]), self.scope_check)
            except Exception:
                log.exception("Inference failed on a batch of %d files", len(decoded))
                failure = InternalError()
            # no map where no verdict is given, so none is computed there
            shown = [(k, i) for k, (i, _) in enumerate(decoded)
                     if failure is None and scopes[i].verdict_shown]
            if heatmaps and shown:
                try:
                    heat = self.explain_batch(inputs[[k for k, _ in shown]])
                    maps = {i: heat[j] for j, (_, i) in enumerate(shown)}
                except Exception:
                    log.exception("Heatmaps failed on a batch of %d files", len(decoded))
        out = []
        for i, (path, item) in enumerate(batch):
            if isinstance(item, UserError):
                out.append(Result(path, None, item))
            elif failure is not None:
                out.append(Result(path, None, failure, item.source))
            else:
                out.append(Result(path, probs[i], None, item.source,
                                  fingerprint(item.model_input), scope=scopes[i],
                                  preview=item.preview, display=item.display,
                                  model_input=item.model_input,
                                  heatmap=maps.get(i)))
        return out


def _chunks(items: Iterator[Path], size: int) -> Iterator[list[Path]]:
    chunk: list[Path] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _identity(path: Path, xray: XRay, folders: dict[str, str]) -> FileIdentity | None:
    """The file's identity for the case history: the reader's hash and size of the bytes it
    decoded where it took them; None when the file went away meanwhile."""
    try:
        if xray.sha256 is None or xray.content_size is None:
            return identify_file(path, folders)
        return FileIdentity(sha256=xray.sha256, size=xray.content_size,
                            path=resolved_path(path, folders))
    except OSError:
        log.info("Cannot identify %s (it went away)", path)
        return None


def _decode(path: Path, preview_size: int | None, digest: bool = False) -> XRay | UserError:
    """Reader call for the pool: returns the error instead of raising, so the batch goes on."""
    try:
        return read_image(path, preview_size=preview_size, digest=digest)
    except ReadError as exc:
        log.info("Cannot read %s: %s", path, exc)
        return exc
    except Exception as exc:
        log.exception("Unexpected failure reading %s", path)
        error = InternalError()
        error.__cause__ = exc
        return error


def _check_outputs(module: Any, n_classes: int, path: Path, scoped: bool) -> None:
    """Run the model once on blank images: another network dressed in our card and checksum
    (wrong output shape, raw scores instead of probabilities, a scope check that gives no
    scores) is refused, not trusted."""
    probe = torch.zeros((2, 1, INPUT_SIZE, INPUT_SIZE), dtype=torch.uint8)
    try:
        with torch.inference_mode():
            out = module(probe)
            scores = module.assess(probe)[1] if scoped else torch.zeros(2, len(SCORES))
        ok = (
            isinstance(out, torch.Tensor)
            and tuple(out.shape) == (2, n_classes)
            and out.is_floating_point()
            and bool(torch.isfinite(out).all())
            and bool(((out >= 0) & (out <= 1)).all())
            and bool(torch.allclose(out.sum(dim=1), torch.ones(2, dtype=out.dtype), atol=1e-3))
            and tuple(scores.shape) == (2, len(SCORES))
        )
    except Exception as exc:
        log.exception("The model file %s fails on a blank image", path)
        raise ModelError() from exc
    if not ok:
        log.error("The model file %s does not return %d probabilities (and its scope scores) "
                  "per image", path, n_classes)
        raise ModelError()


def _as_tensor(inputs: np.ndarray) -> torch.Tensor:
    arr = np.ascontiguousarray(inputs, dtype=np.uint8)
    if not arr.flags.writeable:  # np.asarray(PIL image) is read-only; torch wants writable
        arr = arr.copy()
    if arr.ndim != 3 or arr.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"expected uint8 [N, {INPUT_SIZE}, {INPUT_SIZE}], got {arr.shape}")
    return torch.from_numpy(arr).unsqueeze(1)


def _is_set(event: threading.Event | None) -> bool:
    return event is not None and event.is_set()

