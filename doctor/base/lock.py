"""THE per-home lock: every read-modify-write of the stack (set-env, set-config, sync-auth, bootstrap,
start, stop, restart, journal appends) runs under it, so no acknowledged change is lost to another
claudex-doctor running at the same moment.

An exclusive flock on the home folder itself: nothing is created to take it (a refused primitive leaves
the home byte-identical), and it cannot be a FIFO or a link out of the home. Waiting is bounded. The lock is re-entrant within a
thread: restart holds it across stop and start, and a primitive's journal append inside it does not
wait on itself.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_held = threading.local()

# How long a primitive waits for another claudex-doctor changing the same home (a start waits for /healthz).
PRIMITIVE_WAIT = 30.0


class Busy(Exception):
    """Another process holds the lock for longer than we may wait."""

    def __init__(self, path: Path, waited: float) -> None:
        super().__init__(f"another claudex-doctor is changing this home (lock {path} held for more than "
                         f"{waited:g}s); try again")
        self.path = path


class Unusable(Exception):
    """The lock file cannot be used (a directory, a FIFO, a link, unreadable): a named reason."""


def _depths() -> dict[str, int]:
    depths = getattr(_held, "depths", None)
    if depths is None:
        depths = _held.depths = {}
    return depths


@contextlib.contextmanager
def hold(path: Path, wait: float = 10.0) -> Iterator[None]:
    """Hold the lock on the folder `path`, waiting at most `wait` seconds."""
    key = os.path.realpath(path)
    depths = _depths()
    if depths.get(key):
        depths[key] += 1
        try:
            yield
        finally:
            depths[key] -= 1
        return
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(key, flags)
    except OSError as exc:
        raise Unusable(f"{Path(path).name} cannot be locked: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise Unusable(f"{Path(path).name} is not a folder")
        give_up = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise Unusable(f"{Path(path).name} cannot be locked: {exc.strerror}") from None
                if time.monotonic() >= give_up:
                    raise Busy(Path(path), wait) from None
                time.sleep(0.02)
        depths[key] = 1
        try:
            yield
        finally:
            depths.pop(key, None)
    finally:
        os.close(fd)  # closing releases the lock
