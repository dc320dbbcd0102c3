"""Text from outside (file names, profile names, DICOM tags) made safe for where we write it.

A file name is data: on Linux it may hold bytes that are not UTF-8 (Python keeps them as lone
surrogates, ``os.fsdecode``), control characters, or an escape sequence that would clear a
terminal or set its title. None of that may crash a writer or reach a reader raw:

- ``lossless`` (history, CSV, JSON): each undecodable byte becomes ``\\xNN`` and any other lone
  surrogate ``\\uNNNN``; everything else is kept as it is (a Windows path keeps its backslashes).
- ``one_line`` (a line printed per file): backslashes doubled, then newlines, tabs, ESC and the
  other C0/C1 controls as backslash escapes, so one file is one line and nothing is interpreted.
- ``for_terminal`` (our sentences on stderr): the same, but a newline stays a newline.
- ``csv_cell``: ``lossless``, and a cell a spreadsheet would run as a formula (it starts with
  ``= + - @``, TAB or CR) gets a leading apostrophe (OWASP "CSV injection"). A plain decimal number
  such as ``-0.5`` or ``1e-3`` is left a number: it is no formula, and prefixing it would turn the
  number into text.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _escape_surrogate(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def _escape_control(match: re.Match) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def lossless(text: str) -> str:
    """``text`` as valid Unicode: undecodable bytes as ``\\xNN``, nothing else changed."""
    return _SURROGATE.sub(_escape_surrogate, text)


def one_line(text: str) -> str:
    """``text`` on one terminal line, unambiguous: ``\\`` doubled, controls escaped."""
    return _CONTROL.sub(_escape_control, lossless(text.replace("\\", "\\\\")))


def for_terminal(text: str) -> str:
    """A message for the terminal: controls (ESC, CR, …) escaped, newlines kept."""
    return "\n".join(_CONTROL.sub(_escape_control, lossless(line))
                     for line in text.split("\n"))


def csv_cell(value: object) -> str:
    """One CSV cell: None as empty, text lossless and never a live formula."""
    if value is None:
        return ""
    text = lossless(str(value))
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
