"""Throwaway runtime homes with the fake CLIProxyAPI, and processes the service tests own.

A home made here has what `bootstrap` would write for the service: `cli-proxy-api` (a shell stand-in
that execs tests/fakes/gateway.py), `config.yaml` (host, random port, one key), `run.sh` (cd + exec),
an env file. Every process a test starts is registered and killed at teardown, and a module
fixture fails if any proxy outlives its test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from claudex_doctor.base.paths import resolve
from tests.conftest import wait_listening  # noqa: F401  (re-exported)
from tests.fakes.gateway import install_binary
from tests.fakes.home import config_text
from tests.fakes.home import make_home as fake_home

KEY = "canary-local-key-7f3a9c2e51"
RUN_SH = '#!/bin/sh\ncd "$(dirname "$0")" || exit 1\nexec ./cli-proxy-api -config config.yaml\n'


def make_home(root: Path, port: int, host: str = "127.0.0.1", name: str = "claudex-gateway",
              run_sh: str = RUN_SH) -> Path:
    """The files of tests/fakes/home.py (config.yaml, env file, auth/) plus the binary and the launcher."""
    home = fake_home(root / name, port, key=KEY, host=host, mapping={"opus": "gpt-5.5(high)"})
    install_binary(home / "cli-proxy-api")
    (home / "run.sh").write_text(run_sh, encoding="utf-8")
    (home / "run.sh").chmod(0o755)
    return home


def write_config(home: Path, port: int, host: str = "127.0.0.1") -> None:
    """Rewrite config.yaml only (the env file keeps the old port)."""
    (home / "config.yaml").write_text(config_text(port, [KEY], host), encoding="utf-8")


def paths_of(home: Path):
    return resolve(env={"HOME": os.environ["HOME"], "CLAUDEX_GATEWAY_HOME": str(home)})


def made_home(tmp_path: Path, port: int):
    """A service home on `port` for a fixture to yield; whatever it ran is stopped or killed afterwards."""
    from claudex_doctor.errors import PrimitiveError
    from claudex_doctor.service import control as service

    made = make_home(tmp_path, port)
    yield made
    try:
        service.stop(paths_of(made), timeout=2)
    except PrimitiveError:
        pass
    kill_home(made)


class Spawned:
    """Processes a test started itself; all are killed (with their groups) at teardown."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def popen(self, argv, **kw) -> subprocess.Popen:
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        kw.setdefault("start_new_session", True)
        proc = subprocess.Popen([str(a) for a in argv], **kw)
        self.procs.append(proc)
        return proc

    def http_server(self, port: int, cwd: Path, host: str = "127.0.0.1") -> subprocess.Popen:
        """A plain foreign listener: python -m http.server."""
        proc = self.popen([sys.executable, "-m", "http.server", "--bind", host, str(port)], cwd=cwd)
        wait_listening(port, "127.0.0.1" if host in ("0.0.0.0", "") else host)
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def proxies_of(home: Path) -> list[psutil.Process]:
    """Live (non-zombie) processes running from `home`."""
    found = []
    target = home.resolve()
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if Path(proc.cwd()).resolve() == target:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def kill_home(home: Path) -> list[int]:
    """Kill whatever still runs from `home` (teardown safety net); returns the pids killed."""
    killed = []
    for proc in proxies_of(home):
        try:
            proc.kill()
            proc.wait(timeout=5)
            killed.append(proc.pid)
        except psutil.Error:
            pass
    return killed


def leftover_children() -> list[str]:
    """Children of this test process that still run the fake gateway or a launcher."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            line = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "gateway.py" in line or "run.sh" in line or "http.server" in line:
            out.append(f"{child.pid}: {line[:120]}")
    return out
