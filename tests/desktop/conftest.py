"""Fixtures the packaging tests (Linux and Windows bundles) share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.model_fixtures import write_input_sensitive_model

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "assets" / "model.pt"


@pytest.fixture(scope="module")
def bundled_model(tmp_path_factory) -> Path:
    """``assets/model.pt`` when it exists (what ships), else a small model made here whose
    output depends on its input, so "bundle and source agree" can fail."""
    if SHIPPED_MODEL.is_file():
        return SHIPPED_MODEL
    return write_input_sensitive_model(tmp_path_factory.mktemp("bundled_model"))
