"""Another X client that drags files, for the end-to-end drop test (run as its own process).

``python tests/support/xdnd_source.py X Y PATH...`` opens a small window at screen position (X, Y);
dragging from it offers PATH... as ``text/uri-list`` with percent-encoded ``file://`` URIs
(RFC 2483), the way file managers send them, through the X server's XDND protocol. It prints
``ready`` once the window is mapped and exits when the drag ends (or after 60 s).

tkdnd 2.10's drag source, under Tk 8.6, answers a ``text/uri-list`` request in a selection
format Tk then reads as numbers, so the receiver gets one zero byte; the source side is told to
answer as UTF8_STRING instead. Only this test's drag source is patched; the window under test
receives the drop with the stock tkdnd.
"""

from __future__ import annotations

import sys
import tkinter as tk
from pathlib import Path

from tkinterdnd2 import COPY, DND_FILES, TkinterDnD

URI_LIST_AS_STRING = """
package require tkdnd
rename ::tkdnd::xdnd::getFormatForType ::tkdnd::xdnd::_getFormatForType_stock
proc ::tkdnd::xdnd::getFormatForType {type} {
  if {[string match -nocase text/uri-list* $type]} {return UTF8_STRING}
  return [::tkdnd::xdnd::_getFormatForType_stock $type]
}
"""


def main(argv: list[str]) -> None:
    x, y, paths = int(argv[0]), int(argv[1]), argv[2:]
    uris = tuple(Path(p).resolve().as_uri() for p in paths)
    root = TkinterDnD.Tk()
    root.tk.eval(URI_LIST_AS_STRING)
    root.geometry(f"160x120+{x}+{y}")
    label = tk.Label(root, text="drag me", background="yellow")
    label.pack(fill="both", expand=True)
    label.drag_source_register(1, DND_FILES)
    label.dnd_bind("<<DragInitCmd>>", lambda event: ((COPY,), DND_FILES, uris))
    label.dnd_bind("<<DragEndCmd>>", lambda event: root.after(300, root.destroy))
    root.after(60_000, root.destroy)
    root.update()
    print("ready", flush=True)
    root.mainloop()


if __name__ == "__main__":
    main(sys.argv[1:])
