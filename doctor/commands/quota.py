"""`claudex-doctor quota [--json] [--offline]`: the ChatGPT plan's Codex quota, window by window.

Each window (5-hour, weekly, per-model buckets) with the percentage used, when it resets (local time
and a countdown), the plan, and where the numbers come from and how old they are. A bar per window on
a terminal, plain lines when piped. Asks chatgpt.com (`GET /backend-api/wham/usage`) with the login's
access token, never refreshing it, and caches the reading in the runtime home for the status line;
`--offline` shows only the cache and the proxy log.

Exit 0 when every window has room (or nothing could be read), 1 when one is exhausted, 2 bad usage.
`--refresh-cache` is what the status line starts in the background: it refreshes the cache under the
refresh lock, prints nothing and always exits 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from claudex_doctor.commands._common import paths_for, positive_seconds

HELP = "show the Codex quota: 5-hour and weekly windows, per-model buckets, reset times"
DEFAULT_TIMEOUT = 8.0
EXIT_CODES = {"room": 0, "near": 0, "unknown": 0, "exhausted": 1}  # usage.quota.Level -> exit code


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                        help="ask nothing beyond this machine: the cached reading and the proxy log only")
    parser.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"bound for asking chatgpt.com (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="also say why a fresh reading could not be made, and where each one came from")
    parser.add_argument("--refresh-cache", action="store_true", help=argparse.SUPPRESS)


def main(args: argparse.Namespace) -> int:
    import time

    from claudex_doctor import console
    from claudex_doctor.usage.quota import to_data, verdict

    paths = paths_for(args)
    if args.refresh_cache:
        return refresh(paths, args.timeout)
    offline = bool(getattr(args, "offline", False))
    quota = _read_and_cache(paths, offline, min(args.timeout, 30.0))
    now = time.time()
    data = to_data(quota, now)
    level, _ = verdict(quota.reading, now)
    if args.json:
        console.out_json(data)
    else:
        console.out(render(data, color=console.wants_color(), unicode=console.wants_unicode(),
                           width=console.width(), verbose=bool(getattr(args, "verbose", False)), offline=offline))
    return EXIT_CODES[level]


def _read_and_cache(paths: Any, offline: bool, timeout: float) -> Any:
    """The quota, and the cache written under the status line's refresh lock, so two writers never
    interleave; while a refresh holds the lock the cache is left to it (its answer is as fresh)."""
    import os

    from claudex_doctor.usage import cache
    from claudex_doctor.usage.quota import read

    if offline:
        return read(paths, offline=True, timeout=timeout)
    fd = cache.refresh_lock(paths)
    try:
        return read(paths, timeout=timeout, update_cache=fd is not None)
    finally:
        if fd is not None:
            os.close(fd)


def refresh(paths: Any, timeout: float) -> int:
    """The status line's background refresh: under the lock (inherited from the status line, or taken
    here), ask once and cache the answer. Silent; exit 0 whatever happened."""
    import os

    from claudex_doctor.usage import cache
    from claudex_doctor.usage.quota import read

    fd = cache.refresh_lock(paths)  # None when the status line's lock is already held (by us or another)
    try:
        read(paths, timeout=min(timeout, 30.0), update_cache=True, logs=False)
    except Exception:  # a background refresh never reports: the next status line shows the old reading
        pass
    finally:
        if fd is not None:
            os.close(fd)
    return 0


def _bar(percent: float, width: int, unicode: bool) -> str:
    filled = max(0, min(width, round(min(percent, 100.0) / 100 * width)))
    full, empty = ("━", "╌") if unicode else ("#", ".")
    return full * filled + empty * (width - filled)


def _style(window: dict[str, Any]) -> str:
    if window["reset_passed"]:
        return "dim"
    if window["exhausted"]:
        return "bold red"
    return "yellow" if window["near"] else "green"


def _reset(window: dict[str, Any], now: float) -> str:
    from claudex_doctor.usage.model import countdown
    from claudex_doctor.usage.quota import local_time

    if window["reset_at"] is None:
        return "reset time unknown"
    from datetime import datetime

    epoch = datetime.fromisoformat(window["reset_at"]).timestamp()
    if window["reset_passed"]:
        return f"has reset ({local_time(epoch, now)}); the percentage is old"
    return f"resets {local_time(epoch, now)} (in {countdown(epoch - now)})"


def render(data: dict[str, Any], *, color: bool, unicode: bool, width: int, verbose: bool, offline: bool) -> str:
    """The quota as text: rich bars with color on a terminal, the same lines plain otherwise."""
    import io
    import time

    from rich.console import Console
    from rich.markup import escape

    now = time.time()
    buffer = io.StringIO()
    out = Console(file=buffer, force_terminal=color, color_system="standard" if color else None, no_color=not color,
                  width=width, soft_wrap=True, highlight=False, emoji=False)
    dash = "—" if unicode else "-"
    if data["source"] is None:
        head = "Codex quota: no reading"
        out.print(f"[bold]{escape(head)}[/]")
    else:
        age = "just now" if data["fresh"] else _ago(data["age_seconds"])
        out.print(f"[bold]Codex quota[/] {dash} plan {escape(data['plan'] or 'unknown')} {dash} "
                  f"{escape(data['source_words'])}, {escape(age)}")
    titles = [w["title"] for w in data["windows"]]
    title_w = max([len(t) for t in titles] + [6])
    for window in data["windows"]:
        pct = window["used_percent"]
        shown = "exhausted" if window["exhausted"] and not window["reset_passed"] else f"{pct:5.1f} %"
        style = _style(window)
        bar = _bar(pct, 24, unicode)
        out.print(f"  {escape(window['title']):<{title_w}}  [{style}]{bar}[/]  [{style}]{shown:>9}[/]  "
                  f"{escape(_reset(window, now))}")
    credits = data.get("credits")
    if credits and (credits.get("unlimited") or credits.get("has_credits")):
        balance = "unlimited" if credits.get("unlimited") else f"balance {credits.get('balance')}"
        out.print(f"  credits  {escape(balance)}")
    problem = data.get("problem")
    if problem and (verbose or not data["fresh"]):
        out.print(f"[yellow]not read now:[/] {escape(data.get('message') or problem)}")
    if data["source"] is None and not problem:
        out.print("no cached reading and nothing in the proxy log" +
                  (" (--offline asks nothing beyond this machine)" if offline else ""))
    if verbose and data.get("origin"):
        out.print(f"[dim]from {escape(data['origin'])}[/]")
    state = data["state"]
    if state == "exhausted":
        out.print(f"[bold red]exhausted:[/] {escape(', '.join(data['deciding']))} {dash} requests fail with "
                  "429 usage_limit_reached until the reset (see references/quota.md#quota-exhausted)")
    elif state == "near":
        out.print(f"[yellow]80 % or more used:[/] {escape(', '.join(data['deciding']))}")
    return buffer.getvalue()


def _ago(seconds: int | None) -> str:
    from claudex_doctor.usage.model import age_words

    return "age unknown" if seconds is None else age_words(seconds)
