"""Where results go: an archive's AE title, host and port, the AE title we call it with, and
the files that secure the connection (TLS), when it is secured.

Written ``AET@HOST:PORT`` on the command line and in the outbox (the TLS files beside it, in a
column of their own). AE titles are at most 16 characters of printable ASCII without a
backslash (PS3.5 AE); ports are 1-65535.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from desktop.network.tls import TlsFiles

DEFAULT_CALLING_AET = "CXRNODE"
_AET = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")


def valid_aet(text: str) -> bool:
    return bool(_AET.match(text)) and text.strip() != ""


@dataclass(frozen=True)
class Destination:
    aet: str
    host: str
    port: int
    calling_aet: str = DEFAULT_CALLING_AET
    tls: TlsFiles | None = None  # None: a plain connection

    @classmethod
    def parse(cls, text: str, calling_aet: str = DEFAULT_CALLING_AET,
              tls: TlsFiles | None = None) -> Destination:
        """``AET@HOST:PORT``; ValueError with what is wrong otherwise."""
        aet, at, rest = text.rpartition("@")
        host, colon, port = rest.rpartition(":")
        if not at or not colon or not host or not port.isdigit():
            raise ValueError(f"expected AET@HOST:PORT, got {text!r}")
        if not valid_aet(aet) or not valid_aet(calling_aet):
            raise ValueError("an AE title is 1 to 16 printable ASCII characters, no backslash")
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"a port is 1 to 65535, got {port}")
        return cls(aet, host.strip("[]"), int(port), calling_aet, tls)

    def __str__(self) -> str:
        return f"{self.aet}@{self.host}:{self.port}"
