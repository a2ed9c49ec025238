"""Asking chatgpt.com for the plan's usage, the way the Codex CLI does, and never refreshing a token.

    GET https://chatgpt.com/backend-api/wham/usage
    Authorization: Bearer <access token>      ChatGPT-Account-Id: <account id>

The login is the proxy's credential (`auth/codex-current.json`), else the Codex CLI's
`~/.codex/auth.json`, whichever first has an access token that has not expired. An expired token is
reported as `expired`, never refreshed: a refresh rotates the refresh token and the other holder of it
(the proxy or the Codex CLI) is logged out with refresh_token_reused. Nothing here sends anything to
auth.openai.com.

The request goes through the proxy the stack already uses to reach chatgpt.com: the credential's own
`proxy_url`, else config.yaml's `proxy-url`, else the environment (HTTPS_PROXY, SSL_CERT_FILE). It
never follows a redirect and is bounded by `timeout` as a whole.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from claudex_doctor.base import files
from claudex_doctor.base.vocab import Vocabulary
from claudex_doctor.usage.model import Reading, parse_usage

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths
    from claudex_doctor.config.facts import Files

USAGE_URL = "https://chatgpt.com/backend-api/wham/usage"
MAX_BODY = 1 << 20
EXPIRY_MARGIN = 30.0  # a token this close to its expiry is treated as expired
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # what a token or an id may hold to go into a header as it is


class Problem(Vocabulary):
    """Why no fresh reading came back."""

    NO_LOGIN = "no_login"          # neither credential holds a ChatGPT access token
    API_KEY = "api_key"            # an OpenAI API key login: no plan, no quota
    EXPIRED = "expired"            # every access token has expired (never refreshed here)
    UNAUTHORIZED = "unauthorized"  # chatgpt.com refused the token (401/403)
    HTTP = "http"                  # another status (500, 404, a redirect)
    INVALID = "invalid"            # 200, but not a usage answer
    TIMEOUT = "timeout"
    TRANSPORT = "transport"        # no connection: DNS, refused, TLS, the proxy
    OFFLINE = "offline"            # not asked: --offline


@dataclass(frozen=True)
class Login:
    """The access token a request would use; `source` names the file for messages."""

    source: str
    access_token: str = field(default="", repr=False)  # never in a repr
    account_id: str | None = None
    expires_at: datetime | None = None
    plan: str | None = None
    proxy_url: str | None = field(default=None, repr=False)  # may carry a password


@dataclass(frozen=True)
class Fetched:
    reading: Reading | None
    problem: Problem | None = None
    message: str = ""
    status: int | None = None
    login: str | None = None  # which credential was used (or found expired)

    @property
    def ok(self) -> bool:
        return self.reading is not None


def choose_login(ctx: Files, now: datetime | None = None) -> tuple[Login | None, Fetched | None]:
    """(login, None) when a usable access token exists, else (None, why not)."""
    from claudex_doctor.auth.credentials import CredentialState, read_codex, read_proxy

    now = now or datetime.now(timezone.utc)
    candidates: list[Login] = []
    proxy = read_proxy(ctx.proxy_auth)
    if proxy.ok and proxy.tokens and proxy.tokens.access_token and not proxy.disabled:
        extra = proxy.data or {}
        url = extra.get("proxy_url") if isinstance(extra.get("proxy_url"), str) else None
        candidates.append(Login("proxy credential", proxy.tokens.access_token, proxy.tokens.account,
                                proxy.tokens.access_exp, proxy.tokens.plan, url or None))
    codex = read_codex(ctx.codex_auth)
    if codex.ok and codex.tokens and codex.tokens.access_token:
        candidates.append(Login("~/.codex/auth.json", codex.tokens.access_token, codex.tokens.account,
                                codex.tokens.access_exp, codex.tokens.plan))
    for login in candidates:
        if login.expires_at is None or (login.expires_at - now).total_seconds() > EXPIRY_MARGIN:
            return login, None
    if candidates:
        newest = max(candidates, key=lambda c: c.expires_at or now)
        when = newest.expires_at.astimezone().strftime("%Y-%m-%d %H:%M") if newest.expires_at else "?"
        return None, Fetched(None, Problem.EXPIRED, f"the access token in the {newest.source} expired at {when}; "
                             "claudex-doctor never refreshes a token (the proxy or `codex` does on its next request)",
                             login=newest.source)
    if codex.state is CredentialState.API_KEY or codex.login_mode == "api_key":
        return None, Fetched(None, Problem.API_KEY, "the Codex login is an OpenAI API key: it has no ChatGPT plan quota")
    return None, Fetched(None, Problem.NO_LOGIN, "no ChatGPT login with an access token (proxy credential or "
                         "~/.codex/auth.json)")


def proxy_for(ctx: Files, login: Login) -> str | None:
    """The proxy the stack reaches chatgpt.com through: the credential's, else config.yaml's `proxy-url`."""
    if login.proxy_url:
        return login.proxy_url.strip()
    from claudex_doctor.config.facts import config_data

    data = config_data(ctx) or {}
    value = data.get("proxy-url")
    return value.strip() if isinstance(value, str) and value.strip() else None


def fetch(paths: Paths, ctx: Files | None = None, *, timeout: float = 8.0, url: str = USAGE_URL) -> Fetched:
    """One GET of the usage endpoint, bounded by `timeout` seconds in all. Never raises."""
    from claudex_doctor.config.facts import StackFiles

    ctx = ctx or StackFiles(paths)
    login, refused = choose_login(ctx)
    if login is None:
        assert refused is not None
        return refused
    return request(login, proxy_for(ctx, login), timeout=timeout, url=url)


def request(login: Login, proxy: str | None, *, timeout: float, url: str = USAGE_URL) -> Fetched:
    from claudex_doctor import __version__
    from claudex_doctor.base import http
    from claudex_doctor.base.files import TooComplex, loads_json

    headers = {"Authorization": f"Bearer {login.access_token}", "Accept": "application/json",
               "User-Agent": f"claudex-doctor/{__version__}"}
    if login.account_id:
        headers["ChatGPT-Account-Id"] = login.account_id
    for value, what in ((login.access_token, "access token"), (login.account_id, "account id")):
        if value is not None and not _HEADER_SAFE.fullmatch(value):
            # Never handed to the HTTP library: its refusal would quote the whole header value.
            return Fetched(None, Problem.NO_LOGIN, f"the {what} in the {login.source} holds characters an HTTP "
                           "header cannot carry (the file looks damaged; log in again)", login=login.source)
    timeout = max(0.1, timeout)
    shown = "the proxy-url"
    if proxy:
        from claudex_doctor.base.net import without_userinfo

        shown = f"the proxy-url {without_userinfo(proxy)[:80]}"  # never its user:password
        scheme = proxy.split("://", 1)[0].lower() if "://" in proxy else ""
        if scheme not in PROXY_SCHEMES:
            return Fetched(None, Problem.TRANSPORT, f"{shown} is not a proxy URL this client can use "
                           f"({', '.join(s + '://' for s in PROXY_SCHEMES)})", login=login.source)
    # Bounded as a whole (name lookup and headers included), not per read: a server that drips its answer
    # is cut off at the deadline.
    got = http.get(url, headers, timeout=timeout, limit=MAX_BODY, proxy=proxy or None, trust_env=True)
    if got.timed_out:
        return Fetched(None, Problem.TIMEOUT, f"chatgpt.com did not answer within {timeout:.1f}s", login=login.source)
    if got.error_type == "ImportError":  # a socks proxy without httpx's socks support
        return Fetched(None, Problem.TRANSPORT, f"cannot use {shown}: {got.error}"[:200], login=login.source)
    if got.error or got.status is None:
        return Fetched(None, Problem.TRANSPORT, f"cannot reach chatgpt.com: {got.error or 'no answer'}",
                       login=login.source)
    status, body, location = got.status, got.body, got.headers.get("location", "")
    fetched_at = time.time()
    if 300 <= status < 400:
        where = location.split("?", 1)[0][:80] or "somewhere"
        return Fetched(None, Problem.HTTP, f"chatgpt.com answered {status} (a redirect to {where}, not followed)",
                       status=status, login=login.source)
    if status in (401, 403):
        return Fetched(None, Problem.UNAUTHORIZED, f"chatgpt.com refused the access token of the {login.source} "
                       f"({status}{_reason(body)})", status=status, login=login.source)
    if status != 200:
        return Fetched(None, Problem.HTTP, f"chatgpt.com answered {status}{_reason(body)}", status=status,
                       login=login.source)
    try:
        data = loads_json(body.decode("utf-8"))
    except (ValueError, TooComplex):
        return Fetched(None, Problem.INVALID, "chatgpt.com answered 200 with something that is not JSON",
                       status=status, login=login.source)
    reading = parse_usage(data, fetched_at)
    if reading is None:
        return Fetched(None, Problem.INVALID, "chatgpt.com answered 200 with JSON that is not a usage answer",
                       status=status, login=login.source)
    if reading.plan is None and login.plan:
        reading = Reading(reading.source, reading.fetched_at, reading.windows, login.plan, reading.credits,
                          reading.reached_type)
    return Fetched(reading, status=status, login=login.source)


def _reason(body: bytes) -> str:
    """': token_expired' from an error body, when it names a code or a detail."""
    try:
        data = files.loads_json(body[:4096].decode("utf-8", "replace"))
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    for value in ((error.get("code") or error.get("type")) if isinstance(error, dict) else None, data.get("detail")):
        if isinstance(value, str) and value:
            return f": {value[:100]}"
    return ""
