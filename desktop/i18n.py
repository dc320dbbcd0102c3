"""Translations: gettext domain ``cxr``, switchable at run time without a restart.

English text is the msgid, written in the source. Catalogs live in
``translations/<lang>/LC_MESSAGES/cxr.po`` and are compiled to ``cxr.mo`` by ``make translations``
(Babel). When a ``.mo`` is missing or older than its ``.po`` (a source checkout) and Babel is
installed, the ``.po`` is compiled in memory instead, so a fresh checkout shows translations too.
A wheel (``pip install .``) carries the ``.mo`` files setup.py compiled into
``desktop/translations/``, so an install without ``make`` or Babel is translated as well.

How to add or change a user-visible string (GUI or message):
1. In the code, wrap it in ``_("English text")`` where it is *displayed*
   (``from desktop.i18n import _``). Text built at import time (module constants, class
   attributes, error messages) must instead be marked with ``N_("...")`` (from
   ``desktop.errors``) and passed through ``_()`` when shown, or it would stay in the language
   active at import. Use named ``{placeholders}`` and ``.format()`` after translating:
   ``_("{count} files").format(count=n)``; never build sentences from pieces.
2. Widgets must re-read their text in a callback registered with ``add_listener``: it runs after
   every ``set_language`` call, so the window re-labels itself.
3. Run ``make translations-update``: pybabel extracts every ``_``/``N_``/``gettext``/``ngettext``
   string of ``desktop/`` into ``translations/messages.pot`` and merges it into each ``cxr.po``
   (existing translations are kept).
4. Translate the new entries in *every* catalog (``pt_BR``, ``es``): fill ``msgstr`` and delete any
   ``#, fuzzy`` line pybabel added. ``tests/desktop/test_i18n.py`` fails on a missing, empty or
   fuzzy
   translation, and when the catalogs are out of date with the sources.
5. ``make translations`` compiles the ``.mo`` files (the app and the packaged build read those).
"""

from __future__ import annotations

import gettext as _gettext
import io
import locale
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from desktop.resources import bundle_root

log = logging.getLogger(__name__)

DOMAIN = "cxr"
LANGUAGES = {"en": "English", "pt_BR": "Português (Brasil)", "es": "Español"}
DEFAULT_LANGUAGE = "en"

_lock = threading.Lock()
_listeners: list[Callable[[str], None]] = []
_current_code = DEFAULT_LANGUAGE
_current: _gettext.NullTranslations = _gettext.NullTranslations()
_missing = False  # the active language has no catalog here: English is shown instead


def translations_dir() -> Path:
    """``translations/`` beside the package in a checkout, or inside a PyInstaller bundle."""
    return bundle_root() / "translations"


def installed_translations_dirs() -> list[Path]:
    """Where a wheel (``pip install .``) put the catalogs it compiled (see setup.py): inside the
    package, and inside the installed copy when a checkout's package shadows it
    (``python -m desktop`` run in the repository)."""
    folders = [Path(__file__).resolve().parent / "translations"]
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        folders.append(Path(distribution("cxr-pneumonia").locate_file("desktop/translations")))
    except (PackageNotFoundError, ValueError, TypeError):
        pass
    return folders


def load_catalog(code: str, folder: Path | None = None) -> _gettext.NullTranslations:
    """The translations of one language; English (the msgids themselves) needs none. Without
    ``folder``: the checkout's or bundle's catalogs, else the ones a wheel compiled."""
    if code == DEFAULT_LANGUAGE or folder is not None:
        return _load_from(code, folder or translations_dir())
    for candidate in [translations_dir(), *installed_translations_dirs()]:
        catalog = _load_from(code, candidate, quiet=True)
        if type(catalog) is not _gettext.NullTranslations:
            return catalog
    log.warning("No translation catalog for %s in %s or an installed wheel; showing English",
                code, translations_dir())
    return _gettext.NullTranslations()


def _load_from(code: str, folder: Path, quiet: bool = False) -> _gettext.NullTranslations:
    if code == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    folder = folder / code / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with open(mo, "rb") as fh:
            return _gettext.GNUTranslations(fh)
    if po.exists():
        compiled = _compile_po(po)
        if compiled is not None:
            return compiled
    if mo.exists():
        with open(mo, "rb") as fh:
            return _gettext.GNUTranslations(fh)
    if not quiet:
        log.warning("No translation catalog for %s in %s; showing English", code, folder)
    return _gettext.NullTranslations()


def _compile_po(po: Path) -> _gettext.GNUTranslations | None:
    """Compile a ``.po`` in memory with Babel (a development dependency; absent in the bundle)."""
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:
        return None
    with open(po, "rb") as fh:
        catalog = read_po(fh)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def set_language(code: str) -> None:
    """Make ``code`` (a key of ``LANGUAGES``) the active language, then call every listener."""
    global _current, _current_code, _missing
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; choose one of {', '.join(LANGUAGES)}")
    catalog = load_catalog(code)
    with _lock:
        _current, _current_code = catalog, code
        _missing = code != DEFAULT_LANGUAGE and type(catalog) is _gettext.NullTranslations
        listeners = list(_listeners)
    for callback in listeners:
        try:
            callback(code)
        except Exception:
            log.exception("Language listener %r failed", callback)


def current_language() -> str:
    return _current_code


def catalog_missing() -> bool:
    """True when the language chosen has no translation catalog in this installation (English
    is shown instead): the window says so, where a log line alone would go unseen."""
    return _missing


def gettext(msgid: str) -> str:
    """``msgid`` translated into the active language."""
    return _current.gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


_ = gettext


# Every number people read (window, PDF reports, messages, predict's text lines) is written by
# ``format_decimal`` / ``format_percent`` in the current language: a decimal comma in Portuguese
# and Spanish. Files for programs (CSV, JSON, the history export) keep the point and do not
# call these. The symbols are CLDR's (tests/desktop/test_i18n.py checks them against Babel's
# locale data); Babel itself is not shipped in the bundle (32 MiB for three symbols).
DECIMAL_SYMBOLS = {"en": ".", "pt_BR": ",", "es": ","}


def format_decimal(value: float, digits: int) -> str:
    """``0.7092`` with 4 digits -> ``"0.7092"`` (English) or ``"0,7092"`` (pt_BR, es)."""
    return f"{value:.{digits}f}".replace(".", DECIMAL_SYMBOLS.get(_current_code, "."))


def format_percent(value: float, digits: int = 0) -> str:
    """``0.873`` -> ``"87%"``; one more digit where rounding would show a certainty (100%, 0%)
    the model does not have; ``0.9295`` with 2 digits -> ``"92,95%"`` in pt_BR and es."""
    text = f"{100 * value:.{digits}f}"
    for _more in range(1, 4):
        if value in (0.0, 1.0) or float(text) not in (0.0, 100.0):
            break
        digits += 1
        text = f"{100 * value:.{digits}f}"
    return f"{format_decimal(100 * value, digits)}%"


# The classes' names as people read them ("NEUMONÍA" in Spanish), in every verdict, header,
# message and report: one place, so no text shows the English label beside a translated verdict.
# The labels themselves ("NORMAL", "PNEUMONIA") stay English in files for programs and as the
# folder names a labelled folder must have.
CLASS_NAMES = {"NORMAL": "NORMAL", "PNEUMONIA": "PNEUMONIA"}


def class_name(label: str) -> str:
    """A class label ("PNEUMONIA") in the current language ("NEUMONÍA"); any other label as is."""
    return gettext(CLASS_NAMES[label]) if label in CLASS_NAMES else label


def add_listener(callback: Callable[[str], None]) -> None:
    """Call ``callback(code)`` after each ``set_language``."""
    with _lock:
        _listeners.append(callback)


def remove_listener(callback: Callable[[str], None]) -> None:
    with _lock:
        if callback in _listeners:
            _listeners.remove(callback)


def normalise_language(code: str | None) -> str | None:
    """Map a locale name (``pt_BR.UTF-8``, ``es-MX``, ``pt``) to a key of ``LANGUAGES``."""
    if not code:
        return None
    code = code.split(".")[0].split("@")[0].replace("-", "_")
    if code in LANGUAGES:
        return code
    base = code.split("_")[0].lower()
    if base == "pt":
        return "pt_BR"
    return base if base in LANGUAGES else None


def system_language() -> str:
    """The user's system language when we have it, else English."""
    candidates = [os.environ.get(name) for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")]
    try:
        candidates.append(locale.getlocale()[0])
    except ValueError:
        pass
    for candidate in candidates:
        for part in (candidate or "").split(":"):
            code = normalise_language(part)
            if code:
                return code
    return DEFAULT_LANGUAGE
