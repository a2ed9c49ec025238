"""Throwaway stacks for the config / env / settings / routing checks and the editing primitives.

A `Home` is a temporary runtime home (config.yaml, env file, run.sh, auth/), a Codex home whose
id_token carries a chosen plan, and a project directory used as the working directory. Every
secret is a canary (`CANARY...`), so a test can prove no value reaches any output.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from claudex_doctor.base import paths as paths_mod
from claudex_doctor.checks import StackContext
from claudex_doctor.core.context import Options
from tests.homekit import ThrowawayHome, make_jwt, run_checks, snapshot, text_of, write_file  # noqa: F401

# text_of is re-exported for the tests that import it from here.

STANDARD_MAPPING = {
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-sol(xhigh)",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-5.6-terra(high)",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-5.6-luna(low)",
}
TODAY = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def canary(label: str = "") -> str:
    return f"CANARY{label}{secrets.token_hex(10)}"


def id_token(plan: str) -> str:
    return make_jwt({"exp": 4102444800, "iat": 1700000000, "email": "me@example.com",
                     "https://api.openai.com/auth": {"chatgpt_plan_type": plan, "chatgpt_account_id": "acct-1"}})


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


class FixedContext(StackContext):
    """A Context whose clock reads a chosen date (for retirement dates)."""

    def __init__(self, *args, now: datetime = TODAY, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def now(self) -> datetime:
        return self._now


class Home(ThrowawayHome):
    """A complete, healthy-looking home (config, env file, launcher, auth/, a Codex login) and a project."""

    def __init__(self, root: Path, plan: str | None = "plus") -> None:
        super().__init__(root, path="/usr/bin:/bin")
        self.project = root / "project"
        self.home.mkdir(parents=True)
        self.project.mkdir()
        self.auth_dir.mkdir(mode=0o700)
        self.key = canary("KEY")
        self.write_config(config_text(self.key))
        self.write_env({"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327", "ANTHROPIC_AUTH_TOKEN": self.key,
                        **STANDARD_MAPPING, "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "372000"})
        self.write_launcher('#!/bin/sh\ncd "$(dirname "$0")" || exit 1\nexec ./cli-proxy-api -config config.yaml "$@"\n')
        if plan:
            self.set_plan(plan)

    # files ------------------------------------------------------------------
    def write_config(self, text: str | bytes) -> Path:
        write_file(self.config, text, 0o600)
        return self.config

    def write_env(self, values: dict[str, str] | str | bytes) -> Path:
        if isinstance(values, dict):
            import shlex
            values = "# claudex env\n" + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())
        write_file(self.env_file, values, 0o600)
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
        write_file(self.launcher, text, 0o755)
        return self.launcher

    def set_plan(self, plan: str) -> None:
        self.codex_home.mkdir(exist_ok=True)
        data = {"OPENAI_API_KEY": None, "last_refresh": "2026-11-20T08:00:00Z",
                "tokens": {"id_token": id_token(plan), "access_token": canary("AT"), "refresh_token": canary("RT"),
                           "account_id": "acct-1"}}
        write_file(self.codex_file, json.dumps(data), 0o600)

    def claude_file(self, relative: str, data: Any, raw: str | bytes | None = None) -> Path:
        """A Claude Code settings file: '~/.claude/settings.json', 'project/.claude/settings.local.json', ..."""
        if relative.startswith("~/"):
            path = self.user_home / relative[2:]
        else:
            path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, raw if raw is not None else json.dumps(data), 0o600)
        return path

    # running ----------------------------------------------------------------
    @property
    def paths(self) -> paths_mod.Paths:
        return paths_mod.resolve(self.env, cwd=self.project)

    def context(self, env: dict | None = None, now: datetime = TODAY) -> StackContext:
        return FixedContext(self.paths, Options(deadline=10.0), env={**self.env, **(env or {})}, now=now)

    def run(self, *ids: str, env: dict | None = None, offered: list[str] | None = None,
            windows: dict[str, int] | None = None, now: datetime = TODAY):
        """Run the given checks (and what they need); findings by id. `offered` stands for the running
        proxy's OpenAI-dialect list, `windows` for the max_input_tokens its Anthropic dialect gives."""
        from claudex_doctor.knowledge.models import LiveList, LiveModel

        ctx = self.context(env, now)
        if offered is not None:
            ctx.publish("offered_models", offered)
            models = tuple(LiveModel(m, (windows or {}).get(m), 128000 if windows else None) for m in offered)
            ctx.publish("live_models", LiveList(tuple(offered), models, now.isoformat(timespec="seconds")))
        return run_checks(ctx, ids)

    def one(self, check_id: str, **kwargs):
        return self.run(check_id, **kwargs)[check_id]

    def cli_env(self, **extra: str) -> dict:
        return {**self.env, **extra}

    def snapshot(self) -> dict:
        return snapshot(self.root, self.user_home)


def apply_fix(home: Home, finding, dry_run: bool = False):
    """Apply a finding's fix exactly as the fix planner would."""
    from claudex_doctor import primitives

    assert finding.fix is not None, finding
    return primitives.apply(finding.fix.primitive, home.paths, dry_run=dry_run, **finding.fix.args)
