"""A stand-in for macOS `launchctl`, for running the doctor's launchd paths on Linux.

Knows the verbs the doctor uses: `print gui/<uid>`, `bootstrap gui/<uid> <plist>`, `bootout
gui/<uid>/<label>`, `kickstart [-k] gui/<uid>/<label>`, `kill SIGTERM gui/<uid>/<label>` and
`list <label>` (answering `"PID" = 123;` like launchd). It reads the plist with plistlib, runs
ProgramArguments in WorkingDirectory with EnvironmentVariables in a session of its own (output
appended to StandardOutPath), and keeps loaded labels and pids in `$FAKE_LAUNCHD_STATE` (default
`~/.fake-launchd`); every call goes to `calls.log` there. KeepAlive is not emulated.

    install(bin_dir) writes an executable `launchctl` into bin_dir that runs this file.
"""

from __future__ import annotations

import json
import os
import plistlib
import signal
import subprocess
import sys
import time
from pathlib import Path


def install(bin_dir: Path) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "launchctl"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    shim.chmod(0o755)
    return shim


def _state() -> Path:
    state = Path(os.environ.get("FAKE_LAUNCHD_STATE") or Path(os.environ["HOME"]) / ".fake-launchd")
    state.mkdir(parents=True, exist_ok=True)
    return state


def _loaded(label: str) -> dict | None:
    path = _state() / f"{label}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _pid(label: str) -> int | None:
    path = _state() / f"{label}.pid"
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                return None
    except (OSError, ValueError):
        return None
    return pid


def _start(label: str) -> int:
    job = _loaded(label)
    if job is None:
        print(f"Could not find service \"{label}\" in domain", file=sys.stderr)
        return 113
    if _pid(label):
        return 0
    env = {**os.environ, **job.get("EnvironmentVariables", {})}
    out = job.get("StandardOutPath")
    log = open(out, "ab") if out else subprocess.DEVNULL
    proc = subprocess.Popen(job["ProgramArguments"], cwd=job.get("WorkingDirectory"), env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (_state() / f"{label}.pid").write_text(str(proc.pid))
    return 0


def _stop(label: str) -> None:
    pid = _pid(label)
    if pid:
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while _pid(label) and time.monotonic() < deadline:
            time.sleep(0.05)
    (_state() / f"{label}.pid").unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    with open(_state() / "calls.log", "a") as log:
        log.write(" ".join(argv) + "\n")
    verb = argv[0] if argv else ""
    if verb == "print":
        return 0
    if verb == "bootstrap":
        job = plistlib.loads(Path(argv[2]).read_bytes())
        label = job["Label"]
        if _loaded(label) is not None:
            print("Bootstrap failed: 5: Input/output error", file=sys.stderr)
            return 5
        (_state() / f"{label}.json").write_text(json.dumps(job))
        return _start(label) if job.get("RunAtLoad") else 0
    label = argv[-1].rsplit("/", 1)[-1]
    if verb == "bootout":
        if _loaded(label) is None:
            print(f"Boot-out failed: 3: No such process ({label})", file=sys.stderr)
            return 3
        _stop(label)
        (_state() / f"{label}.json").unlink()
        return 0
    if verb == "kickstart":
        if "-k" in argv:
            _stop(label)
        return _start(label)
    if verb == "kill":
        _stop(label)
        return 0
    if verb == "list":
        if _loaded(label) is None:
            print(f"Could not find service \"{label}\" in domain for port", file=sys.stderr)
            return 113
        pid = _pid(label)
        print("{\n" + (f'\t"PID" = {pid};\n' if pid else "") + f'\t"Label" = "{label}";\n}}')
        return 0
    print(f"unknown verb {verb}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
