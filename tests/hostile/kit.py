"""What the hostile-input and fault tests share: a complete home (fake proxy binary, config, env file,
launcher, wrapper, logins), ways to put something hostile where a stack file belongs, and a runner that
calls the real command line and reports how it ended.

Every case asks the same promises: exit 0 or 1 (2 only for bad usage), no traceback, no "internal
error", an end within the bound (a hang is a failure, not a slow pass), nothing written outside the
stack, no secret in any output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.authkit import Login
from tests.conftest import free_port
from tests.service_home import KEY, make_home

# A run that takes longer than this hangs: the doctor's own bounds are seconds.
HANG = 60.0
CANARY_TOKEN = "canary-hostile-token-5c0ffee5c0ffee"


@dataclass
class Ran:
    argv: tuple[str, ...]
    code: int | None  # None: it hung and was killed
    stdout: str
    stderr: str
    seconds: float

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    def assert_named(self) -> None:
        """It ended, with an exit code a user can act on, and said so in words."""
        assert self.code is not None, f"{self.argv} hung"
        assert self.code in (0, 1), f"{self.argv} exited {self.code}: {self.stderr[-400:]}"
        assert "Traceback" not in self.text and "internal error" not in self.text, self.stderr[-600:]


class HostileHome:
    """A complete home in `root`: the user's HOME is root/u, the runtime home root/u/gateway."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.user = root / "u"
        self.user.mkdir(parents=True)
        self.port = free_port()
        self.home = make_home(self.user, self.port, name="gateway")
        env_text = (self.home / "claude-code-gpt54.env").read_text()
        (self.home / "claude-code-gpt54.env").write_text(env_text + f"export CLAUDE_BIN='{shutil.which('true')}'\n")
        login = Login()
        self.codex_home = self.user / ".codex"
        self.codex_home.mkdir()
        (self.codex_home / "auth.json").write_text(json.dumps(login.codex_json()))
        os.chmod(self.codex_home / "auth.json", 0o600)
        (self.home / "auth" / "codex-current.json").write_text(json.dumps(login.proxy_json()))
        os.chmod(self.home / "auth" / "codex-current.json", 0o600)
        self.wrapper = self.user / ".local" / "bin" / "claudex"
        self.outside = root / "outside"
        self.outside.mkdir()

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CLAUDEX_", "ANTHROPIC_", "CLAUDE_", "CODEX_", "XDG_"))}
        env.update(HOME=str(self.user), CLAUDEX_GATEWAY_HOME=str(self.home), CLAUDEX_WRAPPER=str(self.wrapper),
                   NO_COLOR="1")
        return env

    def path(self, name: str) -> Path:
        """A stack file by its short name."""
        return {
            "config": self.home / "config.yaml", "env": self.home / "claude-code-gpt54.env",
            "proxy_auth": self.home / "auth" / "codex-current.json", "codex_auth": self.codex_home / "auth.json",
            "pidfile": self.home / "cli-proxy-api.pid", "log": self.home / "cli-proxy-api.log",
            "journal": self.home / "doctor-journal.jsonl", "backups": self.home / "backups",
            "launcher": self.home / "run.sh", "wrapper": self.wrapper,
            "settings": self.user / ".claude" / "settings.json", "claude_json": self.user / ".claude.json",
        }[name]

    def plant(self, name: str, kind: str) -> Path:
        """Put something hostile where stack file `name` belongs; returns the outside file a link points at."""
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        witness = self.outside / f"{name}.txt"
        witness.write_text("outside the stack\n")
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "dir":
            target.mkdir()
        elif kind == "loop":
            os.symlink(target.name, target)
        elif kind == "zero":
            os.symlink("/dev/zero", target)
        elif kind == "outside":
            os.symlink(witness, target)
        elif kind == "huge":
            with open(target, "wb") as handle:
                handle.truncate(5 * 1024 ** 3)  # sparse: 5 GB that cost nothing
        else:
            raise ValueError(kind)
        return witness

    def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = HANG,
            prefix: list[str] | None = None) -> Ran:
        start = time.monotonic()
        try:
            proc = subprocess.run([*(prefix or []), sys.executable, "-m", "claudex_doctor", *argv],
                                  env=env or self.env, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, cwd=self.root)
        except subprocess.TimeoutExpired as exc:
            return Ran(tuple(argv), None, _text(exc.stdout), _text(exc.stderr), timeout)
        return Ran(tuple(argv), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)

    def cleanup(self) -> None:
        """Stop whatever runs from this home (a command under test may have started the proxy)."""
        from tests.service_home import kill_home

        kill_home(self.home)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


__all__ = ["CANARY_TOKEN", "HANG", "KEY", "HostileHome", "Ran"]
