"""Who holds the gateway port, and is it this home's proxy? The one answer the check and the service share.

A listener counts as *this home's proxy* only when all three agree:

1. the pidfile's pid is the listening pid, or an ancestor of it (run.sh that did not `exec`), or the
   leader of the listener's process group (the session `start` created);
2. that process's start time equals the one recorded in the pidfile (a reused pid has another);
3. its working directory, executable or command line refers to this home (exe names prove nothing:
   the proxy may be started through run.sh, or be a script in tests).

A proxy run by this home's supervisor (`service install`: a systemd user unit or a launchd agent) is
this home's too, without a pidfile: the supervisor proves it (the unit in the process's cgroup, or the
main pid systemctl/launchctl reports), asked only when this home has a service file.

Anything else on the port is *foreign* and is never touched. The cost is one pidfile read and one
read of the socket table (`sockets.listen_table`), in which the pidfile's pid is looked at first;
psutil is imported lazily.
"""

from __future__ import annotations

import os
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claudex_doctor.base.net import is_loopback
from claudex_doctor.base.paths import display
from claudex_doctor.base.vocab import Vocabulary
from claudex_doctor.service.pidfile import PidRecord, PidState, read_pidfile  # noqa: F401  (re-exported)
from claudex_doctor.service.sockets import listen_table

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

START_TIME_TOLERANCE = 0.05  # seconds; psutil derives create_time from clock ticks, exact for one process
ANCESTOR_DEPTH = 4
WILDCARDS = ("0.0.0.0", "::", "")


# -- processes ----------------------------------------------------------------

@dataclass
class ProcInfo:
    pid: int
    name: str = "?"
    exe: str | None = None
    cmdline: list[str] = field(default_factory=list)
    user: str | None = None
    cwd: str | None = None
    create_time: float | None = None
    ppid: int | None = None
    pgid: int | None = None

    def excerpt(self, limit: int = 160) -> str:
        from claudex_doctor.base.redact import redact_text
        text = redact_text(shlex.join(self.cmdline)) if self.cmdline else self.name
        return text if len(text) <= limit else text[:limit - 1] + "…"

    def label(self) -> str:
        return f"{self.name} (pid {self.pid})"

    def to_dict(self, user_home: Path | None = None) -> dict[str, Any]:
        return {"pid": self.pid, "name": self.name, "exe": display(self.exe, user_home) if self.exe else None,
                "cmdline": self.excerpt(), "user": self.user,
                "cwd": display(self.cwd, user_home) if self.cwd else None}


def proc_info(pid: int) -> ProcInfo | None:
    """What psutil can see of `pid`; None when it does not exist (or is a zombie)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            info = ProcInfo(pid, name=proc.name(), create_time=proc.create_time(), ppid=proc.ppid())
            for attr, getter in (("exe", proc.exe), ("cmdline", proc.cmdline), ("user", proc.username),
                                 ("cwd", proc.cwd)):
                try:
                    setattr(info, attr, getter() or getattr(info, attr))
                except (psutil.AccessDenied, psutil.ZombieProcess, KeyError, OSError):
                    pass
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        return ProcInfo(pid)
    try:
        info.pgid = os.getpgid(pid)
    except OSError:
        pass
    return info


def _resolve(path: str | Path, base: str | None = None) -> Path | None:
    try:
        p = Path(path)
        if not p.is_absolute():
            if not base:
                return None
            p = Path(base) / p
        return p.resolve()
    except (OSError, ValueError, RuntimeError):
        return None


def _inside(path: Path | None, home: Path) -> bool:
    return path is not None and (path == home or home in path.parents)


def refers_to(info: ProcInfo, home: Path) -> bool:
    """Does the process run in, from, or on files of `home`? (home already resolved)."""
    if _inside(_resolve(info.cwd) if info.cwd else None, home):
        return True
    if info.exe and _inside(_resolve(info.exe), home):
        return True
    for arg in info.cmdline:
        if ("/" in arg or arg.startswith(".")) and _inside(_resolve(arg, info.cwd), home):
            return True
    return False


def started_here(pid: int, home: Path) -> bool | None:
    """Does `pid` carry our start marker for `home` (service.supervisor.STARTED_BY)? None when its
    environment cannot be read."""
    import psutil

    from claudex_doctor.service.supervisor import STARTED_BY

    try:
        value = psutil.Process(pid).environ().get(STARTED_BY)
    except (psutil.Error, OSError):
        return None
    return value is not None and _resolve(value) == home


def runs_our_program(info: ProcInfo, home: Path) -> bool:
    """Is the process this home's cli-proxy-api, or a shell running this home's run.sh?"""
    binary, launcher = home / "cli-proxy-api", home / "run.sh"
    if info.exe and _resolve(info.exe) == binary:
        return True
    for arg in info.cmdline[:3]:
        if ("/" in arg or arg.startswith(".")) and _resolve(arg, info.cwd) in (binary, launcher):
            return True
    return False


def listening_ports(pid: int) -> set[int] | None:
    """The TCP ports `pid` listens on; None when that cannot be seen."""
    import psutil

    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.Error, OSError, AttributeError):
        return None
    return {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN and c.laddr}


def looks_like_proxy(info: ProcInfo) -> bool:
    """A CLIProxyAPI (or the launcher): named so, or run with `-config`."""
    names = {os.path.basename(info.exe or ""), info.name, *(os.path.basename(a) for a in info.cmdline[:2])}
    if any(n.startswith("cli-proxy-api") or n == "run.sh" for n in names):
        return True
    return any(a in ("-config", "--config") for a in info.cmdline)


def home_of(info: ProcInfo) -> Path | None:
    """The claudex home a proxy process runs from: a directory holding cli-proxy-api and config.yaml."""
    exe = _resolve(info.exe) if info.exe else None
    candidates: list[Path | None] = [_resolve(info.cwd) if info.cwd else None, exe.parent if exe else None]
    for arg in info.cmdline:
        if "/" in arg or arg.startswith("."):
            resolved = _resolve(arg, info.cwd)
            if resolved is not None:
                candidates.append(resolved if resolved.is_dir() else resolved.parent)
    for cand in candidates:
        if cand is not None and (cand / "cli-proxy-api").exists() and (cand / "config.yaml").exists():
            return cand
    return None


def ancestors(info: ProcInfo, depth: int = ANCESTOR_DEPTH) -> list[ProcInfo]:
    chain: list[ProcInfo] = []
    ppid = info.ppid
    while ppid and ppid > 1 and len(chain) < depth:
        parent = proc_info(ppid)
        if parent is None:
            break
        chain.append(parent)
        ppid = parent.ppid
    return chain


def verify(record: PidRecord, home: Path) -> ProcInfo | None:
    """Judge a recorded pidfile: sets record.state to alive/dead/reused/elsewhere; returns the process if ours."""
    if record.state is not PidState.RECORDED or record.pid is None:
        return None
    if record.home and _resolve(record.home) != home:
        record.state, record.message = PidState.ELSEWHERE, f"pidfile was written for another home ({record.home})"
        return None
    info = proc_info(record.pid)
    if info is None:
        record.state, record.message = PidState.DEAD, f"pid {record.pid} from the pidfile has exited"
        return None
    if info.create_time is None or record.create_time is None or \
            abs(info.create_time - record.create_time) > START_TIME_TOLERANCE:
        record.state = PidState.REUSED
        record.message = f"pid {record.pid} now belongs to another program ({info.name}, started at another time)"
        return None
    if not (started_here(record.pid, home) or runs_our_program(info, home)):
        # Start time alone can be copied into a pidfile; the proof is what runs: the process claudex-doctor
        # started for this home (its marker), or this home's binary or launcher.
        record.state = PidState.REUSED
        record.message = f"pid {record.pid} ({info.name}) is not this home's proxy (not started by claudex-doctor " \
                         "for this home, and not its cli-proxy-api or run.sh)"
        return None
    ports = listening_ports(record.pid) if record.port else None
    if ports and record.port not in ports:
        record.state = PidState.REUSED
        record.message = f"pid {record.pid} ({info.name}) listens on {', '.join(map(str, sorted(ports)))}, " \
                         f"not on port {record.port} it was started for"
        return None
    record.state, record.message = PidState.ALIVE, f"pid {record.pid} is this home's proxy"
    return info


# -- listeners ----------------------------------------------------------------

class OwnerState(Vocabulary):
    """Who holds the gateway port, as far as this user can see."""

    OURS = "ours"                # this home's proxy, started by claudex-doctor (pidfile proves it)
    UNRECORDED = "unrecorded"    # this home's proxy, started some other way
    NONE = "none"                # nobody listens
    FOREIGN = "foreign"          # another program
    OTHER_HOME = "other_home"    # the proxy of another runtime home
    UNKNOWN = "unknown"          # a listener whose process this user cannot see


# When several processes listen on the port, the report names the first of these found.
PRECEDENCE = (OwnerState.OURS, OwnerState.UNRECORDED, OwnerState.OTHER_HOME, OwnerState.FOREIGN, OwnerState.UNKNOWN,
              OwnerState.NONE)


class Visibility(Vocabulary):
    """How much of the socket table this user could see."""

    FULL = "full"
    PARTIAL = "partial"  # some sockets without a pid
    CONNECT = "connect"  # no socket table: only a connect test


@dataclass
class Owner:
    """The verdict about one port.

    state: none | ours | unrecorded (this home's proxy, not started by the doctor) | other_home |
           foreign | unknown (listening, owner not visible)
    """

    port: int
    state: OwnerState
    reason: str
    addresses: list[str] = field(default_factory=list)  # listening addresses, e.g. ["127.0.0.1"]
    process: ProcInfo | None = None  # the listening process
    running: ProcInfo | None = None  # the pidfile's verified process (ours), listening or not
    other_home: Path | None = None
    pidfile: PidRecord = field(default_factory=lambda: PidRecord(PidState.MISSING))
    visibility: Visibility = Visibility.FULL
    others: list[ProcInfo] = field(default_factory=list)  # more listening processes on the port
    supervisor: str | None = None  # how the supervisor proves it is ours ("systemd unit ... (its cgroup)")

    @property
    def listening(self) -> bool:
        return self.state is not OwnerState.NONE

    @property
    def exposed(self) -> list[str]:
        return [a for a in self.addresses if not is_loopback(a)]

    def to_dict(self, user_home: Path | None = None) -> dict[str, Any]:
        return {
            "port": self.port, "state": self.state, "reason": self.reason, "addresses": list(self.addresses),
            "process": self.process.to_dict(user_home) if self.process else None,
            "running_pid": self.running.pid if self.running else None,
            "other_home": display(self.other_home, user_home) if self.other_home else None,
            "pidfile": self.pidfile.to_dict(user_home), "visibility": self.visibility,
            "others": [o.to_dict(user_home) for o in self.others],
            "supervisor": self.supervisor,
        }


def connect_test(host: str, port: int, timeout: float = 0.3) -> bool:
    host = "127.0.0.1" if host in WILDCARDS or host == "localhost" else host
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listeners(port: int, table, likely: tuple[int | None, ...] = ()) -> list[tuple[str, int | None]] | None:
    """[(address, pid)] listening on `port`; None when the socket table is not visible at all."""
    if table is None:
        return None
    return table.on(port, likely)


def _own_sockets(info: ProcInfo, port: int) -> list[str]:
    """Listening addresses of one (visible) process on `port`: the fallback without a socket table."""
    import psutil

    try:
        proc = psutil.Process(info.pid)
        getter = getattr(proc, "net_connections", None) or proc.connections
        return [c.laddr.ip for c in getter(kind="tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port]
    except (psutil.Error, OSError):
        return []


def _is_ours(listener: ProcInfo, record: PidRecord, running: ProcInfo | None, home: Path) -> bool:
    if running is None or record.pid is None:
        return False
    if listener.pid == record.pid:
        return True
    chain = ancestors(listener)
    if any(p.pid == record.pid for p in chain):
        return refers_to(listener, home) or refers_to(running, home)
    return False


def _in_our_session(listener: ProcInfo, record: PidRecord, home: Path) -> bool:
    """The launcher we recorded has gone, but the listener lives on in the process group start created."""
    return (record.state is PidState.DEAD and record.pgid is not None and listener.pgid == record.pgid
            and listener.pid != record.pgid and record.create_time is not None
            and listener.create_time is not None and listener.create_time >= record.create_time - START_TIME_TOLERANCE
            and refers_to(listener, home))


_UNSET: Any = object()


def identify(paths: Paths, port: int, host: str | None = None, table: Any = _UNSET) -> Owner:
    """The shared verdict: who listens on `port`, and is it this home's proxy.

    `table` is a `listen_table()` result the caller already has (checks share one scan per run)."""
    home = _resolve(paths.home) or Path(paths.home)
    record = read_pidfile(paths.pidfile)
    running = verify(record, home)
    table = _listeners(port, listen_table() if table is _UNSET else table,
                       likely=(running.pid if running else None, record.pid))
    visibility = Visibility.FULL
    if table is None:
        visibility = Visibility.CONNECT
        table = [(a, running.pid) for a in _own_sockets(running, port)] if running else []
        if not table and connect_test(host or "127.0.0.1", port):
            table = [(host or "127.0.0.1", None)]
    addresses = sorted({a for a, _ in table})
    pids = []
    for _, pid in table:
        if pid not in pids:
            pids.append(pid)
    if not table:
        if running is not None:
            reason = f"nothing listens on port {port}, although this home's proxy (pid {running.pid}) runs"
        else:
            reason = f"nothing listens on port {port}"
        return Owner(port, OwnerState.NONE, reason, running=running, pidfile=record, visibility=visibility)
    if any(pid is None for pid in pids) and visibility is Visibility.FULL:
        visibility = Visibility.PARTIAL
    infos = [proc_info(pid) if pid is not None else None for pid in pids]
    verdicts: list[tuple[OwnerState, ProcInfo | None, Path | None]] = []
    supervised: str | None = None
    for pid, info in zip(pids, infos, strict=True):
        if info is None:
            verdicts.append((OwnerState.UNKNOWN, ProcInfo(pid) if pid is not None else None, None))
        elif _is_ours(info, record, running, home):
            verdicts.append((OwnerState.OURS, info, home))
        elif _in_our_session(info, record, home):
            record.state, record.message = PidState.ALIVE, f"the launcher (pid {record.pid}) exited; its proxy runs on"
            running = info
            verdicts.append((OwnerState.OURS, info, home))
        elif (how := _supervised(paths, info)) is not None:
            supervised = how
            if running is None:
                running = info
            verdicts.append((OwnerState.OURS, info, home))
        else:
            found = None
            for candidate in [info, *ancestors(info)]:
                if looks_like_proxy(candidate):
                    found = home_of(candidate)
                    if found is not None:
                        break
            if found is not None and found == home:
                verdicts.append((OwnerState.UNRECORDED, info, home))
            elif found is not None:
                verdicts.append((OwnerState.OTHER_HOME, info, found))
            else:
                verdicts.append((OwnerState.FOREIGN, info, None))
    verdicts.sort(key=lambda v: PRECEDENCE.index(v[0]))
    state, chosen, where = verdicts[0]
    others = [v[1] for v in verdicts[1:] if v[1] is not None]
    info = chosen or ProcInfo(0)  # an unknown listener without a pid: only its port is known
    if state is OwnerState.OURS:
        reason = f"this home's proxy (pid {info.pid}) listens on port {port}"
        if supervised and (running is None or running.pid == info.pid):
            reason += f", run by its {supervised}"
    elif state is OwnerState.UNRECORDED:
        reason = f"this home's proxy {info.label()} listens on port {port}, but claudex-doctor did not start it"
    elif state is OwnerState.OTHER_HOME:
        reason = f"the proxy of another home ({where}) holds port {port}: {info.label()}"
    elif state is OwnerState.FOREIGN:
        reason = f"port {port} is held by {info.label()}, which is not this home's proxy"
    else:
        reason = (f"something listens on port {port}, but its owner is not visible"
                  f"{' (pid ' + str(chosen.pid) + ')' if chosen else ''}: another user's process?")
    return Owner(port, state, reason, addresses=addresses, process=chosen, running=running,
                 other_home=where if state is OwnerState.OTHER_HOME else None, pidfile=record,
                 visibility=visibility, others=others, supervisor=supervised if state is OwnerState.OURS else None)


def _supervised(paths: Paths, info: ProcInfo) -> str | None:
    """How this home's supervisor proves `info` is the proxy it runs (None: not supervised, or not by us).
    The process must also carry the start marker the service gives it, or run this home's program."""
    from claudex_doctor.service import supervisor

    how = supervisor.supervises(paths, info.pid, parents=lambda: [parent.pid for parent in ancestors(info)])
    if how is None:
        return None
    home = _resolve(paths.home) or Path(paths.home)
    if started_here(info.pid, home) or runs_our_program(info, home) or refers_to(info, home):
        return how
    return None
