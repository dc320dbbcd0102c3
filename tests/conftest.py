"""Shared fixtures: a small exported model, an isolated config/log folder, a virtual screen."""

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"
SHARED_WEIGHTS = SHARED / "weights"


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path, monkeypatch):
    """Settings, logs and the case history of a test never touch the real user's folders."""
    monkeypatch.setenv("CXR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CXR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CXR_LOG_DIR", str(tmp_path / "logs"))
    yield


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A small model exported by the project's own export code (model.pt + .sha256)."""
    from tests.support.model_fixtures import write_test_model

    return write_test_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def x_display():
    """A private Xvfb screen (1280x800) for the GUI tests; DISPLAY points at it meanwhile."""
    from tests.support.gui_support import virtual_display

    with virtual_display() as display:
        yield display


def require_shared(path: Path) -> Path:
    """Skip with a reason a user accepts when ../shared (data, weights) is not beside the repo."""
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data set/weights beside the repo; absent here)")
    return path


os.environ.setdefault("PYTHONHASHSEED", "0")


def pytest_collection_modifyitems(config, items):
    """Every test that needs the virtual screen is a ``gui`` test, marked or not, so that
    ``make test-fast`` (``-m "not slow and not gui and not integration"``) never opens a window."""
    for item in items:
        if "x_display" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)
