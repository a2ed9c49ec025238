"""Quota readings as frozen values, and the parsers that make them from what the backend sends.

Four shapes carry the same facts (see references/quota.md):

- `GET /backend-api/wham/usage`: `rate_limit.{primary,secondary}_window` with `used_percent`,
  `limit_window_seconds`, `reset_at` (epoch seconds), `reset_after_seconds`; per-model buckets in
  `additional_rate_limits[]` (`limit_name`, `metered_feature`, `rate_limit`); `credits`; `plan_type`.
- `x-codex-*` response headers: `x-<family>-{primary,secondary}-{used-percent,window-minutes,reset-at,
  reset-after-seconds}`, `x-codex-plan-type`; a per-model family names itself in `x-<family>-limit-name`.
- the `codex.rate_limits` stream event: `rate_limits.{primary,secondary}` with `window_minutes`.
- a `429 usage_limit_reached` body: `error.resets_at` / `error.resets_in_seconds`, `error.plan_type`.

A window is labelled by its length, never by its slot: plans with only a weekly window send it as the
*primary* one. `used_percent` may exceed 100. Every field may be missing or null; a parser never raises
on what it is given (it returns None, or a reading without the windows it could not read).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from claudex_doctor.base.vocab import Vocabulary

FIVE_HOURS = 5 * 3600
WEEK = 7 * 86400
MAIN_BUCKET = "codex"
NEAR_PERCENT = 80.0


class Source(Vocabulary):
    """Where a reading came from."""

    USAGE = "usage"      # GET chatgpt.com/backend-api/wham/usage
    HEADERS = "headers"  # x-codex-* response headers found in the proxy log
    EVENT = "event"      # a codex.rate_limits stream event found in the proxy log
    LIMIT = "limit"      # a 429 usage_limit_reached body found in the proxy log


SOURCE_WORDS = {
    Source.USAGE: "chatgpt.com usage endpoint",
    Source.HEADERS: "response headers in the proxy log",
    Source.EVENT: "codex.rate_limits event in the proxy log",
    Source.LIMIT: "429 usage_limit_reached in the proxy log",
}


def number(value: Any) -> float | None:
    """A finite number, from a JSON number or a numeric string; None for anything else (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str) and value.strip() and len(value) < 40:
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def _text(value: Any, limit: int = 80) -> str | None:
    return value.strip()[:limit] if isinstance(value, str) and value.strip() else None


def window_label(seconds: int | None) -> str:
    """'5h', 'weekly', else the length in the largest whole unit ('30m', '2h', '30d'); 'limit' when unknown."""
    if not seconds or seconds <= 0:
        return "limit"
    if seconds == FIVE_HOURS:
        return "5h"
    if seconds == WEEK:
        return "weekly"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Window:
    """One rate-limit window of one bucket."""

    bucket: str                 # "codex" (the plan's main bucket) or a per-model feature id
    used_percent: float
    seconds: int | None = None  # the window's length
    reset_at: float | None = None  # epoch seconds
    name: str | None = None     # the bucket's human name ("GPT-5.3-Codex-Spark"), for per-model buckets
    reached: bool = False       # the backend said the limit is reached

    @property
    def label(self) -> str:
        return window_label(self.seconds)

    @property
    def main(self) -> bool:
        return self.bucket == MAIN_BUCKET

    @property
    def title(self) -> str:
        """'5h', 'weekly', or 'GPT-5.3-Codex-Spark 5h' for a per-model bucket."""
        return self.label if self.main else f"{self.name or self.bucket} {self.label}"

    @property
    def exhausted(self) -> bool:
        return self.reached or self.used_percent >= 100

    @property
    def near(self) -> bool:
        return self.used_percent >= NEAR_PERCENT

    def reset_passed(self, now: float) -> bool:
        """The window has reset since the reading: its percentage no longer says anything."""
        return self.reset_at is not None and self.reset_at <= now

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "name": self.name, "window": self.label, "seconds": self.seconds,
                "used_percent": self.used_percent, "reset_at": self.reset_at, "reached": self.reached}

    @classmethod
    def from_dict(cls, data: Any) -> Window | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("bucket"), str):
            return None
        used = number(data.get("used_percent"))
        if used is None:
            return None
        seconds = number(data.get("seconds"))
        return cls(bucket=data["bucket"][:80], used_percent=used,
                   seconds=int(seconds) if seconds and seconds > 0 else None,
                   reset_at=number(data.get("reset_at")), name=_text(data.get("name")),
                   reached=data.get("reached") is True)


@dataclass(frozen=True)
class Credits:
    has_credits: bool = False
    unlimited: bool = False
    balance: str | None = None

    @property
    def worth_showing(self) -> bool:
        value = number(self.balance)
        return self.unlimited or self.has_credits or bool(value)

    def to_dict(self) -> dict[str, Any]:
        return {"has_credits": self.has_credits, "unlimited": self.unlimited, "balance": self.balance}

    @classmethod
    def from_dict(cls, data: Any) -> Credits | None:
        if not isinstance(data, Mapping):
            return None
        balance = data.get("balance")
        return cls(has_credits=_flag(data.get("has_credits")) is True, unlimited=_flag(data.get("unlimited")) is True,
                   balance=str(balance)[:40] if isinstance(balance, (str, int, float)) and not isinstance(balance, bool)
                   else None)


@dataclass(frozen=True)
class Reading:
    """What one source said about the quota, and when."""

    source: Source
    fetched_at: float                 # epoch seconds: when it was read (or logged)
    windows: tuple[Window, ...] = ()
    plan: str | None = None
    credits: Credits | None = None
    reached_type: str | None = None   # rate_limit_reached_type.type, when the backend names one
    origin: str | None = None         # where in the log, for log readings
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def age(self, now: float) -> float:
        return max(0.0, now - self.fetched_at)

    def current(self, now: float) -> tuple[Window, ...]:
        """The windows that have not reset since the reading."""
        return tuple(w for w in self.windows if not w.reset_passed(now))

    def main_window(self, seconds: int, now: float) -> Window | None:
        for item in self.current(now):
            if item.main and item.seconds == seconds:
                return item
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source.value, "fetched_at": self.fetched_at, "plan": self.plan,
                "windows": [w.to_dict() for w in self.windows],
                "credits": self.credits.to_dict() if self.credits else None,
                "reached_type": self.reached_type, "origin": self.origin}

    @classmethod
    def from_dict(cls, data: Any) -> Reading | None:
        if not isinstance(data, Mapping):
            return None
        try:
            source = Source(data.get("source"))
        except ValueError:
            return None
        fetched = number(data.get("fetched_at"))
        raw_windows = data.get("windows")
        if fetched is None or not isinstance(raw_windows, list):
            return None
        windows = tuple(w for w in (Window.from_dict(item) for item in raw_windows[:64]) if w is not None)
        return cls(source=source, fetched_at=fetched, windows=windows, plan=_text(data.get("plan"), 40),
                   credits=Credits.from_dict(data.get("credits")), reached_type=_text(data.get("reached_type")),
                   origin=_text(data.get("origin"), 200))


# -- GET /backend-api/wham/usage ---------------------------------------------------------

def _usage_window(bucket: str, name: str | None, raw: Any, limit_reached: bool, now: float) -> Window | None:
    if not isinstance(raw, Mapping):
        return None
    used = number(raw.get("used_percent"))
    if used is None:
        return None
    seconds = number(raw.get("limit_window_seconds"))
    reset = number(raw.get("reset_at"))
    if reset is None:
        after = number(raw.get("reset_after_seconds"))
        reset = now + after if after is not None else None
    return Window(bucket=bucket, used_percent=used, seconds=int(seconds) if seconds and seconds > 0 else None,
                  reset_at=reset, name=name, reached=limit_reached and used >= 100)


def _usage_bucket(bucket: str, name: str | None, raw: Any, now: float) -> list[Window]:
    if not isinstance(raw, Mapping):
        return []
    reached = raw.get("limit_reached") is True or raw.get("allowed") is False
    found = [_usage_window(bucket, name, raw.get(slot), reached, now) for slot in ("primary_window", "secondary_window")]
    windows = [w for w in found if w is not None]
    if reached and windows and not any(w.exhausted for w in windows):
        # The bucket is closed but no window says 100: the fullest one is what closed it.
        fullest = max(windows, key=lambda w: w.used_percent)
        windows = [Window(w.bucket, w.used_percent, w.seconds, w.reset_at, w.name, w is fullest) for w in windows]
    return windows


def parse_usage(data: Any, fetched_at: float) -> Reading | None:
    """A wham/usage answer; None when it is not a JSON object at all."""
    if not isinstance(data, Mapping):
        return None
    windows = _usage_bucket(MAIN_BUCKET, None, data.get("rate_limit"), fetched_at)
    review = data.get("code_review_rate_limit")
    windows += _usage_bucket("code_review", "code review", review, fetched_at)
    extra = data.get("additional_rate_limits")
    items = list(extra.values()) if isinstance(extra, Mapping) else extra if isinstance(extra, list) else []
    for item in items[:32]:
        if not isinstance(item, Mapping):
            continue
        name = _text(item.get("limit_name"))
        bucket = _text(item.get("metered_feature")) or name or "model"
        windows += _usage_bucket(bucket, name or bucket, item.get("rate_limit"), fetched_at)
    reached = data.get("rate_limit_reached_type")
    return Reading(Source.USAGE, fetched_at, tuple(windows), plan=_text(data.get("plan_type"), 40),
                   credits=Credits.from_dict(data.get("credits")),
                   reached_type=_text(reached.get("type")) if isinstance(reached, Mapping) else None)


# -- the codex.rate_limits stream event --------------------------------------------------

def _event_window(bucket: str, name: str | None, raw: Any, now: float, reached: bool) -> Window | None:
    if not isinstance(raw, Mapping):
        return None
    used = number(raw.get("used_percent"))
    if used is None:
        return None
    minutes = number(raw.get("window_minutes", raw.get("limit_window_minutes")))
    reset = number(raw.get("reset_at"))
    if reset is None:
        after = number(raw.get("reset_after_seconds"))
        reset = now + after if after is not None else None
    return Window(bucket=bucket, used_percent=used, seconds=int(minutes * 60) if minutes and minutes > 0 else None,
                  reset_at=reset, name=name, reached=(reached or raw.get("limit_reached") is True) and used >= 100)


def parse_event(event: Any, at: float, origin: str | None = None) -> Reading | None:
    """A `codex.rate_limits` event; None when it is not one or carries no window."""
    if not isinstance(event, Mapping) or event.get("type") != "codex.rate_limits":
        return None
    limit = _text(event.get("metered_limit_name")) or _text(event.get("limit_name"))
    bucket = normal_family(limit) if limit else MAIN_BUCKET
    windows: list[Window] = []
    details = event.get("rate_limits")
    if isinstance(details, Mapping):
        reached = details.get("limit_reached") is True or details.get("allowed") is False
        for slot in ("primary", "secondary"):
            found = _event_window(bucket, None if bucket == MAIN_BUCKET else limit, details.get(slot), at, reached)
            if found is not None:
                windows.append(found)
    extra = event.get("additional_rate_limits")
    if isinstance(extra, Mapping):
        for name, raw in list(extra.items())[:32]:
            if isinstance(raw, Mapping):
                for slot in ("primary", "secondary"):
                    found = _event_window(normal_family(str(name)), str(name)[:80], raw.get(slot), at, False)
                    if found is not None:
                        windows.append(found)
    if not windows:
        return None
    return Reading(Source.EVENT, at, tuple(windows), plan=_text(event.get("plan_type"), 40),
                   credits=Credits.from_dict(event.get("credits")), origin=origin)


def normal_family(limit: str) -> str:
    """A limit id as Codex normalises it: lower case, '-' for '_' in headers, '_' in ids."""
    return limit.strip().lower().replace("-", "_")[:80] or MAIN_BUCKET


# -- x-codex-* response headers -----------------------------------------------------------

def parse_headers(headers: Mapping[str, str], at: float, origin: str | None = None) -> Reading | None:
    """`x-<family>-{primary,secondary}-*` headers (any case); None when no window is in them."""
    lower = {str(k).strip().lower(): str(v).strip() for k, v in list(headers.items())[:400]}
    families = sorted({k[2:-len("-primary-used-percent")] for k in lower
                       if k.startswith("x-") and k.endswith("-primary-used-percent")} |
                      {k[2:-len("-secondary-used-percent")] for k in lower
                       if k.startswith("x-") and k.endswith("-secondary-used-percent")})
    windows: list[Window] = []
    for family in families[:16]:
        prefix = f"x-{family}"
        bucket = normal_family(family)
        name = lower.get(f"{prefix}-limit-name") or None
        for slot in ("primary", "secondary"):
            used = number(lower.get(f"{prefix}-{slot}-used-percent"))
            if used is None:
                continue
            minutes = number(lower.get(f"{prefix}-{slot}-window-minutes"))
            reset = number(lower.get(f"{prefix}-{slot}-reset-at"))
            if reset is None:
                after = number(lower.get(f"{prefix}-{slot}-reset-after-seconds"))
                reset = at + after if after else None
            if not used and not minutes and reset is None:
                continue  # Codex's rule: a window with no data at all is not a window
            windows.append(Window(bucket=bucket, used_percent=used,
                                  seconds=int(minutes * 60) if minutes and minutes > 0 else None,
                                  reset_at=reset, name=None if bucket == MAIN_BUCKET else (name or family)[:80]))
    if not windows:
        return None
    credits = None
    if "x-codex-credits-has-credits" in lower or "x-codex-credits-unlimited" in lower:
        credits = Credits(_flag(lower.get("x-codex-credits-has-credits")) is True,
                          _flag(lower.get("x-codex-credits-unlimited")) is True,
                          lower.get("x-codex-credits-balance") or None)
    return Reading(Source.HEADERS, at, tuple(windows), plan=_text(lower.get("x-codex-plan-type"), 40),
                   credits=credits, reached_type=_text(lower.get("x-codex-rate-limit-reached-type")), origin=origin)


# -- 429 usage_limit_reached ----------------------------------------------------------------

def parse_limit_error(body: Any, at: float, origin: str | None = None) -> Reading | None:
    """A `usage_limit_reached` error body (bare, or wrapped as a stream `error` event): one exhausted
    window of unknown length that resets at `resets_at` (else `at + resets_in_seconds`)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping) or error.get("type") != "usage_limit_reached":
        return None
    reset = number(error.get("resets_at"))
    if reset is None:
        after = number(error.get("resets_in_seconds"))
        reset = at + after if after is not None else None
    window = Window(bucket=MAIN_BUCKET, used_percent=100.0, seconds=None, reset_at=reset, reached=True)
    return Reading(Source.LIMIT, at, (window,), plan=_text(error.get("plan_type"), 40), origin=origin)


# -- words ---------------------------------------------------------------------------------

def countdown(seconds: float) -> str:
    """'45s', '12m', '2h05m', '3d4h': the time left, compact (for the status line and tables)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


def age_words(seconds: float) -> str:
    """'just now', '40 s ago', '5 min ago', '3 h ago', '2 days ago'."""
    seconds = max(0, int(seconds))
    if seconds < 5:
        return "just now"
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min ago"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"
