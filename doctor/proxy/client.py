"""The probe client: the smallest HTTP requests that show whether the proxy would serve Claude Code.

One client per run (`client(ctx)`, memoised), speaking to the URL Claude Code uses
(`stack.probe_base`) with the key Claude Code sends (`stack.local_key`). Every
request is bounded twice: the connect timeout is short (a refused or dead port is
known in milliseconds) and the whole exchange, body or stream included, ends before
the run's deadline (`ctx.remaining()` minus a margin), so a proxy that accepts and
never answers becomes a finding named "hang" instead of a stuck doctor.

Model requests spend as little Codex quota as possible: the haiku-mapped model
(else sonnet, opus) at its lowest reasoning effort, tiny max_tokens, one request.

A `Reply` is data, never an exception: transport problems are `error` values
(`refused`, `connect_timeout`, `connect`, `hang`, `stalled`, `closed`, `transport`,
`no_time`). The checks in checks/proxy.py and checks/probes.py turn them into findings.
httpx is imported lazily, when the first probe runs.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from claudex_doctor import __version__
from claudex_doctor.base import files, redact
from claudex_doctor.base.vocab import Vocabulary
from claudex_doctor.config import facts as stack
from claudex_doctor.config.facts import Files
from claudex_doctor.knowledge import models


class ProbeContext(Files, Protocol):
    """What the probe client needs of a run: the stack's files, its clock and a place for the client."""

    def remaining(self) -> float: ...

    def memo(self, key: str, compute: Callable[[], Any]) -> Any: ...

    def closing(self, close: Callable[[], None]) -> None: ...

CONNECT_TIMEOUT = 0.75  # seconds; a refused port answers in microseconds
MARGIN = 0.3  # kept back from the run's deadline so the finding is recorded in time
LOCAL_CAP = 5.0  # /healthz, /, /v1/models, count_tokens are answered by the proxy itself
SLOW_LOCAL = 1.0  # a healthy proxy answers its own endpoints in milliseconds
SLOW_MODEL = 10.0  # first byte of a lowest-effort model answer
MAX_BODY = 2 * 1024 * 1024
ANTHROPIC_VERSION = "2023-06-01"
PROMPT = "Reply with the single word: pong"
TOOL_NAME = "doctor_probe"
TOOL = {
    "name": TOOL_NAME,
    "description": "Returns a probe token. Call it exactly once with label 'doctor'.",
    "input_schema": {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]},
}
TOOL_RESULT = "probe-token-42"


class Failure(Vocabulary):
    """Why a request got no (complete) answer."""

    NO_TIME = "no_time"                  # the run's deadline left no time to send it
    REFUSED = "refused"                  # nothing listens on the port
    CONNECT = "connect"                  # the connection failed otherwise
    CONNECT_TIMEOUT = "connect_timeout"  # no TCP connection in time
    HANG = "hang"                        # connected, no first byte in time
    STALLED = "stalled"                  # the answer started, then stopped arriving
    CLOSED = "closed"                    # the server closed the connection mid-answer
    TRANSPORT = "transport"              # any other transport error


@dataclass
class Reply:
    """What one request produced. Filled in by a worker thread; read as a snapshot."""

    method: str
    url: str  # shown to the user: no query string, no key
    budget: float = 0.0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    text: str = ""
    data: Any = None  # parsed JSON body, when the body was JSON
    events: list[tuple[str, Any]] = field(default_factory=list)  # SSE (event, data), in order
    error: Failure | None = None
    detail: str = ""
    first_byte_ms: int | None = None
    elapsed_ms: int = 0
    truncated: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def event_names(self) -> list[str]:
        return [name for name, _ in self.events]

    def excerpt(self, limit: int = 160) -> str:
        """A short, redacted, one-line piece of the body for a finding."""
        text = " ".join(self.text.split())
        text = text[:limit] + ("…" if len(text) > limit else "")
        return redact.redact_text(text)

    def error_message(self) -> str:
        """The error text an Anthropic- or CLIProxyAPI-style error body carries, else ''."""
        data = self.data
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, dict):
                return str(err.get("message") or err.get("type") or "")
            if isinstance(err, str):
                return err if not data.get("message") else f"{err}: {data['message']}"
            if isinstance(data.get("detail"), str):
                return data["detail"]
            if isinstance(data.get("message"), str):
                return data["message"]
        for _, payload in self.events:
            if isinstance(payload, dict) and payload.get("type") == "error":
                err = payload.get("error")
                return str(err.get("message") or err.get("type") or "") if isinstance(err, dict) else str(err)
        return ""

    def error_type(self) -> str:
        data = self.data
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, dict):
                return str(err.get("type") or err.get("code") or "")
            if isinstance(err, str):
                return err
        return ""


def probe_model(ctx: ProbeContext) -> tuple[str, str]:
    """(model string to send, where it came from): the haiku mapping at its lowest effort."""
    mapping = stack.mapping(ctx)
    for alias in ("haiku", "sonnet", "opus", "default", "subagent", "fable"):
        if mapping.get(alias):
            chosen, source = mapping[alias], f"the {alias} mapping in the env file"
            break
    else:
        chosen, source = models.default_probe_model(), "the catalog (the env file maps no model)"
    base = models.base_name(chosen)
    return f"{base}({models.lowest_effort(base)})", source


def message_body(model: str, *, stream: bool = False) -> dict:
    body = {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": PROMPT}]}
    if stream:
        body["stream"] = True
    return body


def tool_body(model: str) -> dict:
    return {"model": model, "max_tokens": 64, "tools": [TOOL], "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "messages": [{"role": "user", "content": f"Call {TOOL_NAME} with label 'doctor'."}]}


def tool_result_body(model: str, first: dict, tool_use_id: str) -> dict:
    body = tool_body(model)
    body.pop("tool_choice")
    body["messages"] = body["messages"] + [
        {"role": "assistant", "content": first.get("content")},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": TOOL_RESULT}]},
    ]
    return body


def count_body(model: str) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": PROMPT}]}


# -- what a valid answer looks like ------------------------------------------
def message_problems(data: Any) -> list[str]:
    """Why `data` is not a valid Anthropic message (empty: it is one)."""
    if not isinstance(data, dict):
        return ["the body is not a JSON object"]
    problems = []
    if data.get("type") != "message":
        problems.append(f"type is {data.get('type')!r}, not 'message'")
    if data.get("role") != "assistant":
        problems.append(f"role is {data.get('role')!r}, not 'assistant'")
    content = data.get("content")
    if not isinstance(content, list):
        problems.append("content is not a list of blocks")
    elif not any(isinstance(b, dict) and b.get("type") in ("text", "tool_use") for b in content):
        problems.append("content has no text or tool_use block")
    if not data.get("stop_reason"):
        problems.append("stop_reason is missing")
    usage = data.get("usage")
    if not isinstance(usage, dict) or not isinstance(usage.get("input_tokens"), int) \
            or not isinstance(usage.get("output_tokens"), int):
        problems.append("usage.input_tokens / usage.output_tokens are missing")
    return problems


def stream_problems(events: list[tuple[str, Any]]) -> list[str]:
    """Why an SSE event sequence is not a complete Anthropic stream (empty: it is one)."""
    names = [name for name, _ in events if name != "ping"]
    if not names:
        return ["the stream carried no events"]
    problems = []
    if names[0] != "message_start":
        problems.append(f"the first event is {names[0]}, not message_start")
    if "message_stop" not in names:
        problems.append(f"the stream ended before message_stop (last event: {names[-1]})")
    open_blocks: set[Any] = set()
    seen_blocks = 0
    for name, payload in events:
        index = payload.get("index") if isinstance(payload, dict) else None
        if name == "content_block_start":
            open_blocks.add(index)
            seen_blocks += 1
        elif name == "content_block_delta" and index not in open_blocks:
            problems.append(f"a content_block_delta for block {index} outside its start/stop")
            break
        elif name == "content_block_stop":
            open_blocks.discard(index)
    if seen_blocks == 0:
        problems.append("no content_block_start: the stream carried no content")
    if open_blocks and "message_stop" in names:
        problems.append("a content block was never closed (content_block_stop missing)")
    if "message_stop" in names and "message_delta" not in names:
        problems.append("message_delta (stop_reason, usage) is missing")
    return problems


def tool_use_block(data: Any) -> tuple[dict | None, list[str]]:
    """The first tool_use block of a message, and what is wrong with it."""
    content = data.get("content") if isinstance(data, dict) else None
    blocks = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_use"] if isinstance(content, list) else []
    if not blocks:
        kinds = [b.get("type") for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        return None, [f"no tool_use block (content: {', '.join(map(str, kinds)) or 'empty'}; "
                      f"stop_reason {data.get('stop_reason') if isinstance(data, dict) else None!r})"]
    block = blocks[0]
    problems = []
    if not isinstance(block.get("id"), str) or not block.get("id"):
        problems.append("the tool_use block has no id (a tool_result cannot refer to it)")
    if block.get("name") != TOOL_NAME:
        problems.append(f"the tool_use names {block.get('name')!r}, not {TOOL_NAME!r}")
    if not isinstance(block.get("input"), dict):
        problems.append(f"the tool_use input is {type(block.get('input')).__name__}, not a JSON object")
    return block, problems


# -- the client ----------------------------------------------------------------
class Probe:
    """HTTP to the proxy, bounded by the run's deadline. Build it with `client(ctx)`."""

    def __init__(self, ctx: ProbeContext) -> None:
        import httpx

        self.ctx = ctx
        self._httpx = httpx
        self.base = stack.probe_base(ctx).rstrip("/")
        parts = urlsplit(self.base)
        self.origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else self.base
        self.key = stack.local_key(ctx)
        redact.REGISTRY.add(self.key)
        # trust_env=False: a loopback probe must never go through HTTP(S)_PROXY.
        # A plain-http base URL never does TLS (redirects are not followed), so the client does not
        # load the CA bundle it would never use (about 15 ms of CPU); an https one verifies as usual.
        self.client = httpx.Client(trust_env=False, follow_redirects=False, verify=parts.scheme != "http",
                                   headers={"User-Agent": f"claudex-doctor/{__version__}"})

    def close(self) -> None:
        self.client.close()

    def budget(self, cap: float | None) -> float:
        left = self.ctx.remaining() - MARGIN
        return max(0.0, min(cap, left) if cap is not None else left)

    def _headers(self, *, auth: bool, anthropic: bool) -> dict[str, str]:
        headers = {}
        if auth and self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if anthropic:
            headers["anthropic-version"] = ANTHROPIC_VERSION
        return headers

    def get(self, path: str, *, root: bool = False, auth: bool = True, cap: float | None = LOCAL_CAP,
            anthropic: bool = False) -> Reply:
        """GET `path` on the origin (root=True: /healthz, /) or under the base URL. Without anthropic-version
        /v1/models answers with real ids, as it does for OpenAI-style clients; with it (`anthropic`), with
        the disguised ids Claude Code sees and each model's max_input_tokens and max_tokens."""
        return self.request("GET", (self.origin if root else self.base) + path,
                            self._headers(auth=auth, anthropic=anthropic), None, stream=False, cap=cap)

    def head(self, path: str, *, cap: float | None = LOCAL_CAP) -> Reply:
        return self.request("HEAD", self.origin + path, {}, None, stream=False, cap=cap)

    def post(self, path: str, body: dict, *, stream: bool = False, cap: float | None = None) -> Reply:
        """POST an Anthropic request under the base URL, with `?beta=true` as Claude Code sends it."""
        return self.request("POST", f"{self.base}{path}?beta=true", self._headers(auth=True, anthropic=True),
                            body, stream=stream, cap=cap)

    def request(self, method: str, url: str, headers: dict, body: dict | None, *, stream: bool,
                cap: float | None) -> Reply:
        budget = self.budget(cap)
        reply = Reply(method, url.split("?", 1)[0], budget=budget)
        if budget < 0.05:
            reply.error, reply.detail = Failure.NO_TIME, "the run's deadline left no time for this request"
            return reply
        worker = threading.Thread(target=self._exchange, args=(reply, method, url, headers, body, stream, budget),
                                  name=f"probe:{method} {reply.url}", daemon=True)
        worker.start()
        worker.join(budget)
        if worker.is_alive():  # the exchange outlived its budget: report what was seen so far
            snapshot = dataclasses.replace(reply, events=list(reply.events), headers=dict(reply.headers))
            snapshot.error = Failure.HANG if snapshot.first_byte_ms is None else Failure.STALLED
            snapshot.elapsed_ms = int(budget * 1000)
            return snapshot
        return reply

    def _exchange(self, reply: Reply, method: str, url: str, headers: dict, body: dict | None, stream: bool,
                  budget: float) -> None:
        httpx = self._httpx
        start = time.monotonic()
        timeout = httpx.Timeout(budget, connect=min(CONNECT_TIMEOUT, budget))
        try:
            request = self.client.build_request(method, url, headers=headers, json=body, timeout=timeout)
            response = self.client.send(request, stream=True)
        except httpx.ConnectTimeout:
            reply.error, reply.detail = Failure.CONNECT_TIMEOUT, f"no TCP connection within {min(CONNECT_TIMEOUT, budget):.2f}s"
        except httpx.ConnectError as exc:
            text = str(exc)
            reply.error = Failure.REFUSED if "refused" in text.lower() else Failure.CONNECT
            reply.detail = redact.redact_text(text)[:200]
        except httpx.TimeoutException:
            reply.error, reply.detail = Failure.HANG, f"no answer within {budget:.1f}s"
        except httpx.RemoteProtocolError as exc:
            reply.error, reply.detail = Failure.CLOSED, redact.redact_text(str(exc))[:200]
        except (httpx.HTTPError, OSError, ValueError) as exc:
            reply.error, reply.detail = Failure.TRANSPORT, f"{type(exc).__name__}: {redact.redact_text(str(exc))[:200]}"
        else:
            reply.first_byte_ms = int((time.monotonic() - start) * 1000)
            reply.status = response.status_code
            reply.headers = {k.lower(): v for k, v in response.headers.items()}
            try:
                if stream and reply.content_type == "text/event-stream":
                    self._read_events(response, reply)
                else:
                    self._read_body(response, reply)
            except httpx.TimeoutException:
                reply.error, reply.detail = Failure.STALLED, f"the answer stopped arriving (budget {budget:.1f}s)"
            except (httpx.HTTPError, OSError) as exc:
                reply.error, reply.detail = Failure.CLOSED, redact.redact_text(str(exc))[:200]
            finally:
                response.close()
        reply.elapsed_ms = int((time.monotonic() - start) * 1000)

    @staticmethod
    def _read_body(response, reply: Reply) -> None:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_BODY:
                reply.truncated = True
                break
        reply.text = b"".join(chunks)[:MAX_BODY].decode("utf-8", "replace")
        try:
            reply.data = files.loads_json(reply.text) if reply.text.strip() else None
        except ValueError:
            reply.data = None

    @staticmethod
    def _read_events(response, reply: Reply) -> None:
        name, size = "", 0
        data_lines: list[str] = []
        raw: list[str] = []
        for line in response.iter_lines():
            size += len(line) + 1
            if size <= 64 * 1024:
                raw.append(line)
                reply.text = "\n".join(raw)
            if size >= MAX_BODY:
                reply.truncated = True
                return
            if line.startswith(":"):
                continue
            if line == "":
                if name or data_lines:
                    payload_text = "\n".join(data_lines)
                    try:
                        payload: Any = files.loads_json(payload_text)
                    except ValueError:
                        payload = payload_text
                    if not name and isinstance(payload, dict):
                        name = str(payload.get("type", "message"))
                    reply.events.append((name or "message", payload))
                    if name == "message_stop":
                        return
                name, data_lines = "", []
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value
            elif key == "data":
                data_lines.append(value)
        if name or data_lines:  # a last event without its blank line: the stream was cut
            reply.events.append((name or "message", "\n".join(data_lines)))


def client(ctx: ProbeContext) -> Probe:
    """The run's one probe client, closed when the run is over."""
    def make() -> Probe:
        probe = Probe(ctx)
        ctx.closing(probe.close)
        return probe
    return ctx.memo("probe.client", make)
