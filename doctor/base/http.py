"""One HTTP GET bounded as a whole, in time and in bytes, for an answer that must not hold a run past its deadline.

httpx's timeouts bound each operation (the connect, each read), not the exchange: a server that drips
its headers or its body a byte at a time stays within every one of them, and the name lookup
(getaddrinfo) has no timeout at all. `get` runs the exchange on a daemon worker thread and waits for
it `timeout` seconds at most, as the probe client does (proxy.client.Probe.request); a worker still
running then is left behind (its own per-operation timeouts end it, or the process does) and the
answer is a timeout. Redirects are followed only when the caller asks (within the same budget). Error
words are redacted: an HTTP library's error may quote a header value or a URL; the worker's name carries
the URL without its userinfo. httpx is imported when the first request runs.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from claudex_doctor.base.net import without_userinfo


@dataclass
class Got:
    """What one GET produced. `timed_out`: the exchange did not end within its budget (`status` is set
    when the answer had begun). `error`: why there is no answer, in a few redacted words."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    truncated: bool = False
    timed_out: bool = False
    error: str = ""
    error_type: str = ""  # the class of the exception behind `error` (ImportError: a socks proxy without socksio)

    @property
    def answered(self) -> bool:
        return self.status is not None and not self.timed_out and not self.error


def get(url: str, headers: dict[str, str] | None = None, *, timeout: float, limit: int, proxy: str | None = None,
        trust_env: bool = False, verify: bool = True, follow_redirects: bool = False) -> Got:
    """GET `url`; at most `limit` bytes of body (`truncated` past it) and about `timeout` seconds in all.
    Never raises for anything the network or the server does."""
    budget = max(0.05, timeout)
    got = Got()
    worker = threading.Thread(target=_exchange, args=(got, url, dict(headers or {}), budget, limit, proxy,
                                                      trust_env, verify, follow_redirects),
                              name=f"get {without_userinfo(url)}", daemon=True)
    worker.start()
    worker.join(budget)
    if worker.is_alive():
        return Got(status=got.status, headers=dict(got.headers), timed_out=True)
    return got


def _exchange(got: Got, url: str, headers: dict[str, str], budget: float, limit: int, proxy: str | None,
              trust_env: bool, verify: bool, follow_redirects: bool) -> None:
    give_up = time.monotonic() + budget
    try:
        import httpx

        with httpx.Client(timeout=httpx.Timeout(budget), follow_redirects=follow_redirects, trust_env=trust_env,
                          verify=verify, proxy=proxy) as client:
            with client.stream("GET", url, headers=headers) as response:
                got.headers = {k.lower(): v for k, v in response.headers.items()}
                got.status = response.status_code
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        got.truncated = True
                        break
                    if time.monotonic() >= give_up:
                        got.timed_out = True
                        break
                got.body = bytes(body[:limit])
    except httpx.TimeoutException:
        got.timed_out = True
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError, ImportError) as exc:
        # ImportError: a socks proxy without socksio. InvalidURL is no HTTPError: a port that is not a number.
        got.error, got.error_type = _words(exc), type(exc).__name__
    except Exception as exc:  # noqa: BLE001 (escaping, it would be printed by threading's hook, unredacted)
        got.error = got.error_type = type(exc).__name__


_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'\"<>]*")


def _words(exc: BaseException) -> str:
    """An error in a few words: every URL in it without its userinfo, then redacted."""
    from claudex_doctor.base.redact import redact_text

    text = _URL.sub(lambda m: without_userinfo(m.group(0)), str(exc))
    return redact_text(text)[:160] or type(exc).__name__
