"""Running other programs: bounded in time, stdin closed, in a process group of their own.

The one place the doctor starts a program for an answer (a version, a login status). A child never
outlives its budget: at the timeout its whole group is killed. Never raises for a missing or broken
program; the `Proc` says what happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Held while a child is between fork and exec, and while a program file is open for writing.
# A child forked from one thread while another thread has a script open for writing keeps
# that descriptor until its own exec; running the script in that window fails with
# "Text file busy" (ETXTBSY). Popen returns only once the child has exec'd (or failed to),
# so holding this lock around both closes the window.
SPAWN_LOCK = threading.Lock()


@dataclass(frozen=True)
class Proc:
    argv: tuple[str, ...]
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None  # not found | timed out | OS error
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).strip()


def run_bounded(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None,
                cwd: Path | None = None) -> Proc:
    """Run a program with stdin closed, in its own session; kill its whole group at `timeout`. Never raises."""
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    try:
        with SPAWN_LOCK:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=None if env is None else dict(env), cwd=cwd, start_new_session=True)
    except FileNotFoundError:
        return Proc(argv, None, error="not found")
    except PermissionError:
        return Proc(argv, None, error="permission denied")
    except OSError as exc:
        return Proc(argv, None, error=f"cannot run: {exc.strerror or exc}")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        out, err = proc.communicate()
        return Proc(argv, None, _decode(out), _decode(err), error=f"timed out after {timeout:.1f}s",
                    duration_ms=int((time.monotonic() - start) * 1000))
    return Proc(argv, proc.returncode, _decode(out), _decode(err), duration_ms=int((time.monotonic() - start) * 1000))


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")
