"""Crafted OAuth credentials for the fake upstream: JWTs and both credential file formats.

Facts these helpers are built on (read from the real clients, not guessed):

- CLIProxyAPI decodes JWT claims without verifying them; `aud` must be a JSON list (it unmarshals
  into []string, a string makes the whole claim set unreadable) and
  `https://api.openai.com/auth.chatgpt_subscription_last_checked`, when present, must be RFC 3339.
- The Codex CLI also decodes without verifying, but insists on three NON-EMPTY dot-separated parts
  and base64url WITHOUT padding. An `alg: none` token with an empty signature is "invalid ID token
  format" for Codex. So the default here is HS256 with a dummy key: well formed, never trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"
ISSUER = "https://auth.openai.com"
DUMMY_KEY = b"claudex-doctor-fake-upstream-not-a-real-key"
DEFAULT_ACCESS_TTL = 10 * 24 * 3600  # what auth.openai.com hands out (about ten days)


def fingerprint(value: str | bytes) -> str:
    """Same shape as the doctor's fingerprints: `sha256:` and 8 hex digits."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    return "sha256:" + hashlib.sha256(value).hexdigest()[:8]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, Any], *, alg: str = "HS256", key: bytes = DUMMY_KEY) -> str:
    """A JWT carrying `claims`. alg "HS256" signs with a dummy key; "none" leaves the signature EMPTY
    (accepted by CLIProxyAPI, rejected by the Codex CLI: useful for negative tests)."""
    header = {"alg": alg, "typ": "JWT"}
    signing_input = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + _b64url(
        json.dumps(claims, separators=(",", ":")).encode())
    if alg == "none":
        return signing_input + "."
    if alg != "HS256":
        raise ValueError(f"unsupported alg {alg!r}")
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def decode_jwt(token: str) -> dict[str, Any]:
    """Claims of a JWT, unverified. Raises ValueError for anything that is not one."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not parts[1]:
        raise ValueError("not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    if not isinstance(claims, dict):
        raise ValueError("JWT payload is not an object")
    return claims


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TokenSet:
    """One login's worth of tokens, as auth.openai.com would issue them."""

    access_token: str
    refresh_token: str
    id_token: str
    account_id: str
    email: str
    plan: str
    user_id: str
    issued_at: int
    expires_at: int

    @property
    def expires_in(self) -> int:
        return self.expires_at - self.issued_at

    @property
    def expired(self) -> str:
        """RFC 3339 expiry, the proxy credential's `expired` field."""
        return rfc3339(self.expires_at)

    @property
    def last_refresh(self) -> str:
        return rfc3339(self.issued_at)


def craft_tokens(*, account_id: str | None = None, email: str = "e2e@example.test", plan: str = "plus",
                 user_id: str | None = None, ttl: int = DEFAULT_ACCESS_TTL, now: float | None = None,
                 alg: str = "HS256") -> TokenSet:
    """A fresh token set with realistic claims. A negative ttl gives an already expired access token."""
    issued = int(now if now is not None else datetime.now(timezone.utc).timestamp())
    expires = issued + ttl
    account_id = account_id or f"acct-{secrets.token_hex(6)}"
    user_id = user_id or f"user-{secrets.token_hex(8)}"
    auth = {"chatgpt_account_id": account_id, "chatgpt_plan_type": plan, "chatgpt_user_id": user_id,
            "user_id": user_id}
    access_claims = {
        "aud": ["https://api.openai.com/v1"], "client_id": CLIENT_ID, "exp": expires, "iat": issued,
        "iss": ISSUER, "jti": secrets.token_hex(8), "nbf": issued, "scp": ["openid", "profile", "email",
                                                                            "offline_access"],
        "sub": f"auth0|{user_id}", AUTH_CLAIM: auth, PROFILE_CLAIM: {"email": email, "email_verified": True},
    }
    id_claims = {
        "aud": [CLIENT_ID], "auth_provider": "password", "auth_time": issued, "email": email,
        "email_verified": True, "exp": issued + 3600, "iat": issued, "iss": ISSUER,
        "jti": secrets.token_hex(8), "sub": f"auth0|{user_id}", AUTH_CLAIM: auth,
    }
    return TokenSet(
        access_token=make_jwt(access_claims, alg=alg),
        refresh_token="rt_" + secrets.token_urlsafe(32),
        id_token=make_jwt(id_claims, alg=alg),
        account_id=account_id, email=email, plan=plan, user_id=user_id,
        issued_at=issued, expires_at=expires,
    )


def make_codex_auth_json(tokens: TokenSet, *, last_refresh: str | None = None,
                         auth_mode: str | None = "chatgpt") -> dict[str, Any]:
    """The Codex CLI's nested `$CODEX_HOME/auth.json`."""
    data: dict[str, Any] = {}
    if auth_mode is not None:
        data["auth_mode"] = auth_mode
    data["OPENAI_API_KEY"] = None
    data["tokens"] = {"id_token": tokens.id_token, "access_token": tokens.access_token,
                      "refresh_token": tokens.refresh_token, "account_id": tokens.account_id}
    data["last_refresh"] = last_refresh if last_refresh is not None else tokens.last_refresh
    return data


def make_proxy_auth_json(tokens: TokenSet, *, expired: str | None = None, last_refresh: str | None = None,
                         **extra: Any) -> dict[str, Any]:
    """CLIProxyAPI's flat codex credential (`<auth-dir>/codex-current.json`)."""
    data: dict[str, Any] = {
        "type": "codex",
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "id_token": tokens.id_token,
        "account_id": tokens.account_id,
        "email": tokens.email,
        "expired": expired if expired is not None else tokens.expired,
        "last_refresh": last_refresh if last_refresh is not None else tokens.last_refresh,
    }
    data.update(extra)
    return data


def write_json(path: Path, data: Any, *, mode: int = 0o600) -> Path:
    """Write JSON the way both tools do (pretty, private); the file is created with `mode`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.chmod(path, mode)
    return path
