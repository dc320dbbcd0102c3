"""What the window's Storage SCP is told to do, checked before anything is saved or opened.

The DICOM dialog's "Receive from the X-ray machine" group types five values (our AE title, the
port, the calling AE titles accepted, the folder received images are written to, whether each
result goes back to the archive); ``parse`` turns them into a ``ListenConfig`` or says, one
sentence per bad value, what to correct: a form with one bad value is applied in no part. The
same check reads them back from the settings file, which a person may have edited by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from desktop.errors import N_, Sentence
from desktop.network.destination import DEFAULT_CALLING_AET, valid_aet

DEFAULT_PORT = 11112  # the registered DICOM port outside the privileged range (104)
RECEIVED_FOLDER = "received"  # under the user's data folder, when none is chosen
MAX_ALLOWED = 64  # calling AE titles in the allow-list at most

BAD_AET = N_("Our AE title must be 1 to 16 letters, digits, spaces or signs, without a "
             "backslash: enter the title the X-ray machine is set to call.")
BAD_PORT = N_("The port must be a whole number from 1024 to 65535: enter the port the X-ray "
              "machine sends to.")
NO_ALLOWED = N_("No calling AE title is allowed: enter the X-ray machine's AE title (several "
                "separated by commas), or no image is accepted.")
BAD_ALLOWED = N_("\"{title}\" is not an AE title (1 to 16 letters, digits, spaces or signs, no "
                 "backslash): correct it in the allowed calling AE titles.")
TOO_MANY = N_("More than {count} calling AE titles are listed: keep only the machines that "
              "send images here.")
NO_FOLDER = N_("No folder is chosen for the received images: choose one with Browse….")
BAD_FOLDER = N_("\"{folder}\" is not a full path to a folder: choose the folder for received "
                "images with Browse….")


@dataclass(frozen=True)
class ListenConfig:
    aet: str
    port: int
    allowed: tuple[str, ...]
    folder: Path
    send_back: bool = False

    def same_listener(self, other: ListenConfig | None) -> bool:
        """Whether ``other`` listens the same way (only ``send_back`` may differ): nothing to
        restart."""
        return other is not None and (self.aet, self.port, self.allowed, self.folder) == (
            other.aet, other.port, other.allowed, other.folder)

    def settings_values(self) -> dict[str, object]:
        """The ``Settings`` fields that keep it (``WindowState.remember(**values)``)."""
        return {"dicom_listen_aet": self.aet, "dicom_listen_port": self.port,
                "dicom_listen_allowed": ",".join(self.allowed),
                "dicom_listen_folder": str(self.folder), "dicom_send_back": self.send_back}


def default_folder() -> Path:
    from desktop.cases.store import data_dir

    return data_dir() / RECEIVED_FOLDER


def form_values(settings) -> dict[str, str]:
    """What the form shows first: the saved values, or the defaults (our AE title is this
    computer's calling AE title until one is saved)."""
    return {"aet": settings.dicom_listen_aet or settings.dicom_calling_aet
            or DEFAULT_CALLING_AET,
            "port": str(settings.dicom_listen_port),
            "allowed": ", ".join(_titles(settings.dicom_listen_allowed or "")),
            "folder": settings.dicom_listen_folder or str(default_folder())}


def parse(aet: str, port: str, allowed: str, folder: str,
          send_back: bool = False) -> ListenConfig | list[Sentence]:
    """The config the form's texts make, or every sentence saying what is wrong with them."""
    problems: list[Sentence] = []
    aet = aet.strip()
    if not valid_aet(aet):
        problems.append(Sentence(BAD_AET))
    port = port.strip()
    number = int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else 0
    if not 1024 <= number <= 65535:
        problems.append(Sentence(BAD_PORT))
    titles = _titles(allowed)
    if not titles:
        problems.append(Sentence(NO_ALLOWED))
    problems += [Sentence(BAD_ALLOWED, title=_shown(t)) for t in titles if not valid_aet(t)]
    if len(titles) > MAX_ALLOWED:
        problems.append(Sentence(TOO_MANY, count=MAX_ALLOWED))
    folder = folder.strip()
    path = None
    if not folder:
        problems.append(Sentence(NO_FOLDER))
    elif "\0" in folder or not os.path.isabs(os.path.expanduser(folder)):
        problems.append(Sentence(BAD_FOLDER, folder=_shown(folder)))
    else:
        path = Path(os.path.normpath(os.path.expanduser(folder)))
    if problems:
        return problems
    return ListenConfig(aet, number, tuple(dict.fromkeys(titles)), path, bool(send_back))


def from_settings(settings) -> ListenConfig | list[Sentence]:
    """The saved config, checked as the form is (a hand-edited file is no safer than a form)."""
    values = form_values(settings)
    return parse(values["aet"], values["port"], values["allowed"], values["folder"],
                 settings.dicom_send_back)


def _titles(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _shown(text: str, limit: int = 40) -> str:
    """A typed value as a sentence quotes it: control characters made visible, cut short."""
    safe = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text)
    return safe if len(safe) <= limit else safe[:limit - 1] + "…"
