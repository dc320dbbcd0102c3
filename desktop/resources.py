"""Where the app's own files are: beside the package in a checkout, inside a PyInstaller bundle.

``assets/`` (the model, its checksum, the icon, the self-test image) and ``translations/`` sit at
the top of the repository, and at the top of the bundle (``sys._MEIPASS``).
"""

from __future__ import annotations

import sys
from pathlib import Path


def bundle_root() -> Path:
    """The folder that holds ``assets/`` and ``translations/``."""
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) if base else Path(__file__).resolve().parent.parent


def asset_path(name: str) -> Path:
    return bundle_root() / "assets" / name
