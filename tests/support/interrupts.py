"""Ctrl+C for a child process as a terminal would deliver it.

A command started in the background by a non-interactive shell (``nohup make test &``, as a CI
runner may start it) inherits SIGINT *ignored*, and Python then installs no KeyboardInterrupt
handler at all: a test that sends SIGINT to its child would see the child ignore it and run to
the end. ``sigint_as_at_a_terminal`` (a ``preexec_fn``, POSIX only) gives the child SIGINT's
default disposition before it starts, so it behaves as it does for a user at a terminal.
"""

from __future__ import annotations

import signal


def sigint_as_at_a_terminal() -> None:
    """In the child, before exec: SIGINT back to its default disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
