"""Listening TCP sockets and the processes that hold them, found without scanning every process.

`psutil.net_connections()` maps every socket to its pid by reading the descriptors of every
process on the machine: about 10 ms on a quiet box, 100 ms and more on a desktop with a few
hundred processes. The doctor asks about one or two ports, so on Linux it does it the other way:

1. read the listening sockets (port, address, inode) from /proc/net/tcp and /proc/net/tcp6;
2. for the port asked about, look for those inodes among the descriptors of the likely holders
   first (the pid in this home's pidfile), and walk the other processes only for what is still
   unknown, stopping as soon as every inode has its pid.

A socket whose holder cannot be read (another user's process) keeps pid None, as with psutil.
A socket held by several processes (a server's forked workers) names the first one found, where
psutil lists each; the verdicts built on it (ours, foreign, another home's) do not change.
Where /proc/net is not there (macOS, BSD), `psutil.net_connections` answers as before; when that
is refused too, `listen_table()` returns None and callers fall back to connecting.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Iterable, Sequence

PROC = "/proc"
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


@dataclass(frozen=True)
class Listening:
    port: int
    address: str
    inode: int | None  # None: from psutil, which gives the pid instead
    pid: int | None = None


def _address(hex_ip: str) -> str | None:
    try:
        raw = bytes.fromhex(hex_ip)
    except ValueError:
        return None
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    if len(raw) == 16:  # four 32-bit words, each in host (little-endian) order
        return socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
    return None


def parse_proc_net(text: str) -> list[Listening]:
    """The LISTEN rows of a /proc/net/tcp or tcp6 text."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != LISTEN:
            continue
        ip, _, port = fields[1].rpartition(":")
        address = _address(ip)
        try:
            port_number, inode = int(port, 16), int(fields[9])
        except ValueError:
            continue
        if address is not None:
            found.append(Listening(port_number, address, inode))
    return found


def _read_proc_net() -> list[Listening] | None:
    """Every listening TCP socket from /proc/net; None when there is no /proc/net/tcp to read."""
    found: list[Listening] = []
    readable = False
    for name in ("tcp", "tcp6"):
        try:
            with open(f"{PROC}/net/{name}", encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        readable = True
        found += parse_proc_net(text)
    return found if readable else None


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets `pid` holds. Raises OSError when its descriptors cannot be read."""
    directory = f"{PROC}/{pid}/fd"
    inodes = set()
    for fd in os.listdir(directory):
        try:
            target = os.readlink(f"{directory}/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def all_pids() -> list[int] | None:
    """Every pid in /proc; None where there is no /proc to list."""
    try:
        return [int(name) for name in os.listdir(PROC) if name.isdigit()]
    except OSError:
        return None


class ListenTable:
    """The run's listening sockets; owners are resolved per port, on demand, once. Thread-safe."""

    def __init__(self, sockets: Sequence[Listening], likely: Iterable[int | None] = ()) -> None:
        self.sockets = list(sockets)
        self.likely = [p for p in likely if p]  # looked at first for every port
        self._owner: dict[int, int | None] = {}  # inode -> pid (None: no visible process holds it)
        self._held: dict[int, set[int]] = {}  # pid -> socket inodes, for every pid read so far
        self._lock = threading.Lock()

    def ports(self) -> set[int]:
        return {s.port for s in self.sockets}

    def on(self, port: int, likely: Iterable[int | None] = ()) -> list[tuple[str, int | None]]:
        """[(address, pid)] listening on `port`; `likely` pids are looked at before the others."""
        mine = [s for s in self.sockets if s.port == port]
        inodes = {s.inode for s in mine if s.inode is not None}  # none when psutil gave the pids
        if not inodes:
            return [(s.address, s.pid) for s in mine]
        with self._lock:
            self._find(inodes, [p for p in (*likely, *self.likely) if p])
            return [(s.address, self._owner.get(s.inode) if s.inode is not None else s.pid) for s in mine]

    def _find(self, wanted: set[int], likely: list[int]) -> None:
        missing = {i for i in wanted if i not in self._owner}
        for pid, held in self._held.items():
            for inode in held & missing:
                self._owner[inode] = pid
            missing -= held
        if not missing:
            return
        for pid in [*likely, *(all_pids() or ())]:
            if pid in self._held:
                continue
            try:
                held = socket_inodes(pid)
            except OSError:
                held = set()  # gone, or another user's: its sockets keep pid None
            self._held[pid] = held
            for inode in held & missing:
                self._owner[inode] = pid
            missing -= held
            if not missing:
                return
        for inode in missing:
            self._owner[inode] = None


def listen_table(likely: Iterable[int | None] = ()) -> ListenTable | None:
    """The listening TCP sockets; None when the socket table is not visible to this user at all.
    `likely`: pids to look at first whatever the port (the pidfile's)."""
    sockets = _read_proc_net()
    if sockets is not None:
        return ListenTable(sockets, likely=likely)
    import psutil

    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError):
        return None
    return ListenTable([Listening(c.laddr.port, c.laddr.ip, None, c.pid) for c in conns
                        if c.status == psutil.CONN_LISTEN and c.laddr])
