"""A disk that fills up part-way through writing an output file.

tracker.csvfiles writes every output to a temporary file it opens with `os.fdopen`;
`fill_disk_after` makes those files fail with ENOSPC after a number of bytes, as a
small file system does, without needing one.
"""

from __future__ import annotations

import errno
import io
import os
from typing import Any

import pytest


class _FillingFile(io.RawIOBase):
    def __init__(self, fd: int, room: int) -> None:
        self.fd = fd
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return os.write(self.fd, data)

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def fill_disk_after(monkeypatch: pytest.MonkeyPatch, room: int) -> None:
    """Output files written through tracker.csvfiles find the disk full after ``room``
    bytes."""
    import tracker.csvfiles

    real_fdopen = os.fdopen

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode != "wb":  # not an output file of tracker.csvfiles
            return real_fdopen(fd, mode, *args, **kwargs)
        return io.BufferedWriter(_FillingFile(fd, room), buffer_size=4096)

    monkeypatch.setattr(tracker.csvfiles.os, "fdopen", fdopen)
