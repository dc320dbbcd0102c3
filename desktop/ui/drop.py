"""Turning tkinterdnd2's drop data into file paths.

tkdnd hands a drop of files over as one Tcl list in a string: paths with spaces come wrapped
in braces (``{/home/ana/chest x-ray.png}``), paths with unbalanced braces are backslash-escaped,
and some file managers send ``file://`` URIs instead of paths. Tcl's own list parser
(``tk.splitlist``) is the only parser that gets every case right, so that is what we use.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def _as_path(item: str) -> str:
    """A local path from one dropped item: a plain path, or a ``file://`` URI."""
    if item.startswith("file://"):
        parts = urlsplit(item)
        if parts.netloc not in ("", "localhost"):
            return item  # a file on another host: leave as is, the reader will say it is missing
        return unquote(parts.path)
    return item


def parse_drop_data(tk_app, data: str | tuple) -> list[str]:
    """The paths in a drop event's ``data``, in the order they were dropped.

    ``tk_app`` is any Tcl interpreter (``root.tk``); ``data`` is ``event.data`` (a Tcl list
    string, or already a tuple when Tk handed it over split).
    """
    items = data if isinstance(data, tuple) else tk_app.splitlist(data)
    return [_as_path(str(item)) for item in items if str(item).strip()]
