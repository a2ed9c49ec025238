"""Throwaway stacks for the config / env / settings / routing checks and the editing primitives.

A `Home` is a temporary runtime home (config.yaml, env file, run.sh, auth/), a Codex home whose
id_token carries a chosen plan, and a project directory used as the working directory. Every
secret is a canary (`CANARY...`), so a test can prove no value reaches any output.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from claudex_doctor import paths as paths_mod
from claudex_doctor.context import Context, Options

STANDARD_MAPPING = {
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-sol(xhigh)",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-5.6-terra(high)",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-5.6-luna(low)",
}
TODAY = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def canary(label: str = "") -> str:
    return f"CANARY{label}{secrets.token_hex(10)}"


def _b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def id_token(plan: str) -> str:
    claims = {"exp": 4102444800, "iat": 1700000000, "email": "me@example.com",
              "https://api.openai.com/auth": {"chatgpt_plan_type": plan, "chatgpt_account_id": "acct-1"}}
    return f"{_b64({'alg': 'none'})}.{_b64(claims)}.{_b64(b'sig')}"


def config_text(key: str, host: str = "127.0.0.1", port: Any = 8327, auth_dir: str = "./auth", extra: str = "") -> str:
    return (
        "# CLIProxyAPI configuration for the claudex gateway\n"
        "# Loopback only.\n"
        f'host: "{host}"\n'
        f"port: {port}\n"
        "# Relative to the working directory: run.sh changes into the home first.\n"
        f'auth-dir: "{auth_dir}"\n'
        "api-keys:\n"
        f'  - "{key}"\n'
        "debug: false\n"
        "remote-management:\n"
        "  allow-remote: false\n"
        '  secret-key: ""\n'
        f"{extra}"
    )


class FixedContext(Context):
    """A Context whose clock reads a chosen date (for retirement dates)."""

    def __init__(self, *args, now: datetime = TODAY, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def now(self) -> datetime:
        return self._now


class Home:
    def __init__(self, root: Path, plan: str | None = "plus") -> None:
        self.root = root
        self.user_home = Path(os.environ["HOME"])
        self.home = root / "gateway"
        self.codex_home = root / "codex"
        self.project = root / "project"
        self.home.mkdir(parents=True)
        self.project.mkdir()
        (self.home / "auth").mkdir(mode=0o700)
        self.key = canary("KEY")
        self.env = {"HOME": str(self.user_home), "PATH": "/usr/bin:/bin", "CODEX_HOME": str(self.codex_home),
                    "CLAUDEX_GATEWAY_HOME": str(self.home)}
        self.write_config(config_text(self.key))
        self.write_env({"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327", "ANTHROPIC_AUTH_TOKEN": self.key,
                        **STANDARD_MAPPING, "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "372000"})
        self.write_launcher('#!/bin/sh\ncd "$(dirname "$0")" || exit 1\nexec ./cli-proxy-api -config config.yaml "$@"\n')
        if plan:
            self.set_plan(plan)

    # files ------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.home / "config.yaml"

    @property
    def env_file(self) -> Path:
        return self.home / paths_mod.ENV_FILE_NAME

    @property
    def launcher(self) -> Path:
        return self.home / "run.sh"

    def write_config(self, text: str | bytes) -> Path:
        _write(self.config, text, 0o600)
        return self.config

    def write_env(self, values: dict[str, str] | str | bytes) -> Path:
        if isinstance(values, dict):
            import shlex
            values = "# claudex env\n" + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())
        _write(self.env_file, values, 0o600)
        return self.env_file

    def env_values(self, **changes: str | None) -> Path:
        """The standard env file with some variables changed (None removes one)."""
        values = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327", "ANTHROPIC_AUTH_TOKEN": self.key,
                  **STANDARD_MAPPING, "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "372000"}
        for key, value in changes.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        return self.write_env(values)

    def write_launcher(self, text: str) -> Path:
        _write(self.launcher, text, 0o755)
        return self.launcher

    def set_plan(self, plan: str) -> None:
        self.codex_home.mkdir(exist_ok=True)
        data = {"OPENAI_API_KEY": None, "last_refresh": "2026-11-20T08:00:00Z",
                "tokens": {"id_token": id_token(plan), "access_token": canary("AT"), "refresh_token": canary("RT"),
                           "account_id": "acct-1"}}
        _write(self.codex_home / "auth.json", json.dumps(data), 0o600)

    def claude_file(self, relative: str, data: Any, raw: str | bytes | None = None) -> Path:
        """A Claude Code settings file: '~/.claude/settings.json', 'project/.claude/settings.local.json', ..."""
        if relative.startswith("~/"):
            path = self.user_home / relative[2:]
        else:
            path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, raw if raw is not None else json.dumps(data), 0o600)
        return path

    # running ----------------------------------------------------------------
    @property
    def paths(self) -> paths_mod.Paths:
        return paths_mod.resolve(self.env, cwd=self.project)

    def context(self, env: dict | None = None, now: datetime = TODAY) -> Context:
        return FixedContext(self.paths, Options(deadline=10.0), env={**self.env, **(env or {})}, now=now)

    def run(self, *ids: str, env: dict | None = None, offered: list[str] | None = None, now: datetime = TODAY):
        """Run the given checks (and what they need); findings by id."""
        from claudex_doctor.checks import graph
        from claudex_doctor.graph import run

        ctx = self.context(env, now)
        if offered is not None:
            ctx.publish("offered_models", offered)
        return {f.id: f for f in run(graph(), ctx, only=ids)}

    def one(self, check_id: str, **kwargs):
        return self.run(check_id, **kwargs)[check_id]

    def cli_env(self, **extra: str) -> dict:
        return {**self.env, **extra}

    def snapshot(self) -> dict:
        out = {}
        for base in (self.root, self.user_home):
            for path in sorted(base.rglob("*")):
                try:
                    st = path.lstat()
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    out[str(path)] = (path.read_bytes(), stat.S_IMODE(st.st_mode))
                else:
                    out[str(path)] = (None, stat.S_IMODE(st.st_mode))
        return out


def _write(path: Path, data: str | bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)


def text_of(finding) -> str:
    return json.dumps(finding.to_dict(), default=str)


def apply_fix(home: Home, finding, dry_run: bool = False):
    """Apply a finding's fix exactly as the fix planner would."""
    from claudex_doctor import primitives

    assert finding.fix is not None, finding
    return primitives.apply(finding.fix.primitive, home.paths, dry_run=dry_run, **finding.fix.args)
