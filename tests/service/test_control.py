"""The proxy service: start/stop/restart/status against the fake CLIProxyAPI in throwaway homes.

Every proxy runs on a random loopback port and is stopped by the test or its fixture; the module
fails if a proxy outlives it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest

from claudex_doctor.base import journal
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.primitives import apply
from claudex_doctor.service import control as service
from claudex_doctor.service.owner import identify, read_pidfile
from claudex_doctor.service.proxylog import exit_reason
from tests.conftest import free_port, run_cli
from tests.service_home import (
    KEY,
    kill_home,
    leftover_children,
    made_home,
    make_home,
    paths_of,
    proxies_of,
    wait_listening,
    write_config,
)


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    yield
    left = leftover_children()
    for child in psutil.Process().children(recursive=True):
        if any(str(child.pid) == entry.split(":")[0] for entry in left):
            child.kill()
    assert not left, f"processes outlived the service tests: {left}"


@pytest.fixture
def home(tmp_path):
    yield from made_home(tmp_path, free_port())


def _port(home) -> int:
    text = (home / "config.yaml").read_text()
    return int(text.split("port:")[1].split()[0])


def _dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _pidfile(home) -> dict:
    return json.loads((home / "cli-proxy-api.pid").read_text())


# -- happy path ---------------------------------------------------------------------

def test_start_status_stop_restart(home):
    paths = paths_of(home)
    result = service.start(paths, timeout=10)
    assert result.ok, result
    assert result.message.startswith("started: pid ")
    record = _pidfile(home)
    assert set(record) >= {"pid", "create_time", "cmdline", "home", "port", "started_at"}
    assert record["port"] == _port(home) and record["home"] == str(home)
    assert oct((home / "cli-proxy-api.pid").stat().st_mode & 0o777) == "0o600"
    proc = psutil.Process(record["pid"])
    assert proc.create_time() == pytest.approx(record["create_time"], abs=0.05)
    assert service.health("127.0.0.1", _port(home))["ok"]
    assert "===== " in (home / "cli-proxy-api.log").read_text() and "CLIProxyAPI Version: fake-1.0" in \
        (home / "cli-proxy-api.log").read_text()

    status = service.status(paths)
    assert status["running"] and status["managed"] and status["pid"] == record["pid"]
    assert status["health"]["ok"] and status["uptime_seconds"] is not None
    assert status["mapping"] == {"opus": "gpt-5.5(high)"}
    assert KEY not in json.dumps(status)
    assert status["env"]["ANTHROPIC_AUTH_TOKEN"].startswith("sha256:")

    restarted = service.restart(paths, timeout=10)
    assert restarted.ok, restarted
    new = _pidfile(home)
    assert new["pid"] != record["pid"] and _dead(record["pid"])

    stopped = service.stop(paths)
    assert stopped.ok and stopped.message.startswith("stopped: pid")
    assert not (home / "cli-proxy-api.pid").exists()
    assert not proxies_of(home)
    assert not service.health("127.0.0.1", _port(home))["ok"]
    assert service.stop(paths).message == "not running"

    entries = journal.read(paths)
    assert [e["primitive"] for e in entries] == ["start", "restart", "stop"]
    assert all(e["status"] == "applied" and e["changes"] for e in entries)


def test_start_when_already_running_is_a_no_op(home):
    paths = paths_of(home)
    first = service.start(paths, timeout=10)
    again = service.start(paths, timeout=10)
    assert again.ok and again.message.startswith("already running")
    assert again.details["pid"] == first.details["pid"] == _pidfile(home)["pid"]
    assert again.changes == []
    assert len(proxies_of(home)) == 1
    assert [e["primitive"] for e in journal.read(paths)] == ["start"]


def test_dry_run_changes_nothing(home):
    paths = paths_of(home)
    before = sorted(p.name for p in home.iterdir())
    planned = service.start(paths, dry_run=True)
    assert planned.ok and planned.message.startswith("would start")
    assert any("launch" in c for c in planned.changes) and any("pidfile" in c or ".pid" in c for c in planned.changes)
    assert service.stop(paths, dry_run=True).message == "not running"
    assert service.restart(paths, dry_run=True).ok
    assert sorted(p.name for p in home.iterdir()) == before
    assert not proxies_of(home)

    service.start(paths, timeout=10)
    pid = _pidfile(home)["pid"]
    plan = service.stop(paths, dry_run=True)
    assert plan.message == f"would stop the proxy (pid {pid})" and any("SIGTERM" in c for c in plan.changes)
    assert psutil.pid_exists(pid) and _pidfile(home)["pid"] == pid


def test_primitive_registry_reaches_the_service(home):
    paths = paths_of(home)
    assert apply("start", paths, timeout=10).ok
    assert apply("stop", paths).ok


# -- concurrency ----------------------------------------------------------------------

def test_concurrent_starts_in_threads_yield_one_proxy(home):
    paths = paths_of(home)
    results, errors = [], []

    def go():
        try:
            results.append(service.start(paths, timeout=10))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(results) == 3 and all(r.ok for r in results), (results, errors)
    assert sum(r.message.startswith("started") for r in results) == 1
    pids = {r.details["pid"] for r in results}
    assert len(pids) == 1 and pids == {_pidfile(home)["pid"]}
    assert len(proxies_of(home)) == 1


def test_concurrent_starts_in_processes_yield_one_proxy(home):
    env = {"CLAUDEX_GATEWAY_HOME": str(home)}
    full = {**os.environ, **env}
    procs = [subprocess.Popen([sys.executable, "-m", "claudex_doctor", "start", "--json"], env=full,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    data = [json.loads(out) for out, _ in outs]
    assert sorted(d["message"].split(":")[0] for d in data) == ["already running", "started"]
    assert len({d["details"]["pid"] for d in data}) == 1
    assert len(proxies_of(home)) == 1


# -- refusing what is not ours -----------------------------------------------------------

def test_stop_and_start_refuse_a_foreign_listener(home, spawned, tmp_path):
    paths = paths_of(home)
    port = _port(home)
    server = spawned.http_server(port, cwd=tmp_path)
    with pytest.raises(service.Refused) as stop_err:
        service.stop(paths)
    message = str(stop_err.value)
    assert f"pid {server.pid}" in message and "python" in message
    assert stop_err.value.reference.endswith("#stop-refused-not-our-process")
    with pytest.raises(PrimitiveError) as start_err:
        service.start(paths, timeout=5)
    assert f"pid {server.pid}" in str(start_err.value) and "not this home's proxy" in str(start_err.value)
    with pytest.raises(PrimitiveError):
        service.restart(paths, timeout=5)
    time.sleep(0.2)
    assert server.poll() is None, "the foreign listener was touched"
    assert psutil.Process(server.pid).status() != psutil.STATUS_ZOMBIE
    assert not (home / "cli-proxy-api.pid").exists()


def test_another_homes_proxy_is_named_and_left_alone(tmp_path):
    port = free_port()
    other = make_home(tmp_path / "a", port, name="cliproxyapi-codex-test")
    mine = make_home(tmp_path / "b", port)
    try:
        assert service.start(paths_of(other), timeout=10).ok
        owner = identify(paths_of(mine), port)
        assert owner.state == "other_home" and owner.other_home == other.resolve()
        with pytest.raises(PrimitiveError, match="another home"):
            service.stop(paths_of(mine))
        with pytest.raises(PrimitiveError, match="cliproxyapi-codex-test"):
            service.start(paths_of(mine), timeout=5)
        assert len(proxies_of(other)) == 1
    finally:
        service.stop(paths_of(other))
        kill_home(other)


def test_a_proxy_started_outside_the_doctor_is_not_stopped(home, spawned):
    paths = paths_of(home)
    port = _port(home)
    proc = spawned.popen([home / "run.sh"], cwd=home)
    wait_listening(port)
    owner = identify(paths, port)
    assert owner.state == "unrecorded" and owner.process.pid == proc.pid
    with pytest.raises(PrimitiveError, match=f"kill {proc.pid}"):
        service.stop(paths)
    assert proc.poll() is None
    started = service.start(paths, timeout=5)
    assert started.ok and started.details.get("unrecorded") and not (home / "cli-proxy-api.pid").exists()


# -- stale pidfiles ------------------------------------------------------------------

def _write_record(home, pid: int, create_time: float) -> None:
    (home / "cli-proxy-api.pid").write_text(json.dumps({
        "pid": pid, "create_time": create_time, "cmdline": ["run.sh"], "home": str(home), "port": _port(home),
        "started_at": "2026-01-01T00:00:00+00:00", "pgid": pid}))


def test_stale_pidfile_of_a_dead_process(home):
    paths = paths_of(home)
    dead = subprocess.Popen(["true"])
    ctime = psutil.Process(dead.pid).create_time()
    dead.wait()
    _write_record(home, dead.pid, ctime)
    owner = identify(paths, _port(home))
    assert owner.state == "none" and owner.pidfile.state == "dead" and owner.pidfile.stale
    stopped = service.stop(paths)
    assert stopped.ok and "stale" in stopped.message and not (home / "cli-proxy-api.pid").exists()

    _write_record(home, dead.pid, ctime)
    started = service.start(paths, timeout=10)
    assert started.ok and any("stale pidfile" in c for c in started.changes)
    assert _pidfile(home)["pid"] == started.details["pid"] != dead.pid


def test_pid_reused_by_another_program_is_never_signalled(home, spawned):
    paths = paths_of(home)
    sleeper = spawned.popen(["sleep", "30"], cwd=home)  # same pid, same home even: only the start time differs
    real = psutil.Process(sleeper.pid).create_time()
    _write_record(home, sleeper.pid, real - 1000)
    owner = identify(paths, _port(home))
    assert owner.pidfile.state == "reused" and owner.running is None
    assert "another program" in owner.pidfile.message
    assert service.stop(paths).ok
    assert sleeper.poll() is None, "stop signalled a process whose start time did not match"

    _write_record(home, sleeper.pid, real - 1000)
    started = service.start(paths, timeout=10)
    assert started.ok and _pidfile(home)["pid"] != sleeper.pid
    assert service.stop(paths).ok
    assert sleeper.poll() is None


def test_a_matching_pid_that_does_not_run_from_this_home_is_not_ours(home, spawned, tmp_path):
    paths = paths_of(home)
    elsewhere = spawned.popen(["sleep", "30"], cwd=tmp_path)
    _write_record(home, elsewhere.pid, psutil.Process(elsewhere.pid).create_time())
    owner = identify(paths, _port(home))
    assert owner.running is None and owner.pidfile.state == "reused"
    service.stop(paths)
    assert elsewhere.poll() is None


@pytest.mark.parametrize("content, state", [
    (b"", "invalid"), (b"{\"pid\": 12", "invalid"), (b"\x00\xff\xfe garbage", "invalid"), (b"[1, 2]", "invalid"),
    (b"{\"pid\": \"12\", \"create_time\": 1.0}", "invalid"), (b"{\"pid\": true, \"create_time\": 1.0}", "invalid"),
    (b"4242\n", "legacy"),
])
def test_bad_pidfiles_are_named_not_raised(home, content, state):
    (home / "cli-proxy-api.pid").write_bytes(content)
    record = read_pidfile(home / "cli-proxy-api.pid")
    assert record.state == state and record.message
    owner = identify(paths_of(home), _port(home))
    assert owner.running is None and owner.pidfile.stale
    assert (home / "cli-proxy-api.pid").read_bytes() == content  # identifying writes nothing


# -- failures at start -------------------------------------------------------------------

def test_proxy_exiting_early_reports_the_reason_from_its_log(home):
    paths = paths_of(home)
    port = _port(home)
    # Bound but not listening: invisible as a listener, yet the proxy's bind fails (EADDRINUSE).
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", port))
    try:
        result = service.start(paths, timeout=10)
    finally:
        blocker.close()
    assert not result.ok
    assert "exited at start" in result.message and "address already in use" in result.message
    assert f"port {port}" in result.details["reason"]
    assert result.details["exit_code"] == 0  # the real binary exits 0 too: exit status proves nothing
    assert result.details["reference"].endswith("#proxy-exited-at-start")
    assert any("address already in use" in line for line in result.details["log_tail"])
    assert not (home / "cli-proxy-api.pid").exists()
    assert journal.read(paths)[-1]["status"] == "failed"


def test_a_launcher_that_cannot_run_the_binary_is_reported(tmp_path):
    home = make_home(tmp_path, free_port(), run_sh='#!/bin/sh\ncd "$(dirname "$0")" || exit 1\nexec ./nope -config config.yaml\n')
    result = service.start(paths_of(home), timeout=10)
    assert not result.ok and "not found" in result.details["reason"]


def test_a_proxy_that_never_answers_times_out_and_stop_ends_its_whole_group(tmp_path):
    home = make_home(tmp_path, free_port(), run_sh="#!/bin/sh\nsleep 60\n")  # no exec: sh waits on a child
    paths = paths_of(home)
    try:
        result = service.start(paths, timeout=0.8)
        assert not result.ok and "did not answer within" in result.message
        assert result.details["reference"].endswith("#proxy-did-not-become-healthy")
        pid = _pidfile(home)["pid"]
        children = psutil.Process(pid).children(recursive=True)
        assert children, "the launcher's child should be running"
        stopped = service.stop(paths, timeout=3)
        assert stopped.ok
        time.sleep(0.1)
        assert not proxies_of(home), "stop left a member of the process group behind"
    finally:
        kill_home(home)


def test_stop_kills_after_the_grace_period(tmp_path):
    home = make_home(tmp_path, free_port(), run_sh="#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.1; done\n")
    paths = paths_of(home)
    try:
        service.start(paths, timeout=0.5)
        began = time.monotonic()
        stopped = service.stop(paths, timeout=0.5)
        assert stopped.ok and stopped.details["outcome"] == "killed" and "killed" in stopped.message
        assert time.monotonic() - began < 15  # the process ignores SIGTERM forever: only the kill ends it
        assert not proxies_of(home)
    finally:
        kill_home(home)


@pytest.mark.parametrize("breakage, words", [
    ("no_home", "bootstrap"), ("no_binary", "bootstrap"), ("not_executable", "not executable"),
    ("no_launcher", "run.sh"), ("bad_config", "config.yaml"),
])
def test_preconditions_name_the_missing_piece(tmp_path, breakage, words):
    home = make_home(tmp_path, free_port())
    if breakage == "no_home":
        home = tmp_path / "nowhere"
    elif breakage == "no_binary":
        (home / "cli-proxy-api").unlink()
    elif breakage == "not_executable":
        (home / "cli-proxy-api").chmod(0o644)
    elif breakage == "no_launcher":
        (home / "run.sh").unlink()
    else:
        (home / "config.yaml").write_text("host: [unclosed\n")
    with pytest.raises(PrimitiveError, match=words):
        service.start(paths_of(home))
    assert not (home / "cli-proxy-api.pid").exists()


def test_stop_without_a_home_is_not_running(tmp_path):
    assert service.stop(paths_of(tmp_path / "nowhere")).message.startswith("not running")


# -- log reasons (lines as CLIProxyAPI v7.2.140 writes them) -----------------------------

@pytest.mark.parametrize("line, expected", [
    ("[2026-11-24 02:48:05] [--------] [error] [run.go:66] proxy service exited with error: failed to start HTTP "
     "server: listen tcp 127.0.0.1:8327: bind: address already in use", "port 8327 is already in use"),
    ("[2026-11-24 02:48:16] [--------] [error] [main.go:531] failed to load config: failed to parse config file: "
     "yaml: line 1: did not find expected ',' or ']'", "config.yaml was rejected: failed to parse config file"),
    ("[2026-11-24 02:48:16] [--------] [error] [main.go:531] failed to load config: failed to read config file: "
     "open config.yaml: no such file or directory", "failed to read config file: open config.yaml"),
    ("./run.sh: 3: exec: ./cli-proxy-api: Permission denied", "permission denied"),
    ("something odd happened", "its last words: something odd happened"),
])
def test_exit_reasons(line, expected):
    lines = ["CLIProxyAPI Version: v7.2.140, Commit: a7e3596, BuiltAt: unknown",
             "API server started successfully on: 127.0.0.1:8327", line]
    if expected.startswith("its last words"):
        lines = [line]
    assert expected in exit_reason(lines, 8327)


# -- the command line ------------------------------------------------------------------

def test_cli_start_status_stop(home):
    env = {"CLAUDEX_GATEWAY_HOME": str(home)}
    started = run_cli("start", "--json", env=env)
    assert started.returncode == 0, started.stderr
    data = json.loads(started.stdout)
    assert data["ok"] and data["primitive"] == "start" and data["details"]["pid"]
    status = run_cli("status", env=env)
    assert status.returncode == 0 and "proxy: running" in status.stdout and "healthy" in status.stdout
    assert KEY not in status.stdout and "sha256:" in status.stdout
    as_json = json.loads(run_cli("status", "--json", env=env).stdout)
    assert as_json["healthy"] and as_json["owner"]["state"] == "ours"
    dry = run_cli("stop", "--dry-run", env=env)
    assert dry.returncode == 0 and "would stop" in dry.stdout and proxies_of(home)
    stopped = run_cli("stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    after = run_cli("status", env=env)
    assert after.returncode == 1 and "not running" in after.stdout and "claudex-doctor start" in after.stdout
    for out in (started, status, stopped, after):
        assert KEY not in out.stdout + out.stderr and "Traceback" not in out.stderr


def test_cli_refusal_names_the_process_and_exits_1(home, spawned, tmp_path):
    server = spawned.http_server(_port(home), cwd=tmp_path)
    env = {"CLAUDEX_GATEWAY_HOME": str(home)}
    proc = run_cli("stop", env=env)
    assert proc.returncode == 1 and f"pid {server.pid}" in proc.stderr
    assert "references/service.md#stop-refused-not-our-process" in proc.stderr
    as_json = json.loads(run_cli("start", "--json", env=env).stdout)
    assert as_json["refused"] and f"pid {server.pid}" in as_json["message"]
    assert run_cli("start", "--timeout", "0", env=env).returncode == 2
    status = run_cli("status", env=env)
    assert status.returncode == 1 and "held by another program" in status.stdout
    assert server.poll() is None


def test_config_change_then_restart_moves_the_port(home):
    paths = paths_of(home)
    assert service.start(paths, timeout=10).ok
    new_port = free_port()
    write_config(home, new_port)
    owner = identify(paths, new_port)
    assert owner.state == "none" and owner.running is not None  # ours, on the old port
    result = service.restart(paths, timeout=10)
    assert result.ok and identify(paths, new_port).state == "ours"


# -- launchers of other shapes ---------------------------------------------------------------

def test_a_launcher_without_exec_is_still_ours_and_stopped_whole(tmp_path):
    home = make_home(tmp_path, free_port(), run_sh='#!/bin/sh\ncd "$(dirname "$0")" || exit 1\n'
                                                   './cli-proxy-api -config config.yaml\n')
    paths = paths_of(home)
    try:
        started = service.start(paths, timeout=10)
        assert started.ok, started
        owner = identify(paths, _port(home))
        launcher = _pidfile(home)["pid"]
        assert owner.state == "ours" and owner.process.pid != launcher  # the listener is sh's child
        assert service.stop(paths).ok
        time.sleep(0.1)
        assert not proxies_of(home)
    finally:
        kill_home(home)


def test_a_launcher_that_backgrounds_the_proxy_and_exits(tmp_path):
    home = make_home(tmp_path, free_port(), run_sh='#!/bin/sh\ncd "$(dirname "$0")" || exit 1\n'
                                                   './cli-proxy-api -config config.yaml &\nexit 0\n')
    paths = paths_of(home)
    try:
        started = service.start(paths, timeout=10)
        assert started.ok, started
        owner = identify(paths, _port(home))
        assert owner.state == "ours" and owner.pidfile.state == "alive"  # launcher gone, its group lives on
        assert service.start(paths, timeout=5).message.startswith("already running")
        assert service.stop(paths).ok
        time.sleep(0.1)
        assert not proxies_of(home)
    finally:
        kill_home(home)


def test_status_of_a_missing_home_points_at_bootstrap(tmp_path):
    proc = run_cli("status", env={"CLAUDEX_GATEWAY_HOME": str(tmp_path / "nowhere")})
    assert proc.returncode == 1 and "not running" in proc.stdout
    assert "MISSING" in proc.stdout and "next: claudex-doctor bootstrap" in proc.stdout
    assert not (tmp_path / "nowhere").exists()


def test_a_proxy_that_drips_its_headers_is_cut_off_at_the_health_timeout():
    """Each byte of the status line comes within a per-read timeout; only the whole exchange's deadline ends it."""
    from tests.fakes.trickle import serving

    with serving("drip-headers") as url:
        port = int(url.rsplit(":", 1)[1])
        started = time.monotonic()
        answer = service.health("127.0.0.1", port, timeout=0.5)
        took = time.monotonic() - started
    assert not answer["ok"] and "did not finish within 0.5s" in answer["error"]
    assert took < 1.3, took
