"""The ChatGPT plan's Codex quota, before it runs out.

quota.codex -- What it checks: the plan's usage windows (5-hour, weekly, per-model buckets) as
    chatgpt.com reports them to the Codex CLI (`GET /backend-api/wham/usage` with the login's access
    token), else the last cached reading or what the proxy log shows (x-codex-* headers,
    codex.rate_limits events, 429 usage_limit_reached bodies). Warns at 80 % of any window, fails when
    one is exhausted, with its reset time. With --offline (no request beyond this machine) it uses
    only a cached reading younger than 10 minutes, else it is skipped.
Why it matters: an exhausted window makes every request fail with 429 usage_limit_reached until it
    resets, and Claude Code shows only "API Error"; gateway sessions get no rate limits in Claude
    Code's status line either.
Fix safety: read-only. It never refreshes a token (a refresh would log out the proxy or the Codex
    CLI with refresh_token_reused) and never writes the cache. There is nothing to repair: the fix
    is manual (wait for the reset, or a plan with more quota).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, Outcome, failed, passed, skipped, warned
from claudex_doctor.usage import cache
from claudex_doctor.usage.fetch import Problem
from claudex_doctor.usage.model import Reading, age_words, countdown
from claudex_doctor.usage.quota import Level, age_note, read, reset_words, summary, verdict, window_data

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/quota.md"
OFFLINE_MAX_AGE = 600.0
FETCH_TIMEOUT = 6.0


def _details(reading: Reading, now: float) -> list[str]:
    lines = []
    for w in reading.windows:
        state = "exhausted" if w.exhausted else f"{w.used_percent:.0f} % used"
        lines.append(f"{w.title}: {state}, {reset_words(w, now)}")
    if reading.credits is not None and reading.credits.worth_showing:
        lines.append("credits: " + ("unlimited" if reading.credits.unlimited else f"balance {reading.credits.balance}"))
    lines.append(f"Plan {reading.plan or 'unknown'}; read from the {age_note(reading, now)}.")
    return lines


def _evidence(reading: Reading, now: float, **extra: object) -> dict:
    return {"plan": reading.plan, "source": reading.source.value, "age_seconds": int(reading.age(now)),
            "windows": [window_data(w, now) for w in reading.windows], **extra}


def _judge(reading: Reading, now: float, extra_details: list[str], stale_room_warns: bool, **evidence: object) -> Outcome:
    level, deciding = verdict(reading, now)
    details = extra_details + _details(reading, now)
    ev = _evidence(reading, now, **evidence)
    line = summary(level, deciding, reading, now)
    if level is Level.EXHAUSTED:
        first = min(deciding, key=lambda w: w.reset_at or float("inf"))
        when = f"until {first.title} resets at {reset_words(first, now)[len('resets '):]}" \
            if first.reset_at is not None else "for the window to reset"
        return failed(line, details + ["Requests through the proxy fail with 429 usage_limit_reached until then."],
                      ev, f"{REF}#quota-exhausted",
                      Fix.manual(f"wait {when}, or use a plan with more Codex quota", "claudex-doctor quota"))
    if level is Level.NEAR:
        return warned(line, details, ev, f"{REF}#quota-nearly-used-up",
                      Fix.manual("pace the work or switch the mapping to a model with its own bucket",
                                 "claudex-doctor quota"))
    if level is Level.UNKNOWN:
        if not reading.windows:
            return skipped("the plan reports no usage window", details, ev, f"{REF}#quota-not-read")
        return skipped(f"every window of the last reading ({age_words(reading.age(now))}) has reset since",
                       details, ev, f"{REF}#quota-not-read")
    if stale_room_warns:
        return warned(f"{line} (last known, {age_words(reading.age(now))})", details, ev, f"{REF}#quota-not-read",
                      Fix.manual("the quota could not be read now; `claudex-doctor quota` asks again",
                                 "claudex-doctor quota"))
    return passed(line, details, ev)


@check("quota.codex", "Codex quota", after=("auth.codex", "auth.proxy"), timeout=FETCH_TIMEOUT + 2,
       reference=f"{REF}#quota-exhausted", fixes=("manual",))
def quota_codex(ctx: StackContext) -> Outcome:
    now = time.time()
    if ctx.options.offline:
        cached = cache.load(ctx.paths)
        age = cached.age(now)
        if cached.reading is None or age is None or age >= OFFLINE_MAX_AGE:
            why = "no cached reading" if cached.reading is None or age is None else \
                f"the cached reading is {countdown(age)} old"
            return skipped(f"not run: --offline (reading the quota asks chatgpt.com), and {why} younger than "
                           "10 minutes", [], {"cache": str(cache.cache_path(ctx.paths).name)},
                           f"{REF}#quota-not-checked-offline")
        return _judge(cached.reading, now, [], False, cached=True)
    budget = min(FETCH_TIMEOUT, max(0.2, ctx.remaining() - 0.3))
    quota = read(ctx.paths, ctx=ctx, timeout=budget)
    live = quota.live
    assert live is not None
    if live.reading is not None:
        return _judge(live.reading, now, [], False, login=live.login)
    ev = {"problem": live.problem.value if live.problem else None, "login": live.login}
    if live.problem is Problem.NO_LOGIN:
        return skipped("no ChatGPT login to read the quota with", [live.message], ev, f"{REF}#quota-not-read")
    if live.problem is Problem.API_KEY:
        return skipped("an API key login has no ChatGPT plan quota", [live.message], ev, f"{REF}#quota-not-read")
    failure = f"Could not read the quota now: {live.message}."
    if quota.reading is not None:
        return _judge(quota.reading, now, [failure], True, **ev)
    return warned(f"cannot read the quota: {live.message}", [failure, "No earlier reading is cached and the proxy log "
                  "shows none."], ev, f"{REF}#quota-not-read",
                  Fix.manual("see why, then `claudex-doctor quota` asks again", "claudex-doctor quota"))
