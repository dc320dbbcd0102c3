"""Shared fixtures of the training tests."""

import pytest

from tests.support.training_synth import make_split


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A tiny Kermany-shaped folder (train/ and test/, NORMAL and PNEUMONIA, patient ids in the
    file names), made once per test module."""
    root = tmp_path_factory.mktemp("cxr")
    make_split(root / "train", 16)
    make_split(root / "test", 6, seed=5)
    return root
