"""Asking chatgpt.com for the usage, against the fake upstream on loopback (a CONNECT proxy with a test CA):
the Codex CLI's request, every answer the doctor must survive, the proxy the stack already uses, and
never a refresh: no request reaches the fake auth.openai.com, whatever happens."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.usage.fetch import Problem, fetch
from claudex_doctor.usage.quota import Level, read, verdict
from tests.fakes.upstream import craft_tokens, make_codex_auth_json, make_proxy_auth_json, write_json
from tests.fakes.usage import usage_payload, usage_upstream

fake, upstream = usage_upstream("usage-upstream")


@pytest.fixture
def stack(tmp_path, monkeypatch, upstream):
    """A home, a Codex login the fake accepts, and the environment that sends HTTPS to the fake."""
    home = tmp_path / "gateway"
    home.mkdir()
    codex = tmp_path / "codex"
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(home))
    monkeypatch.setenv("CODEX_HOME", str(codex))
    for name, value in upstream.proxy_env().items():
        monkeypatch.setenv(name, value)
    tokens = upstream.issue_tokens()
    write_json(codex / "auth.json", make_codex_auth_json(tokens))
    return resolve(), tokens


@pytest.mark.parametrize("kind, level", [("room", Level.ROOM), ("near", Level.NEAR), ("exhausted", Level.EXHAUSTED),
                                         ("model", Level.EXHAUSTED), ("weekly", Level.ROOM)])
def test_windows_as_the_fake_serves_them(stack, upstream, kind, level):
    paths, tokens = stack
    upstream.usage = usage_payload(kind)
    got = fetch(paths, timeout=10)
    assert got.ok, got.message
    assert verdict(got.reading, time.time())[0] is level
    sent = upstream.usage_requests()[-1]
    assert sent.headers["chatgpt-account-id"] == tokens.account_id
    assert sent.bearer is not None and sent.headers["user-agent"].startswith("claudex-doctor/")
    assert got.login == "~/.codex/auth.json"


def test_the_proxy_credential_is_used_first(stack, upstream):
    paths, _ = stack
    own = upstream.issue_tokens()
    write_json(paths.proxy_auth, make_proxy_auth_json(own))
    got = fetch(paths, timeout=10)
    assert got.ok and got.login == "proxy credential"
    assert upstream.usage_requests()[-1].headers["chatgpt-account-id"] == own.account_id


def test_an_expired_token_is_not_sent_and_never_refreshed(stack, upstream):
    paths, _ = stack
    old = upstream.issue_tokens(ttl=-60)
    write_json(paths.codex_auth, make_codex_auth_json(old))
    got = fetch(paths, timeout=10)
    assert got.problem is Problem.EXPIRED and "expired" in got.message and "never refreshes" in got.message
    assert upstream.usage_requests() == [] and upstream.refusals == []
    assert old.access_token not in got.message and old.refresh_token not in got.message


def test_a_token_the_server_refuses_is_reported_not_refreshed(stack, upstream):
    paths, _ = stack
    write_json(paths.codex_auth, make_codex_auth_json(craft_tokens()))  # unknown to the fake: 401
    got = fetch(paths, timeout=10)
    assert got.problem is Problem.UNAUTHORIZED and got.status == 401


@pytest.mark.parametrize("mode, problem, words", [(500, Problem.HTTP, "answered 500"),
                                                  (404, Problem.HTTP, "answered 404"),
                                                  ("garbage", Problem.INVALID, "not JSON"),
                                                  ("redirect", Problem.HTTP, "not followed")])
def test_errors_and_garbage(stack, upstream, mode, problem, words):
    paths, _ = stack
    upstream.usage_mode = mode
    got = fetch(paths, timeout=10)
    assert got.problem is problem and words in got.message
    assert upstream.refusals == []  # a redirect is never followed anywhere


def test_json_that_is_not_a_usage_answer(stack, upstream):
    paths, _ = stack
    upstream.usage = ["not", "an", "object"]  # type: ignore[assignment]
    assert fetch(paths, timeout=10).problem is Problem.INVALID


def test_a_slow_answer_is_cut_at_the_timeout(stack, upstream):
    paths, _ = stack
    upstream.usage_mode, upstream.usage_delay = "slow", 5.0
    started = time.monotonic()
    got = fetch(paths, timeout=0.5)
    assert got.problem is Problem.TIMEOUT
    assert time.monotonic() - started < 4.5  # bounded by the timeout, not by the server


def test_config_proxy_url_is_used_without_any_proxy_in_the_environment(stack, upstream, monkeypatch):
    paths, _ = stack
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    paths.config.write_text(f'host: "127.0.0.1"\nport: 8327\nproxy-url: "{upstream.proxy_url}"\n')
    got = fetch(paths, timeout=10)
    assert got.ok, got.message
    assert len(upstream.usage_requests()) == 1


def test_an_unusable_proxy_url_is_named(stack, upstream):
    paths, _ = stack
    paths.config.write_text('proxy-url: "ftp://127.0.0.1:9"\n')
    got = fetch(paths, timeout=10)
    assert got.problem is Problem.TRANSPORT and "proxy" in got.message


def test_a_refused_connection_is_transport(stack, upstream, monkeypatch):
    paths, _ = stack
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    got = fetch(paths, timeout=5)
    assert got.problem is Problem.TRANSPORT


def test_no_login_and_api_key(tmp_path, monkeypatch, upstream):
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(tmp_path / "gateway"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    assert fetch(resolve(), timeout=2).problem is Problem.NO_LOGIN
    write_json(tmp_path / "codex" / "auth.json", {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-canary-0123456789abcdef"})
    assert fetch(resolve(), timeout=2).problem is Problem.API_KEY
    assert upstream.usage_requests() == []


def test_read_caches_the_answer_and_an_error_keeps_the_last_reading(stack, upstream):
    paths, tokens = stack
    upstream.usage = usage_payload("near")
    first = read(paths, update_cache=True, timeout=10)
    assert first.fresh and verdict(first.reading)[0] is Level.NEAR
    text = (paths.home / "usage-cache.json").read_text()
    assert tokens.access_token not in text and tokens.account_id not in text
    upstream.usage_mode = 500
    second = read(paths, update_cache=True, timeout=10)
    assert not second.fresh and second.live.problem is Problem.HTTP
    assert second.reading == first.reading  # the cached one, with its age
    offline = read(paths, offline=True)
    assert offline.live is None and offline.reading == first.reading
    assert len(upstream.usage_requests()) == 2


# -- secrets never reach the cache or the output ------------------------------------------------

def _everything_shown(paths) -> str:
    """The cache file and what `quota`, `quota --json` and `quota --offline` print."""
    from tests.conftest import run_cli

    shown = [(paths.home / "usage-cache.json").read_text()]
    for args in (("quota",), ("quota", "--json"), ("quota", "--offline", "-v")):
        proc = run_cli(*args, timeout=60)
        shown += [proc.stdout, proc.stderr]
    return "\n".join(shown)


def test_a_token_an_http_header_cannot_carry_is_never_quoted(stack, upstream):
    """An HTTP library refuses such a header by quoting it whole; the request is not even tried."""
    paths, tokens = stack
    tail = "CanaryTail" + secrets.token_hex(8)
    damaged = dict(make_codex_auth_json(tokens))
    damaged["tokens"] = dict(damaged["tokens"], access_token="canary-head-" + secrets.token_hex(6) + "\n" + tail)
    write_json(paths.codex_auth, damaged)
    got = read(paths, update_cache=True, timeout=10)
    assert got.live.problem is Problem.NO_LOGIN and "cannot carry" in got.live.message
    assert tail not in got.live.message
    assert upstream.usage_requests() == []
    shown = _everything_shown(paths)
    assert tail not in shown and "canary-head-" not in shown


@pytest.mark.parametrize("scheme", ["socks4", "socks5"])
def test_a_proxy_password_is_never_quoted(stack, upstream, scheme):
    """Only the proxy URL's scheme is named: a URL cut short hides its password from the redaction."""
    paths, _ = stack
    password = "CanaryProxyPw" + secrets.token_hex(16)
    url = f"{scheme}://someone:{password}@127.0.0.1:9"
    assert url.index("@") > 60
    paths.config.write_text(f'proxy-url: "{url}"\n')
    got = read(paths, update_cache=True, timeout=10)
    assert got.live.problem is Problem.TRANSPORT and f"{scheme}://" in got.live.message
    assert password[:20] not in got.live.message
    shown = _everything_shown(paths)
    assert password[:20] not in shown and "CanaryProxyPw" not in shown


def test_the_cache_redacts_and_cuts_whatever_message_it_is_given(stack):
    paths, tokens = stack
    from claudex_doctor.usage import cache

    cache.store(paths, None, problem="transport", message=f"proxy socks5://u:{tokens.refresh_token}@h said {'no ' * 300}")
    written = json.loads((paths.home / "usage-cache.json").read_text())
    assert tokens.refresh_token not in written["message"] and len(written["message"]) <= cache.MESSAGE_MAX


def test_a_server_that_drips_its_headers_is_cut_at_the_timeout(monkeypatch):
    """Every byte comes within a per-read timeout; the deadline bounds the whole exchange, headers included."""
    from claudex_doctor.usage.fetch import Login, request
    from tests.fakes.trickle import serving

    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    login = Login("~/.codex/auth.json", "canary-access-token", "account-1")
    with serving("drip-headers") as url:
        started = time.monotonic()
        got = request(login, None, timeout=0.5, url=url + "/backend-api/wham/usage")
        took = time.monotonic() - started
    assert got.problem is Problem.TIMEOUT and "did not answer within 0.5s" in got.message
    assert took < 1.3, took


def test_quota_leaves_the_cache_to_a_refresh_that_holds_the_lock(stack, upstream):
    """The command's cache write happens under the status line's refresh lock: while another writer holds
    it, the command shows its fresh reading and writes nothing."""
    import os

    from claudex_doctor.usage import cache
    from tests.conftest import run_cli

    paths, _ = stack
    upstream.usage = usage_payload("near")
    fd = cache.refresh_lock(paths)
    assert fd is not None
    try:
        proc = run_cli("quota", "--json", timeout=60)
        assert json.loads(proc.stdout)["fresh"] is True
        assert not cache.cache_path(paths).exists()
    finally:
        os.close(fd)
    run_cli("quota", "--json", timeout=60)
    assert cache.load(paths).reading is not None


def test_the_proxy_log_is_scanned_only_when_chatgpt_gave_no_reading(stack, upstream, monkeypatch):
    from claudex_doctor.usage import logscan

    paths, _ = stack
    scanned = []
    monkeypatch.setattr(logscan, "latest", lambda *a, **k: scanned.append(1))
    upstream.usage = usage_payload("room")
    assert read(paths, timeout=10).fresh and scanned == []
    upstream.usage_mode = 500
    assert not read(paths, timeout=10).fresh and scanned == [1]
