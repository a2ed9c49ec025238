"""The fake upstream on its own (no real component needed): it must reject what the real services
reject, or the end-to-end tests would prove nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fakes.upstream import (
    CLIENT_ID,
    DEFAULT_TEXT,
    FakeUpstream,
    craft_tokens,
    decode_jwt,
    fingerprint,
    make_codex_auth_json,
    make_jwt,
    make_proxy_auth_json,
)

from .harness import parse_sse

RESPONSES = "https://chatgpt.com/backend-api/codex/responses"
TOKEN = "https://auth.openai.com/oauth/token"


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    with FakeUpstream(workdir=tmp_path_factory.mktemp("fake")) as upstream:
        yield upstream


@pytest.fixture(params=[False, True], ids=["http1", "http2"])
def client(fake, request):
    fake.reset()
    with httpx.Client(proxy=fake.proxy_url, verify=fake.client_ssl_context(), http2=request.param) as c:
        yield c


def body(**overrides):
    base = {"model": "gpt-5.5", "stream": True, "store": False, "instructions": "",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def auth(tokens):
    return {"Authorization": f"Bearer {tokens.access_token}", "ChatGPT-Account-ID": tokens.account_id}


def test_text_answer_and_recording_without_secrets(fake, client):
    tokens = fake.issue_tokens()
    response = client.post(RESPONSES, json=body(), headers=auth(tokens))
    assert response.status_code == 200
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert "".join(d["delta"] for n, d in events if n == "response.output_text.delta") == DEFAULT_TEXT
    assert events[-1][1]["response"]["usage"]["total_tokens"] > 0
    [seen] = fake.responses_requests()
    assert seen.bearer == fingerprint(tokens.access_token) and seen.reply == "text"
    assert tokens.access_token not in json.dumps(seen.__dict__, default=str)


@pytest.mark.parametrize("overrides, detail", [
    ({"stream": False}, "Stream must be set to true"),
    ({"store": ...}, "Store must be set to false"),
    ({"instructions": ...}, "Instructions are required"),
    ({"temperature": 0.5}, "Unsupported parameter: temperature"),
    ({"model": "gpt-4o"}, "The 'gpt-4o' model is not supported when using Codex with a ChatGPT account."),
])
def test_codex_dialect_is_enforced(fake, client, overrides, detail):
    response = client.post(RESPONSES, json=body(**overrides), headers=auth(fake.issue_tokens()))
    assert (response.status_code, response.json()) == (400, {"detail": detail})


def test_bearer_and_account_are_checked(fake, client):
    tokens = fake.issue_tokens()
    assert client.post(RESPONSES, json=body()).status_code == 401
    stranger = craft_tokens()  # well-formed, never issued by this fake
    assert client.post(RESPONSES, json=body(), headers=auth(stranger)).status_code == 401
    expired = fake.issue_tokens(ttl=-10)
    answer = client.post(RESPONSES, json=body(), headers=auth(expired))
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "token_expired"
    wrong_account = dict(auth(tokens), **{"ChatGPT-Account-ID": "acct-other"})
    assert client.post(RESPONSES, json=body(), headers=wrong_account).status_code == 403


def test_modes(fake, client):
    tokens = fake.issue_tokens()
    fake.set_mode("usage_limit", resets_in_seconds=42)
    limited = client.post(RESPONSES, json=body(), headers=auth(tokens))
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "usage_limit_reached"
    assert limited.json()["error"]["resets_in_seconds"] == 42
    assert limited.headers["x-codex-primary-reset-after-seconds"] == "42"
    fake.set_mode("model_not_supported")
    assert "not supported" in client.post(RESPONSES, json=body(), headers=auth(tokens)).json()["detail"]
    fake.set_mode("unauthorized")
    assert client.post(RESPONSES, json=body(), headers=auth(tokens)).status_code == 401
    with pytest.raises(ValueError):
        fake.set_mode("sideways")


def test_function_call_then_text_after_the_output(fake, client):
    tokens = fake.issue_tokens()
    tool = {"type": "function", "name": "get_weather",
            "parameters": {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}}
    ask = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Use the tool, please"}]}]
    events = parse_sse(client.post(RESPONSES, json=body(input=ask, tools=[tool]), headers=auth(tokens)).text)
    added = [d for n, d in events if n == "response.output_item.added"][0]["item"]
    assert added["type"] == "function_call" and added["name"] == "get_weather" and added["call_id"]
    done = [d for n, d in events if n == "response.function_call_arguments.done"][0]
    assert json.loads(done["arguments"]) == {"days": 1}
    follow = ask + [dict(added, arguments=done["arguments"]),
                    {"type": "function_call_output", "call_id": added["call_id"], "output": "rain"}]
    events = parse_sse(client.post(RESPONSES, json=body(input=follow, tools=[tool]), headers=auth(tokens)).text)
    assert [d for n, d in events if n == "response.output_text.done"][0]["text"] == f"{DEFAULT_TEXT} (tool said: rain)"
    plain = parse_sse(client.post(RESPONSES, json=body(tools=[tool]), headers=auth(tokens)).text)
    assert not any(n.startswith("response.function_call") for n, _ in plain), "no trigger, no call"
    forced = parse_sse(client.post(RESPONSES, json=body(tools=[tool], tool_choice="required"),
                                   headers=auth(tokens)).text)
    assert any(n == "response.function_call_arguments.done" for n, _ in forced)


def test_refresh_rotates_and_detects_reuse(fake, client):
    tokens = fake.issue_tokens()
    form = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": tokens.refresh_token}
    first = client.post(TOKEN, data=form)
    assert first.status_code == 200
    fresh = first.json()
    assert fresh["refresh_token"] != tokens.refresh_token and fresh["expires_in"] > 0
    assert decode_jwt(fresh["id_token"])["https://api.openai.com/auth"]["chatgpt_account_id"] == tokens.account_id
    assert client.post(RESPONSES, json=body(), headers={"Authorization": "Bearer " + fresh["access_token"],
                                                        "ChatGPT-Account-ID": tokens.account_id}).status_code == 200
    again = client.post(TOKEN, data=form)
    assert again.status_code == 401 and again.json()["error"]["code"] == "refresh_token_reused"
    as_json = client.post(TOKEN, json=dict(form, refresh_token=fresh["refresh_token"]))  # how the Codex CLI asks
    assert as_json.status_code == 200
    assert client.post(TOKEN, data=dict(form, client_id="other")).status_code == 401
    fake.revoke(as_json.json()["refresh_token"])
    revoked = client.post(TOKEN, data=dict(form, refresh_token=as_json.json()["refresh_token"]))
    assert revoked.json()["error"]["code"] == "refresh_token_invalidated"
    recorded = json.dumps([r.__dict__ for r in fake.token_requests()], default=str)
    for secret in (tokens.refresh_token, fresh["refresh_token"], fresh["access_token"]):
        assert secret not in recorded


def test_other_hosts_are_refused_and_recorded(fake):
    fake.reset()
    with httpx.Client(proxy=fake.proxy_url, verify=fake.client_ssl_context()) as c:
        with pytest.raises(httpx.ProxyError):
            c.get("https://example.com/")
        assert c.get("http://example.com/plain").status_code == 403
    assert [(r.target, r.method) for r in fake.refusals] == [("example.com:443", "CONNECT"),
                                                            ("http://example.com/plain", "GET")]


def test_credential_helpers():
    tokens = craft_tokens(plan="pro", account_id="acct-1")
    header, payload, signature = tokens.access_token.split(".")
    assert signature and "=" not in payload  # Codex wants non-empty parts, no padding
    assert decode_jwt(tokens.id_token)["https://api.openai.com/auth"]["chatgpt_plan_type"] == "pro"
    assert isinstance(decode_jwt(tokens.id_token)["aud"], list)  # CLIProxyAPI unmarshals aud as []string
    assert make_jwt({"a": 1}, alg="none").endswith(".")
    nested = make_codex_auth_json(tokens)
    assert nested["tokens"]["account_id"] == "acct-1" and nested["auth_mode"] == "chatgpt"
    flat = make_proxy_auth_json(tokens, note="x")
    assert flat["type"] == "codex" and flat["expired"] == tokens.expired and flat["note"] == "x"
