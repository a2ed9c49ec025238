"""The real CLIProxyAPI against the fake upstream: its HTTP surface and what it sends upstream.

One proxy for the whole module (started once, about 0.2 s); these tests only send requests that
succeed, so its credential never goes into cooldown. Error paths live in test_real_proxy_errors.py.
"""

from __future__ import annotations

import json
import stat

import httpx
import pytest

from tests.fakes.upstream import DEFAULT_TEXT, fingerprint

from .conftest import EXPECTED_PHONE_HOME

pytestmark = pytest.mark.e2e

PONG = {"model": "gpt-5.5", "max_tokens": 100, "messages": [{"role": "user", "content": "say pong"}]}
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def text_of(message: dict) -> str:
    return "".join(block.get("text", "") for block in message["content"] if block["type"] == "text")


def test_healthz_and_root_answer_without_a_key(proxy, upstream):
    assert proxy.startup_seconds is not None and proxy.startup_seconds < 10
    health = proxy.get("/healthz", auth=False)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert httpx.head(proxy.base_url + "/healthz").status_code == 200
    root = proxy.get("/", auth=False)
    assert root.status_code == 200
    assert root.json() == {"message": "CLI Proxy API Server",
                           "endpoints": ["POST /v1/chat/completions", "POST /v1/completions", "GET /v1/models"]}


def test_client_key_is_required(proxy, upstream):
    missing = httpx.get(proxy.base_url + "/v1/models")
    assert (missing.status_code, missing.json()) == (401, {"error": "Missing API key"})
    wrong = httpx.get(proxy.base_url + "/v1/models", headers={"Authorization": "Bearer not-the-key"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "Invalid API key"})
    via_x_api_key = httpx.get(proxy.base_url + "/v1/models", headers={"x-api-key": proxy.api_key})
    assert via_x_api_key.status_code == 200


def test_models_lists_the_codex_models(proxy, upstream):
    openai = proxy.get("/v1/models")
    assert openai.status_code == 200 and openai.json()["object"] == "list"
    ids = {m["id"] for m in openai.json()["data"]}
    assert {"gpt-5.4", "gpt-5.4-mini", "gpt-5.5", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"} <= ids
    assert all(m["owned_by"] == "openai" for m in openai.json()["data"])
    # With anthropic-version the ids are disguised as claude-* names (reversed, prefixed).
    anthropic = proxy.get("/v1/models", anthropic=True).json()["data"]
    by_name = {m["display_name"]: m for m in anthropic}
    assert by_name["GPT 5.5"]["id"] == "claude-fable-5-dd-5.5-tpg"
    assert by_name["GPT 5.5"]["max_input_tokens"] == 272000
    assert by_name["GPT 5.4"]["max_input_tokens"] == 1050000
    assert all(m["type"] == "model" for m in anthropic)
    assert not upstream.requests, "listing models must not call the upstream"


def test_messages_returns_the_upstream_text_and_speaks_codex(proxy, upstream):
    payload = dict(PONG, system="You are terse.", temperature=0.2, top_p=0.9)
    response = proxy.post("/v1/messages", payload)
    assert response.status_code == 200, response.text
    message = response.json()
    assert message["type"] == "message" and message["role"] == "assistant"
    assert text_of(message) == DEFAULT_TEXT
    assert message["stop_reason"] == "end_turn"
    assert message["usage"]["input_tokens"] > 0 and message["usage"]["output_tokens"] > 0

    [sent] = upstream.responses_requests()
    assert sent.protocol == "HTTP/2"  # the Chrome-fingerprinted transport never speaks HTTP/1.1
    assert sent.bearer == fingerprint(proxy.tokens.access_token)
    assert sent.headers["chatgpt-account-id"] == proxy.tokens.account_id
    assert sent.headers["accept"] == "text/event-stream"
    assert sent.headers["originator"] == "codex-tui"
    assert sent.headers["user-agent"].startswith("codex-tui/")
    assert sent.headers.get("session-id")
    body = sent.body
    assert body["model"] == "gpt-5.5" and body["stream"] is True and body["store"] is False
    assert body["instructions"] == ""  # the system prompt moves into a developer message
    assert body["input"][0] == {"type": "message", "role": "developer",
                                "content": [{"type": "input_text", "text": "You are terse."}]}
    assert body["input"][-1]["role"] == "user"
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["reasoning"] == {"effort": "medium"}  # no thinking block: medium
    assert {"type": "image_generation", "output_format": "png"} in body["tools"]  # injected
    for dropped in ("max_tokens", "max_output_tokens", "temperature", "top_p"):
        assert dropped not in body


def test_stream_is_anthropic_sse_to_message_stop(proxy, upstream):
    response, events = proxy.stream("/v1/messages", dict(PONG, stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert names[-2] == "message_delta" and "content_block_stop" in names
    text = "".join(data["delta"]["text"] for name, data in events if name == "content_block_delta"
                   and data["delta"]["type"] == "text_delta")
    assert text == DEFAULT_TEXT
    assert dict(events)["message_delta"]["delta"]["stop_reason"] == "end_turn"
    [sent] = upstream.responses_requests()
    assert sent.body["stream"] is True


def test_tool_use_round_trip(proxy, upstream):
    first = proxy.post("/v1/messages", dict(PONG, tools=[WEATHER], messages=[
        {"role": "user", "content": "Please use the tool get_weather for Paris."}]))
    assert first.status_code == 200, first.text
    assert first.json()["stop_reason"] == "tool_use"
    [tool_use] = [b for b in first.json()["content"] if b["type"] == "tool_use"]
    assert tool_use["name"] == "get_weather" and tool_use["input"] == {"city": "fake"}
    assert tool_use["id"].startswith("call_")

    second = proxy.post("/v1/messages", dict(PONG, tools=[WEATHER], messages=[
        {"role": "user", "content": "Please use the tool get_weather for Paris."},
        {"role": "assistant", "content": first.json()["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "sunny"}]}]))
    assert second.status_code == 200, second.text
    assert text_of(second.json()) == f"{DEFAULT_TEXT} (tool said: sunny)"

    first_sent, second_sent = upstream.responses_requests()
    [function] = [t for t in first_sent.body["tools"] if t.get("type") == "function"]
    assert function["name"] == "get_weather" and function["parameters"]["required"] == ["city"]
    kinds = [item.get("type") for item in second_sent.body["input"]]
    assert kinds[-2:] == ["function_call", "function_call_output"]
    assert second_sent.body["input"][-1] == {"type": "function_call_output", "call_id": tool_use["id"],
                                             "output": "sunny"}


def test_count_tokens_is_local(proxy, upstream):
    response = proxy.post("/v1/messages/count_tokens", {"model": "gpt-5.5", "messages": PONG["messages"]})
    assert response.status_code == 200
    assert isinstance(response.json()["input_tokens"], int) and response.json()["input_tokens"] > 0
    assert not upstream.requests


def test_effort_suffix_becomes_reasoning_effort(proxy, upstream):
    response = proxy.post("/v1/messages", dict(PONG, model="gpt-5.5(high)"))
    assert response.status_code == 200, response.text
    [sent] = upstream.responses_requests()
    assert sent.body["model"] == "gpt-5.5" and sent.body["reasoning"] == {"effort": "high"}


def test_unknown_model_never_reaches_upstream(proxy, upstream):
    response = proxy.post("/v1/messages", dict(PONG, model="gpt-9"))
    assert response.status_code == 400
    assert response.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                          "message": "unknown provider for model gpt-9"}}
    assert not upstream.requests


def test_only_loopback_and_known_phone_home(proxy, upstream):
    """Every outbound call went to the fake: the two backends, or a refused phone-home host."""
    refused = {r.target.rsplit(":", 1)[0] for r in proxy.startup_refusals}
    assert refused == EXPECTED_PHONE_HOME
    assert not any(r.host == "auth.openai.com" for r in proxy.startup_requests), "a ten-day token is not refreshed"
    assert proxy.non_loopback_connections() == []


def test_proxy_rewrites_its_auth_file_compact_with_disabled_false(proxy, upstream):
    assert proxy.post("/v1/messages", PONG).status_code == 200
    written = proxy.wait_for(lambda: "disabled" in proxy.peek_auth() and proxy.peek_auth(), timeout=5)
    assert written, "the proxy did not rewrite its credential"
    raw = proxy.auth_path.read_text()
    assert not raw.endswith("\n") and "\n" not in raw  # compact, one line
    assert list(json.loads(raw)) == sorted(json.loads(raw))  # keys sorted
    assert written["disabled"] is False
    assert written["refresh_token"] == proxy.tokens.refresh_token  # same login, nothing refreshed
    assert stat.S_IMODE(proxy.auth_path.stat().st_mode) == 0o600
