"""PyInstaller runtime hook: runs in the frozen app before any of its code.

A bundle carries torch's compiled modules, not their source. At import, torch records the
source of its ``@torch.jit._overload`` functions for TorchScript *compilation*, which the app
never does (it only loads ``model.pt``), and warns once per function when it cannot. Ignore
exactly that warning, so the terminal and the log stay readable.
"""

import warnings

warnings.filterwarnings(
    "ignore",
    message=r"Unable to retrieve source for @torch\.jit\._overload function",
    category=UserWarning,
)
