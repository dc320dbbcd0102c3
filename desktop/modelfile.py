"""The model-file contract between ``training/`` (which writes ``model.pt``) and ``desktop/``
(which reads it), defined once: names, format version, classes, input size, the card's schema,
the ``.sha256`` sidecar and the verdict rule. ``docs/contracts.md`` describes it in prose.

No torch here: the window imports this on its Tk thread, and checksums and cards are bytes and
dicts. What touches TorchScript (saving, loading) lives in ``training.export`` and
``desktop.engine.inference``; both silence TorchScript's deprecation warning with
``quiet_torchscript``.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from desktop.atomicio import atomic_write_bytes, atomic_write_text
from desktop.errors import N_, ModelChecksumMismatchError, ModelChecksumMissingError
from desktop.referband import CARD_KEY as REFER_BAND_KEY
from desktop.referband import ReferBand
from desktop.resources import asset_path

# The card's prose as this project's training writes it (training/card.py). Marked for
# translation: the About box shows a card's sentence in the user's language when it is one of
# these, and as written otherwise (a model trained elsewhere with its own words).
CARD_INTENDED_USE = N_("Research and teaching. Not for clinical diagnosis.")
CARD_LIMITATIONS = (
    N_("Trained on pediatric chest X-rays (age 1-5) from one hospital (Guangzhou Women and "
       "Children's Medical Center); adults and other hospitals' images are outside what it was "
       "tested on."),
    N_("Two classes only: it does not tell bacterial from viral pneumonia and does not detect "
       "any other finding."),
    N_("Validation carved from the training hospital over-estimates performance on new images; "
       "trust the test-split figures, not the validation ones."),
    N_("The heatmap shows where the network looked, not where the disease is."),
)

MODEL_FILE = "model.pt"
CHECKSUM_SUFFIX = ".sha256"
METADATA_FILE = "metadata.json"  # the model card, inside the archive (``_extra_files``)
HISTORY_FILE = "history.json"  # per-epoch training figures, read only for the plots

# 1: probabilities, heatmap, card. 2: plus the scope check (``assess`` and ``scope_check``).
FORMAT_VERSION = 2
SUPPORTED_FORMAT_VERSIONS = (1, 2)

NEGATIVE = "NORMAL"
POSITIVE = "PNEUMONIA"
CLASSES = (NEGATIVE, POSITIVE)  # the column order of ``forward``'s probabilities
INPUT_SIZE = 224  # the model input is uint8 [N, 1, INPUT_SIZE, INPUT_SIZE]

METRIC_KEYS = (
    "n", "n_normal", "n_pneumonia", "accuracy", "sensitivity", "specificity", "precision",
    "f1", "roc_auc", "threshold", "confusion",
)
CARD_KEYS = (
    "format_version", "model_name", "model_version", "classes", "positive_class", "input",
    "threshold", "default_operating_point", "operating_points", "calibration", "metrics",
    "training", "data", "intended_use", "limitations", "torch_version", "created",
    "source_commit",
)
OPERATING_POINT_KEYS = ("name", "threshold", "rule", "val_sensitivity", "val_specificity")
# The columns of ``assess``'s second output (format 2), in order: a logit "is a chest X-ray",
# a logit "is an adult's", a distance to the training images (1 = validation's tail), and the
# probabilities that the image is rotated and that it is inverted.
SCOPE_SCORES = ("chest_xray", "adult", "distance", "rotated", "inverted")
SCOPE_KEYS = ("method", "scores", "thresholds", "validation")


def verdict(p: float, threshold: float) -> str:
    """The class shown for probability ``p`` of pneumonia at ``threshold``: PNEUMONIA at or
    above it. The one rule the window, the command line and the reports use."""
    return POSITIVE if p >= threshold else NEGATIVE


# --- the card ---------------------------------------------------------------------------------


def card_problems(card: dict) -> list[str]:
    """Every way ``card`` departs from the schema in docs/contracts.md (empty: it follows it)."""
    problems = [f"missing key {k!r}" for k in CARD_KEYS if k not in card]
    if problems:
        return problems
    if card["format_version"] not in SUPPORTED_FORMAT_VERSIONS:
        problems.append(f"format_version must be one of {SUPPORTED_FORMAT_VERSIONS}")
    if card["format_version"] >= 2:
        check = card.get("scope_check")
        if not isinstance(check, dict):
            problems.append("scope_check missing (format 2)")
        else:
            problems += [f"scope_check.{k} missing" for k in SCOPE_KEYS if k not in check]
            if list(check.get("scores", [])) != list(SCOPE_SCORES):
                problems.append(f"scope_check.scores must be {list(SCOPE_SCORES)}")
            problems += [f"scope_check.thresholds.{k} missing" for k in SCOPE_SCORES
                         if k not in check.get("thresholds", {})]
    if list(card["classes"]) != list(CLASSES) or card["positive_class"] != POSITIVE:
        problems.append(f"classes must be {list(CLASSES)} with {POSITIVE} positive")
    for k in ("height", "width", "channels", "dtype", "resize", "normalisation"):
        if k not in card["input"]:
            problems.append(f"input.{k} missing")
    if not 0.0 <= float(card["threshold"]) <= 1.0:
        problems.append("threshold outside [0, 1]")
    names = []
    for point in card["operating_points"]:
        for k in OPERATING_POINT_KEYS:
            if k not in point:
                problems.append(f"operating point {point.get('name')!r} lacks {k!r}")
        names.append(point.get("name"))
        if not 0.0 <= float(point.get("threshold", -1)) <= 1.0:
            problems.append(f"operating point {point.get('name')!r} threshold outside [0, 1]")
    if card["default_operating_point"] not in names:
        problems.append("default_operating_point is not one of operating_points")
    for k in ("method", "temperature", "val_ece_before", "val_ece_after"):
        if k not in card["calibration"]:
            problems.append(f"calibration.{k} missing")
    if "validation" not in card["metrics"]:
        problems.append("metrics.validation missing")
    for split, figures in card["metrics"].items():
        for k in METRIC_KEYS:
            if k not in figures:
                problems.append(f"metrics.{split}.{k} missing")
    if not isinstance(card["limitations"], list):
        problems.append("limitations must be a list of sentences")
    if card.get(REFER_BAND_KEY) is not None:  # optional: the certified refer band
        try:
            ReferBand.from_dict(card[REFER_BAND_KEY])
        except ValueError as exc:
            problems.append(f"{REFER_BAND_KEY}: {exc}")
    return problems


def check_card(card: dict) -> None:
    """Raise ``ValueError`` naming every problem when ``card`` does not follow the schema."""
    problems = card_problems(card)
    if problems:
        raise ValueError("model card does not follow the schema: " + "; ".join(problems))


# --- the .sha256 sidecar ----------------------------------------------------------------------


def checksum_path(model_path: Path) -> Path:
    """``model.pt`` -> ``model.pt.sha256`` beside it."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + CHECKSUM_SUFFIX)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_with_checksum(path: Path, data: bytes) -> str:
    """Write the model bytes and their sidecar (sha256sum format), each atomically; the digest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    digest = sha256_hex(data)
    atomic_write_text(checksum_path(path), f"{digest}  {path.name}\n")
    return digest


def verify_checksum(model_path: Path, data: bytes) -> str:
    """The digest of ``data`` when the sidecar vouches for it, else the user's error (missing
    sidecar, or a damaged or swapped model). The caller verifies and loads the same bytes, so
    nothing can swap the file in between."""
    sidecar = checksum_path(model_path)
    try:
        line = sidecar.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        raise ModelChecksumMissingError(name=sidecar.name) from exc
    expected = line.split()[0].lower() if line else ""
    digest = sha256_hex(data)
    if expected != digest:
        raise ModelChecksumMismatchError(name=Path(model_path).name)
    return digest


# --- TorchScript -------------------------------------------------------------------------------

# torch 2.14 deprecates TorchScript ("`torch.jit.load` is deprecated. Please switch to ..."); it
# is still this contract's format. Only that warning is silenced, and only around the call.
_TORCHSCRIPT_DEPRECATION = re.compile(r"`torch\.jit\.\w+` is deprecated")


@contextlib.contextmanager
def quiet_torchscript() -> Iterator[None]:
    """Around a ``torch.jit`` call: hide its deprecation FutureWarning, nothing else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_TORCHSCRIPT_DEPRECATION.pattern,
                                category=FutureWarning)
        yield


def default_model_path() -> Path:
    """The model the window and ``predict`` use unless told otherwise (``assets/model.pt``)."""
    return asset_path(MODEL_FILE)
