"""The quota as the commands, the check and the report see it: the best reading there is, and a verdict.

`read()` asks chatgpt.com (unless offline), and otherwise falls back on the newer of the cached reading
and what the proxy log shows. `verdict()` says whether every window has room, one is near its limit
(>= 80 %), or one is exhausted; a window that has reset since its reading no longer counts.
`to_data()` is the one JSON shape (`quota --json`, `status --json`, the support report).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from claudex_doctor.base.vocab import Vocabulary
from claudex_doctor.usage import cache as cache_mod
from claudex_doctor.usage.model import SOURCE_WORDS, Reading, Window, age_words, countdown

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths
    from claudex_doctor.config.facts import Files
    from claudex_doctor.usage.cache import Cached
    from claudex_doctor.usage.fetch import Fetched


class Level(Vocabulary):
    ROOM = "room"
    NEAR = "near"            # a window at 80 % or more
    EXHAUSTED = "exhausted"  # a window used up: requests fail until it resets
    UNKNOWN = "unknown"      # no reading, or every window has reset since


@dataclass(frozen=True)
class Quota:
    reading: Reading | None
    live: Fetched | None = None
    cached: Cached | None = None
    from_log: Reading | None = None

    @property
    def fresh(self) -> bool:
        """The reading was taken just now, from chatgpt.com."""
        return self.live is not None and self.live.reading is not None and self.reading is self.live.reading


def read(paths: Paths, *, offline: bool = False, timeout: float = 8.0, ctx: Files | None = None,
         update_cache: bool = False, logs: bool = True) -> Quota:
    """The best reading there is. With `update_cache` the attempt (and its reading) is cached; the
    checks never ask for that (diagnosing writes nothing)."""
    live = None
    if not offline:
        from claudex_doctor.usage.fetch import fetch

        live = fetch(paths, ctx, timeout=timeout)
        if update_cache:
            try:
                cache_mod.store(paths, live.reading, problem=live.problem.value if live.problem else None,
                                message=live.message or None)
            except OSError:
                pass  # a cache that cannot be written is only a slower status line
    cached = cache_mod.load(paths)
    if live is not None and live.reading is not None:
        return Quota(live.reading, live, cached)
    from_log = None
    if logs:  # only when chatgpt.com gave no reading: a fresh one beats anything the log shows
        from claudex_doctor.usage.logscan import latest

        from_log = latest(paths, ctx)
    candidates = [r for r in (cached.reading, from_log) if r is not None]
    best = max(candidates, key=lambda r: r.fetched_at) if candidates else None
    return Quota(best, live, cached, from_log)


def verdict(reading: Reading | None, now: float | None = None) -> tuple[Level, tuple[Window, ...]]:
    """(level, the windows that decide it): exhausted ones, else those at >= 80 %, else every current one."""
    now = time.time() if now is None else now
    if reading is None:
        return Level.UNKNOWN, ()
    current = reading.current(now)
    if not current:
        return Level.UNKNOWN, ()
    exhausted = tuple(w for w in current if w.exhausted)
    if exhausted:
        return Level.EXHAUSTED, exhausted
    near = tuple(w for w in current if w.near)
    if near:
        return Level.NEAR, near
    return Level.ROOM, current


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None


def local_time(epoch: float | None, now: float | None = None) -> str:
    """'14:05' today, 'Tue 14:05' within a week, else '2026-12-03 14:05' (local time)."""
    if epoch is None:
        return "?"
    now = time.time() if now is None else now
    try:
        when = datetime.fromtimestamp(epoch).astimezone()
        today = datetime.fromtimestamp(now).astimezone()
    except (OverflowError, OSError, ValueError):
        return "?"
    if when.date() == today.date():
        return when.strftime("%H:%M")
    if 0 <= (when.date() - today.date()).days < 7:
        return when.strftime("%a %H:%M")
    return when.strftime("%Y-%m-%d %H:%M")


def reset_words(window: Window, now: float | None = None) -> str:
    """'resets 14:05 (in 2h05m)'."""
    now = time.time() if now is None else now
    if window.reset_at is None:
        return "reset time unknown"
    if window.reset_passed(now):
        return f"reset at {local_time(window.reset_at, now)}"
    return f"resets {local_time(window.reset_at, now)} (in {countdown(window.reset_at - now)})"


def window_data(window: Window, now: float) -> dict[str, Any]:
    return {"bucket": window.bucket, "name": window.name, "window": window.label, "title": window.title,
            "seconds": window.seconds, "used_percent": window.used_percent, "reset_at": iso(window.reset_at),
            "resets_in_seconds": max(0, int(window.reset_at - now)) if window.reset_at is not None else None,
            "reset_passed": window.reset_passed(now), "exhausted": window.exhausted, "near": window.near}


def to_data(quota: Quota, now: float | None = None) -> dict[str, Any]:
    """The quota as JSON-ready data, the same for every command that shows it."""
    now = time.time() if now is None else now
    reading = quota.reading
    level, deciding = verdict(reading, now)
    data: dict[str, Any] = {"state": level.value, "plan": reading.plan if reading else None,
                            "source": reading.source.value if reading else None,
                            "source_words": SOURCE_WORDS[reading.source] if reading else None,
                            "fetched_at": iso(reading.fetched_at) if reading else None,
                            "age_seconds": int(reading.age(now)) if reading else None,
                            "fresh": quota.fresh,
                            "windows": [window_data(w, now) for w in reading.windows] if reading else [],
                            "deciding": [w.title for w in deciding] if level is not Level.ROOM else [],
                            "credits": reading.credits.to_dict() if reading and reading.credits else None,
                            "reached_type": reading.reached_type if reading else None,
                            "origin": reading.origin if reading else None}
    live = quota.live
    if live is not None and live.problem is not None:
        data["problem"] = live.problem.value
        data["message"] = live.message
    elif live is None and quota.cached is not None and quota.cached.last_problem:
        data["problem"] = quota.cached.last_problem
        data["message"] = quota.cached.last_message
    if live is not None and live.login:
        data["login"] = live.login
    return data


def summary(level: Level, deciding: tuple[Window, ...], reading: Reading | None, now: float) -> str:
    """One line: 'weekly window 84 % used, resets Tue 14:05 (in 2d3h)'."""
    if reading is None or level is Level.UNKNOWN:
        return "no current quota reading"
    if level is Level.ROOM:
        parts = [f"{w.title} {w.used_percent:.0f} %" for w in deciding if w.main] or \
                [f"{w.title} {w.used_percent:.0f} %" for w in deciding[:2]]
        return "room in every window: " + ", ".join(parts)
    first = min(deciding, key=lambda w: w.reset_at or float("inf")) if level is Level.EXHAUSTED else \
        max(deciding, key=lambda w: w.used_percent)
    what = "exhausted" if level is Level.EXHAUSTED else f"{first.used_percent:.0f} % used"
    label = "the quota" if first.seconds is None and first.main else f"the {first.title} window"
    text = f"{label} is {what}" if level is Level.EXHAUSTED else f"{label}: {what}"
    text += f", {reset_words(first, now)}"
    others = [w.title for w in deciding if w is not first]
    if others:
        text += f" (also: {', '.join(others[:3])})"
    return text


def age_note(reading: Reading, now: float) -> str:
    return f"{SOURCE_WORDS[reading.source]}, {age_words(reading.age(now))}"
