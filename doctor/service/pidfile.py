"""The service pidfile: `$HOME/cli-proxy-api.pid`, JSON written atomically (mode 0600) by `start`.

    {"pid": 4242, "create_time": 1795488808.32, "cmdline": ["/…/run.sh"], "home": "/…/claudex-gateway",
     "port": 8327, "started_at": "2026-11-24T02:53:28+00:00", "pgid": 4242}

`create_time` is the process start time as psutil reports it (seconds since the epoch); together with
the pid it identifies one process for its whole life. `pgid` is the process group `start` created.
Reading never raises: a missing, unreadable, truncated or foreign file becomes a named state.
"""

from __future__ import annotations

import contextlib
import errno
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claudex_doctor.base import files
from claudex_doctor.base.paths import display
from claudex_doctor.base.vocab import Vocabulary

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths


class PidState(Vocabulary):
    MISSING = "missing"
    INVALID = "invalid"
    LEGACY = "legacy"        # a bare pid, unverifiable
    RECORDED = "recorded"    # read, not yet judged
    ALIVE = "alive"          # verified: ours
    DEAD = "dead"
    REUSED = "reused"        # the pid now belongs to another program
    ELSEWHERE = "elsewhere"  # written for another home


@dataclass
class PidRecord:
    """The pidfile as found on disk, and what became of the process it names.

    state: missing | invalid | legacy (a bare pid, unverifiable) | alive (verified: ours) |
           dead | reused (pid now another program) | elsewhere (written for another home)
    """

    state: PidState
    message: str = ""
    pid: int | None = None
    create_time: float | None = None
    cmdline: list[str] = field(default_factory=list)
    home: str | None = None
    port: int | None = None
    started_at: str | None = None
    pgid: int | None = None

    @property
    def stale(self) -> bool:
        return self.state in (PidState.INVALID, PidState.LEGACY, PidState.DEAD, PidState.REUSED, PidState.ELSEWHERE)

    def to_dict(self, user_home: Path | None = None) -> dict[str, Any]:
        return {"state": self.state, "message": self.message, "pid": self.pid, "create_time": self.create_time,
                "port": self.port, "started_at": self.started_at,
                "home": display(self.home, user_home) if self.home else None}


def read_pidfile(path: Path) -> PidRecord:
    """Parse the pidfile without judging the process. Never raises."""
    loaded = files.read_bytes(path, files.SMALL_CAP)
    if loaded.problem is files.Problem.MISSING:
        return PidRecord(PidState.MISSING, "no pidfile")
    if not loaded.ok:
        return PidRecord(PidState.INVALID, f"pidfile: {loaded.message}")
    raw: bytes = loaded.data
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return PidRecord(PidState.INVALID, "pidfile is not text")
    if text.isdigit():
        return PidRecord(PidState.LEGACY, "pidfile holds a bare pid (written by an older launcher): its identity cannot be proven",
                         pid=int(text))
    try:
        data = files.loads_json(text)
    except ValueError:
        return PidRecord(PidState.INVALID, "pidfile is not valid JSON (truncated or written by another tool)")
    if not isinstance(data, dict):
        return PidRecord(PidState.INVALID, "pidfile does not hold a JSON object")
    pid, ctime = data.get("pid"), data.get("create_time")
    if not (isinstance(pid, int) and not isinstance(pid, bool) and pid > 0) or \
            not (isinstance(ctime, (int, float)) and not isinstance(ctime, bool)):
        return PidRecord(PidState.INVALID, "pidfile lacks a valid pid and create_time")
    cmdline = data.get("cmdline")
    port = data.get("port")
    pgid = data.get("pgid")
    return PidRecord(
        PidState.RECORDED, "", pid=pid, create_time=float(ctime),
        cmdline=[str(a) for a in cmdline] if isinstance(cmdline, list) else [],
        home=data.get("home") if isinstance(data.get("home"), str) else None,
        port=port if isinstance(port, int) and not isinstance(port, bool) else None,
        started_at=data.get("started_at") if isinstance(data.get("started_at"), str) else None,
        pgid=pgid if isinstance(pgid, int) and not isinstance(pgid, bool) else None,
    )


def write_pidfile(paths: Paths, pid: int, create_time: float, cmdline: list[str], port: int) -> None:
    from claudex_doctor.base.atomic import write_atomic
    data = {"pid": pid, "create_time": create_time, "cmdline": cmdline, "home": str(paths.home), "port": port,
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "pgid": pid}
    write_atomic(paths.pidfile, json.dumps(data, indent=2) + "\n", mode=0o600, keep_backup=False, root=paths.home,
                 private=True)


def remove_pidfile(paths: Paths) -> None:
    """Remove the pidfile (a file, or a link: the link itself). Something else in its place (a directory)
    raises OSError naming it; the service turns that into a refusal."""
    with contextlib.suppress(FileNotFoundError):
        if paths.pidfile.is_dir() and not paths.pidfile.is_symlink():
            raise OSError(errno.EISDIR, "the pidfile is a directory; move it away", str(paths.pidfile))
        paths.pidfile.unlink()
