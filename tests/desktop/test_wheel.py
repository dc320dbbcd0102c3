"""An install without make: ``pip install .`` builds a wheel whose catalogs are compiled, and the
app finds them there (issue 22: the Language menu ticked Português and nothing changed)."""

import gettext
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from babel.messages.pofile import read_po

from desktop import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "desktop", "training",
           "translations")


def build_wheel(tmp_path: Path) -> Path:
    """A wheel of a copy of the sources (no .mo, no build/ left in the checkout)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.mo", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path / "wheels"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return next(out.glob("cxr_pneumonia-*.whl"))


def translated(code: str, msgid: str) -> str:
    with open(ROOT / "translations" / code / "LC_MESSAGES" / "cxr.po", "rb") as fh:
        return read_po(fh, locale=code)[msgid].string


def test_the_wheel_carries_compiled_catalogs_the_app_reads(tmp_path, monkeypatch):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        for code in ("es", "pt_BR"):
            data = archive.read(f"desktop/translations/{code}/LC_MESSAGES/cxr.mo")
            catalog = gettext.GNUTranslations(io.BytesIO(data))
            assert catalog.gettext("In short") == translated(code, "In short")
        archive.extractall(tmp_path / "installed")

    # The app as installed from that wheel: no catalogs beside it, no Babel to compile a .po.
    monkeypatch.setattr(i18n, "translations_dir", lambda: tmp_path / "nothing")
    monkeypatch.setattr(i18n, "installed_translations_dirs",
                        lambda: [tmp_path / "installed" / "desktop" / "translations"])
    monkeypatch.setattr(i18n, "_compile_po", lambda po: None)
    try:
        i18n.set_language("pt_BR")
        assert i18n.gettext("In short") == translated("pt_BR", "In short")
        assert not i18n.catalog_missing()
    finally:
        i18n.set_language("en")
