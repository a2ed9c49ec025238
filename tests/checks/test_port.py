"""port.owner: who listens on the gateway port, judged from real sockets and real processes.

Each case builds the situation for real (the fake CLIProxyAPI started by the service, a plain
python http.server as a foreign program, a second home, a stale pidfile) on a random port, runs the
check through a Context, and asserts status, summary, reference and fix. The check must not write.
"""

from __future__ import annotations

import json
import subprocess

import psutil
import pytest

from claudex_doctor.checks import StackContext
from claudex_doctor.checks.port import listener, port_owner
from claudex_doctor.core.model import Safety, Status
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.service import control as service
from claudex_doctor.service import sockets
from tests.service_home import (
    kill_home,
    leftover_children,
    made_home,
    make_home,
    paths_of,
    wait_listening,
    write_config,
)

REF = "references/service.md#"


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    yield
    left = leftover_children()
    assert not left, f"processes outlived the port.owner tests: {left}"


@pytest.fixture
def home(tmp_path, port):
    yield from made_home(tmp_path, port)


def run_check(home):
    ctx = StackContext(paths_of(home))
    return port_owner.run(ctx), ctx


# What the running proxy itself writes, whenever it likes (its output goes to the log): not the check's doing.
PROXY_WRITES = ("cli-proxy-api.log", "logs")


def snapshot(root):
    """Bytes and times of the home's files, except what the running proxy writes on its own schedule."""
    return {str(p): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.relative_to(root).parts[0] not in PROXY_WRITES}


def test_nothing_listening_fails_with_start_as_a_safe_fix(home, port):
    outcome, _ = run_check(home)
    assert outcome.status is Status.FAIL
    assert outcome.summary == f"nothing listens on port {port}"
    assert outcome.reference == REF + "nothing-listening"
    assert outcome.fix.primitive == "start" and outcome.fix.safety is Safety.SAFE
    assert outcome.evidence["state"] == "none" and outcome.evidence["port"] == port


def test_nothing_to_start_points_at_bootstrap(home):
    (home / "run.sh").unlink()
    outcome, _ = run_check(home)
    assert outcome.status is Status.FAIL and outcome.fix.primitive == "bootstrap"
    assert outcome.fix.safety is Safety.CONFIRM


def test_missing_home_does_not_crash(tmp_path):
    # Without a config the port is the default 8327: on Linux only the socket table is read (nothing
    # connects to it), and whatever this machine runs there, the verdict is a failure with a page and a fix.
    outcome = port_owner.run(StackContext(paths_of(tmp_path / "nowhere")))
    assert outcome.status is Status.FAIL and outcome.fix is not None
    assert outcome.reference.startswith(REF) and outcome.evidence["port"] == 8327
    if outcome.evidence["state"] == "none":
        assert outcome.fix.primitive == "bootstrap"


def test_our_proxy_passes_and_is_memoised(home, port):
    started = service.start(paths_of(home), timeout=10)
    before = snapshot(home)
    outcome, ctx = run_check(home)
    assert outcome.status is Status.PASS, outcome
    assert f"pid {started.details['pid']}" in outcome.summary and f"127.0.0.1:{port}" in outcome.summary
    ev = outcome.evidence
    assert ev["pid"] == started.details["pid"] and ev["pidfile"] == "alive" and ev["addresses"] == ["127.0.0.1"]
    assert ev["name"] and ev["exe"] and "gateway.py" in ev["cmdline"] and ev["user"]
    assert listener(ctx) is listener(ctx)  # computed once per run, shared with other checks
    assert snapshot(home) == before, "the check wrote something"


def test_stale_pidfile_with_nothing_listening(home, port):
    dead = subprocess.Popen(["true"])
    ctime = psutil.Process(dead.pid).create_time()
    dead.wait()
    pidfile = home / "cli-proxy-api.pid"
    pidfile.write_text(json.dumps({"pid": dead.pid, "create_time": ctime, "home": str(home), "port": port}))
    before = pidfile.read_bytes()
    outcome, _ = run_check(home)
    assert outcome.status is Status.FAIL and "(stale pidfile)" in outcome.summary
    assert any("stale" in d and "start` replaces it" in d for d in outcome.details)
    assert outcome.fix.primitive == "start" and outcome.fix.safety is Safety.SAFE
    assert pidfile.read_bytes() == before


def test_foreign_process_fails_and_is_named(home, port, spawned, tmp_path):
    server = spawned.http_server(port, cwd=tmp_path)
    outcome, _ = run_check(home)
    assert outcome.status is Status.FAIL
    assert outcome.summary == f"port {port} is held by {psutil.Process(server.pid).name()} (pid {server.pid}), " \
                              "not by this home's proxy"
    assert outcome.reference == REF + "port-owned-by-another-process"
    assert outcome.fix.safety is Safety.MANUAL and outcome.fix.command == f"kill {server.pid}"
    assert "http.server" in outcome.evidence["cmdline"]
    assert any("env" in d and "config.yaml" in d for d in outcome.details)
    assert server.poll() is None


def test_another_homes_proxy_fails_and_names_the_home(tmp_path, port):
    other = make_home(tmp_path / "old", port, name="cliproxyapi-codex-test")
    mine = make_home(tmp_path / "new", port)
    try:
        assert service.start(paths_of(other), timeout=10).ok
        outcome, _ = run_check(mine)
        assert outcome.status is Status.FAIL
        assert "another home" in outcome.summary and "cliproxyapi-codex-test" in outcome.summary
        assert outcome.reference == REF + "our-proxy-from-another-home"
        assert outcome.fix.safety is Safety.MANUAL and "--home" in outcome.fix.command
        assert outcome.fix.command.endswith(" stop")
        assert outcome.evidence["other_home"].endswith("cliproxyapi-codex-test")
    finally:
        service.stop(paths_of(other))
        kill_home(other)


def test_bound_to_all_interfaces_fails_even_when_ours(tmp_path, port):
    home = make_home(tmp_path, port, host="0.0.0.0")
    try:
        assert service.start(paths_of(home), timeout=10).ok
        outcome, _ = run_check(home)
        assert outcome.status is Status.FAIL
        assert "0.0.0.0" in outcome.summary and "not to loopback" in outcome.summary
        assert outcome.reference == REF + "bound-to-all-interfaces"
        assert outcome.fix.safety is Safety.MANUAL and "host=127.0.0.1" in outcome.fix.command

        write_config(home, port, host="127.0.0.1")  # config fixed, the running proxy is not: restart fixes it
        outcome, _ = run_check(home)
        assert outcome.status is Status.FAIL and outcome.fix.primitive == "restart"
        assert outcome.fix.safety is Safety.SAFE
        assert service.restart(paths_of(home), timeout=10).ok
        outcome, _ = run_check(home)
        assert outcome.status is Status.PASS, outcome
    finally:
        service.stop(paths_of(home))
        kill_home(home)


def test_proxy_started_outside_the_doctor_warns(home, port, spawned):
    proc = spawned.popen([home / "run.sh"], cwd=home)
    wait_listening(port)
    outcome, _ = run_check(home)
    assert outcome.status is Status.WARN
    assert f"pid {proc.pid}" in outcome.summary and "did not start it" in outcome.summary
    assert outcome.reference == REF + "proxy-running-without-a-pidfile"
    assert outcome.fix.safety is Safety.MANUAL and outcome.fix.command == f"kill {proc.pid} && claudex-doctor start"

    # With a stale pidfile beside it, the warning links the stale-pidfile section.
    (home / "cli-proxy-api.pid").write_text("not json at all")
    outcome, _ = run_check(home)
    assert outcome.status is Status.WARN and outcome.reference == REF + "stale-pidfile"
    assert outcome.evidence["pidfile"] == "invalid"


def test_our_process_alive_but_not_listening(tmp_path, port):
    home = make_home(tmp_path, port, run_sh="#!/bin/sh\nsleep 60\n")
    try:
        result = service.start(paths_of(home), timeout=0.5)
        assert not result.ok
        outcome, _ = run_check(home)
        assert outcome.status is Status.FAIL and "nothing listens" in outcome.summary
        assert outcome.reference == REF + "proxy-running-but-not-listening"
        assert outcome.fix.primitive == "restart" and outcome.fix.safety is Safety.SAFE
    finally:
        service.stop(paths_of(home), timeout=2)
        kill_home(home)


@pytest.mark.parametrize("content", [b"\x00\x01\x02", b"{\"pid\": -1, \"create_time\": 0}", b"99999999\n", b"{"])
def test_garbage_pidfile_is_not_a_crash(home, content):
    (home / "cli-proxy-api.pid").write_bytes(content)
    outcome, _ = run_check(home)
    assert outcome.status is Status.FAIL and "(stale pidfile)" in outcome.summary
    assert (home / "cli-proxy-api.pid").read_bytes() == content


def test_secrets_in_the_command_line_are_redacted(home, port, spawned, tmp_path):
    import sys
    secret = "sk-proj-CANARYcanary0123456789abcdef"
    script = tmp_path / "listen.py"
    script.write_text(
        "import socket, sys, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)\n")
    spawned.popen([sys.executable, script, str(port), "--api-key", secret], cwd=tmp_path)
    wait_listening(port)
    outcome, _ = run_check(home)
    text = json.dumps({"s": outcome.summary, "d": outcome.details, "e": dict(outcome.evidence),
                       "f": outcome.fix.to_dict()})
    assert outcome.status is Status.FAIL and secret not in text and "listen.py" in text


# -- a socket table this user cannot fully see -------------------------------------------
# As root we cannot be another user here, so the table is made to answer as it does for one. On
# Linux the doctor reads the socket table itself (netlink, else /proc/net/tcp*) and cannot read
# other users' descriptors: their sockets come without a pid. Where the kernel offers neither it
# asks psutil, which on Linux also gives no pid, and on macOS refuses the whole table
# (AccessDenied). Each case runs on both paths.

@pytest.fixture(params=["proc", "psutil"])
def table_path(request, monkeypatch):
    if request.param == "psutil":
        monkeypatch.setattr(sockets, "read_listening", lambda: None)
    return request.param


def _hide_pids(monkeypatch, path):
    if path == "proc":
        def unreadable(pid):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(sockets, "socket_inodes", unreadable)
        return
    real = psutil.net_connections

    def without_pids(kind="inet"):
        return [c._replace(pid=None) for c in real(kind)]
    monkeypatch.setattr(psutil, "net_connections", without_pids)


def _deny_table(monkeypatch):
    def denied(kind="inet"):
        raise psutil.AccessDenied()
    monkeypatch.setattr(sockets, "read_listening", lambda: None)
    monkeypatch.setattr(psutil, "net_connections", denied)
    monkeypatch.setattr(sockets, "read_lsof", lambda: None)  # and no lsof to fall back on


def test_listener_of_an_invisible_owner_is_unknown(home, port, spawned, tmp_path, monkeypatch, table_path):
    spawned.http_server(port, cwd=tmp_path)
    _hide_pids(monkeypatch, table_path)
    outcome, _ = run_check(home)
    assert outcome.status is Status.FAIL and "cannot see" in outcome.summary
    assert outcome.reference == REF + "port-owner-not-visible"
    assert outcome.evidence["visibility"] == "partial" and outcome.fix.safety is Safety.MANUAL
    with pytest.raises(PrimitiveError, match="cannot see"):
        service.start(paths_of(home), timeout=2)


def test_without_a_socket_table_our_own_proxy_is_still_recognised(home, port, monkeypatch):
    assert service.start(paths_of(home), timeout=10).ok
    _deny_table(monkeypatch)
    outcome, _ = run_check(home)
    assert outcome.status is Status.PASS and outcome.evidence["visibility"] == "connect"
    assert service.stop(paths_of(home)).ok


def test_without_a_socket_table_a_foreign_listener_is_found_by_connecting(home, port, spawned, tmp_path, monkeypatch):
    server = spawned.http_server(port, cwd=tmp_path)
    _deny_table(monkeypatch)
    outcome, _ = run_check(home)
    assert outcome.status is Status.FAIL and outcome.reference == REF + "port-owner-not-visible"
    with pytest.raises(PrimitiveError):
        service.stop(paths_of(home))
    assert server.poll() is None
