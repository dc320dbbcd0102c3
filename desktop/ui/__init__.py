"""The window (Tkinter): the only floor that imports tkinter.

Holds ``app`` (the thin view: builds the widgets, forwards events, renders), ``state`` (the
window's running state without Tk: batches, report job, selection, table order, status sentence,
enabled commands, settings saved), ``result_pane`` (the selected result drawn, the view
commands), ``style`` (theme, root, geometry), ``widgets`` and ``viewer`` (building blocks),
``worker`` (the background threads and their messages), ``commands`` (every menu entry, button
and key, declared once), ``about``, ``shortcuts`` and ``drop``.

May import: every floor below (foundation, ``reading``, ``engine``, ``reports``). Nothing
outside this floor imports it, except the entry points (``desktop.__main__``).
"""
