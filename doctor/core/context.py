"""What every check shares: resolved paths, options, one deadline, and facts parsed once.

Facts are computed lazily, at most once per run, under a per-fact lock, so
concurrent checks that need the same file read it once. Every secret found while
parsing is registered with the redaction layer before any check sees it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from claudex_doctor.base import files, redact
from claudex_doctor.base.atomic import SPAWN_LOCK
from claudex_doctor.base.paths import Paths


@dataclass(frozen=True)
class Options:
    deadline: float = 10.0
    offline: bool = False
    strict: bool = False
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    check_timeout: float | None = None  # default: each check's own


@dataclass(frozen=True)
class Proc:
    argv: tuple[str, ...]
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None  # not found | timed out | OS error
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).strip()


class Context:
    def __init__(self, paths: Paths, options: Options | None = None, env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.paths = paths
        self.options = options or Options()
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.clock = clock
        self.started = clock()
        self.deadline_at = self.started + self.options.deadline
        self._memo: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._published: dict[str, Any] = {}
        for name in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "MANAGEMENT_PASSWORD",
                     "CLAUDE_CODE_OAUTH_TOKEN", "LITELLM_MASTER_KEY"):
            redact.REGISTRY.add(self.env.get(name))

    # -- time -------------------------------------------------------------
    def remaining(self) -> float:
        return max(0.0, self.deadline_at - self.clock())

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    # -- memoised facts ---------------------------------------------------
    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._guard:
            if key in self._memo:
                return self._memo[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    def publish(self, key: str, value: Any) -> None:
        """A check shares a live fact with the checks ordered `after` it (e.g. proxy.models -> env.mapping)."""
        with self._guard:
            self._published[key] = value

    def published(self, key: str, default: Any = None) -> Any:
        with self._guard:
            return self._published.get(key, default)

    @property
    def config(self) -> files.Loaded:
        """config.yaml, parsed safely; api keys and the management key are registered as secrets."""
        def load() -> files.Loaded:
            loaded = files.read_yaml(self.paths.config)
            if loaded.ok:
                redact.register_from(loaded.data)
            return loaded
        return self.memo("config", load)

    @property
    def env_file(self) -> files.Loaded:
        """The env file as data: `Loaded.data` is an `envfile.EnvFile` when it could be read."""
        def load() -> files.Loaded:
            from claudex_doctor.config import envfile
            loaded = files.read_text(self.paths.env_file)
            if not loaded.ok:
                return loaded
            parsed = envfile.parse(loaded.text or "")
            for key, value in parsed.values.items():
                if any(word in key for word in ("TOKEN", "KEY", "SECRET", "PASSWORD")):
                    redact.REGISTRY.add(value)
            return files.Loaded(loaded.path, data=parsed, mode=loaded.mode, text=loaded.text)
        return self.memo("env_file", load)

    @property
    def codex_auth(self) -> files.Loaded:
        return self.memo("codex_auth", lambda: self._secret_json(self.paths.codex_auth))

    @property
    def proxy_auth(self) -> files.Loaded:
        return self.memo("proxy_auth", lambda: self._secret_json(self.paths.proxy_auth))

    def _secret_json(self, path: Path) -> files.Loaded:
        loaded = files.read_json(path)
        if loaded.ok:
            redact.register_from(loaded.data)
        elif loaded.text:
            # A broken file may still hold secrets: register anything token-shaped in it.
            for word in re.findall(r"[A-Za-z0-9._~+=-]{20,}", loaded.text):
                redact.REGISTRY.add(word)  # token-shaped words only: not URLs, paths or key names
        return loaded

    # -- processes --------------------------------------------------------
    def which(self, name: str) -> Path | None:
        found = shutil.which(name, path=self.env.get("PATH", os.defpath))
        return Path(found) if found else None

    def run(self, argv: Sequence[str], timeout: float = 5.0, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> Proc:
        """Run a program; never raises, never waits past the run's deadline."""
        budget = max(0.05, min(timeout, self.remaining()))
        return run_bounded(argv, budget, env=self.env if env is None else env, cwd=cwd)


def run_bounded(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None,
                cwd: Path | None = None) -> Proc:
    """Run a program with stdin closed, in its own session; kill its whole group at `timeout`. Never raises."""
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    try:
        with SPAWN_LOCK:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=None if env is None else dict(env), cwd=cwd, start_new_session=True)
    except FileNotFoundError:
        return Proc(argv, None, error="not found")
    except PermissionError:
        return Proc(argv, None, error="permission denied")
    except OSError as exc:
        return Proc(argv, None, error=f"cannot run: {exc.strerror or exc}")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        out, err = proc.communicate()
        return Proc(argv, None, _decode(out), _decode(err), error=f"timed out after {timeout:.1f}s",
                    duration_ms=int((time.monotonic() - start) * 1000))
    return Proc(argv, proc.returncode, _decode(out), _decode(err), duration_ms=int((time.monotonic() - start) * 1000))


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")
