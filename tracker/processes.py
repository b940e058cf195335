"""Child processes that do not outlive the command that started them."""

from __future__ import annotations

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """For `subprocess.Popen(preexec_fn=...)`: Linux sends the child SIGTERM when its
    parent dies, even of SIGKILL, which no handler in the parent can catch; so an emulated
    band or a dashboard is never left running on its own.  Elsewhere it does nothing.

    Popen must be called from the main thread: the signal follows the thread that forked.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
