"""FakeUpstream: chatgpt.com and auth.openai.com on loopback, for driving the REAL CLIProxyAPI.

    with FakeUpstream() as fake:
        tokens = fake.issue_tokens()                      # crafted JWTs the fake accepts
        config: proxy-url: fake.proxy_url                  # the proxy CONNECTs through the fake
        env:    SSL_CERT_FILE=fake.ca_file                 # Go trusts the test CA through it
        ... run the proxy, send /v1/messages ...
        fake.responses_requests()[-1].body["instructions"]  # what the proxy sent upstream
        fake.set_mode("usage_limit", resets_in_seconds=5)   # or model_not_supported, unauthorized
        fake.refusals                                       # every CONNECT to any other host

Everything listens on 127.0.0.1 with a random port; nothing connects out. Hosts other than
chatgpt.com:443 and auth.openai.com:443 are refused (403) and recorded in `refusals`, so the same
proxy can be given to HTTPS_PROXY as a safety net that also tells which hosts a program tried.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

import trustme

from .upstream_backend import (
    AUTH_HOST,
    CHATGPT_HOST,
    DEFAULT_MODELS,
    DEFAULT_TEXT,
    MODES,
    FakeBackend,
    Recorded,
    Refusal,
)
from .upstream_creds import (
    CLIENT_ID,
    TokenSet,
    craft_tokens,
    decode_jwt,
    fingerprint,
    make_codex_auth_json,
    make_jwt,
    make_proxy_auth_json,
    rfc3339,
    write_json,
)
from .upstream_wire import ConnectProxy

__all__ = [
    "AUTH_HOST", "CHATGPT_HOST", "CLIENT_ID", "DEFAULT_MODELS", "DEFAULT_TEXT", "MODES", "FakeUpstream", "Recorded",
    "Refusal", "TokenSet", "craft_tokens", "decode_jwt", "fingerprint", "make_codex_auth_json", "make_jwt",
    "make_proxy_auth_json", "rfc3339", "write_json",
]


class FakeUpstream(FakeBackend):
    """A threaded CONNECT proxy that serves the fake backend for the intercepted names."""

    INTERCEPT = (CHATGPT_HOST, AUTH_HOST)

    def __init__(self, *, workdir: Path | None = None, **backend: Any) -> None:
        super().__init__(**backend)
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="fake-upstream-"))
        self.ca = trustme.CA()
        self.ca_file = self.workdir / "fake-upstream-ca.pem"
        self._proxy: ConnectProxy | None = None

    @property
    def port(self) -> int:
        assert self._proxy is not None, "FakeUpstream not started"
        return self._proxy.port

    @property
    def proxy_url(self) -> str:
        """What to put in config.yaml `proxy-url` (and in HTTPS_PROXY as a safety net)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeUpstream:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert(*self.INTERCEPT).configure_cert(context)
        context.set_alpn_protocols(["h2", "http/1.1"])
        self._proxy = ConnectProxy(self.handle, context, self.INTERCEPT, self.on_refuse, self.on_connect)
        self._proxy.start()
        return self

    def stop(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context trusting the test CA (for talking to the fake from Python)."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def proxy_env(self) -> dict[str, str]:
        """Environment that sends a program's own outbound HTTP(S) to the fake and trusts its CA;
        loopback stays direct."""
        return {
            "SSL_CERT_FILE": str(self.ca_file),
            "HTTPS_PROXY": self.proxy_url, "https_proxy": self.proxy_url,
            "HTTP_PROXY": self.proxy_url, "http_proxy": self.proxy_url,
            "ALL_PROXY": self.proxy_url, "all_proxy": self.proxy_url,
            "NO_PROXY": "127.0.0.1,localhost,::1", "no_proxy": "127.0.0.1,localhost,::1",
        }
