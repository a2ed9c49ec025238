"""Supervision: the systemd unit and launchd agent texts, the detection of a user service manager, and
`service install|uninstall|status` with start/stop/restart going through the supervisor.

There is no user systemd manager in a container and no launchd on Linux, so the service lifecycle runs
against stand-ins (tests/fakes/systemctl.py, tests/fakes/launchctl.py) that execute the unit/plist the
doctor wrote; the unit text itself is checked by the real `systemd-analyze verify` where it exists, the
plist by a plistlib round trip.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import stat
import subprocess

import psutil
import pytest

from claudex_doctor.base.platform import ServiceManager
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.primitives import apply
from claudex_doctor.service import control, supervisor
from claudex_doctor.service.owner import OwnerState, identify
from tests.conftest import free_port, run_cli
from tests.fakes import launchctl as fake_launchctl
from tests.fakes import systemctl as fake_systemctl
from tests.service_home import leftover_children, made_home, paths_of


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    yield
    assert not leftover_children(), leftover_children()


@pytest.fixture
def home(tmp_path):
    yield from made_home(tmp_path, free_port())


@pytest.fixture
def fake_systemd(tmp_path, monkeypatch):
    bin_dir = tmp_path / "fake-bin"
    fake_systemctl.install(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CLAUDEX_PLATFORM", "linux")
    state = tmp_path / "systemd-state"
    monkeypatch.setenv("FAKE_SYSTEMD_STATE", str(state))
    return state


@pytest.fixture
def fake_launchd(tmp_path, monkeypatch):
    bin_dir = tmp_path / "fake-bin"
    fake_launchctl.install(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CLAUDEX_PLATFORM", "darwin")
    state = tmp_path / "launchd-state"
    monkeypatch.setenv("FAKE_LAUNCHD_STATE", str(state))
    return state


def _port(home) -> int:
    return int((home / "config.yaml").read_text().split("port:")[1].split()[0])


# -- the texts -------------------------------------------------------------------------------------

def test_the_unit_runs_the_launcher_with_the_marker_and_restarts_on_failure(tmp_path):
    odd = tmp_path / "my home %i $USER"
    odd.mkdir()
    paths = paths_of(odd)
    text = supervisor.render_unit(paths)
    # % is a specifier everywhere; systemd expands $NAME in a command's arguments, never in the path of
    # the command itself (the unit's one word): systemd-analyze verify below finds the launcher so
    assert f'ExecStart="{tmp_path}/my home %%i $USER/run.sh"' in text
    assert f'Environment="CLAUDEX_DOCTOR_STARTED_HOME={tmp_path}/my home %%i $USER"' in text
    assert "Restart=on-failure" in text and "WantedBy=default.target" in text
    assert f"WorkingDirectory={tmp_path}/my home %%i $USER\n" in text
    assert supervisor.render_unit(paths) == text  # deterministic
    assert supervisor.unit_name(paths).startswith("claudex-gateway-") and supervisor.unit_name(paths).endswith(".service")
    assert supervisor.unit_name(paths) != supervisor.unit_name(paths_of(tmp_path / "another"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    home = tmp_path / "gateway home% $USER"
    home.mkdir()
    (home / "run.sh").write_text("#!/bin/sh\nexit 0\n")
    (home / "run.sh").chmod(0o755)
    paths = paths_of(home)
    unit = tmp_path / supervisor.unit_name(paths)
    unit.write_text(supervisor.render_unit(paths))
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    # the same tool rejects a unit whose launcher is missing: the check can fail
    (home / "run.sh").unlink()
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0


def test_the_plist_round_trips_and_keeps_the_agent_alive_on_failure(tmp_path):
    home = tmp_path / "gateway <&> home"
    home.mkdir()
    paths = paths_of(home)
    data = plistlib.loads(supervisor.render_plist(paths))
    assert data == supervisor.plist_data(paths)
    assert data["Label"] == supervisor.label(paths) and data["Label"].startswith("claudex-doctor.gateway.")
    assert data["ProgramArguments"] == [str(home / "run.sh")] and data["WorkingDirectory"] == str(home)
    assert data["EnvironmentVariables"] == {"CLAUDEX_DOCTOR_STARTED_HOME": str(home)}
    assert data["KeepAlive"] == {"SuccessfulExit": False} and data["RunAtLoad"] is True
    assert data["StandardOutPath"] == data["StandardErrorPath"] == str(home / "cli-proxy-api.log")


@pytest.mark.parametrize("text, unit", [
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/claudex-gateway-1a2b3c4d.service\n",
     "claudex-gateway-1a2b3c4d.service"),
    ("12:pids:/x\n1:name=systemd:/user.slice/user@1000.service/claudex-gateway-0f.service\n", "claudex-gateway-0f.service"),
    ("0::/\n", None),
    ("0::/user.slice/user-1000.slice/session-2.scope\n", None),
    ("garbage", None),
])
def test_the_unit_is_read_from_a_cgroup(text, unit):
    assert supervisor.unit_of_cgroup(supervisor.parse_cgroup(text)) == unit


def test_unit_and_label_names_survive_the_redaction_layer(tmp_path):
    from claudex_doctor.base.redact import redact_text

    paths = paths_of(tmp_path / "claudex-gateway")
    for name in (supervisor.unit_name(paths), supervisor.label(paths)):
        assert redact_text(f"unit {name} runs") == f"unit {name} runs"


def test_launchctl_list_gives_the_pid():
    assert supervisor.parse_launchctl_pid('{\n\t"PID" = 4242;\n\t"Label" = "x";\n}') == 4242
    assert supervisor.parse_launchctl_pid('{\n\t"LastExitStatus" = 0;\n}') is None


# -- detection -------------------------------------------------------------------------------------

def test_without_a_user_manager_detection_says_why(fake_systemd, monkeypatch):
    monkeypatch.setenv("FAKE_SYSTEMD_DOWN", "1")
    found = supervisor.detect()
    assert found.manager is ServiceManager.SYSTEMD and not found.available
    assert "No medium found" in found.reason and "containers" in found.reason


def test_detection_asks_the_manager_once_per_process_and_environment(fake_systemd, monkeypatch):
    def asked() -> int:
        log = fake_systemd / "calls.log"
        return log.read_text().count("show-environment") if log.exists() else 0

    first = supervisor.detect()
    assert first.available and supervisor.detect() == first and asked() == 1
    monkeypatch.setenv("FAKE_SYSTEMD_DOWN", "1")  # another environment: asked again
    assert not supervisor.detect().available and asked() == 2
    supervisor.forget_detected()
    supervisor.detect()
    assert asked() == 3


def test_without_systemctl_detection_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CLAUDEX_PLATFORM", "linux")
    found = supervisor.detect()
    assert not found.available and "systemctl is not on PATH" in found.reason


def test_service_install_without_a_manager_offers_the_wrapper_auto_start(home, fake_systemd, monkeypatch):
    monkeypatch.setenv("FAKE_SYSTEMD_DOWN", "1")
    paths = paths_of(home)
    with pytest.raises(PrimitiveError) as refused:
        apply("service-install", paths)
    assert "CLAUDEX_AUTOSTART=1" in str(refused.value)
    assert refused.value.reference == "references/service.md#no-user-service-manager"
    assert not (paths.user_home / ".config" / "systemd").exists()
    dry = run_cli("service", "install", "--dry-run", "--home", str(home))
    assert dry.returncode == 0, dry.stderr
    assert "would install the systemd service" in dry.stdout and "CLAUDEX_AUTOSTART=1" in dry.stdout
    assert "ExecStart=" in dry.stdout and "Restart=on-failure" in dry.stdout
    status = run_cli("service", "status", "--home", str(home))
    assert status.returncode == 1 and "set-env CLAUDEX_AUTOSTART=1" in status.stdout


# -- the lifecycle through systemd -----------------------------------------------------------------

def _calls(state) -> list[str]:
    return (state / "calls.log").read_text().splitlines()


def test_install_hands_a_running_proxy_to_systemd_and_the_service_commands_follow(home, fake_systemd):
    paths = paths_of(home)
    port = _port(home)
    launched = control.start(paths, timeout=10)
    assert launched.ok, launched
    first_pid = launched.details["pid"]

    installed = apply("service-install", paths, timeout=15)
    assert installed.ok, installed
    unit = paths.user_home / ".config" / "systemd" / "user" / supervisor.unit_name(paths)
    assert unit.read_text() == supervisor.render_unit(paths)
    assert not psutil.pid_exists(first_pid) or psutil.Process(first_pid).status() == psutil.STATUS_ZOMBIE
    assert any(c.startswith("--user enable --now claudex-gateway-") for c in _calls(fake_systemd))

    owner = identify(paths, port)
    assert owner.state is OwnerState.OURS and owner.supervisor and "systemd unit" in owner.supervisor
    assert "run by its systemd unit" in owner.reason
    assert not paths.pidfile.exists()  # the supervisor, not a pidfile, proves it
    supervised_pid = owner.process.pid

    status = run_cli("status", "--json", "--home", str(home))
    import json
    data = json.loads(status.stdout)
    assert status.returncode == 0 and data["supervisor"]["installed"] and data["supervisor"]["active"]
    assert data["owner"]["supervisor"] == owner.supervisor

    stopped = apply("stop", paths)
    assert stopped.ok and "through systemd" in stopped.message, stopped
    assert f"--user stop {supervisor.unit_name(paths)}" in _calls(fake_systemd)
    assert identify(paths, port).state is OwnerState.NONE

    started = apply("start", paths)
    assert started.ok and started.details.get("supervised_by"), started
    dry = apply("restart", paths, dry_run=True)
    assert dry.ok and dry.message == "would restart the proxy through systemd" and "--user restart" in dry.changes[0]
    restarted = apply("restart", paths)
    assert restarted.ok and restarted.details["pid"] != supervised_pid, restarted
    assert f"--user restart {supervisor.unit_name(paths)}" in _calls(fake_systemd)

    removed = apply("service-uninstall", paths)
    assert removed.ok and not unit.exists() and removed.backups, removed
    assert identify(paths, port).state is OwnerState.NONE
    again = apply("service-uninstall", paths)
    assert again.ok and again.message == "no service is installed for this home"


def test_an_installed_unit_does_not_make_a_stranger_ours(home, fake_systemd, spawned):
    """The supervisor vouches only for the pid it runs: another listener on the port stays foreign."""
    paths = paths_of(home)
    unit_dir = paths.user_home / ".config" / "systemd" / "user"
    unit_dir.mkdir(parents=True)
    (unit_dir / supervisor.unit_name(paths)).write_text(supervisor.render_unit(paths))
    port = _port(home)
    spawned.http_server(port, home.parent)
    owner = identify(paths, port)
    assert owner.state is OwnerState.FOREIGN and owner.supervisor is None
    (unit_dir / supervisor.unit_name(paths)).unlink()
    with pytest.raises(PrimitiveError, match="stop it first"):
        apply("service-install", paths)
    assert not (unit_dir / supervisor.unit_name(paths)).exists()


# -- the lifecycle through launchd (forced on Linux) ----------------------------------------------

def test_launchd_agent_install_start_stop_uninstall(home, fake_launchd):
    paths = paths_of(home)
    port = _port(home)
    installed = apply("service-install", paths, timeout=15)
    assert installed.ok, installed
    plist = paths.user_home / "Library" / "LaunchAgents" / f"{supervisor.label(paths)}.plist"
    assert plistlib.loads(plist.read_bytes()) == supervisor.plist_data(paths)
    owner = identify(paths, port)
    assert owner.state is OwnerState.OURS and "launchd agent" in (owner.supervisor or ""), owner
    calls = _calls(fake_launchd)
    assert any(c.startswith(f"bootstrap gui/{os.getuid()} ") for c in calls), calls

    stopped = apply("stop", paths)
    assert stopped.ok and "through launchd" in stopped.message
    assert f"kill SIGTERM gui/{os.getuid()}/{supervisor.label(paths)}" in _calls(fake_launchd)
    assert apply("start", paths).ok
    assert f"kickstart gui/{os.getuid()}/{supervisor.label(paths)}" in _calls(fake_launchd)
    removed = apply("service-uninstall", paths)
    assert removed.ok and not plist.exists()
    assert identify(paths, port).state is OwnerState.NONE


def test_uninstall_refuses_a_fifo_in_the_unit_files_place_without_blocking(home, fake_systemd):
    import threading

    paths = paths_of(home)
    unit_dir = paths.user_home / ".config" / "systemd" / "user"
    unit_dir.mkdir(parents=True)
    fifo = unit_dir / supervisor.unit_name(paths)
    os.mkfifo(fifo)
    outcome: list = []

    def run():
        try:
            outcome.append(apply("service-uninstall", paths))
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    if thread.is_alive():  # the safety net: release the reader so the test run ends; the assert below fails
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(30)
    assert outcome and isinstance(outcome[0], PrimitiveError), outcome
    assert "named pipe" in str(outcome[0]) or "not a regular file" in str(outcome[0]), outcome[0]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert not any(c.startswith("--user disable") for c in _calls(fake_systemd))  # nothing asked, nothing stopped


def test_uninstall_removes_a_linked_unit_file_as_the_link_it_is(home, fake_systemd, tmp_path):
    paths = paths_of(home)
    unit_dir = paths.user_home / ".config" / "systemd" / "user"
    unit_dir.mkdir(parents=True)
    os.symlink("/dev/zero", unit_dir / supervisor.unit_name(paths))
    removed = apply("service-uninstall", paths)
    assert removed.ok and not removed.backups, removed
    assert not os.path.lexists(unit_dir / supervisor.unit_name(paths))


def test_stop_through_the_supervisor_that_leaves_the_proxy_running_says_so(home, fake_systemd, monkeypatch):
    paths = paths_of(home)
    assert apply("service-install", paths, timeout=15).ok
    pid = identify(paths, _port(home)).process.pid
    real_run = supervisor.run

    def stop_that_stops_nothing(argv, *args, **kwargs):
        if "stop" in argv:
            return True, ""  # the manager answers, the process lives on
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(supervisor, "run", stop_that_stops_nothing)
    stopped = apply("stop", paths, timeout=1)
    assert not stopped.ok and "still running" in stopped.message and f"pid {pid}" in stopped.message, stopped
    assert stopped.details["still_running"] and psutil.pid_exists(pid)
    monkeypatch.setattr(supervisor, "run", real_run)
    assert apply("stop", paths).ok
    assert identify(paths, _port(home)).state is OwnerState.NONE
    assert apply("service-uninstall", paths).ok
