"""A fake CLIProxyAPI for tests: the HTTP surface the doctor probes, with switchable failure modes.

Two ways to use it.

In-process (threaded, loopback only)::

    from tests.fakes.gateway import FakeGateway
    with FakeGateway(api_keys=("k",), mode="ok") as gw:     # port=0: a free port
        gw.url, gw.port, gw.requests, gw.set_mode("usage_limit")

As a stand-in for the `cli-proxy-api` binary (same flags, same first line, same exit codes)::

    python3 tests/fakes/gateway.py -config config.yaml      # relative to the working directory
    python3 tests/fakes/gateway.py -h                       # version line, usage, exit 0

It reads host/port/api-keys from the YAML, binds host:port ("" = every interface, like the real
one), and when the port is taken logs `failed to start HTTP server: listen tcp HOST:PORT: bind:
address already in use` and exits 0, as the real binary does. SIGTERM/SIGINT stop it cleanly.
The mode comes from FAKE_GATEWAY_MODE (FAKE_GATEWAY_DELAY, FAKE_GATEWAY_RESET_SECONDS tune it) and
changes at run time with `POST /_fake/mode {"mode": ..., "delay": ..., "reset_seconds": ...}`;
`GET /_fake/requests` lists what was received. Both answer loopback clients only.

Behaviour observed on CLIProxyAPI v7.2.140 and copied here: `GET|HEAD /healthz` -> {"status":"ok"};
`GET /` -> {"message":"CLI Proxy API Server",...}, or an HTML page in safe mode (template keys
your-api-key-N), where every /v1 route answers 403 unsafe_example_api_key; 401 {"error":"Missing
API key"} / {"error":"Invalid API key"}; /v1/models in OpenAI format with real ids, or Anthropic
format with disguised ids, max_input_tokens (`windows`, default WINDOWS) and max_tokens when
`anthropic-version` is sent or the user agent is claude-cli;
`400 unknown provider for model X` for a model no credential serves; `?beta=true` is accepted.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

VERSION_LINE = "CLIProxyAPI Version: fake-1.0, Commit: none, BuiltAt: unknown"

MODES = {
    "ok": "everything answers like a healthy proxy",
    "hang": "every request is accepted and never answered",
    "hang_messages": "only /v1/messages hangs; health, models and count_tokens answer",
    "slow_first_byte": "every answer starts after `delay` seconds, then is normal",
    "invalid_key": "every /v1 request gets 401 Invalid API key (a proxy running another config)",
    "usage_limit": "model requests get 429 usage_limit_reached with resets_in_seconds",
    "model_not_supported": "model requests get 400: model not supported with a ChatGPT account",
    "auth_unavailable": "model requests and count_tokens get 503 auth_unavailable (no auth available)",
    "upstream_unreachable": "model requests get 500: the proxy cannot reach chatgpt.com",
    "no_credential": "no credential loaded: /v1/models is empty, every model is an unknown provider",
    "non_json": "/v1/messages and count_tokens answer 200 with an HTML page",
    "truncated_stream": "streams stop after the first text delta, before message_stop",
    "no_tool_use": "a forced tool call is answered with text only",
    "malformed_tool_use": "the tool_use block has no id and a string input",
    "no_count_tokens": "count_tokens answers 404 (no such route)",
    "litellm": "a LiteLLM server: /healthz and count_tokens 404, FastAPI-style errors",
    "foreign": "some other web server: every path is an HTML page",
}

DEFAULT_MODELS = ("gpt-5.3-codex-spark", "gpt-5.4-mini", "gpt-5.5", "gpt-5.6-sol", "codex-auto-review",
                  "gpt-5.4", "gpt-5.6-terra", "gpt-5.6-luna")
# max_input_tokens the Anthropic dialect gives each model: CLIProxyAPI v7.2.140's plus tier, and, for a
# proxy that serves today's Codex models (none is served yet), Codex 0.171.0's context_window.
WINDOWS = {"gpt-5.3-codex-spark": 128000, "gpt-5.4-mini": 400000, "gpt-5.5": 272000, "gpt-5.6-sol": 372000,
           "codex-auto-review": 272000, "gpt-5.4": 1050000, "gpt-5.6-terra": 372000, "gpt-5.6-luna": 372000,
           "gpt-6.2-sol": 500000, "gpt-6.2-astra": 272000, "gpt-6.1-sol": 500000, "gpt-6.1-terra": 500000,
           "gpt-6-astra": 272000, "gpt-6-sol": 272000, "gpt-6-luna": 272000}
TODAYS_MODELS = ("gpt-6.2-sol", "gpt-6.2-astra", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-astra", "gpt-6-sol",
                 "gpt-6-luna", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna", "gpt-5.5")
DISGUISE_PREFIX = "claude-fable-5-dd-"
TEMPLATE_KEY = re.compile(r"^your-api-key-\d+$")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def disguise(model_id: str) -> str:
    """The id CLIProxyAPI shows Anthropic-style clients: gpt-5.4 -> claude-fable-5-dd-4.5-tpg."""
    return model_id if model_id.startswith("claude") else DISGUISE_PREFIX + model_id[::-1]


def undisguise(model_id: str) -> str:
    return model_id[len(DISGUISE_PREFIX):][::-1] if model_id.startswith(DISGUISE_PREFIX) else model_id


def base_model(model: str) -> str:
    name = model.strip()
    if name.lower().endswith("[1m]"):
        name = name[:-4]
    if name.endswith(")") and "(" in name:
        name = name.partition("(")[0]
    return undisguise(name)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    client: str = ""
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "query": self.query, "headers": self.headers,
                "json": self.json, "client": self.client, "at": self.at}


class _State:
    def __init__(self, api_keys, mode, models, delay, reset_seconds, log, windows=None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown fake gateway mode {mode!r}; one of: {', '.join(MODES)}")
        self.api_keys = tuple(k for k in api_keys if isinstance(k, str))
        self.mode = mode
        self.models = tuple(models)
        self.windows = {**WINDOWS, **(windows or {})}
        self.delay = float(delay)
        self.reset_seconds = int(reset_seconds)
        self.log = log
        self.lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self.counter = 0

    @property
    def safe_mode(self) -> bool:
        return any(TEMPLATE_KEY.match(k) for k in self.api_keys)

    def next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter


def _stamp() -> str:
    return time.strftime("[%Y-%m-%d %H:%M:%S]")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-cliproxy"
    sys_version = ""

    # -- plumbing ---------------------------------------------------------
    @property
    def state(self) -> _State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def _log(self, level: str, text: str) -> None:
        if self.state.log is not None:
            self.state.log(f"{_stamp()} [{self.state.next_id():08x}] [{level:<5}] [fake.go:1] {text}")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _send(self, status: int, body: bytes | str | dict | list, ctype: str | None = None,
              headers: dict[str, str] | None = None) -> None:
        if isinstance(body, (dict, list)):
            body, ctype = json.dumps(body).encode(), ctype or "application/json; charset=utf-8"
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype or "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._log("info" if status < 400 else "warn", f"{status} | 0s | {self.client_address[0]} | "
                  f"{self.command:<7} \"{urlsplit(self.path).path}\"")

    def _error(self, status: int, etype: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"type": "error", "error": {"type": etype, "message": message}}, headers=headers)

    def _wait(self, seconds: float | None) -> bool:
        """Sleep (None: until the gateway stops); False when the gateway is stopping."""
        return not self.state.stopping.wait(seconds)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 16 * 1024 * 1024)) if length > 0 else b""
        if path.startswith("/_fake/"):
            return self._control(method, path, body)
        state = self.state
        with state.lock:
            state.requests.append(RecordedRequest(method, path, query, {k.lower(): v for k, v in self.headers.items()},
                                                  body, self.client_address[0]))
            mode = state.mode
        if mode == "hang" or (mode == "hang_messages" and path == "/v1/messages"):
            self._wait(None)
            self.close_connection = True
            return
        if mode == "slow_first_byte" and not self._wait(state.delay):
            return
        if mode == "foreign":
            return self._send(200, "<html><body><h1>It works!</h1></body></html>", "text/html")
        route = {("GET", "/"): self._root, ("GET", "/healthz"): self._healthz, ("HEAD", "/healthz"): self._healthz,
                 ("GET", "/v1/models"): self._models, ("POST", "/v1/messages"): self._messages,
                 ("POST", "/v1/messages/count_tokens"): self._count_tokens}.get((method, path))
        if route is None:
            if mode == "litellm":
                return self._send(404, {"detail": "Not Found"})
            return self._send(404, "404 page not found")
        if path.startswith("/v1/"):
            if state.safe_mode:
                return self._send(403, {"error": "unsafe_example_api_key", "message": (
                    "Proxy API endpoints are disabled because api-keys contains template values. Open "
                    "/management.html?safe-mode=configure, update api-keys in Management, then retry.")},
                    headers={"X-Cpa-Safe-Mode": "example-api-key"})
            if not self._authorized(query, mode):
                return None
        route(query, body)

    def _control(self, method: str, path: str, body: bytes) -> None:
        if self.client_address[0] not in LOOPBACK and not self.client_address[0].startswith("127."):
            return self._send(403, {"error": "fake control is loopback only"})
        if method == "POST" and path == "/_fake/mode":
            try:
                data = json.loads(body or b"{}")
                mode = data["mode"]
                if mode not in MODES:
                    raise ValueError(mode)
            except (ValueError, KeyError, TypeError):
                return self._send(400, {"error": "want {\"mode\": one of " + ", ".join(MODES) + "}"})
            with self.state.lock:
                self.state.mode = mode
                if "delay" in data:
                    self.state.delay = float(data["delay"])
                if "reset_seconds" in data:
                    self.state.reset_seconds = int(data["reset_seconds"])
            return self._send(200, {"mode": mode})
        if method == "GET" and path == "/_fake/requests":
            with self.state.lock:
                return self._send(200, [r.to_dict() for r in self.state.requests])
        return self._send(404, {"error": "no such fake control"})

    def _authorized(self, query: dict[str, list[str]], mode: str) -> bool:
        keys = self.state.api_keys
        if not keys:
            return True  # like CLIProxyAPI: an empty api-keys list means no client auth at all
        sent = None
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            sent = auth[7:].strip()
        sent = sent or self.headers.get("X-Api-Key") or self.headers.get("X-Goog-Api-Key") or \
            (query.get("key") or query.get("auth_token") or [None])[0]
        if mode == "litellm" and sent not in keys:
            self._send(401, {"error": {"message": "Authentication Error, Invalid proxy server token passed.",
                                       "type": "auth_error", "param": "None", "code": "401"}})
            return False
        if not sent:
            self._send(401, {"error": "Missing API key"})
            return False
        if sent not in keys or mode == "invalid_key":
            self._send(401, {"error": "Invalid API key"})
            return False
        return True

    # -- routes -----------------------------------------------------------
    def _root(self, query, body) -> None:
        if self.state.mode == "litellm":
            return self._send(200, "<!DOCTYPE html><html><head><title>LiteLLM API - Swagger UI</title></head>"
                                   "<body><div id=\"swagger-ui\"></div></body></html>", "text/html; charset=utf-8")
        if self.state.safe_mode:
            keys = "".join(f"<li><code>{k}</code></li>" for k in self.state.api_keys if TEMPLATE_KEY.match(k))
            return self._send(200, "<!doctype html><html lang=\"en\"><head><title>Example API key detected</title>"
                                   "</head><body><h1>Example API key detected</h1><p>Proxy API endpoints are disabled "
                                   "because the top-level <code>api-keys</code> configuration still contains template "
                                   f"values.</p><ul class=\"keys\">{keys}</ul></body></html>", "text/html; charset=utf-8",
                              headers={"Cache-Control": "no-store"})
        self._send(200, {"endpoints": ["POST /v1/chat/completions", "POST /v1/completions", "GET /v1/models"],
                         "message": "CLI Proxy API Server"})

    def _healthz(self, query, body) -> None:
        if self.state.mode == "litellm":
            return self._send(404, {"detail": "Not Found"})
        self._send(200, {"status": "ok"})

    def _offered(self) -> tuple[str, ...]:
        return () if self.state.mode == "no_credential" else self.state.models

    def _models(self, query, body) -> None:
        models = self._offered()
        ua = self.headers.get("User-Agent", "")
        if self.headers.get("anthropic-version") or ua.startswith("claude-cli"):
            data = [{"id": disguise(m), "type": "model", "object": "model", "display_name": m,
                     "created_at": "2026-03-05T00:00:00Z", "owned_by": "openai", "max_tokens": 128000,
                     **({"max_input_tokens": self.state.windows[m]} if m in self.state.windows else {})}
                    for m in models]
            return self._send(200, {"data": data, "first_id": data[0]["id"] if data else "", "has_more": False,
                                    "last_id": data[-1]["id"] if data else ""})
        self._send(200, {"data": [{"id": m, "object": "model", "created": 1772668800, "owned_by": "openai"}
                                  for m in models], "object": "list"})

    def _request_json(self, body: bytes) -> dict | None:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            self._error(400, "invalid_request_error", "unknown provider for model")
            return None
        return data

    def _model_gate(self, data: dict, upstream: bool) -> str | None:
        """The model string when the request may go on; else an error was sent and None returned."""
        model = data.get("model") if isinstance(data.get("model"), str) else ""
        mode = self.state.mode
        if base_model(model) not in self._offered():
            self._error(400, "invalid_request_error", f"unknown provider for model {model}".rstrip())
            return None
        if mode == "auth_unavailable":
            self._log("error", f"auth_unavailable: no auth available (providers=codex, model={model})")
            self._error(503, "api_error", f"auth_unavailable: no auth available (providers=codex, model={model})")
            return None
        if mode == "non_json":
            self._send(200, "<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>",
                       "text/html")
            return None
        if not upstream:
            return model
        # Shapes as the real CLIProxyAPI v7.2.140 gives them to clients (tests/e2e/FINDINGS.md): the
        # upstream body survives only in the log line; the client's error drops plan and reset time.
        if mode == "usage_limit":
            secs = self.state.reset_seconds
            self._log("warn", f"upstream execution failed: provider=codex model={base_model(model)} "
                              f"auth=provider=codex auth_file=codex-current.json duration=19ms "
                              f"err={{\"error\": {{\"type\": \"usage_limit_reached\", \"message\": "
                              f"\"The usage limit has been reached\", \"plan_type\": \"plus\", "
                              f"\"resets_in_seconds\": {secs}}}}}")
            self._error(429, "usage_limit_reached", "The usage limit has been reached")
            return None
        if mode == "model_not_supported":
            text = f"The '{base_model(model)}' model is not supported when using Codex with a ChatGPT account."
            upstream_body = json.dumps({"detail": text})
            self._log("warn", f"upstream execution failed: provider=codex model={base_model(model)} "
                              f"auth=provider=codex auth_file=codex-current.json duration=21ms err={upstream_body}")
            self._error(400, "invalid_request_error", upstream_body)
            return None
        if mode == "upstream_unreachable":
            text = ("Post \"https://chatgpt.com/backend-api/codex/responses\": utls: dial upstream: dial tcp: "
                    "lookup chatgpt.com: no such host")
            self._log("warn", f"upstream execution failed: provider=codex model={model} err={text}")
            self._error(500, "api_error", text)
            return None
        return model

    def _messages(self, query, body) -> None:
        data = self._request_json(body)
        if data is None:
            return
        model = self._model_gate(data, upstream=True)
        if model is None:
            return
        content, stop = self._answer(data)
        if content is None:
            return
        prompt = json.dumps(data.get("messages"))
        message = {"id": f"msg_fake_{self.state.next_id()}", "type": "message", "role": "assistant", "model": model,
                   "content": content, "stop_reason": stop, "stop_sequence": None,
                   "usage": {"input_tokens": max(1, len(prompt) // 4), "output_tokens": 3}}
        if data.get("stream") is True:
            return self._stream(message)
        self._send(200, message)

    def _answer(self, data: dict) -> tuple[list | None, str]:
        mode = self.state.mode
        messages = data.get("messages") if isinstance(data.get("messages"), list) else []
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        blocks = last.get("content") if isinstance(last.get("content"), list) else []
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        if results:
            previous = messages[-2] if len(messages) >= 2 and isinstance(messages[-2], dict) else {}
            uses = previous.get("content") if isinstance(previous.get("content"), list) else []
            known = {b.get("id") for b in uses if isinstance(b, dict) and b.get("type") == "tool_use"}
            for result in results:
                if result.get("tool_use_id") not in known:
                    self._error(400, "invalid_request_error",
                                f"tool_result {result.get('tool_use_id')!r} does not answer a tool_use of the "
                                "previous assistant message")
                    return None, ""
            said = results[0].get("content")
            said = said if isinstance(said, str) else json.dumps(said)
            return [{"type": "text", "text": f"The tool said: {said}"}], "end_turn"
        tools = [t for t in data.get("tools") or [] if isinstance(t, dict) and t.get("name")]
        choice = data.get("tool_choice") if isinstance(data.get("tool_choice"), dict) else {}
        if tools and choice.get("type") in ("tool", "any") and mode != "no_tool_use":
            name = choice.get("name") or tools[0]["name"]
            tool = next((t for t in tools if t["name"] == name), tools[0])
            if mode == "malformed_tool_use":
                return [{"type": "tool_use", "name": name, "input": "label=probe"}], "tool_use"
            props = (tool.get("input_schema") or {}).get("properties") or {}
            args = {key: ("probe" if (spec or {}).get("type", "string") == "string" else 1)
                    for key, spec in props.items()}
            return [{"type": "tool_use", "id": f"toolu_fake_{self.state.next_id():04d}", "name": name,
                     "input": args}], "tool_use"
        return [{"type": "text", "text": "pong"}], "end_turn"

    def _stream(self, message: dict) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def event(name: str, payload: dict) -> None:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()

        start = dict(message, content=[], stop_reason=None, usage={**message["usage"], "output_tokens": 0})
        event("message_start", {"type": "message_start", "message": start})
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                event("content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "text", "text": ""}})
                event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "text_delta", "text": block["text"]}})
                if self.state.mode == "truncated_stream":
                    return
            else:
                event("content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": dict(block, input={})})
                event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "input_json_delta",
                                                        "partial_json": json.dumps(block.get("input"))}})
            event("content_block_stop", {"type": "content_block_stop", "index": index})
        event("message_delta", {"type": "message_delta", "delta": {"stop_reason": message["stop_reason"],
                                                                    "stop_sequence": None},
                                "usage": {"output_tokens": message["usage"]["output_tokens"]}})
        event("message_stop", {"type": "message_stop"})

    def _count_tokens(self, query, body) -> None:
        mode = self.state.mode
        if mode == "no_count_tokens":
            return self._send(404, "404 page not found")
        if mode == "litellm":
            return self._send(404, {"detail": "Not Found"})
        data = self._request_json(body)
        if data is None or self._model_gate(data, upstream=False) is None:
            return
        self._send(200, {"input_tokens": max(1, len(json.dumps(data.get("messages"))) // 4)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state: _State) -> None:
        self.state = state
        super().__init__(address, _Handler)


class FakeGateway:
    """A threaded fake CLIProxyAPI on loopback. `port=0` picks a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_keys=("k",), mode: str = "ok", *,
                 models=DEFAULT_MODELS, delay: float = 2.0, reset_seconds: int = 3600, log=None,
                 windows: dict[str, int] | None = None) -> None:
        if host not in LOOPBACK:
            raise ValueError("the in-process fake gateway binds loopback only")
        self.host = host
        self._state = _State(api_keys, mode, models, delay, reset_seconds, log, windows)
        self._server = _Server((host, port), self._state)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def mode(self) -> str:
        return self._state.mode

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def set_mode(self, mode: str, *, delay: float | None = None, reset_seconds: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown fake gateway mode {mode!r}")
        with self._state.lock:
            self._state.mode = mode
            if delay is not None:
                self._state.delay = float(delay)
            if reset_seconds is not None:
                self._state.reset_seconds = int(reset_seconds)

    def clear(self) -> None:
        with self._state.lock:
            self._state.requests.clear()

    def start(self) -> FakeGateway:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"fake-gateway:{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # releases hanging and slow handlers
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def install_binary(path, python: str | None = None) -> None:
    """Write an executable `cli-proxy-api` stand-in at `path` that runs this fake with the same flags."""
    from pathlib import Path
    target = Path(path)
    script = f"#!/bin/sh\nexec '{python or sys.executable}' '{Path(__file__).resolve()}' \"$@\"\n"
    target.write_text(script, encoding="utf-8")
    target.chmod(0o755)


# -- the command line, like cli-proxy-api's ---------------------------------
USAGE = """Usage of cli-proxy-api (fake):
  -config string
    	Configure File Path (default "config.yaml")
  -local-model
    	Use embedded model catalogs only
  -no-browser
    	Don't open the browser for OAuth
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    config_path = "config.yaml"
    out = sys.stdout
    print(VERSION_LINE, file=out, flush=True)
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, _, inline = arg.lstrip("-").partition("=")
        if not arg.startswith("-"):
            break
        if name in ("h", "help"):
            out.write(USAGE)
            return 0
        if name == "config":
            if inline:
                config_path = inline
            elif i + 1 < len(argv):
                i += 1
                config_path = argv[i]
            else:
                print("flag needs an argument: -config", file=sys.stderr)
                return 2
        elif name not in ("local-model", "no-browser", "tui"):
            print(f"flag provided but not defined: -{name}", file=sys.stderr)
            sys.stderr.write(USAGE)
            return 2
        i += 1

    def log(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        from ruamel.yaml import YAML
        with open(config_path, encoding="utf-8") as handle:
            config = YAML(typ="safe", pure=True).load(handle)
        if not isinstance(config, dict):
            raise ValueError("config is not a mapping")
    except OSError as exc:
        log(f"{_stamp()} [--------] [error] [main.go:531] failed to load config: failed to read config file: "
            f"open {config_path}: {exc.strerror.lower() if exc.strerror else exc}")
        return 0
    except Exception as exc:  # YAML errors of every kind, like the real binary's "failed to parse"
        log(f"{_stamp()} [--------] [error] [main.go:531] failed to load config: failed to parse config file: {exc}")
        return 0
    host = config.get("host") if isinstance(config.get("host"), str) else ""
    port = config.get("port") if isinstance(config.get("port"), int) else 0
    keys = config.get("api-keys") if isinstance(config.get("api-keys"), list) else []
    mode = os.environ.get("FAKE_GATEWAY_MODE", "ok")
    if mode not in MODES:
        log(f"{_stamp()} [--------] [error] [fake.go:1] unknown FAKE_GATEWAY_MODE {mode!r}")
        return 1
    state = _State(keys, mode, DEFAULT_MODELS, float(os.environ.get("FAKE_GATEWAY_DELAY", "2.0")),
                   int(os.environ.get("FAKE_GATEWAY_RESET_SECONDS", "3600")), log)
    if state.safe_mode:
        log(f"{_stamp()} [--------] [error] [main.go:598] unsafe example API key configured; "
            "proxy API endpoints disabled until api-keys is updated")
    shown = f"{host}:{port}"
    try:
        server = _Server((host, port), state)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc)).lower()
        log(f"{_stamp()} [--------] [error] [run.go:66] proxy service exited with error: "
            f"failed to start HTTP server: listen tcp {shown}: bind: {reason}")
        return 0
    print(f"API server started successfully on: {host}:{server.server_address[1]}", file=out, flush=True)

    def stop(signum, frame) -> None:
        state.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
    log(f"{_stamp()} [--------] [info ] [run.go:80] proxy service stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
