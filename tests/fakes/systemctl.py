"""A stand-in for `systemctl --user` where no user manager runs (containers, CI): enough of it for the
doctor's service install, start, stop, restart and status.

It reads the unit files the doctor writes (`$XDG_CONFIG_HOME/systemd/user`, else `~/.config/...`),
runs ExecStart= in WorkingDirectory= with Environment= in a session of its own, output appended to
StandardOutput=append:..., and keeps each unit's main pid in `$FAKE_SYSTEMD_STATE` (default
`~/.fake-systemd`). Every call is appended to `calls.log` there. `FAKE_SYSTEMD_DOWN=1` answers like a
machine without a user manager. Not emulated: Restart=on-failure, login-time starts, cgroups (the
doctor then proves ownership through `systemctl show -p MainPID`, as it would on any system).

    install(bin_dir) writes an executable `systemctl` into bin_dir that runs this file.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path


def install(bin_dir: Path) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "systemctl"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    shim.chmod(0o755)
    return shim


def _state() -> Path:
    state = Path(os.environ.get("FAKE_SYSTEMD_STATE") or Path(os.environ["HOME"]) / ".fake-systemd")
    state.mkdir(parents=True, exist_ok=True)
    return state


def _unit_dir() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path(os.environ["HOME"]) / ".config") / "systemd" / "user"


def _unquote(value: str) -> str:
    return value.replace("%%", "%")


def _parse(unit: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (_unit_dir() / unit).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values[key] = _unquote(value)
    return values


def _pid(unit: str) -> int | None:
    path = _state() / f"{unit}.pid"
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:  # a zombie we left behind counts as gone
        with open(f"/proc/{pid}/stat") as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                return None
    except OSError:
        pass
    return pid


def _start(unit: str) -> int:
    if _pid(unit):
        return 0
    if not (_unit_dir() / unit).is_file():
        print(f"Failed to start {unit}: Unit {unit} not found.", file=sys.stderr)
        return 5
    values = _parse(unit)
    argv = shlex.split(values["ExecStart"])
    env = dict(os.environ)
    for word in shlex.split(values.get("Environment", "")):
        key, _, value = word.partition("=")
        env[key] = value
    out = values.get("StandardOutput", "")
    log = open(out.split(":", 1)[1], "ab") if out.startswith("append:") else subprocess.DEVNULL
    proc = subprocess.Popen(argv, cwd=values.get("WorkingDirectory") or None, env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (_state() / f"{unit}.pid").write_text(str(proc.pid))
    return 0


def _stop(unit: str) -> int:
    pid = _pid(unit)
    if pid:
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while _pid(unit) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid(unit):
            os.killpg(pid, signal.SIGKILL)
    (_state() / f"{unit}.pid").unlink(missing_ok=True)
    return 0


def main(argv: list[str]) -> int:
    with open(_state() / "calls.log", "a") as log:
        log.write(" ".join(argv) + "\n")
    if os.environ.get("FAKE_SYSTEMD_DOWN") == "1":
        print("Failed to connect to bus: No medium found", file=sys.stderr)
        return 1
    if argv[:1] != ["--user"]:
        print("this stand-in answers only --user", file=sys.stderr)
        return 1
    words = argv[1:]
    verb = words[0] if words else ""
    units = [w for w in words[1:] if not w.startswith("-")]
    if verb in ("show-environment", "daemon-reload"):
        return 0
    if verb == "enable":
        for unit in units:
            (_state() / f"{unit}.enabled").write_text("")
            if "--now" in words:
                _start(unit)
        return 0
    if verb == "disable":
        for unit in units:
            (_state() / f"{unit}.enabled").unlink(missing_ok=True)
            if "--now" in words:
                _stop(unit)
        return 0
    if verb == "start":
        return max((_start(u) for u in units), default=0)
    if verb == "stop":
        return max((_stop(u) for u in units), default=0)
    if verb == "restart":
        for unit in units:
            _stop(unit)
        return max((_start(u) for u in units), default=0)
    if verb == "show":
        unit = units[-1]
        pid = _pid(unit)
        print(f"ActiveState={'active' if pid else 'inactive'}\nSubState={'running' if pid else 'dead'}\n"
              f"MainPID={pid or 0}")
        return 0
    if verb == "is-active":
        return 0 if _pid(units[-1]) else 3
    print(f"unknown verb {verb}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
