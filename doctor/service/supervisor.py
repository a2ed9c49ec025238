"""Keeping the proxy running across reboots: a systemd user unit (Linux) or a launchd agent (macOS).

CLIProxyAPI does not supervise itself (router-for-me/CLIProxyAPI#5786), and `claudex-doctor start` runs
it only until the next reboot. `service install` writes a user service for this home that runs the
home's run.sh, restarts it when it fails, and starts it at login:

    systemd  ${XDG_CONFIG_HOME:-~/.config}/systemd/user/claudex-gateway-<id>.service
    launchd  ~/Library/LaunchAgents/claudex-doctor.gateway.<id>.plist

`<id>` is the first 6 hex digits of the sha256 of the home's real path, so two homes do not share a
unit (6, not more: a longer name reads as a random token to the redaction layer). The service's environment carries the start marker (`CLAUDEX_DOCTOR_STARTED_HOME`) as `start`
gives it, and the proxy it runs is recognised as this home's by the supervisor itself: the systemd
unit in /proc/<pid>/cgroup, or the unit's (agent's) main pid as systemctl (launchctl) reports it.
Once installed, start, stop and restart go through the supervisor.

Where no user service manager answers (a container, WSL without systemd, a CI runner), `detect()`
says why; the fallback is the wrapper's opt-in auto-start (`CLAUDEX_AUTOSTART=1` in the env file).
Nothing here imports the rest of the service package: control and owner ask this module.
"""

from __future__ import annotations

import hashlib
import os
import plistlib
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claudex_doctor.base import platform
from claudex_doctor.base.paths import display
from claudex_doctor.base.platform import ServiceManager
from claudex_doctor.base.proc import run_bounded

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

# Set in the environment of every launcher `start` runs and of the service this module writes; it survives
# the launcher's exec of the proxy. With the start time, it proves a pid is the proxy this home started (a
# pidfile can be forged, an environment given at start cannot be added to a running process): service.owner.
STARTED_BY = "CLAUDEX_DOCTOR_STARTED_HOME"
QUERY_TIMEOUT = 5.0
ACTION_TIMEOUT = 30.0
LABEL_PREFIX = "claudex-doctor.gateway."
UNIT_PREFIX = "claudex-gateway-"


def home_id(paths: Paths) -> str:
    try:
        real = paths.home.resolve()
    except (OSError, RuntimeError):
        real = paths.home.absolute()
    return hashlib.sha256(str(real).encode("utf-8", "surrogateescape")).hexdigest()[:6]


def unit_name(paths: Paths) -> str:
    return f"{UNIT_PREFIX}{home_id(paths)}.service"


def label(paths: Paths) -> str:
    return f"{LABEL_PREFIX}{home_id(paths)}"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def unit_dir(paths: Paths, env: Mapping[str, str] | None = None) -> Path:
    xdg = _env(env).get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else paths.user_home / ".config"
    return base / "systemd" / "user"


def agents_dir(paths: Paths) -> Path:
    return paths.user_home / "Library" / "LaunchAgents"


def service_file(paths: Paths, manager: ServiceManager, env: Mapping[str, str] | None = None) -> Path | None:
    if manager is ServiceManager.SYSTEMD:
        return unit_dir(paths, env) / unit_name(paths)
    if manager is ServiceManager.LAUNCHD:
        return agents_dir(paths) / f"{label(paths)}.plist"
    return None


# -- the text ------------------------------------------------------------------------------------

def _systemd_escape(text: str) -> str:
    """A value for a unit file line: specifiers (%) doubled."""
    return text.replace("%", "%%")


def _systemd_word(text: str) -> str:
    """One word of ExecStart=/Environment=: quoted, with backslash and quote escaped, % doubled."""
    return '"' + _systemd_escape(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _home(paths: Paths) -> Path:
    return paths.home.absolute()


def render_unit(paths: Paths) -> str:
    """The systemd user unit for this home. Deterministic: the same home gives the same bytes."""
    home = _home(paths)
    log = home / paths.log_file.name
    return f"""# claudex gateway for {home}
# Written by `claudex-doctor service install`; `claudex-doctor service uninstall` removes it.
[Unit]
Description=claudex gateway (CLIProxyAPI) for {_systemd_escape(display(home, paths.user_home))}
StartLimitIntervalSec=60
StartLimitBurst=5

[Service]
Type=simple
WorkingDirectory={_systemd_escape(str(home))}
ExecStart={_systemd_word(str(home / paths.launcher.name))}
Environment={_systemd_word(f"{STARTED_BY}={home}")}
Restart=on-failure
RestartSec=2
TimeoutStopSec=10
StandardInput=null
StandardOutput=append:{_systemd_escape(str(log))}
StandardError=append:{_systemd_escape(str(log))}

[Install]
WantedBy=default.target
"""


def plist_data(paths: Paths) -> dict[str, Any]:
    home = _home(paths)
    log = str(home / paths.log_file.name)
    return {
        "Label": label(paths),
        "ProgramArguments": [str(home / paths.launcher.name)],
        "WorkingDirectory": str(home),
        "EnvironmentVariables": {STARTED_BY: str(home)},
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "StandardInPath": "/dev/null",
        "StandardOutPath": log,
        "StandardErrorPath": log,
        "ProcessType": "Background",
    }


def render_plist(paths: Paths) -> bytes:
    """The launchd agent for this home, as an XML property list."""
    return plistlib.dumps(plist_data(paths), fmt=plistlib.FMT_XML, sort_keys=True)


def render(paths: Paths, manager: ServiceManager) -> bytes:
    if manager is ServiceManager.SYSTEMD:
        return render_unit(paths).encode("utf-8")
    if manager is ServiceManager.LAUNCHD:
        return render_plist(paths)
    raise ValueError(f"no service text for {manager}")


# -- the manager ---------------------------------------------------------------------------------

@dataclass
class Detected:
    """Which user service manager this system has and whether it answers."""

    manager: ServiceManager
    available: bool
    reason: str
    tool: str | None = None  # systemctl / launchctl

    def to_dict(self) -> dict[str, Any]:
        return {"manager": self.manager, "available": self.available, "reason": self.reason}


def _which(name: str, env: Mapping[str, str] | None) -> str | None:
    return shutil.which(name, path=_env(env).get("PATH", os.defpath))


def gui_domain() -> str:
    return f"gui/{os.getuid()}"


# detect()'s answers in this process, by the environment asked with: a run asks several times (status,
# start, the checks), and each asks systemctl or launchctl. forget_detected() empties it (tests).
_DETECTED: dict[frozenset[tuple[str, str]], Detected] = {}
_DETECTED_LOCK = threading.Lock()


def forget_detected() -> None:
    with _DETECTED_LOCK:
        _DETECTED.clear()


def detect(env: Mapping[str, str] | None = None) -> Detected:
    """Is there a user service manager here that answers? Bounded; never raises. Asked once per process
    and environment."""
    env = _env(env)
    key = frozenset(env.items())
    with _DETECTED_LOCK:
        known = _DETECTED.get(key)
    if known is None:
        known = _detect(env)
        with _DETECTED_LOCK:
            _DETECTED[key] = known
    return known


def _detect(env: Mapping[str, str]) -> Detected:
    manager = platform.service_manager(env)
    if manager is ServiceManager.SYSTEMD:
        tool = _which("systemctl", env)
        if tool is None:
            return Detected(manager, False, "systemctl is not on PATH: this system does not run systemd")
        proc = run_bounded([tool, "--user", "show-environment"], QUERY_TIMEOUT, env=env)
        if proc.ok:
            return Detected(manager, True, "systemd user manager answers", tool)
        said = (proc.output.splitlines() or [proc.error or f"exit {proc.returncode}"])[0][:160]
        return Detected(manager, False, f"no systemd user manager answers (`systemctl --user`: {said}); "
                        "usual in containers, WSL without systemd and CI runners", tool)
    if manager is ServiceManager.LAUNCHD:
        tool = _which("launchctl", env) or ("/bin/launchctl" if os.path.exists("/bin/launchctl") else None)
        if tool is None:
            return Detected(manager, False, "launchctl is not on PATH")
        proc = run_bounded([tool, "print", gui_domain()], QUERY_TIMEOUT, env=env)
        if proc.ok:
            return Detected(manager, True, f"launchd answers for {gui_domain()}", tool)
        said = (proc.output.splitlines() or [proc.error or f"exit {proc.returncode}"])[0][:160]
        return Detected(manager, False, f"launchd has no {gui_domain()} session (`launchctl print`: {said}); "
                        "log in at the Mac's screen first", tool)
    return Detected(ServiceManager.NONE, False, "this system has no user service manager claudex-doctor knows "
                    "(systemd on Linux, launchd on macOS)")


@dataclass
class State:
    """What the supervisor says about this home's service."""

    manager: ServiceManager
    installed: bool  # the unit/agent file exists
    path: Path | None
    available: bool = False
    active: bool = False
    pid: int | None = None
    words: str = ""
    current: bool = False  # the file holds what this version would write
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, user_home: Path | None = None) -> dict[str, Any]:
        return {"manager": self.manager, "installed": self.installed, "available": self.available,
                "active": self.active, "pid": self.pid, "state": self.words, "current": self.current,
                "path": display(self.path, user_home) if self.path else None, **self.extra}


def installed_file(paths: Paths, env: Mapping[str, str] | None = None) -> tuple[ServiceManager, Path] | None:
    """The service file of this home when one is installed (a file read: no program runs)."""
    manager = platform.service_manager(env)
    path = service_file(paths, manager, env)
    if path is not None and os.path.lexists(path):
        return manager, path
    return None


def state(paths: Paths, env: Mapping[str, str] | None = None, detected: Detected | None = None) -> State:
    """The supervisor's view: installed? active? which pid? Runs systemctl/launchctl only when installed."""
    manager = platform.service_manager(env)
    path = service_file(paths, manager, env)
    installed = path is not None and os.path.lexists(path)
    result = State(manager, installed, path)
    if path is not None and installed:
        from claudex_doctor.base import files
        loaded = files.read_bytes(path, files.SMALL_CAP)
        result.current = loaded.ok and loaded.data == render(paths, manager)
    if not installed:
        result.words = "not installed"
        return result
    found = detected or detect(env)
    result.available = found.available
    if not found.available or found.tool is None:
        result.words = f"installed, but {found.reason}"
        return result
    if manager is ServiceManager.SYSTEMD:
        proc = run_bounded([found.tool, "--user", "show", "-p", "ActiveState,SubState,MainPID", unit_name(paths)],
                           QUERY_TIMEOUT, env=_env(env))
        values = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
        result.active = values.get("ActiveState") == "active"
        pid = values.get("MainPID", "0")
        result.pid = int(pid) if pid.isdigit() and int(pid) > 0 else None
        result.words = f"{values.get('ActiveState', 'unknown')} ({values.get('SubState', '?')})"
    else:
        proc = run_bounded([found.tool, "list", label(paths)], QUERY_TIMEOUT, env=_env(env))
        result.pid = parse_launchctl_pid(proc.stdout) if proc.ok else None
        result.active = result.pid is not None
        result.words = ("running" if result.active else "loaded, not running") if proc.ok else "not loaded"
    return result


def parse_launchctl_pid(text: str) -> int | None:
    """The `"PID" = 123;` line of `launchctl list <label>`."""
    for line in text.splitlines():
        words = line.replace('"', " ").replace(";", " ").replace("=", " ").split()
        if len(words) == 2 and words[0] == "PID" and words[1].isdigit():
            return int(words[1])
    return None


# -- is this process the supervised proxy? ---------------------------------------------------------

def cgroup_of(pid: int) -> str | None:
    """The cgroup path of `pid` (the unified hierarchy's `0::` line, else the systemd one); None off Linux."""
    if not platform.uses_proc():
        return None
    from claudex_doctor.service import sockets

    try:
        with open(f"{sockets.PROC}/{pid}/cgroup", encoding="utf-8", errors="replace") as handle:
            text = handle.read(65536)
    except OSError:
        return None
    return parse_cgroup(text)


def parse_cgroup(text: str) -> str | None:
    fallback = None
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            return path
        if controllers == "name=systemd":
            fallback = path
    return fallback


def unit_of_cgroup(path: str | None) -> str | None:
    """The `.service` unit a cgroup path belongs to (the innermost one)."""
    if not path:
        return None
    for part in reversed(path.split("/")):
        if part.endswith(".service"):
            return part
    return None


def supervises(paths: Paths, pid: int, env: Mapping[str, str] | None = None,
               parents: Callable[[], Iterable[int]] = tuple) -> str | None:
    """Does this home's installed supervisor run `pid` (or is `pid` the child of what it runs, `parents`
    giving the pids above it, nearest first)? The words naming how it is known, else None. Asks the
    supervisor only when this home has a service file."""
    found = installed_file(paths, env)
    if found is None:
        return None
    manager, _ = found
    if manager is ServiceManager.SYSTEMD and unit_of_cgroup(cgroup_of(pid)) == unit_name(paths):
        return f"systemd unit {unit_name(paths)} (its cgroup)"
    current = state(paths, env)
    if current.pid is None:
        return None
    if current.pid == pid or current.pid in parents():
        what = f"systemd unit {unit_name(paths)}" if manager is ServiceManager.SYSTEMD else f"launchd agent {label(paths)}"
        return f"{what} (main pid {current.pid})"
    return None


# -- acting through the supervisor ---------------------------------------------------------------

def command(paths: Paths, action: str, found: Detected) -> list[str]:
    """The supervisor command for start/stop/restart/enable/disable of this home's service."""
    assert found.tool is not None
    if found.manager is ServiceManager.SYSTEMD:
        words = {"enable": ["enable", "--now"], "disable": ["disable", "--now"]}.get(action, [action])
        return [found.tool, "--user", *words, unit_name(paths)]
    target = f"{gui_domain()}/{label(paths)}"
    plist = str(agents_dir(paths) / f"{label(paths)}.plist")
    return {
        "enable": [found.tool, "bootstrap", gui_domain(), plist],
        "disable": [found.tool, "bootout", target],
        "start": [found.tool, "kickstart", target],
        "restart": [found.tool, "kickstart", "-k", target],
        "stop": [found.tool, "kill", "SIGTERM", target],
    }[action]


def reload_command(found: Detected) -> list[str] | None:
    assert found.tool is not None
    return [found.tool, "--user", "daemon-reload"] if found.manager is ServiceManager.SYSTEMD else None


def run(argv: list[str], env: Mapping[str, str] | None = None, timeout: float = ACTION_TIMEOUT) -> tuple[bool, str]:
    """Run a supervisor command: (ok, its output's last lines)."""
    proc = run_bounded(argv, timeout, env=_env(env))
    said = " | ".join(line.strip() for line in proc.output.splitlines()[-3:] if line.strip())
    if proc.error:
        return False, f"{' '.join(argv[:3])}: {proc.error}"
    return proc.returncode == 0, said
