"""The last quota reading, kept in the runtime home for the status line and for `--offline`.

`<home>/usage-cache.json`, mode 0600, written atomically; it never holds a token, an e-mail or an
account id, only what `model.Reading.to_dict` keeps:

    {"version": 1, "reading": {...} | null, "attempted_at": 1790000000.0,
     "problem": null | "expired" | ..., "message": "..."}

`attempted_at` is the last time anyone asked chatgpt.com (successfully or not), so that a failing
endpoint is not asked again at every status line. A failed attempt keeps the previous reading.

`refresh_lock` is the one-refresh-at-a-time rule: an exclusive, non-blocking flock on
`<home>/usage-refresh.lock`, held by the refresh process for its whole life (the lock goes with the
process, so a crashed refresh never leaves it taken). The lock file's modification time is when a
refresh was last started, so one that cannot write the cache is still started once per period.

Reading never raises and imports nothing heavy (the status line reads this on every render).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claudex_doctor.base import files
from claudex_doctor.usage.model import Reading, number

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

CACHE_NAME = "usage-cache.json"
LOCK_NAME = "usage-refresh.lock"
VERSION = 1
MESSAGE_MAX = 300


def cache_path(paths: Paths) -> Path:
    return paths.home / CACHE_NAME


def lock_path(paths: Paths) -> Path:
    return paths.home / LOCK_NAME


@dataclass(frozen=True)
class Cached:
    """What the cache file holds; `problem` names why it could not be read (then nothing else is set)."""

    path: Path
    reading: Reading | None = None
    attempted_at: float | None = None
    last_problem: str | None = None   # why the last attempt failed (a fetch.Problem word)
    last_message: str | None = None
    problem: str | None = None        # the file's own problem (missing, invalid, ...)

    @property
    def checked_at(self) -> float | None:
        """When chatgpt.com was last asked (or the reading taken), whichever is later."""
        times = [t for t in (self.attempted_at, self.reading.fetched_at if self.reading else None) if t is not None]
        return max(times) if times else None

    def age(self, now: float | None = None) -> float | None:
        """Seconds since the reading was taken; None without a reading."""
        if self.reading is None:
            return None
        return self.reading.age(time.time() if now is None else now)

    def stale(self, max_age: float, now: float | None = None) -> bool:
        """Time to ask again: nothing asked for `max_age` seconds (an attempt that failed counts as asked)."""
        checked = self.checked_at
        now = time.time() if now is None else now
        return checked is None or now - checked >= max_age or checked > now + 60  # a clock that went back


def load(paths: Paths) -> Cached:
    path = cache_path(paths)
    loaded = files.read_json(path)
    if not loaded.ok:
        return Cached(path, problem=str(loaded.problem))
    data: dict[str, Any] = loaded.data
    if data.get("version") != VERSION:
        return Cached(path, problem="invalid")
    message = data.get("message")
    problem = data.get("problem")
    return Cached(path, reading=Reading.from_dict(data.get("reading")), attempted_at=number(data.get("attempted_at")),
                  last_problem=problem if isinstance(problem, str) else None,
                  last_message=message[:MESSAGE_MAX] if isinstance(message, str) else None)


def store(paths: Paths, reading: Reading | None, *, attempted_at: float | None = None, problem: str | None = None,
          message: str | None = None) -> bool:
    """Write the cache (a failed attempt keeps the previous reading). False when there is no home to hold
    it: the cache never creates the runtime home. Raises OSError when the write fails. The message is
    redacted and cut here, whoever wrote it: the file outlives the process that knew its secrets."""
    if not paths.home.is_dir():
        return False
    from claudex_doctor.base.atomic import write_atomic
    from claudex_doctor.base.redact import redact_text

    if reading is None:
        reading = load(paths).reading
    data = {"version": VERSION, "reading": reading.to_dict() if reading else None,
            "attempted_at": time.time() if attempted_at is None else attempted_at,
            "problem": problem, "message": redact_text(message)[:MESSAGE_MAX] if message else None}
    write_atomic(cache_path(paths), json.dumps(data, indent=1) + "\n", mode=0o600, keep_backup=False)
    return True


def refresh_lock(paths: Paths) -> int | None:
    """An open descriptor holding the refresh lock, or None when a refresh already holds it (or there is
    no home). The caller passes it on to the refresh process or closes it. A lock file made here starts
    with the time 0: no refresh was attempted yet (see `attempt_due`)."""
    import fcntl

    path = lock_path(paths)
    created = False
    try:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            created = True
        except FileExistsError:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:
        return None
    try:
        if created:
            os.utime(fd, (0, 0))
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def attempt_due(fd: int, max_age: float, now: float) -> bool:
    """Has no refresh been attempted for `max_age` seconds? The lock file's time is the last attempt
    (`record_attempt`), so a cache that cannot be written does not make every status line start one."""
    last = os.fstat(fd).st_mtime
    return not 0 <= now - last < max_age


def record_attempt(fd: int, now: float) -> None:
    os.utime(fd, (now, now))


def refreshing(paths: Paths) -> bool:
    """Does a refresh hold the lock right now?"""
    fd = refresh_lock(paths)
    if fd is None:
        return lock_path(paths).exists()
    os.close(fd)
    return False
