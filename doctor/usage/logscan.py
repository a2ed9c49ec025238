"""Quota facts that passed through the proxy and landed in its logs.

CLIProxyAPI keeps no quota itself (its maintainers declined: router-for-me/CLIProxyAPI#5126, #5782), but
its logs carry what the backend said:

- `main.log` (and the captured stdout) log each failed upstream call with the body verbatim:
  `[2026-11-24 02:54:56] [e65da388] [warn ] [...] upstream execution failed: provider=codex ...
  err={"error": {"type": "usage_limit_reached", ..., "resets_at": 1796028189, "resets_in_seconds": 500}}`
- the request dumps (`error-v1-messages-*.log` for every failed request; `v1-messages-*.log` for every
  request with `request-log: true`) hold the upstream answer: under `=== API RESPONSE n ===`, a
  `Timestamp:` line, `Headers:` with the `X-Codex-*` rate-limit headers, and the `Body:`, whose stream may
  carry a `codex.rate_limits` event.

`latest(paths)` reads the tails of those files (bounded in size and count) and returns the newest reading
found, or None. Never raises.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.service import proxylog
from claudex_doctor.usage.model import Reading, Source, parse_event, parse_headers, parse_limit_error

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths
    from claudex_doctor.config.facts import Files

TAIL_BYTES = 256 * 1024
TOTAL_BYTES = 2 * 1024 * 1024
MAX_FILES = 16
LINE_MAX = 16384
SAME_MOMENT = 5.0  # readings this close together describe the same answer

_HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,80}):\s?(.*)$")
_NUMBER_FIELD = re.compile(r'"(resets_at|resets_in_seconds|plan_type)"\s*:\s*"?([A-Za-z0-9_.-]+)"?')


def sources(paths: Paths, ctx: Files | None = None) -> list[Path]:
    """The captured stdout/stderr first, then the newest file logs and request dumps (in the home's logs/
    and in config.yaml's auth-dir)."""
    from claudex_doctor.config import facts

    auth = facts.auth_dir(paths, facts.config_data(ctx or facts.StackFiles(paths)))
    return proxylog.log_files(paths, auth, limit=MAX_FILES)


def _stamp(line: str) -> float | None:
    when = proxylog.stamp(line)
    try:
        return when.timestamp() if when is not None else None
    except (OverflowError, OSError, ValueError):
        return None


def _json_from(line: str, marker: str) -> object | None:
    """The JSON object that holds `marker`, read from the first '{' of the line (or of `data:`)."""
    from claudex_doctor.base.files import TooComplex, loads_json

    start = line.find("{")
    if start < 0:
        return None
    text = line[start:]
    try:
        return loads_json(text)
    except TooComplex:
        return None  # nested or numbered past any real answer: never handed to a parser unbounded
    except ValueError:
        pass  # the bounds held for the whole text, so they hold for its first value
    try:  # a JSON value followed by more words: take the first complete value
        value, _ = json.JSONDecoder().raw_decode(text)
        return value if marker in text else None
    except (ValueError, RecursionError):
        return None


def _limit_fields(line: str) -> dict[str, object]:
    """usage_limit_reached fields from a line whose JSON is cut or mangled."""
    error: dict[str, object] = {"type": "usage_limit_reached"}
    for key, value in _NUMBER_FIELD.findall(line):
        error[key] = int(value) if value.isdigit() and len(value) < 20 else value
    return {"error": error}


def scan(text: str, origin: str, fallback: float | None) -> list[Reading]:
    """Every reading in one log text; `fallback` is the time for lines without a stamp (the file's mtime)."""
    found: list[Reading] = []
    moment = fallback
    block: dict[str, str] = {}

    def close_block() -> None:
        if block:
            reading = parse_headers(block, moment if moment is not None else 0.0, origin)
            if reading is not None and moment is not None:
                found.append(reading)
            block.clear()

    for raw in text.splitlines():
        line = raw[:LINE_MAX]
        when = _stamp(line)
        if when is not None:
            moment = when
        header = _HEADER.match(line) if line[:2].lower() == "x-" else None
        if header is not None:
            block[header.group(1)] = header.group(2)
            continue
        close_block()
        if moment is None:
            continue
        if "codex.rate_limits" in line:
            reading = parse_event(_json_from(line, "codex.rate_limits"), moment, origin)
            if reading is not None:
                found.append(reading)
        elif "usage_limit_reached" in line:
            body = _json_from(line, "usage_limit_reached")
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                reading = parse_limit_error(body, moment, origin)
            else:
                reading = parse_limit_error(_limit_fields(line), moment, origin)
            if reading is not None and reading.windows[0].reset_at is not None:
                found.append(reading)  # a 429 that does not say when it resets says nothing about the quota
    close_block()
    return found


def best(readings: list[Reading]) -> Reading | None:
    """The newest reading. Among those of the same moment, the one that says most (headers or an event
    name window lengths and percentages, a 429 body only the reset), unless a 429 there says the quota
    is used up and that richer reading does not: then the 429 is the news."""
    if not readings:
        return None
    newest = max(r.fetched_at for r in readings)
    recent = [r for r in readings if newest - r.fetched_at <= SAME_MOMENT]
    richest = max(recent, key=lambda r: (r.source is not Source.LIMIT, len(r.windows), r.fetched_at))
    limits = [r for r in recent if r.source is Source.LIMIT and r.fetched_at >= richest.fetched_at]
    if limits and not any(w.exhausted for w in richest.windows):
        return max(limits, key=lambda r: r.fetched_at)
    return richest


def latest(paths: Paths, ctx: Files | None = None) -> Reading | None:
    from claudex_doctor.base.paths import display

    found: list[Reading] = []
    total = 0
    for path in sources(paths, ctx):
        if total >= TOTAL_BYTES:
            break
        try:
            text, _ = proxylog.tail_text(path, min(TAIL_BYTES, TOTAL_BYTES - total))
            mtime = path.stat().st_mtime
        except OSError:
            continue
        total += len(text)
        if "x-codex-" not in text.lower() and "codex.rate_limits" not in text and "usage_limit_reached" not in text:
            continue
        found += scan(text, display(path, paths.user_home), mtime)
    return best(found)
