"""Turning tkinterdnd2's drop data into file paths.

tkdnd hands a drop of files over as one Tcl list in a string: paths with spaces come wrapped
in braces (``{/home/ana/chest x-ray.png}``), paths with unbalanced braces are backslash-escaped,
and some file managers send ``file://`` URIs instead of paths. Tcl's own list parser
(``tk.splitlist``) is the only parser that gets every case right, so that is what we use.
On Windows tkdnd hands over ``C:/Users/...`` or ``C:\\Users\\...`` and network shares as
``//server/share/...`` or ``\\\\server\\share\\...``; Python opens all four as they are.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_DRIVE = re.compile(r"/[A-Za-z]:[/\\]")  # the path of file:///C:/... (RFC 8089)


def _as_path(item: str) -> str:
    """A path from one dropped item: a plain path, or a ``file://`` URI.

    ``file:///C:/x`` becomes ``C:/x``; ``file://server/share/x`` (a Windows network share)
    becomes ``//server/share/x``, which Windows opens and elsewhere is reported missing.
    """
    if item.startswith("file://"):
        parts = urlsplit(item)
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost"):
            return f"//{parts.netloc}{path}"
        return path[1:] if _DRIVE.match(path) else path
    return item


def parse_drop_data(tk_app, data: str | tuple) -> list[str]:
    """The paths in a drop event's ``data``, in the order they were dropped.

    ``tk_app`` is any Tcl interpreter (``root.tk``); ``data`` is ``event.data`` (a Tcl list
    string, or already a tuple when Tk handed it over split).
    """
    items = data if isinstance(data, tuple) else tk_app.splitlist(data)
    return [_as_path(str(item)) for item in items if str(item).strip()]
