"""The engine: the model file loaded and checked, files classified, results kept and labelled.

Holds ``inference`` (``Engine``: the TorchScript model, batches, Grad-CAM), ``scope`` (is this a
chest X-ray like the training images?), ``threshold`` (the operating points and the threshold
policy), ``results`` (one file's outcome, its exported row, the one CSV writer) and ``session``
(the results of a window or a ``predict`` run, their verdicts at the threshold, counts, order,
which keep their images). No Tk.

May import: the foundation and ``reading``. Never the reports or the window.
``training`` may import ``engine.scope`` alone (the same scope check it fits).
"""
