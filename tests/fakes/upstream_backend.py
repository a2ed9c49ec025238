"""Behaviour of the fake chatgpt.com Codex backend and auth.openai.com token endpoint.

What it answers (shapes follow what the real services send and what CLIProxyAPI and the Codex
CLI parse; see tests/e2e/FINDINGS.md for what the real proxy did with them):

- POST chatgpt.com/backend-api/codex/responses: bearer must be an access token this fake issued
  and not expired, `ChatGPT-Account-ID` must be that token's account; the body must be the Codex
  dialect (stream true, store false, `instructions` a string, no sampling parameters); the answer
  is a Responses SSE stream (text, or a function call when asked for one).
- GET chatgpt.com/backend-api/codex/models: a small catalog.
- GET chatgpt.com/backend-api/wham/usage: the plan's usage windows (`usage`, a wham/usage body from
  tests/fakes/usage.py; `usage_mode` "ok", "garbage", "slow" (waits `usage_delay` seconds), "redirect",
  or an HTTP status such as 500), behind the same bearer and account checks as the Codex routes.
- `rate_headers` / `rate_event`: x-codex-* headers and a codex.rate_limits event on successful
  Responses streams (off unless set).
- POST auth.openai.com/oauth/token: refresh that rotates the refresh token; a used refresh token
  gets 401 `refresh_token_reused`.

`set_mode(mode, models=(...))` limits usage_limit, model_not_supported and unauthorized to those models
(401s on one model while the others answer).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .upstream_creds import CLIENT_ID, DEFAULT_ACCESS_TTL, TokenSet, craft_tokens, decode_jwt, fingerprint
from .upstream_wire import WireRequest, WireResponse

CHATGPT_HOST = "chatgpt.com"
AUTH_HOST = "auth.openai.com"
DEFAULT_TEXT = "pong from fake upstream"
DEFAULT_MODELS = ("gpt-5.4", "gpt-5.4-mini", "gpt-5.5", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna",
                  "gpt-5.3-codex-spark")
MODES = ("ok", "usage_limit", "model_not_supported", "unauthorized")
# Sampling/length parameters the ChatGPT Codex backend rejects ("Unsupported parameter: X").
UNSUPPORTED_PARAMETERS = ("temperature", "top_p", "max_output_tokens", "max_tokens", "max_completion_tokens",
                          "presence_penalty", "frequency_penalty")
SECRET_HEADERS = ("authorization", "cookie", "x-api-key")
SECRET_FIELDS = ("access_token", "refresh_token", "id_token")
TOOL_TRIGGER = re.compile(r"\b(use|call)\s+the\s+tool\b", re.IGNORECASE)


@dataclass
class Recorded:
    """One request the fake served. Secrets are replaced by fingerprints."""

    host: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    protocol: str
    bearer: str | None = None       # fingerprint of the bearer token, if any
    status: int = 0
    reply: Any = None               # JSON error body, or the kind of success ("text", "function_call", ...)
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Refusal:
    target: str
    method: str
    at: float


def _json(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> WireResponse:
    return WireResponse(status, json.dumps(payload).encode(), "application/json", headers or [])


def _detail(status: int, message: str) -> WireResponse:
    return _json(status, {"detail": message})


class FakeBackend:
    def __init__(self, *, text: str = DEFAULT_TEXT, plan: str = "plus", account_id: str | None = None,
                 email: str = "e2e@example.test", models: tuple[str, ...] = DEFAULT_MODELS) -> None:
        self.text = text
        self.plan = plan
        self.account_id = account_id or f"acct-{secrets.token_hex(6)}"
        self.email = email
        self.models = tuple(models)
        self.unsupported_models: set[str] = set()
        self.tool_arguments: dict[str, Any] | None = None
        self._lock = threading.RLock()
        self._access: dict[str, TokenSet] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> "active" | "used" | "revoked"
        self.mode = "ok"
        self.mode_options: dict[str, Any] = {}
        self.requests: list[Recorded] = []
        self.refusals: list[Refusal] = []
        self.connects: list[str] = []
        self.refresh_ttl = DEFAULT_ACCESS_TTL
        self.usage: dict[str, Any] | None = None  # None: usage_payload("room") at the time of the request
        self.usage_mode: str | int = "ok"
        self.usage_delay = 0.0
        self.rate_headers: list[tuple[str, str]] = []
        self.rate_event: dict[str, Any] | None = None

    # -- state ------------------------------------------------------------------------------
    def issue_tokens(self, *, ttl: int = DEFAULT_ACCESS_TTL, now: float | None = None, alg: str = "HS256",
                     account_id: str | None = None, plan: str | None = None) -> TokenSet:
        """A token set this fake will accept (until `ttl` runs out), with an active refresh token."""
        tokens = craft_tokens(account_id=account_id or self.account_id, email=self.email, plan=plan or self.plan,
                              ttl=ttl, now=now, alg=alg)
        self.register(tokens)
        return tokens

    def register(self, tokens: TokenSet) -> None:
        with self._lock:
            self._access[tokens.access_token] = tokens
            self._refresh.setdefault(tokens.refresh_token, "active")

    def rotate(self, refresh_token: str) -> TokenSet:
        """What another client's successful refresh does (the Codex CLI, say): the presented refresh
        token becomes used, so whoever still holds it gets refresh_token_reused; new tokens are issued."""
        with self._lock:
            if self._refresh.get(refresh_token) != "active":
                raise ValueError("that refresh token is not active")
            self._refresh[refresh_token] = "used"
            return self.issue_tokens(ttl=self.refresh_ttl)

    def revoke(self, refresh_token: str) -> None:
        with self._lock:
            self._refresh[refresh_token] = "revoked"

    def refresh_state(self, refresh_token: str) -> str | None:
        with self._lock:
            return self._refresh.get(refresh_token)

    def set_mode(self, mode: str, **options: Any) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        with self._lock:
            self.mode, self.mode_options = mode, dict(options)

    def reset(self) -> None:
        """Back to `ok` and forget what was recorded (issued tokens stay valid)."""
        with self._lock:
            self.mode, self.mode_options = "ok", {}
            self.usage, self.usage_mode, self.usage_delay = None, "ok", 0.0
            self.rate_headers, self.rate_event = [], None
            self.unsupported_models.clear()
            self.tool_arguments = None
            self.requests.clear()
            self.refusals.clear()
            self.connects.clear()

    def requests_to(self, host: str, path_prefix: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.host == host and r.path.startswith(path_prefix)]

    def responses_requests(self) -> list[Recorded]:
        return self.requests_to(CHATGPT_HOST, "/backend-api/codex/responses")

    def token_requests(self) -> list[Recorded]:
        return self.requests_to(AUTH_HOST, "/oauth/token")

    def usage_requests(self) -> list[Recorded]:
        return self.requests_to(CHATGPT_HOST, "/backend-api/wham/usage")

    # -- wire entry points ------------------------------------------------------------------
    def on_refuse(self, target: str, method: str) -> None:
        with self._lock:
            self.refusals.append(Refusal(target, method, time.time()))

    def on_connect(self, host: str) -> None:
        with self._lock:
            self.connects.append(host)

    def handle(self, request: WireRequest) -> WireResponse:
        split = urlsplit(request.target)
        headers = {k: _masked(k, v) for k, v in request.headers.items()}
        record = Recorded(request.host, request.method, split.path, parse_qs(split.query), headers,
                          self._parse_body(request), request.protocol)
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            record.bearer = fingerprint(auth[7:])
        try:
            response = self._route(request, split.path, record)
        except Exception as exc:  # a bug in the fake must show up as a 500 the test can see
            response = _detail(500, f"fake upstream crashed: {type(exc).__name__}: {exc}")
        record.status = response.status
        if response.content_type == "application/json" and record.reply is None:
            try:
                record.reply = json.loads(response.body)
            except ValueError:
                record.reply = response.body.decode("utf-8", "replace")
            if isinstance(record.reply, dict):
                record.reply = {k: fingerprint(v) if k in SECRET_FIELDS and isinstance(v, str) else v
                                for k, v in record.reply.items()}
        with self._lock:
            self.requests.append(record)
        return response

    @staticmethod
    def _parse_body(request: WireRequest) -> Any:
        if not request.body:
            return None
        ctype = request.headers.get("content-type", "")
        text = request.body.decode("utf-8", "replace")
        if "x-www-form-urlencoded" in ctype:
            form = {k: v[0] for k, v in parse_qs(text).items()}
            if "refresh_token" in form:
                form["refresh_token"] = fingerprint(form["refresh_token"])
            return form
        try:
            body = json.loads(text)
        except ValueError:
            return text
        if isinstance(body, dict) and isinstance(body.get("refresh_token"), str):
            body = dict(body, refresh_token=fingerprint(body["refresh_token"]))
        return body

    def _route(self, request: WireRequest, path: str, record: Recorded) -> WireResponse:
        if request.host == AUTH_HOST and path == "/oauth/token" and request.method == "POST":
            return self._oauth_token(request)
        if request.host == CHATGPT_HOST and path == "/backend-api/wham/usage" and request.method == "GET":
            denied = self._check_bearer(request, record)
            return denied if denied is not None else self._usage()
        if request.host == CHATGPT_HOST and path.startswith("/backend-api/codex/"):
            denied = self._check_bearer(request, record)
            if denied is not None:
                return denied
            if path == "/backend-api/codex/responses" and request.method == "POST":
                return self._responses(request, record)
            if path == "/backend-api/codex/models" and request.method == "GET":
                return _json(200, {"models": [{"slug": m, "display_name": m, "visibility": "list",
                                               "supported_in_api": True} for m in self.models]})
        return _detail(404, "Not Found")

    # -- chatgpt.com ------------------------------------------------------------------------
    def _for_this_model(self, record: Recorded) -> bool:
        """Does the current mode apply to this request? `models=(...)` in the mode's options limits it."""
        only = self.mode_options.get("models")
        model = record.body.get("model") if isinstance(record.body, dict) else None
        return not only or model in only

    def _check_bearer(self, request: WireRequest, record: Recorded) -> WireResponse | None:
        if self.mode == "unauthorized" and self._for_this_model(record):
            return _json(401, {"error": {"message": "Your authentication token has been invalidated. "
                                                    "Please try signing in again.", "type": "invalid_request_error",
                                         "code": "token_invalidated", "param": None}, "status": 401})
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with self._lock:
            tokens = self._access.get(token)
        if tokens is None:
            return _json(401, {"detail": "Could not parse your authentication token. Please try signing in again."})
        if decode_jwt(token).get("exp", 0) <= time.time():
            return _json(401, {"error": {"message": "Provided authentication token is expired. Please try signing "
                                                    "in again.", "type": None, "code": "token_expired", "param": None},
                               "status": 401})
        if request.headers.get("chatgpt-account-id") != tokens.account_id:
            return _detail(403, "ChatGPT-Account-ID is missing or does not match the token's account")
        return None

    def _usage(self) -> WireResponse:
        from .usage import usage_payload

        with self._lock:
            mode, delay, payload = self.usage_mode, self.usage_delay, self.usage
        if mode == "slow":
            time.sleep(delay)
        if isinstance(mode, int):
            return _json(mode, {"detail": f"fake usage error {mode}"})
        if mode == "garbage":
            return WireResponse(200, b"<html>not json</html>", "text/html")
        if mode == "redirect":
            return WireResponse(302, b"", "text/html", [("location", "https://example.test/login?next=usage")])
        body = payload if payload is not None else usage_payload("room", plan=self.plan, account_id=self.account_id)
        return _json(200, body)

    def _responses(self, request: WireRequest, record: Recorded) -> WireResponse:
        body = record.body
        if not isinstance(body, dict):
            return _detail(400, "Invalid request body: expected a JSON object")
        if body.get("stream") is not True:
            return _detail(400, "Stream must be set to true")
        if body.get("store") is not False:
            return _detail(400, "Store must be set to false")
        if not isinstance(body.get("instructions"), str):
            return _detail(400, "Instructions are required")
        for name in UNSUPPORTED_PARAMETERS:
            if name in body:
                return _detail(400, f"Unsupported parameter: {name}")
        if not isinstance(body.get("input"), list):
            return _detail(400, "Input must be a list")
        model = body.get("model")
        if self.mode == "usage_limit" and self._for_this_model(record):
            seconds = int(self.mode_options.get("resets_in_seconds", 3600))
            plan = self.mode_options.get("plan_type", self.plan)
            return _json(429, {"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached",
                                         "plan_type": plan, "resets_at": int(time.time()) + seconds,
                                         "resets_in_seconds": seconds}},
                         [("x-codex-plan-type", plan), ("x-codex-primary-used-percent", "100"),
                          ("x-codex-primary-reset-after-seconds", str(seconds))])
        if (self.mode == "model_not_supported" and self._for_this_model(record)) or model not in self.models \
                or model in self.unsupported_models:
            return _detail(400, f"The '{model}' model is not supported when using Codex with a ChatGPT account.")
        call = self._wanted_call(body)
        record.reply = "function_call" if call else "text"
        stream = _sse(model, body, self.text, call)
        if self.rate_event is not None:
            stream = f"event: codex.rate_limits\ndata: {json.dumps(self.rate_event)}\n\n".encode() + stream
        return WireResponse(200, stream, "text/event-stream; charset=utf-8", list(self.rate_headers))

    def _wanted_call(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """(name, arguments) when this turn should be a function call, else None."""
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
        items = body["input"]
        last = items[-1] if items else {}
        if not tools or not isinstance(last, dict) or last.get("type") == "function_call_output":
            return None
        choice = body.get("tool_choice")
        forced = choice == "required" or (isinstance(choice, dict) and choice.get("type") == "function")
        text = _message_text(last) if last.get("role") == "user" else ""
        if not forced and not TOOL_TRIGGER.search(text):
            return None
        tool = tools[0]
        if isinstance(choice, dict) and choice.get("name"):
            tool = next((t for t in tools if t.get("name") == choice["name"]), tool)
        else:
            tool = next((t for t in tools if t.get("name") and re.search(rf"\b{re.escape(t['name'])}\b", text)), tool)
        arguments = self.tool_arguments if self.tool_arguments is not None else _arguments_for(tool)
        return str(tool.get("name")), arguments

    # -- auth.openai.com --------------------------------------------------------------------
    def _oauth_token(self, request: WireRequest) -> WireResponse:
        text = request.body.decode("utf-8", "replace")
        if "json" in request.headers.get("content-type", ""):
            try:
                form = {k: str(v) for k, v in json.loads(text).items()}
            except (ValueError, AttributeError):
                form = {}
        else:
            form = {k: v[0] for k, v in parse_qs(text).items()}
        if form.get("grant_type") != "refresh_token":
            return _json(400, {"error": {"message": "Unsupported grant type", "type": "invalid_request_error",
                                         "param": "grant_type", "code": "unsupported_grant_type"}})
        if form.get("client_id") != CLIENT_ID:
            return _json(401, {"error": {"message": "Invalid client", "type": "invalid_request_error",
                                         "param": "client_id", "code": "invalid_client"}})
        presented = form.get("refresh_token", "")
        with self._lock:
            state = self._refresh.get(presented)
            if state == "active":
                self._refresh[presented] = "used"
                fresh = self.issue_tokens(ttl=self.refresh_ttl)
        if state == "active":
            return _json(200, {"access_token": fresh.access_token, "id_token": fresh.id_token,
                               "refresh_token": fresh.refresh_token, "token_type": "bearer",
                               "expires_in": fresh.expires_in, "scope": "openid profile email offline_access"})
        if state == "used":
            return _json(401, {"error": {"message": "Your refresh token has already been used to generate a new "
                                                    "access token. Please try signing in again.",
                                         "type": "invalid_request_error", "param": None,
                                         "code": "refresh_token_reused"}})
        if state == "revoked":
            return _json(401, {"error": {"message": "Your refresh token has been invalidated. Please try signing "
                                                    "in again.", "type": "invalid_request_error", "param": None,
                                         "code": "refresh_token_invalidated"}})
        return _json(401, {"error": {"message": "Invalid refresh token", "type": "invalid_request_error",
                                     "param": None, "code": "invalid_grant"}})


def _masked(name: str, value: str) -> str:
    if name not in SECRET_HEADERS:
        return value
    if name == "authorization" and value.startswith("Bearer "):
        return "Bearer " + fingerprint(value[7:])
    return fingerprint(value)


def _message_text(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _arguments_for(tool: dict[str, Any]) -> dict[str, Any]:
    schema = tool.get("parameters") if isinstance(tool.get("parameters"), dict) else {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    samples = {"string": "fake", "integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}
    out: dict[str, Any] = {}
    for name in schema.get("required") or []:
        kind = props.get(name, {}).get("type") if isinstance(props.get(name), dict) else None
        out[name] = samples.get(kind if isinstance(kind, str) else "string", "fake")
    return out


def _sse(model: str, body: dict[str, Any], text: str, call: tuple[str, dict[str, Any]] | None) -> bytes:
    """A complete Responses event stream, the way the Codex backend sends it."""
    rid = "resp_" + secrets.token_hex(12)
    created = int(time.time())
    events: list[dict[str, Any]] = []
    items = body["input"]
    last = items[-1] if items and isinstance(items[-1], dict) else {}

    def response(status: str, output: list[Any], usage: Any = None) -> dict[str, Any]:
        return {"id": rid, "object": "response", "created_at": created, "status": status, "model": model,
                "output": output, "parallel_tool_calls": bool(body.get("parallel_tool_calls", True)),
                "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
                "reasoning": body.get("reasoning"), "store": False, "usage": usage}

    events.append({"type": "response.created", "response": response("in_progress", [])})
    events.append({"type": "response.in_progress", "response": response("in_progress", [])})
    if call is not None:
        name, arguments = call
        item_id, call_id = "fc_" + secrets.token_hex(12), "call_" + secrets.token_hex(12)
        args = json.dumps(arguments)
        added = {"id": item_id, "type": "function_call", "status": "in_progress", "arguments": "",
                 "call_id": call_id, "name": name}
        events.append({"type": "response.output_item.added", "output_index": 0, "item": added})
        half = max(1, len(args) // 2)
        for piece in (args[:half], args[half:]):
            if piece:
                events.append({"type": "response.function_call_arguments.delta", "item_id": item_id,
                               "output_index": 0, "delta": piece})
        events.append({"type": "response.function_call_arguments.done", "item_id": item_id, "output_index": 0,
                       "arguments": args})
        done = dict(added, status="completed", arguments=args)
        out_tokens = len(args) // 4 + 1
    else:
        if last.get("type") == "function_call_output":
            text = f"{text} (tool said: {last.get('output')})"
        item_id = "msg_" + secrets.token_hex(12)
        added = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
        events.append({"type": "response.output_item.added", "output_index": 0, "item": added})
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        events.append({"type": "response.content_part.added", "item_id": item_id, "output_index": 0,
                       "content_index": 0, "part": part})
        for piece in re.findall(r"\S+\s*|\s+", text):
            events.append({"type": "response.output_text.delta", "item_id": item_id, "output_index": 0,
                           "content_index": 0, "delta": piece, "logprobs": []})
        events.append({"type": "response.output_text.done", "item_id": item_id, "output_index": 0,
                       "content_index": 0, "text": text, "logprobs": []})
        events.append({"type": "response.content_part.done", "item_id": item_id, "output_index": 0,
                       "content_index": 0, "part": dict(part, text=text)})
        done = dict(added, status="completed", content=[dict(part, text=text)])
        out_tokens = len(text) // 4 + 1
    events.append({"type": "response.output_item.done", "output_index": 0, "item": done})
    in_tokens = len(json.dumps(items)) // 4 + 1
    usage = {"input_tokens": in_tokens, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": out_tokens,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": in_tokens + out_tokens}
    events.append({"type": "response.completed", "response": response("completed", [done], usage)})
    chunks = []
    for number, event in enumerate(events):
        event["sequence_number"] = number
        chunks.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
    return "".join(chunks).encode()
