"""Crafted ChatGPT logins and throwaway stacks for the credential tests.

JWTs here are unsigned in spirit (a dummy signature part, never verified by anyone): base64url JSON
header and payload, like the real ones. Every token carries a random canary so a test can prove that
no token value reaches any output.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from claudex_doctor.base import paths as paths_mod
from claudex_doctor.checks import StackContext
from claudex_doctor.core.context import Options
from tests.homekit import ThrowawayHome, make_jwt, run_checks, snapshot, text_of, write_file  # noqa: F401

# text_of is re-exported for the tests that import it from here.

AUTH_CLAIM = "https://api.openai.com/auth"
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Login:
    """One ChatGPT login: three tokens (canaries inside) and the facts they carry."""

    account: str = "acct-1111"
    email: str = "me@example.com"
    plan: str = "plus"
    issued: datetime = field(default_factory=lambda: NOW - timedelta(hours=1))
    lifetime: timedelta = timedelta(days=10)
    canary: str = field(default_factory=lambda: "CANARY" + secrets.token_hex(8))
    last_refresh: datetime | None = None  # default: issued

    def __post_init__(self) -> None:
        if self.last_refresh is None:
            self.last_refresh = self.issued
        iat, exp = int(self.issued.timestamp()), int((self.issued + self.lifetime).timestamp())
        auth = {"chatgpt_plan_type": self.plan, "chatgpt_account_id": self.account, "chatgpt_user_id": "user-x"}
        self.id_token = make_jwt({"iat": iat, "exp": exp, "email": self.email, AUTH_CLAIM: auth,
                                  "nonce": self.canary + "id"})
        self.access_token = make_jwt({"iat": iat, "exp": exp, AUTH_CLAIM: auth, "jti": self.canary + "at"})
        self.refresh_token = f"{self.canary}-refresh-{secrets.token_hex(6)}"

    @property
    def secrets(self) -> list[str]:
        return [self.id_token, self.access_token, self.refresh_token]

    def codex_json(self, **extra: Any) -> dict:
        data: dict[str, Any] = {
            "OPENAI_API_KEY": None,
            "tokens": {"id_token": self.id_token, "access_token": self.access_token,
                       "refresh_token": self.refresh_token, "account_id": self.account},
            "last_refresh": rfc3339(self.last_refresh),
        }
        data.update(extra)
        return data

    def proxy_json(self, **extra: Any) -> dict:
        data: dict[str, Any] = {
            "type": "codex", "id_token": self.id_token, "access_token": self.access_token,
            "refresh_token": self.refresh_token, "account_id": self.account, "email": self.email,
            "expired": rfc3339(self.issued + self.lifetime), "last_refresh": rfc3339(self.last_refresh),
        }
        data.update(extra)
        return data


class Stack(ThrowawayHome):
    """A temporary runtime home and Codex home, and the environment that points at them."""

    def __init__(self, root: Path, bin_dir: Path | None = None) -> None:
        self.bin = bin_dir or (root / "bin")
        self.bin.mkdir(parents=True, exist_ok=True)
        super().__init__(root, path=str(self.bin))

    # layout ---------------------------------------------------------------
    def make_home(self, auth_dir: bool = True) -> Stack:
        self.home.mkdir(parents=True, exist_ok=True)
        if auth_dir:
            self.auth_dir.mkdir(mode=0o700, exist_ok=True)
            os.chmod(self.auth_dir, 0o700)
        return self

    def make_full_home(self) -> Stack:
        self.make_home()
        write_file(self.config, "host: 127.0.0.1\nport: 8327\nauth-dir: ./auth\n", 0o644)
        write_file(self.launcher, '#!/bin/sh\ncd "$(dirname "$0")" && exec ./cli-proxy-api -config config.yaml\n', 0o755)
        write_file(self.env_file, "ANTHROPIC_BASE_URL=http://127.0.0.1:8327\n", 0o600)
        return self

    # files ------------------------------------------------------------------
    def write_codex(self, data: Any, raw: bytes | str | None = None, mode: int = 0o600) -> Path:
        self.codex_home.mkdir(parents=True, exist_ok=True)
        return _write(self.codex_file, data, raw, mode)

    def write_proxy(self, data: Any, raw: bytes | str | None = None, mode: int = 0o600) -> Path:
        self.make_home()
        return _write(self.proxy_file, data, raw, mode)

    def codex_config(self, text: str) -> None:
        self.codex_home.mkdir(parents=True, exist_ok=True)
        (self.codex_home / "config.toml").write_text(text)

    def fake_codex(self, stderr: str, code: int = 0, record: Path | None = None) -> Path:
        """A stand-in `codex` on PATH answering `login status` like the real one (on stderr)."""
        script = self.bin / "codex"
        lines = ["#!/bin/sh"]
        if record is not None:
            lines.append(f'printf "%s|%s\\n" "$CODEX_HOME" "$*" >> "{record}"')
        lines.append(f"printf '%s\\n' '{stderr}' >&2")
        lines.append(f"exit {code}")
        script.write_text("\n".join(lines) + "\n")
        os.chmod(script, 0o755)
        return script

    # running ------------------------------------------------------------------
    @property
    def paths(self) -> paths_mod.Paths:
        return paths_mod.resolve(self.env)

    def context(self, deadline: float = 10.0) -> StackContext:
        return StackContext(self.paths, Options(deadline=deadline), env=self.env)

    def run(self, *ids: str) -> dict:
        """Run the given checks (and what they need); findings by id."""
        return self.run_with_deadline(10.0, *ids)

    def run_with_deadline(self, deadline: float, *ids: str) -> dict:
        return run_checks(self.context(deadline), ids)

    def snapshot(self) -> dict:
        """Bytes and modes of every file under the root, to prove nothing changed."""
        return snapshot(self.root)


def _write(path: Path, data: Any, raw: bytes | str | None, mode: int) -> Path:
    """`raw` as is, else `data` as indented JSON."""
    return write_file(path, json.dumps(data, indent=2) if raw is None else raw, mode)
