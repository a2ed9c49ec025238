"""The fake gateway keeps its contract: other tests lean on it as a stand-in for CLIProxyAPI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, wait_listening
from tests.fakes.gateway import MODES, VERSION_LINE, FakeGateway, disguise, install_binary

GATEWAY = Path(__file__).resolve().parent / "gateway.py"
KEY = "fake-local-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
MSG = {"model": "gpt-5.6-luna(low)", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def gw():
    with FakeGateway(api_keys=(KEY,)) as gateway:
        yield gateway


@pytest.fixture
def http():
    with httpx.Client(trust_env=False, timeout=5) as client:
        yield client


def test_health_root_and_models_like_cliproxyapi(gw, http):
    assert http.get(f"{gw.url}/healthz").json() == {"status": "ok"}
    assert http.head(f"{gw.url}/healthz").status_code == 200
    assert http.get(f"{gw.url}/").json()["message"] == "CLI Proxy API Server"
    assert http.get(f"{gw.url}/v1/models").json() == {"error": "Missing API key"}
    assert http.get(f"{gw.url}/v1/models", headers={"Authorization": "Bearer nope"}).json() == {"error": "Invalid API key"}
    ids = [m["id"] for m in http.get(f"{gw.url}/v1/models", headers=AUTH).json()["data"]]
    assert "gpt-5.6-luna" in ids and "gpt-5.5" in ids
    anth = http.get(f"{gw.url}/v1/models", headers={**AUTH, "anthropic-version": "2023-06-01"}).json()
    assert disguise("gpt-5.4") == "claude-fable-5-dd-4.5-tpg"
    assert "claude-fable-5-dd-4.5-tpg" in [m["id"] for m in anth["data"]]
    assert http.get(f"{gw.url}/v1/models", headers={"X-Api-Key": KEY}).status_code == 200
    assert [r.path for r in gw.requests][:2] == ["/healthz", "/healthz"]


def test_messages_stream_tool_use_and_count_tokens(gw, http):
    url = f"{gw.url}/v1/messages?beta=true"
    message = http.post(url, headers=AUTH, json=MSG).json()
    assert message["type"] == "message" and message["content"][0]["type"] == "text" and message["stop_reason"]
    stream = http.post(url, headers=AUTH, json={**MSG, "stream": True}).text
    events = [line[7:] for line in stream.splitlines() if line.startswith("event: ")]
    assert events == ["message_start", "content_block_start", "content_block_delta", "content_block_stop",
                      "message_delta", "message_stop"]
    tools = [{"name": "probe_tool", "input_schema": {"type": "object", "properties": {"label": {"type": "string"}}}}]
    first = http.post(url, headers=AUTH, json={**MSG, "tools": tools,
                                              "tool_choice": {"type": "tool", "name": "probe_tool"}}).json()
    use = first["content"][0]
    assert use["type"] == "tool_use" and use["name"] == "probe_tool" and use["input"] == {"label": "probe"}
    follow = {**MSG, "tools": tools, "messages": MSG["messages"] + [
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "42"}]}]}
    assert "42" in http.post(url, headers=AUTH, json=follow).json()["content"][0]["text"]
    follow["messages"][-1]["content"][0]["tool_use_id"] = "toolu_other"
    assert http.post(url, headers=AUTH, json=follow).status_code == 400
    count = http.post(f"{gw.url}/v1/messages/count_tokens?beta=true", headers=AUTH, json=MSG).json()
    assert isinstance(count["input_tokens"], int)
    bad = http.post(url, headers=AUTH, json={**MSG, "model": "gpt-9"})
    assert bad.status_code == 400 and "unknown provider for model gpt-9" in bad.text


def test_failure_modes(gw, http):
    url = f"{gw.url}/v1/messages"
    expect = {
        "invalid_key": (401, "Invalid API key"),
        "usage_limit": (429, "usage_limit_reached"),
        "model_not_supported": (400, "not supported when using Codex with a ChatGPT account"),
        "auth_unavailable": (503, "auth_unavailable"),
        "upstream_unreachable": (500, "no such host"),
        "no_credential": (400, "unknown provider for model"),
        "non_json": (200, "<html>"),
        "foreign": (200, "It works!"),
    }
    for mode, (status, text) in expect.items():
        gw.set_mode(mode)
        answer = http.post(url, headers=AUTH, json=MSG)
        assert (answer.status_code, text in answer.text) == (status, True), mode
    # As the real proxy: the client's 429 carries only the message (the reset time is logged).
    gw.set_mode("usage_limit", reset_seconds=120)
    answer = http.post(url, headers=AUTH, json=MSG)
    assert answer.json() == {"type": "error", "error": {"type": "usage_limit_reached",
                                                        "message": "The usage limit has been reached"}}
    assert not any(h.lower().startswith("x-codex") for h in answer.headers)
    gw.set_mode("no_credential")
    assert http.get(f"{gw.url}/v1/models", headers=AUTH).json()["data"] == []
    gw.set_mode("no_count_tokens")
    assert http.post(f"{url}/count_tokens", headers=AUTH, json=MSG).status_code == 404
    gw.set_mode("litellm")
    assert http.get(f"{gw.url}/healthz").json() == {"detail": "Not Found"}
    gw.set_mode("truncated_stream")
    assert "message_stop" not in http.post(url, headers=AUTH, json={**MSG, "stream": True}).text
    tools = {"tools": [{"name": "t", "input_schema": {"type": "object"}}], "tool_choice": {"type": "tool", "name": "t"}}
    gw.set_mode("no_tool_use")
    assert http.post(url, headers=AUTH, json={**MSG, **tools}).json()["content"][0]["type"] == "text"
    gw.set_mode("malformed_tool_use")
    block = http.post(url, headers=AUTH, json={**MSG, **tools}).json()["content"][0]
    assert block["type"] == "tool_use" and "id" not in block and isinstance(block["input"], str)
    with pytest.raises(ValueError):
        gw.set_mode("no-such-mode")
    assert set(expect) < set(MODES)


def test_hang_and_slow_first_byte_are_released_by_stop(http):
    gw = FakeGateway(api_keys=(KEY,), mode="hang").start()
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.get(f"{gw.url}/healthz", timeout=httpx.Timeout(0.3, connect=0.5))
    gw.set_mode("slow_first_byte", delay=0.4)
    answer = http.get(f"{gw.url}/healthz")
    assert answer.json() == {"status": "ok"} and answer.elapsed.total_seconds() >= 0.35
    gw.stop()
    assert time.monotonic() - start < 10  # a hang the stop did not release would never end


def test_safe_mode_with_template_keys(http):
    with FakeGateway(api_keys=("your-api-key-1",)) as gw:
        root = http.get(f"{gw.url}/")
        assert root.headers["content-type"].startswith("text/html") and "Example API key detected" in root.text
        answer = http.get(f"{gw.url}/v1/models", headers={"Authorization": "Bearer your-api-key-1"})
        assert answer.status_code == 403 and answer.json()["error"] == "unsafe_example_api_key"
        assert http.get(f"{gw.url}/healthz").json() == {"status": "ok"}


def test_in_process_gateway_refuses_non_loopback():
    with pytest.raises(ValueError):
        FakeGateway(host="0.0.0.0")


# -- as a stand-in for the cli-proxy-api binary ------------------------------
def _write_config(folder: Path, port: int, keys=(KEY,)) -> None:
    lines = ['host: "127.0.0.1"', f"port: {port}", 'auth-dir: "./auth"', "api-keys:"]
    lines += [f'  - "{k}"' for k in keys]
    (folder / "config.yaml").write_text("\n".join(lines) + "\n")


def test_help_prints_the_version_line_and_exits_0():
    proc = subprocess.run([sys.executable, str(GATEWAY), "-h"], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0 and proc.stdout.startswith(VERSION_LINE) and "-config" in proc.stdout
    proc = subprocess.run([sys.executable, str(GATEWAY), "-bogus"], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2 and "flag provided but not defined: -bogus" in proc.stderr


def test_runs_from_a_config_switches_mode_and_stops_on_sigterm(tmp_path, http):
    port = free_port()
    _write_config(tmp_path, port)
    binary = tmp_path / "cli-proxy-api"
    install_binary(binary)
    proc = subprocess.Popen([str(binary), "-config", "config.yaml"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "FAKE_GATEWAY_MODE": "invalid_key"})
    try:
        wait_listening(port)
        url = f"http://127.0.0.1:{port}"
        assert http.get(f"{url}/v1/models", headers=AUTH).status_code == 401
        assert http.post(f"{url}/_fake/mode", json={"mode": "ok"}).json() == {"mode": "ok"}
        assert http.get(f"{url}/v1/models", headers=AUTH).status_code == 200
        assert http.post(f"{url}/_fake/mode", json={"mode": "nope"}).status_code == 400
        recorded = http.get(f"{url}/_fake/requests").json()
        assert [r["path"] for r in recorded] == ["/v1/models", "/v1/models"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out.startswith(VERSION_LINE) and f"API server started successfully on: 127.0.0.1:{port}" in out
    assert '401 | 0s | 127.0.0.1 | GET     "/v1/models"' in out


def test_port_in_use_logs_the_real_message_and_exits_0(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _write_config(tmp_path, port)
        proc = subprocess.run([sys.executable, str(GATEWAY), "-config", "config.yaml"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0
    assert f"failed to start HTTP server: listen tcp 127.0.0.1:{port}: bind: address already in use" in proc.stdout


def test_missing_config_is_reported_like_the_real_binary(tmp_path):
    proc = subprocess.run([sys.executable, str(GATEWAY), "-config", "nope.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0 and "failed to load config" in proc.stdout and "nope.yaml" in proc.stdout


def test_safe_mode_is_logged_at_start(tmp_path, http):
    port = free_port()
    _write_config(tmp_path, port, keys=("your-api-key-1", "your-api-key-2"))
    proc = subprocess.Popen([sys.executable, str(GATEWAY), "-config", "config.yaml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_listening(port)
        assert http.get(f"http://127.0.0.1:{port}/v1/models").status_code == 403
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "unsafe example API key configured" in out
