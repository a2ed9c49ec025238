"""Signalling the service's own processes, and telling when they are gone.

Only `service.stop` calls `terminate`, and only for a process `owner.identify` proved is this home's
proxy. Identity is re-checked (psutil compares the start time) right before every signal, so a pid
handed to another program in the meantime is never signalled. Zombies count as gone; our own
children are reaped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from claudex_doctor.base.vocab import Vocabulary
from claudex_doctor.service.owner import ProcInfo

# Proxies this process launched (pid -> Popen). They outlive `start` on purpose; holding them here
# lets them be reaped through their own Popen (which then knows they ended) instead of behind its back.
CHILDREN: dict = {}


def adopt(proc) -> None:
    CHILDREN[proc.pid] = proc


def _reap(pid: int) -> None:
    proc = CHILDREN.get(pid)
    if proc is not None:
        if proc.poll() is not None:
            CHILDREN.pop(pid, None)
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child


def group_alive(pgid: int) -> bool:
    """Does a live process remain in the group start created (a launcher that backgrounded the proxy)?"""
    import psutil

    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


def gone(pid: int) -> bool:
    import psutil

    _reap(pid)
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def wait_gone(target: ProcInfo, timeout: float) -> bool:
    """Whether `target` has exited within `timeout` seconds: gone, a zombie, or its pid now names another
    process (a later start time)."""
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        if gone(target.pid):
            return True
        try:
            if target.create_time is not None and \
                    abs(psutil.Process(target.pid).create_time() - target.create_time) > 0.05:
                return True
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def members_of(leader, group: int | None) -> list[int]:
    """The leader and, when we own its group, its descendants in that group (captured before signalling)."""
    import psutil

    pids = [leader.pid]
    if group is not None:
        with contextlib.suppress(psutil.Error):
            for child in leader.children(recursive=True):
                with contextlib.suppress(OSError):
                    if os.getpgid(child.pid) == group:
                        pids.append(child.pid)
    return pids


class Ending(Vocabulary):
    """How a stop ended."""

    TERMINATED = "terminated"  # gone after SIGTERM (or already gone)
    KILLED = "killed"          # gone after SIGKILL
    ALIVE = "alive"            # still there after SIGKILL


def terminate(target: ProcInfo, group: int | None, timeout: float) -> Ending:
    """SIGTERM, wait, SIGKILL. Identity is re-checked before each signal."""
    import psutil

    try:
        leader = psutil.Process(target.pid)
        if target.create_time is not None and abs(leader.create_time() - target.create_time) > 0.05:
            return Ending.TERMINATED  # the pid was reused meanwhile: ours is gone
    except psutil.NoSuchProcess:
        return Ending.TERMINATED
    members = members_of(leader, group)
    for sig, wait, outcome in ((signal.SIGTERM, timeout, Ending.TERMINATED), (signal.SIGKILL, 3.0, Ending.KILLED)):
        if group is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if leader.is_running():
                    os.killpg(group, sig)
                else:
                    for pid in members[1:]:  # leader gone: signal the survivors we captured, one by one
                        with contextlib.suppress(psutil.Error):
                            psutil.Process(pid).send_signal(sig)
        else:
            with contextlib.suppress(psutil.NoSuchProcess):
                leader.send_signal(sig)  # psutil refuses if the pid now belongs to another process
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if all(gone(pid) for pid in members):
                return outcome
            time.sleep(0.05)
    return Ending.TERMINATED if all(gone(pid) for pid in members) else Ending.ALIVE
