"""`claudex-doctor statusline`: the command for Claude Code's `statusLine` setting.

Reads Claude Code's status JSON on stdin and prints one line: the gateway's state, the Codex model the
current Claude model maps to, the 5-hour and weekly quota with their reset countdown, the context used.
It never waits on the network (a stale cache starts one detached refresh) and never fails: a broken
stdin, a missing home or a bug still print a line, and the exit code is 0. ANSI colors unless NO_COLOR.

`claudex-doctor statusline install [--dry-run] [--force]` adds it to Claude Code's settings.json
(primitive `statusline-install`, confirm class; see references/quota.md#the-status-line).

Only the standard library and the doctor's light modules load on this path (no httpx, rich or
ruamel.yaml): it runs after every assistant message.
"""

from __future__ import annotations

import argparse
from typing import Any

from claudex_doctor.commands._common import apply_primitive, paths_for

HELP = "one status line for Claude Code (gateway, model, quota, context); `install` adds it to settings.json"
STDIN_LIMIT = 1 << 20
STDIN_WAIT = 0.5


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("install",),
                        help="install: add the statusLine to ~/.claude/settings.json")
    parser.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS,
                        help="with install: say what would change, write nothing")
    parser.add_argument("--force", action="store_true", help="with install: replace a statusLine already there")


def main(args: argparse.Namespace) -> int:
    if args.action == "install":
        return apply_primitive("statusline-install", args, force=bool(args.force))
    return show(args)


def read_status(limit: int = STDIN_LIMIT, wait: float = STDIN_WAIT) -> dict[str, Any]:
    """Claude Code's status JSON from stdin: {} for a terminal, nothing, garbage or a pipe that stays silent."""
    import os
    import select
    import time

    from claudex_doctor.base.files import TooComplex, loads_json

    try:
        if os.isatty(0):
            return {}
    except OSError:
        return {}
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + wait
    while size < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            ready, _, _ = select.select([0], [], [], left)
            if not ready:
                break
            chunk = os.read(0, 65536)
        except (OSError, ValueError):
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    try:
        data = loads_json(b"".join(chunks)[:limit].decode("utf-8", "replace"))
    except (ValueError, TooComplex, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def show(args: argparse.Namespace) -> int:
    from claudex_doctor import console

    text = "claudex: status unavailable"
    try:
        from claudex_doctor.usage import cache
        from claudex_doctor.usage.statusline import Style, line, maybe_refresh

        status = read_status()
        try:
            paths = paths_for(args)
        except (OSError, ValueError):
            paths = None
        style = Style(color=console.color_allowed(), unicode=console.wants_unicode())
        cached = None
        if paths is not None:
            cached = cache.load(paths)  # once per render, for the refresh and the line
            maybe_refresh(paths, cached=cached)
        text = line(paths, status, style, cached=cached)
    except Exception:  # a status line never fails: the line above is better than a blank one
        pass
    try:
        console.out(text + "\n")
    except (OSError, ValueError, UnicodeError):
        pass
    return 0
