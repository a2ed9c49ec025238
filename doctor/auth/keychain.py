"""A Codex login kept in the macOS Keychain, read with the system's `security` tool.

With `cli_auth_credentials_store = "keyring"` (or `"auto"`) in `$CODEX_HOME/config.toml`, the Codex CLI
keeps its login in the OS keyring and deletes auth.json. On macOS that is the login Keychain: a generic
password of service "Codex Auth", account `cli|<first 16 hex digits of the sha256 of the real
CODEX_HOME path>`, whose value is the same JSON auth.json would hold (openai/codex,
codex-rs/core/src/auth/storage.rs, `compute_store_key`). Newer Codex builds may instead keep the login
encrypted in `$CODEX_HOME/secrets/codex_auth.age` with only its key in the Keychain: that is named, not
read.

Reading is the user's decision (`sync-auth --keychain`, or a yes in `setup`): macOS may show its own
prompt, and the value is a secret. It is registered with the redaction layer at once and never printed.
Proven against a stand-in `security` on Linux only (the tests force the macOS path).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from claudex_doctor.base import files, redact
from claudex_doctor.base.proc import run_bounded

SERVICE = "Codex Auth"
TIMEOUT = 30.0  # the Keychain may ask the user to allow access


def account(codex_home: Path) -> str:
    try:
        real = codex_home.resolve(strict=True)
    except (OSError, RuntimeError):
        real = codex_home
    return "cli|" + hashlib.sha256(str(real).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def read(codex_home: Path, env: Mapping[str, str] | None = None) -> files.Loaded:
    """The login as `files.read_json` would give it (path: a `keychain:` pseudo path), or a named problem."""
    env = os.environ if env is None else env
    where = Path(f"keychain:{SERVICE}/{account(codex_home)}")
    security = shutil.which("security", path=env.get("PATH", os.defpath)) or \
        ("/usr/bin/security" if os.path.exists("/usr/bin/security") else None)
    if security is None:
        return files.Loaded(where, problem=files.Problem.MISSING, message="the `security` tool is not on PATH")
    proc = run_bounded([security, "find-generic-password", "-s", SERVICE, "-a", account(codex_home), "-w"],
                       TIMEOUT, env=env)
    secret = proc.stdout.strip()
    if secret:
        redact.REGISTRY.add(secret)
        redact.register_words(secret)
    if proc.error or proc.returncode != 0:
        said = redact.redact_text((proc.stderr.strip().splitlines() or [proc.error or f"exit {proc.returncode}"])[-1])
        encrypted = (codex_home / "secrets" / "codex_auth.age").exists()
        why = (f"the Keychain holds no Codex login for {account(codex_home)} ({said[:160]})" +
               ("; this Codex keeps it encrypted in secrets/codex_auth.age, which claudex-doctor cannot read"
                if encrypted else ""))
        return files.Loaded(where, problem=files.Problem.MISSING, message=why)
    try:
        data = files.loads_json(secret)
    except ValueError:
        return files.Loaded(where, problem=files.Problem.INVALID,
                            message="the Keychain item is not the JSON of a Codex login")
    if not isinstance(data, dict):
        return files.Loaded(where, problem=files.Problem.INVALID, message="the Keychain item is not a JSON object")
    return files.Loaded(where, data=data, mode=0o600)
