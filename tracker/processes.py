"""Child processes that do not outlive the command that started them."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """For `subprocess.Popen(preexec_fn=...)`: Linux sends the child SIGTERM when its
    parent dies, even of SIGKILL, which no handler in the parent can catch; so an emulated
    band or a dashboard is never left running on its own.  Elsewhere it does nothing.

    Popen must be called from the main thread: the signal follows the thread that forked.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM (a plain `kill`, a service manager stopping us) raises
    KeyboardInterrupt, as Ctrl-C does, so the same clean-up runs for both."""

    def interrupt(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_child(process: subprocess.Popen[Any]) -> None:
    """Stop a child for sure: SIGTERM, then SIGKILL if it lingers or we are interrupted."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            process.kill()
            process.wait(timeout=10)
