"""The real CLIProxyAPI when the upstream says no, when tokens age, and around its lifecycle.

Each test runs its own proxy (about 0.2 s to start): upstream errors put the credential into an
in-memory cooldown that would leak into other tests. The exact statuses and bodies asserted here
are the facts the doctor's probes and log signatures rely on (see FINDINGS.md).

`warm()` first: the proxy rewrites a credential file it did not write itself (compact, sorted,
plus "disabled": false) after the first request, and its own file watcher then reloads the
credential, which forgets any cooldown set in between. A warmed proxy has already done that.
"""

from __future__ import annotations

import re
import socket
import time

import httpx
import pytest
import trustme

from tests.conftest import free_port
from tests.fakes.upstream import DEFAULT_TEXT, fingerprint

pytestmark = pytest.mark.e2e

PONG = {"model": "gpt-5.5", "max_tokens": 100, "messages": [{"role": "user", "content": "say pong"}]}
def warm(proxy):
    """One successful request, then wait until the proxy has rewritten (and reloaded) its file."""
    assert proxy.post("/v1/messages", PONG).status_code == 200
    assert proxy.wait_for(lambda: "disabled" in proxy.peek_auth(), timeout=5)
    assert proxy.wait_for_log(r"auth file changed \(WRITE\): codex-current\.json", timeout=5)
    time.sleep(0.2)
    proxy.upstream.reset()


AUTH_UNAVAILABLE = {"type": "error", "error": {"type": "api_error",
                                               "message": "auth_unavailable: no auth available (providers=codex, "
                                                          "model=gpt-5.5)"}}


def test_usage_limit_is_429_then_cooldown_then_recovers(make_proxy, upstream):
    proxy = make_proxy()
    warm(proxy)
    upstream.set_mode("usage_limit", resets_in_seconds=2)
    first = proxy.post("/v1/messages", PONG)
    assert first.status_code == 429
    # resets_in_seconds / plan_type are dropped on the way to the client.
    assert first.json() == {"type": "error", "error": {"type": "usage_limit_reached",
                                                       "message": "The usage limit has been reached"}}
    assert proxy.wait_for_log(r"upstream execution failed: provider=codex model=gpt-5\.5 .*"
                              r'"type": "usage_limit_reached".*"resets_in_seconds": 2')

    upstream.set_mode("ok")
    cooling = proxy.post("/v1/messages", PONG)
    assert cooling.status_code == 429
    assert cooling.json() == {"type": "error", "error": {
        "type": "rate_limit_error", "message": "All credentials for model gpt-5.5 are cooling down via provider codex"}}
    assert proxy.wait_for_log(r'auth unavailable: 1 of 1 candidate\(s\) for model "gpt-5\.5" \(provider=codex\) '
                              r"are in cooldown: \[provider=codex auth_file=codex-current\.json, reason=quota, "
                              r"remaining=\d+s\]")
    assert len(upstream.responses_requests()) == 1, "a cooling credential is not sent upstream"

    time.sleep(2.2)
    after = proxy.post("/v1/messages", PONG)
    assert after.status_code == 200 and after.json()["content"][0]["text"] == DEFAULT_TEXT


def test_usage_limit_on_a_stream_is_a_json_429_not_sse(make_proxy, upstream):
    proxy = make_proxy()
    warm(proxy)
    upstream.set_mode("usage_limit", resets_in_seconds=60)
    response, events = proxy.stream("/v1/messages", dict(PONG, stream=True))
    assert response.status_code == 429 and events == []
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["type"] == "usage_limit_reached"


def test_model_not_supported_is_400_then_the_model_is_suspended_until_restart(make_proxy, upstream):
    proxy = make_proxy()
    warm(proxy)
    upstream.set_mode("model_not_supported")
    first = proxy.post("/v1/messages", PONG)
    assert first.status_code == 400
    detail = "The 'gpt-5.5' model is not supported when using Codex with a ChatGPT account."
    # The upstream JSON body ends up, as a string, in error.message.
    assert first.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                       "message": '{"detail": "' + detail + '"}'}}
    assert proxy.wait_for_log(re.escape(f'err={{"detail": "{detail}"}}'))

    upstream.set_mode("ok")
    suspended = proxy.post("/v1/messages", PONG)  # suspended for 12 hours, in memory
    assert (suspended.status_code, suspended.json()) == (503, AUTH_UNAVAILABLE)
    other_model = proxy.post("/v1/messages", dict(PONG, model="gpt-5.4"))
    assert other_model.status_code == 200, "only the rejected model is suspended"

    proxy.stop()
    proxy.start()
    assert proxy.post("/v1/messages", PONG).status_code == 200, "a restart clears the suspension"


def test_a_changed_credential_file_is_hot_reloaded_and_clears_suspensions(make_proxy, upstream):
    proxy = make_proxy()
    warm(proxy)
    upstream.set_mode("model_not_supported")
    assert proxy.post("/v1/messages", PONG).status_code == 400
    upstream.set_mode("ok")
    assert proxy.post("/v1/messages", PONG).status_code == 503
    same = proxy.auth_path.read_bytes()
    proxy.auth_path.write_bytes(same)  # identical bytes: no reload, still suspended
    time.sleep(0.5)
    assert proxy.post("/v1/messages", PONG).status_code == 503
    changes = proxy.logs().count("auth file changed (WRITE)")
    proxy.write_auth(proxy.tokens, note="synced")  # new content: reloaded, state cleared
    assert proxy.wait_for(lambda: proxy.logs().count("auth file changed (WRITE)") > changes, timeout=5)
    time.sleep(0.3)
    assert proxy.post("/v1/messages", PONG).status_code == 200


def test_cold_proxy_forgets_its_first_failure_when_it_rewrites_the_file(make_proxy, upstream):
    proxy = make_proxy()  # our file: pretty-printed, no "disabled" key
    upstream.set_mode("model_not_supported")
    assert proxy.post("/v1/messages", PONG).status_code == 400
    assert proxy.wait_for_log(r"auth file changed \(WRITE\): codex-current\.json", timeout=5)
    assert proxy.read_auth()["disabled"] is False
    time.sleep(0.3)
    upstream.set_mode("ok")
    assert proxy.post("/v1/messages", PONG).status_code == 200, "the suspension was dropped by the reload"


def test_unauthorized_refreshes_once_retries_then_gives_401(make_proxy, upstream):
    proxy = make_proxy()
    warm(proxy)
    old = proxy.tokens
    upstream.set_mode("unauthorized")
    response = proxy.post("/v1/messages", PONG)
    assert response.status_code == 401
    assert response.json() == {"type": "error", "error": {
        "type": "authentication_error",
        "message": "Your authentication token has been invalidated. Please try signing in again."}}
    calls = [(r.host, r.path, r.status) for r in upstream.requests]
    assert calls == [("chatgpt.com", "/backend-api/codex/responses", 401), ("auth.openai.com", "/oauth/token", 200),
                     ("chatgpt.com", "/backend-api/codex/responses", 401)]
    first, _, retry = upstream.requests
    assert first.bearer == fingerprint(old.access_token) and retry.bearer != first.bearer
    assert upstream.refresh_state(old.refresh_token) == "used"
    rotated = proxy.wait_for(lambda: proxy.peek_auth().get("refresh_token", old.refresh_token) != old.refresh_token
                             and proxy.peek_auth())
    assert rotated and fingerprint(rotated["access_token"]) == retry.bearer, "rotated tokens are written back"

    upstream.set_mode("ok")
    later = proxy.post("/v1/messages", PONG)
    assert (later.status_code, later.json()) == (503, AUTH_UNAVAILABLE)  # suspended 30 minutes
    assert len(upstream.responses_requests()) == 2


@pytest.mark.parametrize("ttl", [-120, 4 * 24 * 3600], ids=["expired", "within-five-days"])
def test_credential_near_expiry_is_refreshed_at_startup_and_written_back(make_proxy, upstream, ttl):
    tokens = upstream.issue_tokens(ttl=ttl)
    proxy = make_proxy(tokens)
    [refresh] = proxy.wait_for(upstream.token_requests, timeout=5)
    assert refresh.status == 200 and refresh.method == "POST"
    assert refresh.headers["content-type"] == "application/x-www-form-urlencoded"
    assert refresh.body == {"client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "grant_type": "refresh_token",
                            "refresh_token": fingerprint(tokens.refresh_token), "scope": "openid profile email"}
    written = proxy.wait_for(lambda: proxy.peek_auth().get("refresh_token", tokens.refresh_token) != tokens.refresh_token
                             and proxy.peek_auth())
    assert written, "the proxy did not write the rotated tokens back"
    assert upstream.refresh_state(tokens.refresh_token) == "used"
    assert upstream.refresh_state(written["refresh_token"]) == "active"
    assert written["expired"] > tokens.expired and written["account_id"] == tokens.account_id
    assert written["type"] == "codex" and written["email"] == tokens.email

    assert proxy.post("/v1/messages", PONG).status_code == 200
    assert upstream.responses_requests()[-1].bearer == fingerprint(written["access_token"])


def test_reused_refresh_token_is_logged_and_the_credential_dies(make_proxy, upstream):
    tokens = upstream.issue_tokens(ttl=-120)
    proxy = make_proxy(tokens, start=False)
    before = proxy.auth_path.read_bytes()
    # Someone else (the Codex CLI holding the same login) refreshes first.
    with httpx.Client(proxy=upstream.proxy_url, verify=upstream.client_ssl_context()) as client:
        assert client.post("https://auth.openai.com/oauth/token", data={
            "grant_type": "refresh_token", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
            "refresh_token": tokens.refresh_token}).status_code == 200
    upstream.reset()
    proxy.start()
    [refresh] = proxy.wait_for(upstream.token_requests, timeout=5)
    assert refresh.status == 401 and refresh.reply["error"]["code"] == "refresh_token_reused"
    line = proxy.wait_for_log(r"\[warn \] \[openai_auth\.go:\d+\] Token refresh attempt 1 failed with non-retryable "
                              r"error: token refresh failed with status 401: (\{.*\})")
    assert line, proxy.logs()
    assert '"code": "refresh_token_reused"' in line.group(1)
    assert len(upstream.token_requests()) == 1, "refresh_token_reused is not retried"
    assert proxy.auth_path.read_bytes() == before, "a failed refresh leaves the file alone"

    response = proxy.post("/v1/messages", PONG)
    assert (response.status_code, response.json()) == (503, AUTH_UNAVAILABLE)
    assert not upstream.responses_requests()


@pytest.mark.parametrize("case", ["dead-proxy-url", "untrusted-certificate"])
def test_unreachable_upstream_is_a_500_with_the_transport_error_and_no_cooldown(make_proxy, upstream, tmp_path,
                                                                               case):
    if case == "dead-proxy-url":
        port = free_port()
        proxy = make_proxy(proxy_url=f"http://127.0.0.1:{port}")
        tail = f"utls: dial upstream: dial HTTP proxy failed: dial tcp 127.0.0.1:{port}: connect: connection refused"
    else:
        other_ca = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other_ca))
        proxy = make_proxy(env={"SSL_CERT_FILE": str(other_ca)})
        tail = "utls: TLS handshake: tls: failed to verify certificate: x509: certificate signed by unknown authority"
    message = f'Post "https://chatgpt.com/backend-api/codex/responses": {tail}'
    for _ in range(2):  # transport errors do not put the credential into cooldown
        response = proxy.post("/v1/messages", PONG)
        assert (response.status_code, response.json()) == (500, {"type": "error", "error": {
            "type": "api_error", "message": message}})
    assert proxy.wait_for_log(r"upstream execution failed: provider=codex model=gpt-5\.5 auth=provider=codex "
                              r"auth_file=codex-current\.json duration=\S+ err=" + re.escape(message))
    assert not upstream.responses_requests()


def test_taken_port_logs_bind_error_and_exits_zero(make_proxy, upstream):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        proxy = make_proxy(start=False, port=port, logging_to_file=False)
        proxy.start(wait=False)
        assert proxy.wait_exit(15) == 0
    output = proxy.output()
    assert f"API server started successfully on: 127.0.0.1:{port}" in output  # printed before the bind fails
    assert re.search(rf"\[error\] \[run\.go:\d+\] proxy service exited with error: failed to start HTTP server: "
                     rf"listen tcp 127\.0\.0\.1:{port}: bind: address already in use", output)


def test_sigterm_stops_it_with_status_zero_and_local_model_skips_catalog_fetches(make_proxy, upstream):
    proxy = make_proxy(start=False, args=("-local-model",))
    proxy.start()
    assert proxy.wait_for_log(r"Local model mode: using embedded model catalogs, remote model updates disabled")
    proxy.wait_for(lambda: upstream.refusals, timeout=3)
    hosts = {r.target for r in upstream.refusals}
    assert hosts == {"antigravity-hub-auto-updater-974169037036.us-central1.run.app:443"}
    assert "gpt-5.5" in proxy.models()
    assert proxy.stop() == 0


# -- the proxy's state after errors: /v1/models, chat completions, the management API --------------

MANAGEMENT_KEY = "mgmt-e2e-" + "k" * 16


def _management(proxy, method: str, path: str, body=None, key: str | None = MANAGEMENT_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, proxy.base_url + "/v0/management" + path, headers=headers, json=body, timeout=10)


@pytest.mark.parametrize("mode, first, later", [
    ("usage_limit", 429, 429),
    ("unauthorized", 401, 503),
    ("model_not_supported", 400, 503),
])
def test_benched_models_what_each_endpoint_shows_and_the_management_reset(make_proxy, upstream, mode, first, later):
    proxy = make_proxy(env={"MANAGEMENT_PASSWORD": MANAGEMENT_KEY})
    warm(proxy)
    upstream.set_mode(mode, resets_in_seconds=3600)
    assert proxy.post("/v1/messages", PONG).status_code == first
    upstream.set_mode("ok")  # the cause is gone; the proxy does not know
    assert proxy.post("/v1/messages", PONG).status_code == later
    # Another model of the same credential still goes upstream: how the doctor learns the login works.
    assert proxy.post("/v1/messages", dict(PONG, model="gpt-5.4")).status_code == 200
    chat = proxy.post("/v1/chat/completions", {"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]})
    if mode == "usage_limit":
        # a cooling model stays in /v1/models; chat completions names the cooldown and its remaining time
        assert "gpt-5.5" in proxy.models()
        error = chat.json()["error"]
        assert (chat.status_code, error["code"]) == (429, "model_cooldown")
        # the time left, counted down from the upstream's 3600 s (whole seconds: a second may have passed)
        assert 3500 < error["reset_seconds"] <= 3600
    else:
        # a suspended model is dropped from /v1/models: it looks like a model the plan lacks
        assert "gpt-5.5" not in proxy.models() and "gpt-5.4" in proxy.models()
        assert chat.status_code == 503 and "auth_unavailable" in chat.json()["error"]["message"]
    assert _management(proxy, "GET", "/auth-files", key=None).status_code == 401
    [entry] = _management(proxy, "GET", "/auth-files").json()["files"]
    assert entry["status"] == "error" and entry["unavailable"] is False  # "unavailable" does not show a model bench
    assert entry["status_message"]  # the upstream's error body
    reset = _management(proxy, "POST", "/reset-quota", {"auth_index": entry["auth_index"]})
    assert reset.status_code == 200 and "gpt-5.5" in reset.json()["models"]
    assert proxy.post("/v1/messages", PONG).status_code == 200, "reset-quota clears cooldowns and suspensions alike"


def test_management_routes_do_not_exist_without_a_key(make_proxy, upstream):
    proxy = make_proxy()  # secret-key "" and no MANAGEMENT_PASSWORD
    assert _management(proxy, "GET", "/auth-files").status_code == 404


def test_a_plain_secret_key_is_hashed_into_config_yaml_on_start(make_proxy, upstream):
    proxy = make_proxy(start=False)
    text = proxy.config_path.read_text().replace('secret-key: ""', f'secret-key: "{MANAGEMENT_KEY}"')
    proxy.config_path.write_text(text)
    proxy.start()
    assert MANAGEMENT_KEY not in proxy.config_path.read_text()
    assert re.search(r"secret-key: \"?\$2[aby]\$", proxy.config_path.read_text())
    assert _management(proxy, "GET", "/auth-files").status_code == 200  # the plain key still works
