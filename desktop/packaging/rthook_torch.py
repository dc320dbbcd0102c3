"""PyInstaller runtime hook: runs in the frozen app before any of its code (and before torch).

A bundle carries torch's compiled modules, not their source. At import, torch records the source
of its ``@torch.jit._overload`` functions for TorchScript *compilation*, which the app never does
(it only loads ``model.pt``), and warns once per function when it cannot. Ignore exactly that
warning, so the terminal and the log stay readable.

(OpenMP's wait policy is left at torch's default, as in the source app: ``OMP_WAIT_POLICY=PASSIVE``
made one image's forward pass several times slower on a quiet machine; docs/benchmarks.md.)
"""

import warnings

warnings.filterwarnings(
    "ignore",
    message=r"Unable to retrieve source for @torch\.jit\._overload function",
    category=UserWarning,
)
