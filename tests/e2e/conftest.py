"""Fixtures for the end-to-end tests with the real CLIProxyAPI, Claude Code and Codex CLI.

Components come from CLAUDEX_E2E_BIN_DIR, else the cache `.ci/install-e2e` fills
(${CLAUDEX_E2E_CACHE:-${XDG_CACHE_HOME:-~/.cache}/claudex-doctor-e2e}/bin). A missing component
skips the tests that need it, with the reason; with CLAUDEX_E2E_REQUIRED=1 (set by .ci/run) it
FAILS them instead, so CI cannot go green by skipping.

Fixtures:
    proxy_bin / claude_bin / codex_bin   paths of the real binaries (session)
    fake_upstream     one FakeUpstream per module (loopback CONNECT proxy + test CA)
    upstream          the same, reset (mode ok, records cleared) for each test
    proxy             one real proxy per module, started and ready; `.tokens` is its login
    make_proxy        factory for a test's own proxy (errors put credentials in cooldown, so
                      tests that cause them must not share the module proxy); all stopped after
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.upstream import FakeUpstream, TokenSet

from .harness import ProxyRuntime, components_required, find_component

EXPECTED_PHONE_HOME = frozenset({
    # misc.StartAntigravityVersionUpdater: always, even with -local-model (uses HTTPS_PROXY)
    "antigravity-hub-auto-updater-974169037036.us-central1.run.app",
    # registry model catalogs: skipped with -local-model (use HTTPS_PROXY, not proxy-url)
    "raw.githubusercontent.com", "models.router-for.me",
})


def _component(name: str) -> Path:
    path, why = find_component(name)
    if path is None:
        if components_required():
            pytest.fail(f"e2e component missing and CLAUDEX_E2E_REQUIRED=1: {why}", pytrace=False)
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def proxy_bin() -> Path:
    return _component("proxy")


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    return _component("claude")


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    return _component("codex")


@pytest.fixture(scope="module")
def fake_upstream(tmp_path_factory) -> Iterator[FakeUpstream]:
    with FakeUpstream(workdir=tmp_path_factory.mktemp("upstream")) as fake:
        yield fake


@pytest.fixture
def upstream(fake_upstream: FakeUpstream) -> FakeUpstream:
    fake_upstream.reset()
    return fake_upstream


@pytest.fixture(scope="module")
def proxy(proxy_bin, fake_upstream, tmp_path_factory) -> Iterator[ProxyRuntime]:
    """The real proxy with a fresh ten-day login (beyond its five-day refresh lead: no refresh)."""
    runtime = ProxyRuntime(tmp_path_factory.mktemp("proxy"), proxy_bin, fake_upstream)
    runtime.write_auth(fake_upstream.issue_tokens())
    try:
        runtime.start()
        # The catalog/version fetches run in the background at startup; give them a moment.
        runtime.wait_for(lambda: {r.target.rsplit(":", 1)[0] for r in fake_upstream.refusals}
                         >= EXPECTED_PHONE_HOME, timeout=5)
        runtime.startup_refusals = list(fake_upstream.refusals)
        runtime.startup_requests = list(fake_upstream.requests)
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def make_proxy(proxy_bin, upstream, tmp_path_factory) -> Iterator[Callable[..., ProxyRuntime]]:
    started: list[ProxyRuntime] = []

    def factory(tokens: TokenSet | None = None, *, start: bool = True, auth: dict | None = None,
                **options) -> ProxyRuntime:
        runtime = ProxyRuntime(tmp_path_factory.mktemp("proxy"), proxy_bin, upstream, **options)
        runtime.write_auth(tokens or upstream.issue_tokens(), **(auth or {}))
        started.append(runtime)
        if start:
            runtime.start()
        return runtime

    try:
        yield factory
    finally:
        for runtime in started:
            runtime.stop()
