"""The build step pyproject.toml cannot declare: compile the translation catalogs into the wheel.

``pip install .`` (no ``make``) then gives an app that speaks Portuguese and Spanish: each
``translations/<lang>/LC_MESSAGES/cxr.po`` becomes ``desktop/translations/<lang>/LC_MESSAGES/
cxr.mo`` inside the package, where ``desktop.i18n`` looks when the checkout has none.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithCatalogs(build_py):
    """build_py, then every catalog compiled with Babel (a build requirement)."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        source = ROOT / "translations"
        pos = sorted(source.glob("*/LC_MESSAGES/cxr.po"))
        if not pos:
            raise SystemExit(
                f"setup.py: no catalogs under {source}; the wheel would be English only")
        for po in pos:
            target = Path(self.build_lib, "desktop", "translations", po.relative_to(source))
            target = target.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(po, "rb") as fh:
                catalog = read_po(fh, locale=po.parent.parent.name)
            with open(target, "wb") as fh:
                write_mo(fh, catalog)


setup(cmdclass={"build_py": BuildWithCatalogs})
