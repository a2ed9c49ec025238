"""The macOS mechanisms, run on Linux by forcing them (CLAUDEX_PLATFORM=darwin): no netlink and no /proc
for sockets, psutil instead, and `lsof -nP -iTCP -sTCP:LISTEN` where psutil is refused (macOS refuses
`net_connections` to a user who is not root). The proxy is still told apart from a stranger."""

from __future__ import annotations

import os

import psutil
import pytest

from claudex_doctor.base import platform
from claudex_doctor.service import control, sockets
from claudex_doctor.service.owner import OwnerState, identify
from tests.conftest import free_port
from tests.homekit import executable
from tests.service_home import leftover_children, made_home, paths_of

LSOF_SAMPLE = """p123
f7
tIPv4
n127.0.0.1:8327
f8
tIPv6
n*:9000
p456
f3
tIPv4
n*:8080
f4
tIPv6
n[::1]:8081
f5
tIPv4
n127.0.0.1:5000->127.0.0.1:60000
"""


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    yield
    assert not leftover_children(), leftover_children()


@pytest.fixture
def darwin(monkeypatch):
    """macOS's view: /proc and netlink unused (they must not even be looked at), psutil refused."""
    monkeypatch.setenv("CLAUDEX_PLATFORM", "darwin")
    monkeypatch.setattr(sockets, "_read_sock_diag", lambda: pytest.fail("netlink used on macOS"))
    monkeypatch.setattr(sockets, "_read_proc_net", lambda: pytest.fail("/proc/net read on macOS"))

    def denied(kind="inet"):
        raise psutil.AccessDenied()
    monkeypatch.setattr(psutil, "net_connections", denied)


def test_lsof_output_is_parsed_into_listeners():
    assert sockets.parse_lsof(LSOF_SAMPLE) == [
        sockets.Listening(8327, "127.0.0.1", None, 123), sockets.Listening(9000, "::", None, 123),
        sockets.Listening(8080, "0.0.0.0", None, 456), sockets.Listening(8081, "::1", None, 456)]
    assert sockets.parse_lsof("") == [] and sockets.parse_lsof("pnotanumber\nn127.0.0.1:1\n") == []


def test_the_platform_is_forced_and_chooses_the_mechanisms(monkeypatch):
    monkeypatch.setenv("CLAUDEX_PLATFORM", "darwin")
    assert platform.system() is platform.System.DARWIN and not platform.uses_proc()
    assert platform.service_manager() is platform.ServiceManager.LAUNCHD and platform.has_keychain()
    monkeypatch.setenv("CLAUDEX_PLATFORM", "linux")
    assert platform.uses_proc() and platform.service_manager() is platform.ServiceManager.SYSTEMD
    monkeypatch.setenv("CLAUDEX_PLATFORM", "plan9")  # an unknown word: this machine's own system
    own = platform.system()
    monkeypatch.delenv("CLAUDEX_PLATFORM")
    assert own is platform.system()


def test_a_stand_in_lsof_answers_when_psutil_is_refused(darwin, monkeypatch, tmp_path):
    fake = executable(tmp_path / "bin" / "lsof", "#!/bin/sh\ncat <<'EOF'\n" + LSOF_SAMPLE + "EOF\n")
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    table = sockets.listen_table()
    assert table is not None and table.on(8327) == [("127.0.0.1", 123)] and table.on(8081) == [("::1", 456)]


def test_without_lsof_the_table_is_not_visible(darwin, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sockets.os.path, "exists", lambda p: False if p.endswith("lsof") else os.path.lexists(p))
    assert sockets.listen_table() is None


@pytest.mark.skipif(not any(os.access(os.path.join(d, "lsof"), os.X_OK) for d in os.environ["PATH"].split(os.pathsep)),
                    reason="lsof is not installed here")
def test_our_proxy_and_a_stranger_are_told_apart_through_the_real_lsof(darwin, tmp_path, spawned):
    gen = made_home(tmp_path, free_port())
    home = next(gen)
    try:
        paths = paths_of(home)
        port = int((home / "config.yaml").read_text().split("port:")[1].split()[0])
        assert control.start(paths, timeout=10).ok
        owner = identify(paths, port)
        assert owner.state is OwnerState.OURS, owner
        control.stop(paths)
        stranger = free_port()
        spawned.http_server(stranger, tmp_path)
        foreign = identify(paths, stranger)
        assert foreign.state is OwnerState.FOREIGN and foreign.process is not None and foreign.process.pid > 0
    finally:
        for _ in gen:
            pass
