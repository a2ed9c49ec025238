"""Live requests through the proxy: the smallest ones that prove Claude Code will work.

probe.messages -- POST /v1/messages, not streaming: a valid Anthropic message comes back.
probe.stream -- the same request with stream=true: SSE from message_start to message_stop,
    content blocks opened, filled and closed in order.
probe.tool_use -- one tool the model must call: a tool_use block with id, name and an input object;
    the tool_result sent back is accepted and answered with a valid message.
probe.count_tokens -- POST /v1/messages/count_tokens answers {"input_tokens": N}. The proxy
    counts locally (no quota), so this one also runs with --offline.
What they check: the path Claude Code takes, end to end, with the env file's URL and key and the
    haiku-mapped model at its lowest effort (one small request each; tool use needs two).
Why it matters: local checks can all pass while the proxy still cannot answer a model request
    (quota, plan, credential, translation); these say which, with the server's own words.
Fix safety: none of them fixes anything itself; each finding names the primitive that does
    (restart, sync-auth, set-env: safe; bootstrap: confirm) or the manual step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claudex_doctor.checks._live import evidence, http_failure, ref, slow, transport
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import failed, passed, warned
from claudex_doctor.proxy.client import (
    SLOW_LOCAL,
    SLOW_MODEL,
    TOOL_NAME,
    Failure,
    client,
    count_body,
    message_body,
    message_problems,
    probe_model,
    stream_problems,
    tool_body,
    tool_result_body,
    tool_use_block,
)

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext


def _model(ctx: StackContext) -> tuple[str, str]:
    return ctx.memo("probe.model", lambda: probe_model(ctx))


def _answered(reply, what: str, ctx: StackContext, expected: float = SLOW_MODEL):
    """None when the reply is a 2xx JSON answer; else the finding for what went wrong."""
    if reply.error:
        return transport(reply, what, expected)
    if not reply.ok or reply.data is None:
        return http_failure(ctx, reply, what)
    return None


def _text_of(data) -> str:
    blocks = data.get("content") if isinstance(data, dict) else None
    parts = [b.get("text", "") for b in blocks or [] if isinstance(b, dict) and b.get("type") == "text"]
    return " ".join(" ".join(parts).split())[:40]


@check("probe.messages", "Messages request", needs=("proxy.health",), after=("proxy.models",), timeout=None,
       live=True, reference="references/probes.md#messages-request-fails", fixes=("restart", "sync-auth"))
def probe_messages(ctx: StackContext):
    model, source = _model(ctx)
    reply = client(ctx).post("/v1/messages", message_body(model))
    problem = _answered(reply, f"POST /v1/messages ({model})", ctx)
    if problem:
        return problem
    invalid = message_problems(reply.data)
    ev = evidence(reply, model=model, model_source=source)
    if invalid:
        return failed(f"/v1/messages answered, but not with a valid Anthropic message: {invalid[0]}", invalid, ev,
                      ref("malformed-answer"))
    usage = reply.data["usage"]
    outcome = passed(f"{model} answered {_text_of(reply.data)!r} in {reply.elapsed_ms / 1000:.1f}s "
                     f"(stop_reason {reply.data['stop_reason']}, {usage['input_tokens']} in / "
                     f"{usage['output_tokens']} out tokens)", evidence=ev)
    return slow(reply, SLOW_MODEL, "The model request", outcome)


@check("probe.stream", "Streaming", needs=("probe.messages",), timeout=None, live=True,
       reference="references/probes.md#stream-ends-early", fixes=("restart",))
def probe_stream(ctx: StackContext):
    model, _ = _model(ctx)
    reply = client(ctx).post("/v1/messages", message_body(model, stream=True), stream=True)
    ev = evidence(reply, model=model, events=reply.event_names[:40])
    if reply.error is Failure.STALLED and reply.events:
        return failed(f"the stream stalled after {len(reply.events)} events (last: {reply.event_names[-1]}) "
                      "and never reached message_stop", ["Claude Code would wait on a half-written answer."], ev,
                      ref("stream-ends-early"))
    if reply.error:
        return transport(reply, f"POST /v1/messages stream=true ({model})", SLOW_MODEL)
    if not reply.ok:
        return http_failure(ctx, reply, "POST /v1/messages stream=true")
    if reply.content_type != "text/event-stream":
        return failed(f"stream=true answered {reply.content_type or 'no content type'}, not text/event-stream",
                      [f"Body starts: {reply.excerpt(120)!r}"], ev, ref("malformed-answer"))
    errors = [payload for name, payload in reply.events if name == "error"]
    if errors:
        outcome = http_failure(ctx, reply, "the stream", status=reply.status if reply.status != 200 else 500)
        return failed(f"the stream carried an error event: {outcome.summary}", outcome.details, ev,
                      outcome.reference, outcome.fix)
    problems = stream_problems(reply.events)
    if problems:
        if any("before message_stop" in p for p in problems):
            return failed(f"the stream ended before message_stop (after {len(reply.events)} events, last: "
                          f"{reply.event_names[-1] if reply.events else 'none'})",
                          [p for p in problems if "before message_stop" not in p] +
                          ["Claude Code would show a cut-off answer or wait for the rest."], ev,
                          ref("stream-ends-early"))
        return failed(f"the stream is malformed: {problems[0]}", problems[1:], ev, ref("malformed-answer"))
    outcome = passed(f"{len(reply.events)} events from message_start to message_stop in "
                     f"{reply.elapsed_ms / 1000:.1f}s", evidence=ev)
    return slow(reply, SLOW_MODEL, "The streamed model request", outcome)


@check("probe.tool_use", "Tool use round trip", needs=("probe.messages",), timeout=None, live=True,
       reference="references/probes.md#tool-use-broken", fixes=("bootstrap",))
def probe_tool_use(ctx: StackContext):
    model, _ = _model(ctx)
    probe = client(ctx)
    first = probe.post("/v1/messages", tool_body(model))
    problem = _answered(first, f"POST /v1/messages with a forced tool ({model})", ctx)
    if problem:
        return problem
    block, problems = tool_use_block(first.data)
    ev = evidence(first, model=model, stop_reason=first.data.get("stop_reason") if isinstance(first.data, dict) else None)
    if block is None:
        return failed(f"the model was told to call {TOOL_NAME} but answered without a tool_use block",
                      problems + ["Claude Code's tools (Read, Edit, Bash, ...) would not work through this path."],
                      ev, ref("tool-use-broken"))
    if problems:
        return failed(f"the tool_use block is malformed: {problems[0]}",
                      problems[1:] + ["Claude Code cannot run a tool call it cannot parse or answer."], ev,
                      ref("tool-use-broken"))
    second = probe.post("/v1/messages", tool_result_body(model, first.data, block["id"]))
    problem = _answered(second, "POST /v1/messages with the tool_result", ctx)
    if problem:
        return failed(f"the tool_result was not accepted: {problem.summary}", problem.details,
                      {**problem.evidence, "step": "tool_result"}, problem.reference or ref("tool-use-broken"),
                      problem.fix)
    invalid = message_problems(second.data)
    if invalid:
        return failed(f"the answer to the tool_result is not a valid message: {invalid[0]}", invalid,
                      evidence(second, model=model), ref("tool-use-broken"))
    if first.data.get("stop_reason") != "tool_use":
        return warned(f"tool_use round trip works, but stop_reason was {first.data.get('stop_reason')!r}, "
                      "not 'tool_use'", ["Clients that wait for stop_reason tool_use may not run the tool."],
                      ev, ref("tool-use-broken"))
    return passed(f"{TOOL_NAME} called (input {sorted(block['input'])}), tool_result accepted, final answer "
                  f"{second.data.get('stop_reason')}", evidence=ev)


@check("probe.count_tokens", "Token counting", needs=("proxy.health",), after=("proxy.models",), timeout=None,
       reference="references/probes.md#count-tokens-fails", fixes=("sync-auth",))
def probe_count_tokens(ctx: StackContext):
    model, _ = _model(ctx)
    reply = client(ctx).post("/v1/messages/count_tokens", count_body(model))
    if reply.status == 404:
        return warned("POST /v1/messages/count_tokens answers 404: the server is not CLIProxyAPI (LiteLLM "
                      "answers 404 here)", ["Claude Code falls back to estimates, so /context and "
                                            "auto-compaction work from guesses."],
                      evidence(reply, model=model), ref("count-tokens-fails"))
    problem = _answered(reply, f"POST /v1/messages/count_tokens ({model})", ctx, SLOW_LOCAL)
    if problem:
        return problem
    tokens = reply.data.get("input_tokens") if isinstance(reply.data, dict) else None
    if not isinstance(tokens, int) or isinstance(tokens, bool):
        return failed("count_tokens answered, but without an integer input_tokens",
                      [f"Body starts: {reply.excerpt(120)!r}"], evidence(reply), ref("malformed-answer"))
    return slow(reply, SLOW_LOCAL, "count_tokens",
                passed(f"{tokens} input tokens for the probe prompt ({model})", evidence=evidence(reply, model=model)))
