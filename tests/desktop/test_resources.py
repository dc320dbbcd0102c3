"""Where the app finds its own files, in a checkout and inside a PyInstaller bundle."""

from pathlib import Path

import desktop
from desktop.modelfile import default_model_path
from desktop.resources import asset_path


def test_default_model_path_in_source_and_in_a_bundle(monkeypatch, tmp_path):
    repo = Path(desktop.__file__).resolve().parents[1]
    assert default_model_path() == repo / "assets" / "model.pt"
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path), raising=False)
    assert default_model_path() == tmp_path / "assets" / "model.pt"
    assert asset_path("icon.png") == tmp_path / "assets" / "icon.png"
