"""Stand-alone harness for the end-to-end tests: find the real components, build a runtime home by
hand, run the REAL CLIProxyAPI against the fake upstream, and stop it again.

It does not use the doctor's primitives on purpose: it is the reference the primitives are
checked against. Everything runs on 127.0.0.1 with random ports, under temporary directories;
the processes get a clean environment (no inherited HOME, proxies or store settings such as
PGSTORE_DSN / HOME_JWT that would change what the proxy does).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.fakes.upstream import FakeUpstream, TokenSet, make_proxy_auth_json, write_json

# Captured at import, before the autouse `isolated_env` fixture scrubs CLAUDEX_*/XDG_* and HOME.
ENV_AT_IMPORT = dict(os.environ)
COMPONENTS = {"proxy": "cli-proxy-api", "claude": "claude", "codex": "codex"}
ANTHROPIC_VERSION = "2023-06-01"


def bin_dir(env: dict[str, str] = ENV_AT_IMPORT) -> Path:
    """CLAUDEX_E2E_BIN_DIR, else the cache .ci/install-e2e fills."""
    if env.get("CLAUDEX_E2E_BIN_DIR"):
        return Path(env["CLAUDEX_E2E_BIN_DIR"]).expanduser()
    if env.get("CLAUDEX_E2E_CACHE"):
        return Path(env["CLAUDEX_E2E_CACHE"]).expanduser() / "bin"
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path(env.get("HOME", "~")).expanduser() / ".cache"
    return cache / "claudex-doctor-e2e" / "bin"


def components_required(env: dict[str, str] = ENV_AT_IMPORT) -> bool:
    return env.get("CLAUDEX_E2E_REQUIRED", "") not in ("", "0", "false", "no")


def find_component(name: str) -> tuple[Path | None, str]:
    """(path, "") when the component is usable, else (None, why not)."""
    path = bin_dir() / COMPONENTS[name]
    if not path.exists():
        return None, f"{COMPONENTS[name]} not found in {bin_dir()} (run .ci/install-e2e or set CLAUDEX_E2E_BIN_DIR)"
    if not os.access(path, os.X_OK):
        return None, f"{path} is not executable"
    return path, ""


def base_env(home: Path, upstream: FakeUpstream | None = None) -> dict[str, str]:
    """A clean environment: PATH, a private HOME, and (with an upstream) every outbound HTTP(S)
    sent to the fake, which refuses and records anything it does not serve."""
    env = {"PATH": ENV_AT_IMPORT.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "TMPDIR": str(home / "tmp")}
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    if upstream is not None:
        env.update(upstream.proxy_env())
    return env


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """[(event name, parsed data), ...] of a text/event-stream body."""
    events: list[tuple[str, Any]] = []
    for block in re.split(r"\r?\n\r?\n", text):
        name, data_lines = "", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data_lines.append(line[5:].strip())
        if not data_lines:
            continue
        raw = "\n".join(data_lines)
        try:
            data: Any = json.loads(raw)
        except ValueError:
            data = raw
        events.append((name or (data.get("type", "") if isinstance(data, dict) else ""), data))
    return events


def _terminate_group(pid: int) -> None:
    """Last resort when a runtime is dropped (or the interpreter exits) without stop()."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


RUN_SH = """#!/usr/bin/env bash
# launcher: the auth-dir in config.yaml is relative, so run from the home
cd "$(dirname "$0")" || exit 1
exec ./cli-proxy-api -config config.yaml "$@"
"""


class ProxyRuntime:
    """A runtime home laid out like the stack's (config.yaml, run.sh, auth/codex-current.json,
    cli-proxy-api) with the real binary, pointed at the fake upstream."""

    def __init__(self, root: Path, binary: Path, upstream: FakeUpstream, *, port: int | None = None,
                 api_key: str | None = None, logging_to_file: bool = True, debug: bool = False,
                 request_retry: int = 0, extra_config: str = "", args: tuple[str, ...] = (),
                 proxy_url: str | None = None, env: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.home = self.root / "gateway"
        self.user_home = self.root / "user"
        self.binary = Path(binary)
        self.upstream = upstream
        self.port = port or free_port()
        self.api_key = api_key or "sk-e2e-" + secrets.token_hex(16)
        self.args = args
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None
        self.startup_seconds: float | None = None
        self.healthz_seconds: float | None = None
        self.exit_code: int | None = None
        self.tokens: TokenSet | None = None      # the login last written by write_auth
        self.startup_refusals: list[Any] = []    # filled by the fixtures: what the fake saw at startup
        self.startup_requests: list[Any] = []
        self._out_path = self.root / "proxy.out"
        self.home.mkdir(parents=True, exist_ok=True)
        self.user_home.mkdir(parents=True, exist_ok=True)
        (self.home / "auth").mkdir(exist_ok=True)
        link = self.home / "cli-proxy-api"
        if not link.exists():
            link.symlink_to(self.binary)
        (self.home / "run.sh").write_text(RUN_SH)
        (self.home / "run.sh").chmod(0o755)
        self.config_path.write_text(
            f'host: "127.0.0.1"\nport: {self.port}\nauth-dir: "./auth"\napi-keys:\n  - "{self.api_key}"\n'
            f"debug: {str(debug).lower()}\nlogging-to-file: {str(logging_to_file).lower()}\n"
            f"request-retry: {request_retry}\n"
            'remote-management:\n  allow-remote: false\n  secret-key: ""\n  disable-control-panel: true\n'
            f'proxy-url: "{proxy_url if proxy_url is not None else upstream.proxy_url}"\n{extra_config}')

    # -- files ------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.home / "config.yaml"

    @property
    def auth_path(self) -> Path:
        return self.home / "auth" / "codex-current.json"

    def write_auth(self, tokens: TokenSet, **fields: Any) -> dict[str, Any]:
        data = make_proxy_auth_json(tokens, **fields)
        write_json(self.auth_path, data)
        self.tokens = tokens
        return data

    def read_auth(self) -> dict[str, Any]:
        return json.loads(self.auth_path.read_text())

    def peek_auth(self) -> dict[str, Any]:
        """read_auth for polling: {} while the proxy is in the middle of rewriting the file."""
        try:
            data = self.read_auth()
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # -- process ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0, wait: bool = True, ready: bool = True) -> float:
        """Start run.sh; with `wait`, until /healthz answers and (with `ready`) /v1/models lists a
        model: /healthz answers before the credentials are loaded, and a request sent in between
        fails with 400 "unknown provider for model". Returns the seconds that took."""
        self.healthz_seconds = self.startup_seconds = None
        env = {**base_env(self.user_home, self.upstream), **self.extra_env}
        out = open(self._out_path, "ab")
        started = time.monotonic()
        self.process = subprocess.Popen(["bash", str(self.home / "run.sh"), *self.args], cwd=self.root, env=env,
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        out.close()
        self._finalizer = weakref.finalize(self, _terminate_group, self.process.pid)
        if not wait:
            return 0.0
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"proxy exited with {self.process.returncode} before answering:\n{self.output()}")
            try:
                if self.healthz_seconds is None and httpx.get(self.base_url + "/healthz",
                                                               timeout=0.5).status_code == 200:
                    self.healthz_seconds = time.monotonic() - started
                if self.healthz_seconds is not None and (not ready or self.models()):
                    self.startup_seconds = time.monotonic() - started
                    return self.startup_seconds
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"proxy did not answer /healthz within {timeout}s:\n{self.output()}")

    def wait_exit(self, timeout: float = 10.0) -> int | None:
        assert self.process is not None
        try:
            self.exit_code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code

    def stop(self) -> int | None:
        """SIGTERM the process group we started (then SIGKILL); the exit code, or None if not running."""
        process, self.process = self.process, None
        if process is None:
            return None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.exit_code = process.returncode
        return self.exit_code

    def __enter__(self) -> ProxyRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    # -- what it said -----------------------------------------------------------------------
    def output(self) -> str:
        """stdout and stderr of every run of this home."""
        try:
            return self._out_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_files(self) -> list[Path]:
        """File logs: `./logs` when that directory exists in the working directory (the home),
        else `<auth-dir>/logs` (WRITABLE_PATH/logs when that variable is set; we never set it)."""
        found: list[Path] = []
        for folder in (self.home / "logs", self.home / "auth" / "logs"):
            if folder.is_dir():
                found.extend(sorted(folder.glob("*.log")))
        return found

    def logs(self) -> str:
        """The process output plus every file log."""
        return self.output() + "".join(path.read_text(errors="replace") for path in self.log_files())

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match | None:
        regex = re.compile(pattern)
        return self.wait_for(lambda: regex.search(self.logs()), timeout)

    # -- client -----------------------------------------------------------------------------
    def headers(self, anthropic: bool = True) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if anthropic:
            headers["anthropic-version"] = ANTHROPIC_VERSION
        return headers

    def get(self, path: str, *, anthropic: bool = False, auth: bool = True, timeout: float = 10) -> httpx.Response:
        headers = self.headers(anthropic) if auth else {}
        return httpx.get(self.base_url + path, headers=headers, timeout=timeout)

    def models(self, anthropic: bool = False) -> list[str]:
        """Model ids /v1/models lists (empty on any error)."""
        try:
            response = self.get("/v1/models", anthropic=anthropic, timeout=2)
            return [m["id"] for m in response.json().get("data", [])] if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError, AttributeError, KeyError, TypeError):
            return []

    def post(self, path: str, payload: Any, *, timeout: float = 30, **headers: str) -> httpx.Response:
        return httpx.post(self.base_url + path, json=payload, headers={**self.headers(), **headers}, timeout=timeout)

    def stream(self, path: str, payload: Any, *, timeout: float = 30) -> tuple[httpx.Response, list[tuple[str, Any]]]:
        """POST and read an SSE answer: (response with its full text, [(event, data), ...])."""
        with httpx.stream("POST", self.base_url + path, json=payload, headers=self.headers(),
                          timeout=timeout) as response:
            response.read()
        return response, parse_sse(response.text)

    def non_loopback_connections(self) -> list[str]:
        """Open inet connections of the proxy process whose remote end is not loopback."""
        import psutil

        pid = self.pid()
        if pid is None:
            return []
        try:
            connections = psutil.Process(pid).net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return []
        bad = []
        for conn in connections:
            if conn.raddr and not (conn.raddr.ip.startswith("127.") or conn.raddr.ip in ("::1", "::ffff:127.0.0.1")):
                bad.append(f"{conn.raddr.ip}:{conn.raddr.port}")
        return bad
