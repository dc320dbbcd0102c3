"""A private X server (Xvfb) for the GUI tests and the screenshot script.

The GUI tests drive a real Tk window. They get their own virtual screen on a free display
number so they run the same on a CI machine with no monitor and on a desktop (where they do not
pop windows up on the developer's screen).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCREEN_SIZE = "1280x800x24"
_SOCKETS = Path("/tmp/.X11-unix")


def _free_display() -> int:
    """The lowest display number with neither a lock file nor a socket (from :99 up)."""
    for number in range(99, 300):
        if not Path(f"/tmp/.X{number}-lock").exists() and not (_SOCKETS / f"X{number}").exists():
            return number
    raise RuntimeError("no free X display number between :99 and :299")


@contextmanager
def virtual_display(screen: str = SCREEN_SIZE, timeout_s: float = 10.0) -> Iterator[str]:
    """Start Xvfb, point DISPLAY at it for the duration, then stop it and restore DISPLAY."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise RuntimeError(
            "Xvfb is not installed; install it (Debian/Ubuntu: apt-get install xvfb) "
            "to run the GUI tests"
        )
    number = _free_display()
    process = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", screen, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    socket = _SOCKETS / f"X{number}"
    deadline = time.monotonic() + timeout_s
    while not socket.exists():
        if process.poll() is not None:
            raise RuntimeError(f"Xvfb :{number} exited: {process.stderr.read().decode()[-500:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"Xvfb :{number} did not start within {timeout_s:.0f} s")
        time.sleep(0.05)
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    try:
        yield f":{number}"
    finally:
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
