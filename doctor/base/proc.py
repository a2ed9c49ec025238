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


# Output a child may print before it is stopped: a version line or a login status is a few hundred bytes;
# a program that floods its output (a wrong CLAUDE_BIN pointing at `yes`) must not fill the doctor's memory.
OUTPUT_CAP = 256 * 1024
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def kill_children() -> None:
    """Kill every program the doctor started that still runs, with its whole group: on the way out (a
    deadline, Ctrl-C), no child outlives the doctor."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass


def run_bounded(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None,
                cwd: Path | None = None, cap: int = OUTPUT_CAP) -> Proc:
    """Run a program with stdin closed, in its own session; kill its whole group at `timeout` or when it
    prints more than `cap` bytes. Never raises."""
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
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        out, err, error = _collect(proc, start + timeout, cap)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    ms = int((time.monotonic() - start) * 1000)
    if error == "timeout":
        return Proc(argv, None, _decode(out), _decode(err), error=f"timed out after {timeout:.1f}s", duration_ms=ms)
    if error == "flood":
        return Proc(argv, None, _decode(out), _decode(err), error=f"printed more than {cap:,} bytes; stopped",
                    duration_ms=ms)
    return Proc(argv, proc.returncode, _decode(out), _decode(err), duration_ms=ms)


def _collect(proc: subprocess.Popen[bytes], deadline: float, cap: int) -> tuple[bytes, bytes, str | None]:
    """Read both pipes until they close, the deadline passes, or more than `cap` bytes arrive."""
    import selectors

    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    total = 0
    error = None
    with selectors.DefaultSelector() as selector:
        for stream in (proc.stdout, proc.stderr):
            selector.register(stream.fileno(), selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                error = "timeout"
                break
            for key, _ in selector.select(min(left, 0.5)):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fd)
                    continue
                chunks[key.fd].append(data)
                total += len(data)
            if total > cap:
                error = "flood"
                break
    if error is None:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            error = "timeout"
    if error is not None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return b"".join(chunks[out_fd])[:cap], b"".join(chunks[err_fd])[:cap], error


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")
