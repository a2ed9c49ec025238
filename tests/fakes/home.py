"""A throwaway runtime home pointed at a port: config.yaml and the env file (the live-check tests use it as\nit is; tests/service_home.py adds the proxy binary and the launcher)."""

from __future__ import annotations

import os
from pathlib import Path

HAIKU = "gpt-5.6-luna(medium)"


def config_text(port: int, keys: list[str], host: str = "127.0.0.1") -> str:
    lines = [f'host: "{host}"', f"port: {port}", 'auth-dir: "./auth"']
    lines += ["api-keys:"] + [f'  - "{k}"' for k in keys] if keys else ["api-keys: []"]
    return "\n".join(lines) + "\n"


def make_home(root: Path, port: int, *, key: str | None = "canary-local-key-7f3a9c2e5b", api_keys=None,
              mapping: dict[str, str] | None = None, host: str = "127.0.0.1", extra_env: dict | None = None) -> Path:
    """Write <root>/config.yaml and <root>/claude-code-gpt54.env; return root.

    `api_keys` defaults to [key]; `key=None` leaves ANTHROPIC_AUTH_TOKEN out of the env file.
    `mapping` is alias -> model (opus/sonnet/haiku); the default maps only haiku.
    """
    root.mkdir(parents=True, exist_ok=True)
    keys = [key] if api_keys is None and key else list(api_keys or [])
    (root / "config.yaml").write_text(config_text(port, keys, host), encoding="utf-8")
    (root / "auth").mkdir(exist_ok=True)
    env = {"ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}"}
    if key:
        env["ANTHROPIC_AUTH_TOKEN"] = key
    names = {"opus": "ANTHROPIC_DEFAULT_OPUS_MODEL", "sonnet": "ANTHROPIC_DEFAULT_SONNET_MODEL",
             "haiku": "ANTHROPIC_DEFAULT_HAIKU_MODEL"}
    for alias, model in (mapping if mapping is not None else {"haiku": HAIKU}).items():
        env[names[alias]] = model
    env.update(extra_env or {})
    text = "".join(f"export {k}='{v}'\n" for k, v in env.items())
    (root / "claude-code-gpt54.env").write_text(text, encoding="utf-8")
    os.chmod(root / "claude-code-gpt54.env", 0o600)
    return root
