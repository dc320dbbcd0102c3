"""PyInstaller runtime hook: runs in the frozen app before any of its code (and before torch).

1. OpenMP threads sleep instead of spinning while they wait (``OMP_WAIT_POLICY=PASSIVE``, unless
   the user set it). With torch's default spinning, a machine whose cores are busy with other
   programs made single forward passes take 1-6 s instead of 0.03-0.3 s (measured on the 2-core
   build machine under load; README, Packaging); sleeping threads cost nothing measurable there.
2. A bundle carries torch's compiled modules, not their source. At import, torch records the
   source of its ``@torch.jit._overload`` functions for TorchScript *compilation*, which the app
   never does (it only loads ``model.pt``), and warns once per function when it cannot. Ignore
   exactly that warning, so the terminal and the log stay readable.
"""

import os
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

warnings.filterwarnings(
    "ignore",
    message=r"Unable to retrieve source for @torch\.jit\._overload function",
    category=UserWarning,
)
