"""The model-file contract, defined once: the verdict rule, the card's schema and default
threshold, the .sha256 sidecar, and the TorchScript warning silenced around our calls only."""

import warnings

import pytest

from desktop.errors import ModelChecksumMismatchError, ModelChecksumMissingError
from desktop.modelfile import (
    CLASSES,
    card_problems,
    check_card,
    checksum_path,
    quiet_torchscript,
    verdict,
    verify_checksum,
    write_with_checksum,
)
from tests.support.model_fixtures import sample_metadata


def test_verdict_is_pneumonia_at_or_above_the_threshold():
    assert verdict(0.41, 0.41) == "PNEUMONIA"
    assert verdict(0.40999, 0.41) == "NORMAL"
    assert verdict(0.9, 0.95) == "NORMAL"
    assert CLASSES == ("NORMAL", "PNEUMONIA")


def test_a_complete_card_passes_and_each_gap_is_named():
    card = sample_metadata()
    assert card_problems(card) == []
    card["operating_points"][0].pop("rule")
    card["classes"] = ["PNEUMONIA", "NORMAL"]
    problems = " | ".join(card_problems(card))
    assert "lacks 'rule'" in problems and "classes must be" in problems
    with pytest.raises(ValueError, match="does not follow the schema"):
        check_card(card)
    assert card_problems({"format_version": 1}) [0] == "missing key 'model_name'"


def test_the_sidecar_vouches_for_exactly_the_bytes_written(tmp_path):
    path = tmp_path / "sub" / "model.pt"
    digest = write_with_checksum(path, b"model bytes")
    assert checksum_path(path).read_text() == f"{digest}  model.pt\n"
    assert verify_checksum(path, b"model bytes") == digest
    with pytest.raises(ModelChecksumMismatchError):
        verify_checksum(path, b"other bytes")
    checksum_path(path).unlink()
    with pytest.raises(ModelChecksumMissingError):
        verify_checksum(path, b"model bytes")


def test_only_torchscripts_deprecation_warning_is_silenced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_torchscript():
            warnings.warn("`torch.jit.load` is deprecated. Please switch to `torch.export`.",
                          FutureWarning, stacklevel=1)
            warnings.warn("something else will change", FutureWarning, stacklevel=1)
        warnings.warn("`torch.jit.save` is deprecated.", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [
        "something else will change", "`torch.jit.save` is deprecated."]
