"""Listening TCP sockets and the processes that hold them, found without scanning every process.

`psutil.net_connections()` maps every socket to its pid by reading the descriptors of every
process on the machine: about 10 ms on a quiet box, 100 ms and more on a desktop with a few
hundred processes. The doctor asks about one or two ports, so on Linux it does it the other way:

1. ask the kernel for the listening sockets (port, address, inode) over netlink (sock_diag, what
   `ss` uses), which walks only the listening sockets: about 0.1 ms. Where netlink is refused, read
   /proc/net/tcp and /proc/net/tcp6 instead: the kernel builds those by walking every bucket of the
   connection table, about 4 ms each on a machine with much memory, however few sockets it has;
2. for the port asked about, look for those inodes among the descriptors of the likely holders
   first (the pid in this home's pidfile), and walk the other processes only for what is still
   unknown, stopping as soon as every inode has its pid.

A socket whose holder cannot be read (another user's process) keeps pid None, as with psutil.
A socket held by several processes (a server's forked workers) names the first one found, where
psutil lists each; the verdicts built on it (ours, foreign, another home's) do not change.
Where neither is there (macOS, BSD: `base.platform` decides), `psutil.net_connections` answers;
where that is refused (macOS without root refuses it), `lsof -nP -iTCP -sTCP:LISTEN -F pn` does,
naming the pid of every listener this user may see; when that fails too, `listen_table()` returns
None and callers fall back to connecting.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


# sock_diag (linux/sock_diag.h, linux/inet_diag.h): one dump request per address family.
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
TCP_LISTEN = 10
_NLMSG = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBBI48x")  # inet_diag_req_v2: family, protocol, ext, pad, states, id (any)
# inet_diag_msg: family, state, timer, retrans; id: sport (big-endian), dport, src[16], dst[16],
# interface, cookie[2]; then expires, rqueue, wqueue, uid, inode.
_DIAG_SIZE = 72
_ADDRESS_BYTES: dict[int, int] = {socket.AF_INET: 4, socket.AF_INET6: 16}


def parse_sock_diag(data: bytes) -> tuple[list[Listening], bool]:
    """The LISTEN sockets in one netlink read, and whether the dump ended in it.
    Raises OSError for an NLMSG_ERROR answer (the kernel's errno) and ValueError for a malformed one."""
    found: list[Listening] = []
    offset = 0
    while offset + _NLMSG.size <= len(data):
        length, kind, _flags, _seq, _port = _NLMSG.unpack_from(data, offset)
        if length < _NLMSG.size or offset + length > len(data):
            raise ValueError(f"netlink message of length {length} at {offset} in {len(data)} bytes")
        body = offset + _NLMSG.size
        if kind == NLMSG_DONE:
            return found, True
        if kind == NLMSG_ERROR:
            errno = -struct.unpack_from("=i", data, body)[0] if length >= _NLMSG.size + 4 else 0
            raise OSError(errno, os.strerror(errno) if errno else "netlink error")
        if kind == SOCK_DIAG_BY_FAMILY and length >= _NLMSG.size + _DIAG_SIZE:
            family, state = data[body], data[body + 1]
            width = _ADDRESS_BYTES.get(family)
            if state == TCP_LISTEN and width:
                port = struct.unpack_from(">H", data, body + 4)[0]
                address = socket.inet_ntop(family, data[body + 8:body + 8 + width])
                inode = struct.unpack_from("=I", data, body + 68)[0]
                found.append(Listening(port, address, inode))
        offset += (length + 3) & ~3
    return found, False


def _read_sock_diag(timeout: float = 1.0) -> list[Listening] | None:
    """Every listening TCP socket, from the kernel over netlink; None when netlink cannot answer
    (not Linux, a sandbox that refuses netlink sockets, a kernel without inet_diag)."""
    family = getattr(socket, "AF_NETLINK", None)
    if family is None:
        return None
    found: list[Listening] = []
    try:
        with socket.socket(family, socket.SOCK_RAW | getattr(socket, "SOCK_CLOEXEC", 0), NETLINK_SOCK_DIAG) as sock:
            sock.settimeout(timeout)
            for sequence, inet in enumerate((socket.AF_INET, socket.AF_INET6), 1):
                request = _REQUEST.pack(inet, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN)
                sock.send(_NLMSG.pack(_NLMSG.size + len(request), SOCK_DIAG_BY_FAMILY,
                                      NLM_F_REQUEST | NLM_F_DUMP, sequence, 0) + request)
                done = False
                while not done:
                    data = sock.recv(65536)
                    if not data:
                        return None
                    part, done = parse_sock_diag(data)
                    found += part
    except (OSError, ValueError):
        return None
    return found


def read_listening() -> list[Listening] | None:
    """Every listening TCP socket with its inode, from netlink or else /proc/net; None where the
    kernel offers neither, or the platform is not Linux (then psutil is asked)."""
    from claudex_doctor.base import platform

    if not platform.uses_proc():
        return None
    found = _read_sock_diag()
    return found if found is not None else _read_proc_net()


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
    sockets = read_listening()
    if sockets is not None:
        return ListenTable(sockets, likely=likely)
    import psutil

    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError, OSError):
        found = read_lsof()
        return ListenTable(found, likely=likely) if found is not None else None
    return ListenTable([Listening(c.laddr.port, c.laddr.ip, None, c.pid) for c in conns
                        if c.status == psutil.CONN_LISTEN and c.laddr])


LSOF_TIMEOUT = 3.0


def parse_lsof(text: str) -> list[Listening]:
    """The listeners in `lsof -nP -iTCP -sTCP:LISTEN -F ptn` output: `p<pid>` starts a process, `f<fd>`
    one of its files, `t<IPv4|IPv6>` that file's type, `n<address>:<port>` its address (`*` is every
    address of the type, IPv6 addresses in brackets)."""
    found: list[Listening] = []
    pid: int | None = None
    kind = ""
    for line in text.splitlines():
        tag, value = line[:1], line[1:]
        if tag == "p":
            pid = int(value) if value.isdigit() else None
        elif tag == "f":
            kind = ""
        elif tag == "t":
            kind = value
        elif tag == "n" and pid is not None:
            address, _, port = value.rpartition(":")
            if "->" in value or not port.isdigit() or not address:
                continue
            address = address.strip("[]")
            if address == "*":
                address = "::" if kind == "IPv6" else "0.0.0.0"
            found.append(Listening(int(port), address, None, pid))
    return found


def read_lsof() -> list[Listening] | None:
    """The listening TCP sockets lsof can see, with their pids; None when lsof is missing or fails."""
    import shutil

    from claudex_doctor.base.proc import run_bounded

    lsof = shutil.which("lsof") or next((p for p in ("/usr/sbin/lsof", "/usr/bin/lsof") if os.path.exists(p)), None)
    if lsof is None:
        return None
    proc = run_bounded([lsof, "-nP", "-iTCP", "-sTCP:LISTEN", "-F", "ptn"], LSOF_TIMEOUT)
    # lsof exits 1 when nothing matches: an empty table, not a failure.
    if proc.error or proc.returncode not in (0, 1):
        return None
    return parse_lsof(proc.stdout)
