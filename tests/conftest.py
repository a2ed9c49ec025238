"""Shared fixtures. Tests never touch the real HOME, ~/.codex, ~/.claude or port 8327."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Every test runs with a throwaway HOME and none of the stack's variables from the outside."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("CLAUDEX_", "ANTHROPIC_", "CLAUDE_", "CODEX_", "LITELLM_", "XDG_")) or name in (
                "OPENAI_API_KEY", "NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    # No module proxy is asked which CLIProxyAPI versions it serves (bin.proxy_version, online): tests stay
    # on loopback. A test that wants the question sets GOPROXY to a loopback stand-in.
    monkeypatch.setenv("GOPROXY", "off")
    from claudex_doctor.base import redact
    from claudex_doctor.service import supervisor
    redact.REGISTRY.clear()
    supervisor.forget_detected()
    yield home
    redact.REGISTRY.clear()
    supervisor.forget_detected()


@pytest.fixture
def user_home(isolated_env) -> Path:
    return isolated_env


@pytest.fixture
def gateway_home(user_home) -> Path:
    """The default runtime home path (not created)."""
    return user_home / ".local" / "share" / "claudex-gateway"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Return once something accepts connections on host:port; fail the test after `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on {host}:{port} within {timeout}s")


@pytest.fixture
def spawned():
    """Processes a test starts (tests/service_home.Spawned); all stopped when it ends."""
    from tests.service_home import Spawned

    procs = Spawned()
    yield procs
    procs.cleanup()


@pytest.fixture
def port() -> int:
    return free_port()


def obeying_file_modes() -> list[str]:
    """A command prefix under which even root obeys file modes: without CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, a chmod-000 file is unreadable to uid 0 too. Skips when that is impossible."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a chmod-000 file would still be readable")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 60,
            input: str | None = None, obey_file_modes: bool = False) -> subprocess.CompletedProcess:
    """Run the installed console entry point as a user would (a real subprocess)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    prefix = obeying_file_modes() if obey_file_modes else []
    return subprocess.run([*prefix, sys.executable, "-m", "claudex_doctor", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=timeout, input=input)


@pytest.fixture
def cli():
    return run_cli
