"""The window (Tkinter): the only floor that imports tkinter.

Holds the main window: ``app`` (the thin view: builds the widgets, forwards events, renders),
``state`` (the window's running state without Tk: batches, report job, selection, table order,
status sentence, enabled commands, settings saved), ``result_pane`` (the selected result drawn,
the view commands), ``style`` (the colours, theme, root, geometry), ``viewer`` (what the image
viewer shows, no Tk), ``divider`` and ``large_view`` (the table/pane divider, F11), ``worker``
(the background threads and their messages), ``commands`` (every menu entry, button and key,
declared once), ``about``, ``shortcuts``, ``drop`` and ``text_fit`` (does a text fit, no Tk).

Its building blocks, each drawing what it is given and knowing nothing of the model: ``texts``
(which widget shows which msgid, re-labelled on a language switch), ``dialogs`` (the read-only
dialog of About and Keyboard shortcuts), ``verdict_marks`` (the verdict's shape, the probability
bar, the refer band's bar), ``image_canvas`` (the image viewer's canvas, the heatmap legend),
``info_panel`` (Image information), ``threshold_control`` (the threshold panel) and
``results_table`` (the files' table, clipped cells' tooltips, columns fitted to their words).

And the Cases windows: ``history_link`` (records the results shown, keeps the site profile in
force, opens the views), ``history_view``, ``calibration_view``, ``monitoring_view``,
``teaching_view`` and ``dicom_view`` (Cases → History, Calibrate, Monitoring, Read first, DICOM
archive and outbox), on ``polled`` (a window fed by a thread of its own), ``flow`` (a row that
wraps) and ``scrolled`` (a part that scrolls on a short screen). A Cases window sees the main
window only through ``cases_context`` (model, card, engine, profile, ``remember``, files shown);
its work below the window is done by ``desktop.cases``.

``cases_context``, ``commands``, ``drop``, ``state``, ``text_fit``, ``viewer`` and ``worker``
need no Tk and never load it (``tests/test_layers.py``, ``TK_FREE_UI``): their tests run
without a display.

May import: every floor below (foundation, ``reading``, ``engine``, ``cases``, ``reports``,
``network``). Nothing outside this floor imports it, except the entry points
(``desktop.__main__``).
"""
