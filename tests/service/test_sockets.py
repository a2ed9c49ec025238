"""sockets: the listening-socket table read over netlink (else /proc/net), with owners found per port.

Checked against psutil.net_connections (what it replaces) on real sockets this test opens, the two
kernel sources against each other, and hand-written /proc/net texts and netlink answers for the
parsing corners.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys

import psutil
import pytest

from claudex_doctor.service import sockets

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="Linux /proc/net only")

SAMPLE_V4 = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2087 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0
   1: 00000000:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 100 0 0 10 0
   2: 0100007F:2087 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 4444 1 0 20 4 30 10 -1
   3: garbage
"""
SAMPLE_V6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:2087 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5151 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5252 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5353 1 0 100 0 0 10 0
"""


def test_parse_keeps_listening_rows_with_addresses_ports_and_inodes():
    assert sockets.parse_proc_net(SAMPLE_V4) == [
        sockets.Listening(8327, "127.0.0.1", 4242), sockets.Listening(4000, "0.0.0.0", 4343)]
    assert sockets.parse_proc_net(SAMPLE_V6) == [
        sockets.Listening(8327, "::", 5151), sockets.Listening(8080, "::1", 5252),
        sockets.Listening(8081, "::ffff:127.0.0.1", 5353)]
    assert sockets.parse_proc_net("") == [] and sockets.parse_proc_net("header\n1: zz:zz 0 0A") == []


def _listening_socket(family=socket.AF_INET, host="127.0.0.1"):
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen()
    return sock


def _psutil_view(port):
    return sorted((c.laddr.ip, c.pid) for c in psutil.net_connections("tcp")
                  if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port)


def test_owners_agree_with_psutil_for_real_sockets():
    v4 = _listening_socket()
    v6 = _listening_socket(socket.AF_INET6, "::") if socket.has_ipv6 else None
    try:
        table = sockets.listen_table()
        for sock in filter(None, (v4, v6)):
            port = sock.getsockname()[1]
            assert sorted(table.on(port)) == _psutil_view(port)
            assert table.on(port)[0][1] == os.getpid()
    finally:
        for sock in filter(None, (v4, v6)):
            sock.close()


def test_the_likely_pid_is_read_first_and_each_pid_at_most_once(monkeypatch):
    read = []
    real = sockets.socket_inodes
    monkeypatch.setattr(sockets, "socket_inodes", lambda pid: read.append(pid) or real(pid))
    ours = _listening_socket()
    child = subprocess.Popen([sys.executable, "-c", "import socket,sys,time\n"
                              "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\n"
                              "print(s.getsockname()[1], flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        child_port = int(child.stdout.readline())
        table = sockets.listen_table()
        assert table.on(ours.getsockname()[1], likely=[os.getpid()]) == [("127.0.0.1", os.getpid())]
        assert read == [os.getpid()]  # found at once: nothing else was read
        assert table.on(child_port) == [("127.0.0.1", child.pid)]
        assert len(read) == len(set(read))  # the walk did not read our pid again
        before = len(read)
        assert table.on(child_port) == [("127.0.0.1", child.pid)] and len(read) == before  # answered from memory
    finally:
        child.kill()
        child.wait()
        ours.close()


def test_pids_given_to_the_table_are_looked_at_first_for_every_port(monkeypatch):
    read = []
    real = sockets.socket_inodes
    monkeypatch.setattr(sockets, "socket_inodes", lambda pid: read.append(pid) or real(pid))
    sock = _listening_socket()
    try:
        table = sockets.listen_table(likely=[None, os.getpid()])
        assert table.on(sock.getsockname()[1]) == [("127.0.0.1", os.getpid())] and read == [os.getpid()]
    finally:
        sock.close()


def test_a_holder_whose_descriptors_cannot_be_read_gives_no_pid(monkeypatch):
    def unreadable(pid):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(sockets, "socket_inodes", unreadable)
    sock = _listening_socket()
    try:
        assert sockets.listen_table().on(sock.getsockname()[1]) == [("127.0.0.1", None)]
    finally:
        sock.close()


def test_without_proc_net_psutil_answers_the_same(monkeypatch):
    sock = _listening_socket()
    try:
        port = sock.getsockname()[1]
        expected = sockets.listen_table().on(port)
        monkeypatch.setattr(sockets, "read_listening", lambda: None)
        table = sockets.listen_table()
        assert table.on(port) == expected and port in table.ports()
        monkeypatch.setattr(psutil, "net_connections", lambda kind="inet": (_ for _ in ()).throw(psutil.AccessDenied()))
        monkeypatch.setattr(sockets, "read_lsof", lambda: None)
        assert sockets.listen_table() is None
    finally:
        sock.close()


def test_a_port_nobody_listens_on_is_empty():
    sock = _listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    assert sockets.listen_table().on(port) == []


def _diag_message(family, state, port, address, inode, sequence=1):
    raw = socket.inet_pton(family, address).ljust(16, b"\0")  # src[16]: an IPv4 address fills the first 4
    body = struct.pack("=BBBB", family, state, 0, 0) + struct.pack(">HH", port, 0) + raw + bytes(16) \
        + bytes(4) + bytes(8) + struct.pack("=IIIII", 0, 0, 0, 1000, inode)
    assert len(body) == 72
    return struct.pack("=IHHII", 16 + len(body), sockets.SOCK_DIAG_BY_FAMILY, 2, sequence, 0) + body


def _nl(kind, payload=b""):
    return struct.pack("=IHHII", 16 + len(payload), kind, 2, 1, 0) + payload


def test_parse_sock_diag_keeps_listening_sockets_and_sees_the_end():
    data = (_diag_message(socket.AF_INET, sockets.TCP_LISTEN, 8327, "127.0.0.1", 4242)
            + _diag_message(socket.AF_INET, 1, 8327, "127.0.0.1", 4444)  # established: not a listener
            + _diag_message(socket.AF_INET6, sockets.TCP_LISTEN, 8080, "::1", 5252))
    assert sockets.parse_sock_diag(data) == (
        [sockets.Listening(8327, "127.0.0.1", 4242), sockets.Listening(8080, "::1", 5252)], False)
    assert sockets.parse_sock_diag(data + _nl(sockets.NLMSG_DONE, bytes(4)))[1] is True
    assert sockets.parse_sock_diag(b"") == ([], False)


def test_parse_sock_diag_raises_on_a_kernel_error_or_a_cut_message():
    with pytest.raises(OSError) as refused:
        sockets.parse_sock_diag(_nl(sockets.NLMSG_ERROR, struct.pack("=i", -13) + bytes(16)))
    assert refused.value.errno == 13
    whole = _diag_message(socket.AF_INET, sockets.TCP_LISTEN, 8327, "127.0.0.1", 4242)
    with pytest.raises(ValueError):
        sockets.parse_sock_diag(whole[:40])
    with pytest.raises(ValueError):
        sockets.parse_sock_diag(struct.pack("=IHHII", 8, 20, 0, 0, 0))


def test_netlink_and_proc_net_see_the_same_listeners():
    if sockets._read_sock_diag() is None:
        pytest.skip("this kernel or sandbox refuses sock_diag netlink sockets")
    v4 = _listening_socket()
    v6 = _listening_socket(socket.AF_INET6, "::") if socket.has_ipv6 else None
    try:
        ours = {sock.getsockname()[1] for sock in filter(None, (v4, v6))}
        by_netlink = {s for s in sockets._read_sock_diag() if s.port in ours}
        by_proc = {s for s in sockets._read_proc_net() if s.port in ours}
        assert by_netlink == by_proc and len(by_netlink) == len(ours)
    finally:
        for sock in filter(None, (v4, v6)):
            sock.close()


def test_when_netlink_is_refused_proc_net_answers(monkeypatch):
    real = socket.socket

    def no_netlink(family=-1, *args, **kwargs):
        if family == getattr(socket, "AF_NETLINK", None):
            raise PermissionError(1, "Operation not permitted")
        return real(family, *args, **kwargs)

    sock = _listening_socket()
    try:
        port = sock.getsockname()[1]
        monkeypatch.setattr(socket, "socket", no_netlink)
        assert sockets._read_sock_diag() is None
        read = []
        real_proc = sockets._read_proc_net
        monkeypatch.setattr(sockets, "_read_proc_net", lambda: read.append(1) or real_proc())
        assert sockets.listen_table().on(port) == [("127.0.0.1", os.getpid())] and read == [1]
    finally:
        sock.close()
