"""The two credential files of the stack, read the same way by checks and by `sync-auth`.

* The Codex CLI's `$CODEX_HOME/auth.json` is NESTED:
  `{"auth_mode"?, "OPENAI_API_KEY", "tokens": {id_token, access_token, refresh_token, account_id},
  "last_refresh"}`.
* The proxy's `auth/codex-current.json` is FLAT:
  `{"type": "codex", access_token, refresh_token, id_token, account_id, email, expired, last_refresh, ...}`.

`read_codex` / `read_proxy` turn a `files.Loaded` into a `CodexAuth` / `ProxyAuth` with a
named `state` (never an exception); `compare` says which token set is newer; `to_proxy` /
`to_codex` convert one format into the other, keeping the target's unrelated keys.
Nothing here writes, and no message or evidence ever contains a token: fingerprints only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from claudex_doctor.auth import jwt
from claudex_doctor.auth.tokens import Comparison, TokenSet, ago, compare, human_seconds, iso
from claudex_doctor.base import files, redact
from claudex_doctor.base.files import Problem
from claudex_doctor.base.vocab import Vocabulary

__all__ = [
    "Storage", "storage_mode", "TokenSet", "Comparison", "compare", "iso", "human_seconds", "ago",
    "CodexAuth", "ProxyAuth", "read_codex", "read_proxy", "load_codex", "load_proxy", "looks_nested",
    "codex_id_token_problem", "to_proxy", "to_codex", "TOKEN_FIELDS", "PROXY_EXPIRY_KEYS",
]

TOKEN_FIELDS = ("id_token", "access_token", "refresh_token", "account_id")
PROXY_EXPIRY_KEYS = ("expired", "expire", "expires_at", "expiresAt", "expiry", "expires")
CHATGPT_MODES = ("chatgpt", "chatgptAuthTokens")
OPTIONAL_FILE_STORES = ("keyring", "auto", "ephemeral")


# -- storage mode (config.toml) -------------------------------------------------

@dataclass(frozen=True)
class Storage:
    """Where Codex keeps its login: `cli_auth_credentials_store` in `$CODEX_HOME/config.toml`."""

    mode: str  # file | keyring | auto | ephemeral | the unknown value as written
    source: str  # "default" (no config.toml or no key) | "config.toml"
    note: str = ""  # a problem reading config.toml, when there was one

    @property
    def file_optional(self) -> bool:
        """In these modes Codex may delete (or never write) auth.json while logged in."""
        return self.mode in OPTIONAL_FILE_STORES


_STORE_LINE = re.compile(r"""^\s*cli_auth_credentials_store\s*=\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z_]+))""")


def storage_mode(config_path: Path) -> Storage:
    """Read the one key that matters; tolerant of a broken or missing config.toml."""
    loaded = files.read_text(config_path)
    if loaded.problem is Problem.MISSING:
        return Storage("file", "default")
    if not loaded.ok:
        return Storage("file", "default", f"config.toml could not be read ({loaded.message}); assuming file storage")
    text = loaded.text or ""
    value: Any = None
    try:
        import tomllib  # Python >= 3.11
    except ImportError:  # pragma: no cover - exercised on 3.10 only
        tomllib = None
    if tomllib is not None:
        try:
            value = tomllib.loads(text).get("cli_auth_credentials_store")
        except (ValueError, RecursionError):
            value = _store_from_lines(text)
            if value is None:
                return Storage("file", "default", "config.toml is not valid TOML; assuming file storage")
    else:
        value = _store_from_lines(text)
    if value is None:
        return Storage("file", "default")
    if not isinstance(value, str) or not value.strip():
        return Storage("file", "config.toml", "cli_auth_credentials_store is not a string; assuming file storage")
    return Storage(value.strip().lower(), "config.toml")


def _store_from_lines(text: str) -> str | None:
    """The top-level key only (before any [table] header), as a tiny line parse."""
    for line in text.splitlines():
        if line.lstrip().startswith("["):
            break
        match = _STORE_LINE.match(line)
        if match:
            return next(g for g in match.groups() if g is not None)
    return None


class CredentialState(Vocabulary):
    """What reading a credential file found: usable, why not (the file's own problem first)."""

    OK = "ok"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    NOT_UTF8 = "not_utf8"
    INVALID = "invalid"
    WRONG_TYPE = "wrong_type"
    TOO_LARGE = "too_large"
    NOT_A_FILE = "not_a_file"
    API_KEY = "api_key"                    # Codex: an OpenAI API key, not a ChatGPT login
    BAD_MODE = "bad_mode"                  # Codex: auth_mode is not one Codex knows
    NO_TOKENS = "no_tokens"                # Codex: no tokens at all
    BAD_TOKENS = "bad_tokens"              # a token field of the wrong type
    BAD_ID_TOKEN = "bad_id_token"          # Codex: the id_token is not a JWT Codex accepts
    BAD_LAST_REFRESH = "bad_last_refresh"  # Codex: last_refresh is not an RFC 3339 time
    NESTED = "nested"                      # proxy: the Codex CLI's nested format copied by hand
    NO_TYPE = "no_type"                    # proxy: no "type", the proxy skips it
    OTHER_TYPE = "other_type"              # proxy: a credential of another provider

    @classmethod
    def of(cls, problem: Problem | None) -> CredentialState:
        return cls(str(problem)) if problem is not None else cls.INVALID


# -- the Codex CLI's file --------------------------------------------------------

@dataclass(frozen=True)
class CodexAuth:
    """~/.codex/auth.json as read. `state` names what is wrong; `ok` means usable ChatGPT tokens."""

    path: Path
    state: CredentialState
    message: str
    login_mode: str = "unknown"  # chatgpt | api_key | unknown: what the Codex CLI itself will use
    tokens: TokenSet | None = None
    data: dict | None = field(default=None, repr=False)
    api_key_fingerprint: str | None = None
    mode: int | None = None

    @property
    def ok(self) -> bool:
        return self.state is CredentialState.OK


def _bad_token_fields(values: Mapping[str, Any], required: tuple[str, ...]) -> str | None:
    for name in required:
        value = values.get(name)
        if value is None or value == "":
            return f"{name} is missing"
        if not isinstance(value, str):
            return f"{name} is {files._json_type(value)}, not a string"
    for name in TOKEN_FIELDS:
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            return f"{name} is {files._json_type(value)}, not a string"
    return None


def codex_id_token_problem(token: str | None) -> str | None:
    """Codex is stricter than a JWT decoder about the id_token (observed with codex-cli 0.169):
    three NON-EMPTY parts, base64url WITHOUT padding. The proxy accepts either."""
    if not token:
        return "is missing"
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return "has an empty part (an unsigned `alg: none` token?)"
    if "=" in token:
        return "uses padded base64"
    return None


def read_codex(loaded: files.Loaded) -> CodexAuth:
    """Interpret a loaded auth.json. Never raises."""
    path, name = loaded.path, "auth.json"
    if not loaded.ok:
        return CodexAuth(path, CredentialState.of(loaded.problem), loaded.message, mode=loaded.mode)
    data = loaded.data
    if not isinstance(data, dict):  # read_json already guarantees an object; be defensive anyway
        return CodexAuth(path, CredentialState.WRONG_TYPE, f"{name} does not hold a JSON object", mode=loaded.mode)
    redact.register_from(data)
    api_key = data.get("OPENAI_API_KEY")
    api_fp = redact.fingerprint(api_key) if isinstance(api_key, str) and api_key else None
    auth_mode = data.get("auth_mode")
    if auth_mode is not None and not isinstance(auth_mode, str):
        return CodexAuth(path, CredentialState.BAD_MODE, f"auth_mode is {files._json_type(auth_mode)}, not a string: "
                         "Codex cannot read this file", data=data, mode=loaded.mode)
    if auth_mode == "apikey":
        login_mode = "api_key"
    elif auth_mode in CHATGPT_MODES:
        login_mode = "chatgpt"
    elif auth_mode is not None:
        return CodexAuth(path, CredentialState.BAD_MODE, f"auth_mode {auth_mode[:40]!r} is not one Codex knows "
                         "(apikey, chatgpt): Codex cannot read this file", data=data, mode=loaded.mode)
    else:
        login_mode = "api_key" if api_fp else "chatgpt"
    base: dict[str, Any] = dict(path=path, login_mode=login_mode, data=data, api_key_fingerprint=api_fp,
                                mode=loaded.mode)
    raw_tokens = data.get("tokens")
    if raw_tokens is None:
        if login_mode == "api_key":
            return CodexAuth(state=CredentialState.API_KEY, message=f"{name} holds an OpenAI API key ({api_fp}), no ChatGPT "
                             "login", **base)
        return CodexAuth(state=CredentialState.NO_TOKENS, message=f"{name} has no tokens: it is not a ChatGPT login", **base)
    if not isinstance(raw_tokens, dict):
        return CodexAuth(state=CredentialState.BAD_TOKENS, message=f"{name}: tokens is {files._json_type(raw_tokens)}, "
                         "not an object", **base)
    bad = _bad_token_fields(raw_tokens, ("id_token", "access_token", "refresh_token"))
    if bad:
        return CodexAuth(state=CredentialState.BAD_TOKENS, message=f"{name}: tokens.{bad}", **base)
    last_refresh = data.get("last_refresh")
    notes: list[str] = []
    if last_refresh is not None and jwt.parse_time(last_refresh) is None:
        return CodexAuth(state=CredentialState.BAD_LAST_REFRESH, message=f"{name}: last_refresh is not an RFC 3339 time: "
                         "Codex cannot read this file", **base)
    if last_refresh is None:
        notes.append("last_refresh is missing")
    tokens = TokenSet.build(raw_tokens, last_refresh=last_refresh, notes=tuple(notes))
    tokens.register_secrets()
    if tokens.id_claims is None:
        return CodexAuth(state=CredentialState.BAD_ID_TOKEN, message=f"{name}: the id_token is not a readable JWT "
                         f"({tokens.id_token_error}): Codex cannot use this login", tokens=tokens, **base)
    shape = codex_id_token_problem(tokens.id_token)
    if shape:
        return CodexAuth(state=CredentialState.BAD_ID_TOKEN, message=f"{name}: the id_token {shape}: Codex rejects it",
                         tokens=tokens, **base)
    return CodexAuth(state=CredentialState.OK, message="ChatGPT login", tokens=tokens, **base)


# -- the proxy's file ------------------------------------------------------------

@dataclass(frozen=True)
class ProxyAuth:
    """auth/codex-current.json as read. `ok` means a flat codex credential with tokens."""

    path: Path
    state: CredentialState
    message: str
    tokens: TokenSet | None = None
    data: dict | None = field(default=None, repr=False)
    type: str | None = None
    disabled: bool = False
    expiry_key: str | None = None  # which of PROXY_EXPIRY_KEYS held the expiry
    mode: int | None = None

    @property
    def ok(self) -> bool:
        return self.state is CredentialState.OK


def looks_nested(data: Mapping[str, Any]) -> bool:
    """A Codex-format auth.json copied by hand: tokens nested under `tokens`, no `type`."""
    return isinstance(data.get("tokens"), dict) and "access_token" not in data


def read_proxy(loaded: files.Loaded) -> ProxyAuth:
    """Interpret a loaded codex-current.json. Never raises."""
    path, name = loaded.path, loaded.path.name
    if not loaded.ok:
        return ProxyAuth(path, CredentialState.of(loaded.problem), loaded.message, mode=loaded.mode)
    data = loaded.data
    if not isinstance(data, dict):
        return ProxyAuth(path, CredentialState.WRONG_TYPE, f"{name} does not hold a JSON object", mode=loaded.mode)
    redact.register_from(data)
    kind = data.get("type")
    base: dict[str, Any] = dict(path=path, data=data, mode=loaded.mode, disabled=data.get("disabled") is True)
    if looks_nested(data) and kind is None:
        return ProxyAuth(state=CredentialState.NESTED, message=f"{name} is in the Codex CLI's nested format (tokens under "
                         "\"tokens\", no \"type\"): the proxy ignores it", **base)
    if kind is None or kind == "":
        return ProxyAuth(state=CredentialState.NO_TYPE, message=f"{name} has no \"type\": the proxy skips files without one",
                         **base)
    if not isinstance(kind, str):
        return ProxyAuth(state=CredentialState.OTHER_TYPE, message=f"{name}: type is {files._json_type(kind)}, not \"codex\"",
                         **base)
    if kind.lower() != "codex":
        return ProxyAuth(state=CredentialState.OTHER_TYPE, message=f"{name} is a {kind[:40]!r} credential, not a codex one",
                         type=kind, **base)
    bad = _bad_token_fields(data, ("access_token",))
    if bad:
        return ProxyAuth(state=CredentialState.BAD_TOKENS, message=f"{name}: {bad}", type=kind, **base)
    notes: list[str] = []
    expired, expiry_key = None, None
    for key in PROXY_EXPIRY_KEYS:
        if key in data and data[key] not in (None, ""):
            expiry_key = key
            expired = jwt.parse_time(data[key]) if isinstance(data[key], str) else _epoch(data[key])
            if expired is None:
                notes.append(f"{key} is not a readable time")
            break
    last_refresh = data.get("last_refresh")
    if last_refresh not in (None, "") and jwt.parse_time(last_refresh) is None:
        notes.append("last_refresh is not a readable time")
    tokens = TokenSet.build(data, last_refresh=last_refresh if isinstance(last_refresh, str) else None,
                            expired=expired, notes=tuple(notes))
    tokens.register_secrets()
    return ProxyAuth(state=CredentialState.OK, message="codex credential", tokens=tokens, type=kind, expiry_key=expiry_key, **base)


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def load_codex(path: Path) -> CodexAuth:
    return read_codex(_secret_json(path))


def load_proxy(path: Path) -> ProxyAuth:
    return read_proxy(_secret_json(path))


def _secret_json(path: Path) -> files.Loaded:
    loaded = files.read_json(path)
    if not loaded.ok and loaded.text:
        redact.register_words(loaded.text)  # a broken file may still hold secrets
    return loaded


# -- conversion -------------------------------------------------------------------

def _refresh_text(tokens: TokenSet, now: datetime) -> str:
    if tokens.last_refresh_text and tokens.last_refresh:
        return tokens.last_refresh_text
    return iso(tokens.last_refresh or tokens.issued_at or now) or ""


def to_proxy(tokens: TokenSet, existing: Mapping[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Codex tokens -> the proxy's flat codex credential. Keeps the existing file's own keys
    (priority, proxy_url, prefix, note, headers, disabled, ...) when it was a flat credential."""
    now = now or datetime.now(timezone.utc)
    out: dict[str, Any] = {}
    if existing and not looks_nested(existing):
        out.update({k: v for k, v in existing.items() if k not in TOKEN_FIELDS and k not in PROXY_EXPIRY_KEYS
                    and k not in ("type", "email", "last_refresh")})
    flat: dict[str, Any] = {
        "type": "codex",
        "id_token": tokens.id_token or "",
        "access_token": tokens.access_token or "",
        "refresh_token": tokens.refresh_token or "",
        "account_id": tokens.account or "",
        "email": tokens.email or "",
    }
    exp = tokens.access_exp
    if exp is not None:
        flat["expired"] = iso(exp)
    flat["last_refresh"] = _refresh_text(tokens, now)
    flat.update(out)
    return flat


def to_codex(tokens: TokenSet, existing: Mapping[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Proxy tokens -> Codex's nested auth.json, keeping its other keys (auth_mode, OPENAI_API_KEY, ...)."""
    now = now or datetime.now(timezone.utc)
    out: dict[str, Any] = dict(existing or {})
    if "OPENAI_API_KEY" not in out:
        out["OPENAI_API_KEY"] = None
    old = out.get("tokens")
    nested: dict[str, Any] = dict(old) if isinstance(old, dict) else {}
    nested.update({
        "id_token": tokens.id_token or "",
        "access_token": tokens.access_token or "",
        "refresh_token": tokens.refresh_token or "",
        "account_id": tokens.account,
    })
    out["tokens"] = nested
    out["last_refresh"] = _refresh_text(tokens, now)
    return out
