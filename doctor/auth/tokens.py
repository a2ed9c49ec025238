"""One login's token set, whichever file it came from: identity, times and which of two is newer.

`TokenSet` holds the three tokens plus what their JWTs say (exp, iat, e-mail, plan, account);
`compare` applies the newest-wins rule the checks and `sync-auth` share. Nothing here reads or
writes files, and nothing returns a token except the attributes holding them: evidence and
explanations carry fingerprints only. Import these through `claudex_doctor.auth.credentials`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from claudex_doctor.auth import jwt
from claudex_doctor.base import redact

SAME_TIME_SECONDS = 1.0  # two refresh times closer than this are "the same refresh"


def _claims(token: Any) -> tuple[jwt.Claims | None, str | None]:
    if not isinstance(token, str) or not token:
        return None, "missing"
    try:
        return jwt.claims(token), None
    except (jwt.JWTError, ValueError, RecursionError, TypeError) as exc:
        return None, str(exc) if isinstance(exc, jwt.JWTError) else "payload is not base64url-encoded JSON"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, as both tools accept it."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TokenSet:
    """One login's tokens, whichever file they came from, plus what the JWTs say about them."""

    # never in a repr: a crash report or a debug line quoting the object must not carry them
    id_token: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    account_id: str | None
    last_refresh: datetime | None = None
    last_refresh_text: str | None = None  # as written (kept verbatim when converting)
    expired: datetime | None = None  # the proxy's declared expiry, when the file carries one
    id_claims: jwt.Claims | None = None
    access_claims: jwt.Claims | None = None
    id_token_error: str | None = None
    access_token_error: str | None = None
    notes: tuple[str, ...] = ()  # non-fatal observations, secret-free

    @classmethod
    def build(cls, values: Mapping[str, Any], last_refresh: Any = None, expired: datetime | None = None,
              notes: tuple[str, ...] = ()) -> TokenSet:
        id_claims, id_error = _claims(values.get("id_token"))
        access_claims, access_error = _claims(values.get("access_token"))
        return cls(
            id_token=_text(values.get("id_token")),
            access_token=_text(values.get("access_token")),
            refresh_token=_text(values.get("refresh_token")),
            account_id=_text(values.get("account_id")),
            last_refresh=jwt.parse_time(last_refresh),
            last_refresh_text=_text(last_refresh),
            expired=expired,
            id_claims=id_claims,
            access_claims=access_claims,
            id_token_error=id_error,
            access_token_error=access_error,
            notes=notes,
        )

    # identity ------------------------------------------------------------
    @property
    def email(self) -> str | None:
        for claims in (self.id_claims, self.access_claims):
            if claims and claims.email:
                return claims.email
        return None

    @property
    def plan(self) -> str | None:
        for claims in (self.id_claims, self.access_claims):
            if claims and claims.plan:
                return claims.plan
        return None

    @property
    def claim_account_id(self) -> str | None:
        for claims in (self.id_claims, self.access_claims):
            if claims and claims.account_id:
                return claims.account_id
        return None

    @property
    def account(self) -> str | None:
        """The ChatGPT account these tokens belong to: the stored id, else the claim."""
        return self.account_id or self.claim_account_id

    @property
    def account_mismatch(self) -> bool:
        return bool(self.account_id and self.claim_account_id and self.account_id != self.claim_account_id)

    # time ----------------------------------------------------------------
    @property
    def access_exp(self) -> datetime | None:
        """When the access token stops working: its own `exp`, else the declared expiry."""
        if self.access_claims and self.access_claims.exp:
            return self.access_claims.exp
        return self.expired

    @property
    def issued_at(self) -> datetime | None:
        """When this token set was issued (the access token's iat, else the id token's)."""
        for claims in (self.access_claims, self.id_claims):
            if claims and claims.iat:
                return claims.iat
        return None

    def seconds_left(self, now: datetime) -> float | None:
        exp = self.access_exp
        return None if exp is None else (exp - now).total_seconds()

    # comparison ------------------------------------------------------------
    def same_tokens(self, other: TokenSet) -> bool:
        return (self.refresh_token, self.access_token, self.id_token) == \
            (other.refresh_token, other.access_token, other.id_token) and self.account == other.account

    def fingerprints(self) -> dict[str, str | None]:
        return {name: (redact.fingerprint(value) if value else None) for name, value in (
            ("refresh_token", self.refresh_token), ("access_token", self.access_token), ("id_token", self.id_token))}

    def evidence(self, now: datetime | None = None) -> dict[str, Any]:
        """Secret-free facts for findings and primitive results."""
        now = now or datetime.now(timezone.utc)
        left = self.seconds_left(now)
        return {
            "refresh_token": self.fingerprints()["refresh_token"],
            "access_token": self.fingerprints()["access_token"],
            "account_id": self.account,
            "email": self.email,
            "plan": self.plan,
            "last_refresh": iso(self.last_refresh),
            "issued_at": iso(self.issued_at),
            "access_expires": iso(self.access_exp),
            "expires_in": human_seconds(left) if left is not None else None,
        }

    def register_secrets(self) -> None:
        for value in (self.id_token, self.access_token, self.refresh_token):
            redact.REGISTRY.add(value)


def human_seconds(seconds: float) -> str:
    """'3d 4h', '-2h 5m' (negative: in the past)."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    return f"{sign}{minutes}m"


def ago(moment: datetime, now: datetime) -> str:
    delta = (now - moment).total_seconds()
    return f"{human_seconds(delta)} ago" if delta >= 0 else f"{human_seconds(-delta)} in the future"


# -- which side is newer ------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """`newer`: same | codex | proxy | unknown. `basis`: what decided it."""

    newer: str
    basis: str  # identical tokens | last_refresh | issued_at | expires | none
    same_refresh_token: bool
    same_account: bool | None  # None when an account is unknown on a side
    codex_time: datetime | None = None
    proxy_time: datetime | None = None

    def explain(self) -> str:
        if self.newer == "same":
            return "both hold the same tokens"
        if self.newer == "unknown":
            return "neither side carries a refresh time or an issue time that tells which is newer"
        other = "proxy" if self.newer == "codex" else "codex"
        what = {"last_refresh": "last_refresh", "issued_at": "token issue time (iat)",
                "expires": "access token expiry"}.get(self.basis, self.basis)
        times = {"codex": self.codex_time, "proxy": self.proxy_time}
        return f"the {self.newer} side is newer by {what}: {iso(times[self.newer])} vs {iso(times[other])}"


def compare(codex: TokenSet, proxy: TokenSet) -> Comparison:
    """Newest wins: by last_refresh on both sides, else by token issue time (access, then id token),
    else by the access token's expiry (tokens refreshed within the same second still differ there)."""
    same_rt = bool(codex.refresh_token) and codex.refresh_token == proxy.refresh_token
    accounts = (codex.account, proxy.account)
    same_account = None if None in accounts else accounts[0] == accounts[1]
    if codex.same_tokens(proxy):
        return Comparison("same", "identical tokens", same_rt, same_account)
    for basis, a, b in (("last_refresh", codex.last_refresh, proxy.last_refresh),
                        ("issued_at", codex.issued_at, proxy.issued_at),
                        ("expires", codex.access_exp, proxy.access_exp)):  # a refreshed token outlives the old
        if a is None or b is None:
            continue
        delta = (a - b).total_seconds()
        if abs(delta) >= SAME_TIME_SECONDS:
            return Comparison("codex" if delta > 0 else "proxy", basis, same_rt, same_account, a, b)
    return Comparison("unknown", "none", same_rt, same_account, codex.last_refresh or codex.issued_at,
                      proxy.last_refresh or proxy.issued_at)
