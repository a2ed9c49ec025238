"""JWT claims, decoded WITHOUT verification (the doctor has no key and needs none).

Used to read what a token says about itself: expiry, issue time, plan, account.
Never use these claims for a security decision.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from claudex_doctor.base.files import TooComplex, loads_json

AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"


class JWTError(ValueError):
    """The value is not a readable JWT. The message never contains the token."""


def decode(token: Any) -> dict[str, Any]:
    if not isinstance(token, str) or not token:
        raise JWTError("empty or not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWTError(f"has {len(parts)} parts, a JWT has 3")
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = loads_json(raw.decode("utf-8"))
    except TooComplex:
        raise JWTError("payload is nested or numbered beyond any real token") from None
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise JWTError("payload is not base64url-encoded JSON") from None
    if not isinstance(claims, dict):
        raise JWTError("payload is not a JSON object")
    return claims


@dataclass(frozen=True)
class Claims:
    exp: datetime | None
    iat: datetime | None
    email: str | None
    plan: str | None
    account_id: str | None
    user_id: str | None

    def seconds_left(self, now: datetime | None = None) -> float | None:
        if self.exp is None:
            return None
        now = now or datetime.now(timezone.utc)
        return (self.exp - now).total_seconds()


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def claims(token: Any) -> Claims:
    data = decode(token)
    auth: dict[str, Any] = data[AUTH_CLAIM] if isinstance(data.get(AUTH_CLAIM), dict) else {}
    profile: dict[str, Any] = data[PROFILE_CLAIM] if isinstance(data.get(PROFILE_CLAIM), dict) else {}
    email = data.get("email") if isinstance(data.get("email"), str) else profile.get("email")

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    return Claims(
        exp=_time(data.get("exp")),
        iat=_time(data.get("iat")),
        email=text(email),
        plan=text(auth.get("chatgpt_plan_type")),
        account_id=text(auth.get("chatgpt_account_id")),
        user_id=text(auth.get("chatgpt_user_id")),
    )


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 timestamps as written by Codex and CLIProxyAPI; None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    # Python < 3.11 does not accept more than 6 fractional digits.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits):]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
