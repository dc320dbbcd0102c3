"""User settings that survive a restart, stored as JSON in the user's config folder.

Saved atomically (``desktop.atomicio``). A missing file gives the defaults; a corrupt file, or a
field of the wrong type, falls back to the defaults for what is wrong and writes a log line --
settings never stop the app from starting. ``CXR_CONFIG_DIR`` overrides the folder (tests).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.atomicio import atomic_write_text

log = logging.getLogger(__name__)

APP_NAME = "cxr-pneumonia"
SETTINGS_FILE = "settings.json"


@dataclass
class Settings:
    language: str | None = None  # a key of desktop.i18n.LANGUAGES; None: the system's language
    threshold: float | None = None  # None: the model's default operating point
    operating_point: str | None = None  # name of a model-card preset, None when set by hand
    last_folder: str | None = None
    window_geometry: str | None = None  # Tk geometry string, e.g. "1200x800+40+40"
    show_heatmap: bool = False
    heatmap_opacity: float = 0.6  # at the hottest point, 0 to 1
    show_image_info: bool = False  # the "Image information" panel open
    # Privacy: the patient's name and ID (DICOM) in the panel and in reports. Off unless the
    # user turns it on; CSV files never carry them.
    show_identifiers: bool = False
    site_profile: str | None = None  # path of the site profile in force (desktop.cases.profile)
    dicom_archive: str | None = None  # where results go: AET@HOST:PORT (desktop.network)
    dicom_calling_aet: str | None = None  # this computer's AE title; None: CXRNODE
    # DICOM over TLS to that archive (desktop.network.tls): the CA file that signed the
    # archive's certificate (None: a plain connection), this computer's certificate and key
    dicom_tls_ca: str | None = None
    dicom_tls_cert: str | None = None
    dicom_tls_key: str | None = None
    user_name: str | None = None  # who confirms diagnoses in the case history, typed once
    refer_band: bool = True  # the refer band decides where the model or profile has one
    # Receiving from the X-ray machine (desktop.network.listener), off unless turned on in
    # Cases → DICOM archive and outbox…; the values are checked by desktop.network.listen_config
    dicom_listen: bool = False
    dicom_listen_aet: str | None = None  # our AE title there; None: the computer's AE title
    dicom_listen_port: int = 11112  # 1024-65535
    dicom_listen_allowed: str | None = None  # the calling AE titles accepted: "XRAY1,XRAY2"
    dicom_listen_folder: str | None = None  # None: "received" in the user's data folder
    dicom_send_back: bool = False  # each received image's result sent to the archive
    dicom_auto_send: bool = False  # each DICOM result sent to the archive as it is classified
    # beside each SR the window sends (asked or as classified), as predict --picture --pdf
    dicom_send_picture: bool = False  # the report picture as a Secondary Capture
    dicom_send_pdf: bool = False  # the one-image PDF report as an Encapsulated PDF


def user_folder(kind: str, override_variable: str) -> Path:
    """The user's ``kind`` folder ("config", "data") for this app, or the folder the
    environment variable names (tests, the self-test)."""
    override = os.environ.get(override_variable)
    if override:
        return Path(override)
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return user_folder("config", "CXR_CONFIG_DIR")


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, or defaults (with a log line) for whatever is missing or corrupt."""
    path = path or settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad UTF-8 or JSON
        log.warning("Settings file %s is unreadable or corrupt (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(raw, dict):
        log.warning("Settings file %s does not hold an object; using defaults", path)
        return Settings()
    settings = Settings()
    for f in dataclasses.fields(Settings):
        if f.name not in raw:
            continue
        value = _validated(f.name, raw[f.name])
        if value is _INVALID:
            log.warning("Settings file %s: ignoring invalid %s=%r", path, f.name, raw[f.name])
        else:
            setattr(settings, f.name, value)
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> bool:
    """Write atomically; on failure log it and return False (the app keeps running)."""
    path = path or settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(dataclasses.asdict(settings), indent=2, ensure_ascii=False)
        atomic_write_text(path, text + "\n")
        return True
    except (OSError, TypeError, ValueError):
        log.exception("Could not save settings to %s", path)
        return False


_INVALID = object()


_FLAGS = frozenset({"show_heatmap", "show_image_info", "show_identifiers", "refer_band",
                    "dicom_listen", "dicom_send_back", "dicom_auto_send",
                    "dicom_send_picture", "dicom_send_pdf"})
_PORTS = frozenset({"dicom_listen_port"})  # whole numbers a listener may open: 1024-65535
_FRACTIONS = frozenset({"threshold", "heatmap_opacity"})  # numbers from 0 to 1


def _validated(name: str, value: Any) -> Any:
    if name in _FLAGS:
        return value if isinstance(value, bool) else _INVALID
    if name in _PORTS:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value if ok and 1024 <= value <= 65535 else _INVALID
    if value is None:
        return None if name != "heatmap_opacity" else _INVALID
    if name in _FRACTIONS:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok and math.isfinite(value) and 0.0 <= value <= 1.0 else _INVALID
    if name == "language":
        from desktop.i18n import LANGUAGES

        return value if value in LANGUAGES else _INVALID
    return value if isinstance(value, str) else _INVALID
