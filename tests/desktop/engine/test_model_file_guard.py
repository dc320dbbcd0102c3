"""A damaged, truncated, swapped or unvouched model file is refused with a clear sentence.

Never a crash and never a silently wrong model: every case below must raise a `ModelError` whose
message tells the user what to do, or (for a model whose card reorders the classes) give the
right probabilities. Also: no corrupt settings file keeps the app from starting.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.modelfile import quiet_torchscript
from tests.support.fuzz_corpus import bit_flipped
from training.export import script

METADATA = "metadata.json"


def write_checksum(model: Path) -> None:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    model.with_name(model.name + ".sha256").write_text(f"{digest}  {model.name}\n")


def copy_model(tiny_model: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "model.pt"
    shutil.copyfile(tiny_model, target)
    shutil.copyfile(tiny_model.with_name("model.pt.sha256"), folder / "model.pt.sha256")
    return target


def load_scripted(path: Path):
    extra = {METADATA: ""}
    with quiet_torchscript():
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return module, json.loads(extra[METADATA])


def save_scripted(module, metadata: dict | None, path: Path, raw_card: bytes | None = None) -> Path:
    """Save a TorchScript module with the given card and a matching checksum file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {}
    if raw_card is not None:
        extra[METADATA] = raw_card
    elif metadata is not None:
        extra[METADATA] = json.dumps(metadata)
    with quiet_torchscript():
        torch.jit.save(module, str(path), _extra_files=extra)
    write_checksum(path)
    return path


class ForeignClassifier(torch.nn.Module):
    """Some other network's TorchScript file: 1000 ImageNet-like outputs, not our two classes."""

    def __init__(self, outputs: int = 1000):
        super().__init__()
        self.fc = torch.nn.Linear(1, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.to(torch.float32).mean(dim=(2, 3))
        return torch.softmax(self.fc(pooled), dim=1)


class ScoreOnly(torch.nn.Module):
    """A model returning one raw score per image ([N]) instead of [N, 2] probabilities."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32).mean(dim=(1, 2, 3)) * 3.0


def assert_refused(path: Path, *expected_types):
    from desktop.engine.inference import Engine
    from desktop.errors import ModelError

    with pytest.raises(ModelError) as info:
        Engine.load(path)
    if expected_types:
        assert isinstance(info.value, expected_types), repr(info.value)
    message = info.value.user_message()
    assert message.endswith(".") and "application" in message.lower(), message
    return info.value


@pytest.fixture
def model_copy(tiny_model, tmp_path) -> Path:
    return copy_model(tiny_model, tmp_path / "assets")


def test_intact_model_loads(model_copy):
    from desktop.engine.inference import Engine

    engine = Engine.load(model_copy)
    assert engine.classes == ["NORMAL", "PNEUMONIA"]


def test_missing_model_file(tmp_path):
    from desktop.errors import ModelMissingError

    assert_refused(tmp_path / "model.pt", ModelMissingError)


def test_missing_checksum_file(model_copy):
    from desktop.errors import ModelChecksumMissingError

    model_copy.with_name("model.pt.sha256").unlink()
    err = assert_refused(model_copy, ModelChecksumMissingError)
    assert "model.pt.sha256" in err.user_message()


@pytest.mark.parametrize("content", ["", "not a digest\n", "0" * 64 + "  model.pt\n", "\x00" * 80])
def test_checksum_file_that_vouches_for_nothing(model_copy, content):
    from desktop.errors import ModelChecksumMismatchError

    model_copy.with_name("model.pt.sha256").write_text(content)
    assert_refused(model_copy, ModelChecksumMismatchError)


@pytest.mark.parametrize("seed", range(6))
def test_bit_flipped_model(model_copy, seed):
    from desktop.errors import ModelChecksumMismatchError

    model_copy.write_bytes(bit_flipped(model_copy.read_bytes(), seed))
    assert_refused(model_copy, ModelChecksumMismatchError)


@pytest.mark.parametrize("keep", [0, 100, 0.5, -1])
def test_truncated_model(model_copy, keep):
    from desktop.errors import ModelChecksumMismatchError

    data = model_copy.read_bytes()
    cut = data[: int(len(data) * keep)] if isinstance(keep, float) else data[:keep]
    model_copy.write_bytes(cut)
    assert_refused(model_copy, ModelChecksumMismatchError)


def test_swapped_model_with_the_old_checksum(model_copy, tmp_path):
    from desktop.errors import ModelChecksumMismatchError

    other = save_scripted(script(ForeignClassifier()), {"format_version": 1},
                          tmp_path / "other" / "model.pt")
    shutil.copyfile(other, model_copy)  # the checksum file still vouches for the old one
    assert_refused(model_copy, ModelChecksumMismatchError)


def test_damaged_archive_with_a_matching_checksum(model_copy):
    """Someone "fixed" the checksum after the file was damaged: torch.jit.load must not crash."""
    model_copy.write_bytes(bit_flipped(model_copy.read_bytes()[: 200_000], 3))
    write_checksum(model_copy)
    assert_refused(model_copy)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04" + bytes(500), b"\x80\x04K\x01."])
def test_not_a_torchscript_file_with_a_matching_checksum(model_copy, content):
    model_copy.write_bytes(content)
    write_checksum(model_copy)
    assert_refused(model_copy)


def test_model_file_that_is_a_folder(tmp_path):
    (tmp_path / "model.pt").mkdir()
    assert_refused(tmp_path / "model.pt")


@pytest.mark.parametrize(
    "card",
    [
        None,  # no metadata.json in the archive
        b"{not json",
        b"[1, 2, 3]",
        json.dumps({"format_version": 2}).encode(),
        json.dumps({"format_version": "1"}).encode(),
    ],
    ids=["no-card", "card-not-json", "card-not-object", "format-2", "format-as-text"],
)
def test_model_without_a_readable_card_of_format_1(tiny_model, tmp_path, card):
    module, _ = load_scripted(tiny_model)
    path = tmp_path / "model.pt"
    save_scripted(module, None, path, raw_card=card)
    assert_refused(path)


@pytest.mark.parametrize(
    "change",
    [{"classes": ["CAT", "DOG"]}, {"positive_class": "COVID"}, {"classes": "NORMAL,PNEUMONIA"}],
    ids=["foreign-classes", "unknown-positive", "classes-not-a-list"],
)
def test_card_naming_other_classes_is_refused(tiny_model, tmp_path, change):
    module, meta = load_scripted(tiny_model)
    save_scripted(module, {**meta, **change}, tmp_path / "model.pt")
    assert_refused(tmp_path / "model.pt")


@pytest.mark.parametrize("network", [ForeignClassifier, ScoreOnly], ids=["1000-classes", "score"])
def test_swapped_network_with_our_card_and_checksum_is_refused(tiny_model, tmp_path, network):
    """Another TorchScript network dressed in our card: refuse it at load, not predict garbage."""
    _, meta = load_scripted(tiny_model)
    path = save_scripted(script(network()), meta, tmp_path / "model.pt")
    assert_refused(path)


def test_card_listing_the_classes_in_the_other_order_is_honoured(tiny_model, tmp_path):
    """Columns follow the card's `classes`: a reordered card must not flip every verdict."""
    from desktop.engine.inference import Engine

    class Reordered(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x).flip(1)

    module, meta = load_scripted(tiny_model)
    reordered = save_scripted(script(Reordered(module)),
                              {**meta, "classes": ["PNEUMONIA", "NORMAL"]}, tmp_path / "model.pt")
    images = np.random.default_rng(0).integers(0, 256, (3, 224, 224), dtype=np.uint8)
    expected = Engine.load(tiny_model).predict_batch(images)
    got = Engine.load(reordered).predict_batch(images)
    np.testing.assert_allclose(got, expected, atol=1e-6)


# --- settings: a corrupt file never stops the app ----------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to blow the JSON parser's stack
        b'{"threshold": NaN, "language": "xx"}',
        b'{"threshold": Infinity}',
        b'{"window_geometry": 12, "last_folder": ["a"], "show_heatmap": "yes"}',
        b"\xef\xbb\xbf{}",  # a byte-order mark from a Windows editor
        b"\x00" * 4096,
    ],
    ids=["deep-nesting", "nan", "infinity", "wrong-types", "bom", "nul-bytes"],
)
def test_corrupt_settings_fall_back_to_defaults(content):
    from desktop.settings import Settings, load_settings, settings_path

    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    settings = load_settings()
    assert isinstance(settings, Settings)
    assert settings.threshold is None or 0.0 <= settings.threshold <= 1.0
    assert settings.language is None
    assert path.read_bytes() == content  # reading never "repairs" the user's file in place


def test_settings_path_that_is_a_folder_gives_defaults():
    from desktop.settings import Settings, load_settings, settings_path

    settings_path().mkdir(parents=True)
    assert load_settings() == Settings()
