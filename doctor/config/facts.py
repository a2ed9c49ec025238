"""Facts about the configured stack, derived once from config.yaml, the env file and the two logins.

`StackFiles` reads each of the stack's files at most once and registers every secret in them with
the redaction layer before anyone sees the data. The functions below ask it the questions checks,
probes and primitives share, the same way; nothing here writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from claudex_doctor.base import files, redact
from claudex_doctor.base.memo import Memo
from claudex_doctor.base.paths import DEFAULT_HOST, DEFAULT_PORT, Paths
from claudex_doctor.config import envfile

ALIASES = {
    "opus": "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "sonnet": "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "haiku": "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "fable": "ANTHROPIC_DEFAULT_FABLE_MODEL",
    "subagent": "CLAUDE_CODE_SUBAGENT_MODEL",
    "default": "ANTHROPIC_MODEL",
}


class Files(Protocol):
    """Anything that reads the stack's files the way StackFiles does (a check's context, a primitive's)."""

    @property
    def config(self) -> files.Loaded: ...

    @property
    def env_file(self) -> files.Loaded: ...

    @property
    def codex_auth(self) -> files.Loaded: ...

    @property
    def proxy_auth(self) -> files.Loaded: ...


class StackFiles(Memo):
    """The stack's files as parsed data (`files.Loaded`), each read once per instance."""

    paths: Paths

    def __init__(self, paths: Paths) -> None:
        Memo.__init__(self)
        self.paths = paths

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
            loaded = files.read_text(self.paths.env_file)
            if not loaded.ok:
                return loaded
            parsed = envfile.parse(loaded.text or "")
            for key, value in parsed.values.items():
                if redact.is_secret_name(key):
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
            redact.register_words(loaded.text)  # a broken file may still hold secrets
        return loaded


PROXY_DEFAULT_AUTH_DIR = "~/.cli-proxy-api"  # where CLIProxyAPI keeps credentials when config.yaml names no auth-dir


def auth_dir_path(paths: Paths, text: str) -> Path:
    """Where the proxy finds the auth-dir `text`: `~` is the user's home, a relative path is the runtime
    home's (run.sh cds into the home before it starts the proxy)."""
    text = text.strip()
    if text == "~" or text.startswith("~/"):
        return paths.user_home / text[2:]
    path = Path(text)
    return path if path.is_absolute() else paths.home / path


def auth_dir(paths: Paths, data: dict | None) -> Path:
    """The proxy's auth folder per config.yaml's `data`: its auth-dir, else the proxy's default
    (~/.cli-proxy-api); the home's ./auth (what bootstrap writes) when there is no config data at all."""
    if data is None:
        return paths.auth_dir
    raw = data.get("auth-dir")
    return auth_dir_path(paths, raw if isinstance(raw, str) and raw.strip() else PROXY_DEFAULT_AUTH_DIR)


def config_data(ctx: Files) -> dict | None:
    loaded = ctx.config
    return loaded.data if loaded.ok else None


def env_values(ctx: Files) -> dict[str, str]:
    loaded = ctx.env_file
    return dict(loaded.data.values) if loaded.ok else {}


def _port(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 65536:
        return value
    if isinstance(value, str) and value.strip().isdigit() and 0 < int(value) < 65536:
        return int(value)
    return None


def config_port(ctx: Files) -> int | None:
    data = config_data(ctx)
    return _port(data.get("port")) if data else None


def config_host(ctx: Files) -> str | None:
    data = config_data(ctx)
    if not data:
        return None
    host = data.get("host")
    return host if isinstance(host, str) else None


def api_keys(ctx: Files) -> list[str]:
    data = config_data(ctx) or {}
    keys = data.get("api-keys")
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def base_url(ctx: Files) -> str | None:
    """ANTHROPIC_BASE_URL from the env file, as Claude Code will see it."""
    return env_values(ctx).get("ANTHROPIC_BASE_URL") or None


def env_port(ctx: Files) -> int | None:
    url = base_url(ctx)
    if not url:
        return None
    try:
        parts = urlsplit(url)
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None


def gateway_port(ctx: Files) -> int:
    """Where the proxy should listen: the config's port, else the env file's, else 8327."""
    return config_port(ctx) or env_port(ctx) or DEFAULT_PORT


def probe_base(ctx: Files) -> str:
    """The URL probes use: the one Claude Code uses (env file), else the config's loopback address."""
    url = base_url(ctx)
    if url:
        return url.rstrip("/")
    host = config_host(ctx) or DEFAULT_HOST
    if host in ("", "0.0.0.0", "::"):
        host = DEFAULT_HOST
    return f"http://{host}:{gateway_port(ctx)}"


def local_key(ctx: Files) -> str | None:
    """The key Claude Code sends (ANTHROPIC_AUTH_TOKEN in the env file), else the config's first key."""
    token = env_values(ctx).get("ANTHROPIC_AUTH_TOKEN")
    if token:
        return token
    keys = api_keys(ctx)
    return keys[0] if keys else None


def mapping(ctx: Files) -> dict[str, str]:
    """alias -> model string (e.g. 'opus' -> 'gpt-5.6-sol(xhigh)') for the aliases the env file sets."""
    values = env_values(ctx)
    return {alias: values[var] for alias, var in ALIASES.items() if values.get(var)}


def plan(ctx: Files) -> tuple[str | None, str]:
    """The ChatGPT plan from the Codex login's id_token (else the proxy credential's); (plan, source)."""
    from claudex_doctor.auth.jwt import JWTError, claims

    for source, loaded, getter in (
        ("~/.codex/auth.json", ctx.codex_auth, lambda d: (d.get("tokens") or {}).get("id_token")),
        ("proxy credential", ctx.proxy_auth, lambda d: d.get("id_token")),
    ):
        if not loaded.ok or not isinstance(loaded.data, dict):
            continue
        try:
            token = getter(loaded.data)
            value = claims(token).plan if token else None
        except (JWTError, AttributeError):
            value = None
        if value:
            return value, source
    return None, "unknown"
