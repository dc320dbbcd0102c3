"""What people read about results, outside any window: the words, the reports, the overlay.

Holds ``wording`` (the one function that words a result: verdict, probability, confidence,
scope; the table, the result pane, the PDF and ``predict`` all call it), ``labels``
(percentages, operating-point names, the disclaimer, the scope sentence), ``content`` (what a
PDF report says) and ``pdf`` (how it is laid out, written atomically), ``image_info`` (a file's
facts, identifiers only when asked) and ``overlay`` (the heatmap's colours and legend). No Tk.

May import: the foundation, ``reading`` and ``engine``. Never the window; the window and the
command line import this floor.
"""
