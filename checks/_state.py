"""State inside the proxy that may outlive its cause: cooldowns after 429s, suspensions after 401s and 400s.

CLIProxyAPI (v7.2.140, observed) benches a credential for one model after an upstream error and then
answers for itself, without asking chatgpt.com: `429 rate_limit_error "All credentials for model X are
cooling down"` after a usage limit (until the reset the upstream named), `503 auth_unavailable` after a
401 (30 min), a model_not_supported 400 (12 h) or a 5xx (60 s). A suspended model also disappears from
/v1/models. The proxy never re-probes, so when the cause goes away early the bench stays: a restart, a
changed credential file or the management reset-quota clears it.

To tell a stale bench from a real limit the doctor reads, read-only:
- the cause, from the proxy log: the newest `upstream execution failed: provider=codex model=X ...
  err=<upstream body>` line for the model (and its time), a quota's reset time, and the newest
  `refresh_token_reused` refresh failure;
- whether chatgpt.com accepts this login right now: one tiny request with another model the proxy
  offers (a model it has not benched goes upstream). Sent only after a probe met a bench, once per
  run, bounded by the run's deadline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from claudex_doctor.base import files
from claudex_doctor.config import facts as stack
from claudex_doctor.knowledge import models

if TYPE_CHECKING:
    from pathlib import Path

    from claudex_doctor.checks._context import StackContext

_UPSTREAM = re.compile(r"upstream execution failed: provider=\S+ model=(\S+) .*?\berr=(.*)$")
_REUSED = re.compile(r"refresh_token_reused|refresh token (?:was|has been|has) already (?:been )?used", re.IGNORECASE)
_BENCHED_MODEL = re.compile(r"(?:for model|model=)\s*\"?([\w.\-]+)")
_NOT_CHAT = ("image", "auto-review", "embedding", "tts", "transcribe")


@dataclass(frozen=True)
class UpstreamError:
    """The newest upstream failure the proxy logged for a model."""

    model: str
    at: datetime | None
    body: str
    kind: str  # quota | unauthorized | model_not_supported | transient | other

    @property
    def when(self) -> str:
        return self.at.astimezone().strftime("%H:%M:%S") if self.at else "at an unknown time"

    @property
    def quoted(self) -> str:
        """The upstream's own words, short: the error message when the body is JSON."""
        try:
            data: Any = files.loads_json(self.body)
        except ValueError:
            return self.body[:160]
        if isinstance(data, dict):
            inner: dict = data["error"] if isinstance(data.get("error"), dict) else data
            for key in ("message", "detail"):
                if isinstance(inner.get(key), str):
                    return inner[key][:160]
        return self.body[:160]

    def reset_at(self) -> datetime | None:
        """For a quota error: when the upstream said it resets (resets_at, else stamp + resets_in_seconds)."""
        match = re.search(r"\"resets_at\":\s*(\d{9,11})", self.body)
        if match:
            from datetime import timezone
            return datetime.fromtimestamp(int(match.group(1)), timezone.utc)
        match = re.search(r"\"resets_in_seconds\":\s*(\d{1,12})\b", self.body)
        if match and self.at is not None:
            return later(self.at, int(match.group(1)))
        return None


MAX_RESET = 400 * 24 * 3600  # no usage window is longer than a year; a larger number is not a reset time


def later(at: datetime, seconds: float) -> datetime | None:
    """`at` plus a reset delay some upstream or log line gave: None for one no window has (negative, huge,
    not finite), never an OverflowError."""
    if not 0 <= seconds <= MAX_RESET:  # False for NaN as well
        return None
    return at + timedelta(seconds=seconds)


def classify(body: str) -> str:
    low = body.lower()
    if "usage_limit_reached" in low or "rate_limit" in low or "usage limit" in low:
        return "quota"
    if "not supported when using codex" in low or "model_not_found" in low or "requires a newer version" in low:
        return "model_not_supported"
    if "refresh_token_reused" in low or "token_invalidated" in low or "token_expired" in low or \
            "authentication token" in low or "authentication_error" in low or "unauthorized" in low:
        return "unauthorized"
    if re.search(r"\b(?:408|5\d\d)\b|stream closed|stream disconnected|first payload|close 10(?:06|11)", low):
        return "transient"
    return "other"


def _scan(ctx: StackContext) -> tuple[dict[str, UpstreamError], datetime | None]:
    from claudex_doctor.checks.logs import log_sources, read_tail
    from claudex_doctor.service.proxylog import stamp

    errors: dict[str, UpstreamError] = {}
    reused: datetime | None = None
    for path in log_sources(ctx):
        try:
            text, _ = read_tail(path, 128 * 1024)
        except OSError:
            continue
        for line in text.splitlines():
            line = line[:8192]
            if "upstream execution failed" in line:
                match = _UPSTREAM.search(line)
                if match:
                    base = models.base_name(match.group(1))
                    at = stamp(line)
                    known = errors.get(base)
                    if known is None or (at is not None and (known.at is None or at >= known.at)):
                        errors[base] = UpstreamError(base, at, match.group(2).strip(), classify(match.group(2)))
            elif "refresh" in line.lower() and _REUSED.search(line):
                at = stamp(line)
                if at is not None and (reused is None or at > reused):
                    reused = at
    return errors, reused


def history(ctx: StackContext) -> tuple[dict[str, UpstreamError], datetime | None]:
    """({base model: newest upstream error}, when a refresh last failed with refresh_token_reused)."""
    return ctx.memo("proxy_state.history", lambda: _scan(ctx))


def benched_model(reply) -> str | None:
    """The model named by a cooldown or auth_unavailable answer."""
    match = _BENCHED_MODEL.search(reply.error_message() or reply.text[:2000])
    return models.base_name(match.group(1)) if match else None


def _chat_model(name: str) -> bool:
    key = models.model_key(name)
    return key.startswith("gpt-") and not any(word in key for word in _NOT_CHAT)


def sibling(ctx: StackContext, benched: str) -> str | None:
    """Another model to ask: the env file's other mapped models first, then what the proxy offers;
    one the plan serves (by the catalog) when that is known."""
    raw_plan, _ = stack.plan(ctx)
    plan = models.normal_plan(raw_plan)
    offered = ctx.published("offered_models") or []
    candidates = [models.base_name(m) for m in stack.mapping(ctx).values()] + list(offered)
    seen: set[str] = set()
    for name in candidates:
        if models.model_key(name) in seen or models.model_key(name) == models.model_key(benched) \
                or not _chat_model(name):
            continue
        seen.add(models.model_key(name))
        if offered and not models.offers(offered, name):
            continue  # a model the proxy does not list is benched too, or never served
        if models.plan_includes(name, plan) is False:
            continue
        return name
    return None


@dataclass(frozen=True)
class Asked:
    model: str
    status: int | None
    answered: bool  # a 2xx with a valid message: chatgpt.com accepts this login now
    said: str


def ask_sibling(ctx: StackContext, benched: str) -> Asked | None:
    """One tiny request with another model; None when there is none or no time. Asked once a run per
    sibling, whichever benched model it stands in for, and given at most a slow model's time: an answer
    slower than that proves nothing either way."""
    if ctx.options.offline:
        return None  # --offline spends no quota
    name = sibling(ctx, benched)
    if name is None:
        return None

    def compute() -> Asked | None:
        from claudex_doctor.proxy.client import SLOW_MODEL, client, message_body, message_problems

        if ctx.remaining() < 1.0:
            return None
        reply = client(ctx).post("/v1/messages", message_body(f"{name}({models.lowest_effort(name)})"),
                                 cap=SLOW_MODEL)
        if reply.error:
            return Asked(name, None, False, str(reply.error))
        ok = reply.ok and reply.data is not None and not message_problems(reply.data)
        said = "answered" if ok else f"HTTP {reply.status}: {reply.error_message() or reply.excerpt(100)}"
        return Asked(name, reply.status, ok, said)
    return ctx.memo(f"proxy_state.sibling.{name}", compute)


def plan_serves(ctx: StackContext, model: str) -> bool | None:
    """Does the login's plan include `model`, by the dated catalog? None when the plan or model is unknown."""
    raw_plan, _ = stack.plan(ctx)
    return models.plan_includes(model, models.normal_plan(raw_plan))


def suspended(ctx: StackContext, names: Iterable[str]) -> list[UpstreamError] | None:
    """The upstream errors behind mapped models the proxy leaves out of /v1/models because it suspended them
    (it drops a suspended model from the list), not because the plan lacks them: every one has a non-quota
    upstream error in the log and the plan includes it (by the catalog). None when any of them is not such.
    proxy.models and env.mapping both ask here, so they never give opposite advice on one missing model."""
    errors, _ = history(ctx)
    found = []
    for model in sorted({models.base_name(m) for m in names}):
        err = errors.get(model)
        if err is None or err.kind == "quota" or plan_serves(ctx, model) is False:
            return None
        found.append(err)
    return found or None


SUSPENDED_REF = "references/proxy-state.md#model-suspended-by-the-proxy"


def reused_since(ctx: StackContext, *paths: Path) -> datetime | None:
    """When the proxy log shows refresh_token_reused after every one of `paths` last changed, its time;
    None when there is none, or a file was rewritten since (sync-auth, a login: the failure is history)."""
    import os

    _, reused_at = history(ctx)
    if reused_at is None:
        return None
    try:
        latest = max(os.stat(path).st_mtime for path in paths)
    except OSError:
        return None
    return None if latest > reused_at.timestamp() else reused_at


def management_key(ctx: StackContext) -> str | None:
    """The plain management key, when the proxy can have it: MANAGEMENT_PASSWORD in the environment the
    doctor shares with the proxy it starts (config.yaml's secret-key is hashed by the proxy on start)."""
    value = (ctx.env.get("MANAGEMENT_PASSWORD") or "").strip()
    return value or None
