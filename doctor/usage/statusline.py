"""Claude Code's status line for the claudex stack: one line, fast, never an error.

    ● claudex :8327 │ opus→gpt-5.6-sol xhigh │ 5h 23% ↺2h05m · wk 41% ↺3d4h │ ctx 8%

- the gateway's state from the pidfile and the listening sockets (no HTTP, no connection to the port);
- the Codex model the current Claude model maps to (the env file's ANTHROPIC_DEFAULT_*_MODEL), with
  its effort;
- the 5-hour and weekly windows of the cached quota reading, with the time left to their reset;
- the context used, from the JSON Claude Code passes on stdin.

`line()` reads files only: the network is never waited on. When the cache is older than
`REFRESH_AFTER` seconds, `maybe_refresh()` starts ONE detached `claudex-doctor quota --refresh-cache`
(the refresh lock, an flock handed to the child, keeps it to one; the lock file's time, one per
`REFRESH_AFTER` even when the cache cannot be written) and the line shows what there is.

This module is the status line's whole import path: the standard library, `base`, `usage.model`,
`usage.cache`, `service.pidfile`, `service.sockets` and `config.envfile`; never httpx, rich or
ruamel.yaml (the status line runs after every assistant message).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from claudex_doctor.usage import cache
from claudex_doctor.usage.model import FIVE_HOURS, WEEK, Reading, Window, countdown

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

REFRESH_AFTER = 60.0
OLD_AFTER = 600.0  # past this, the line says how old the numbers are
ALIASES = (("opus", "ANTHROPIC_DEFAULT_OPUS_MODEL"), ("sonnet", "ANTHROPIC_DEFAULT_SONNET_MODEL"),
           ("haiku", "ANTHROPIC_DEFAULT_HAIKU_MODEL"), ("fable", "ANTHROPIC_DEFAULT_FABLE_MODEL"))
_PORT = re.compile(r"^[a-z]+://[^/:]+:(\d{1,5})(?:/|$)", re.IGNORECASE)

RESET = "\x1b[0m"
COLORS = {"green": "\x1b[32m", "yellow": "\x1b[33m", "red": "\x1b[31m", "dim": "\x1b[2m", "bold": "\x1b[1m",
          "cyan": "\x1b[36m"}


class Style:
    """Color and unicode choices (a plain class: a dataclass costs the status line a millisecond to build)."""

    __slots__ = ("color", "unicode")

    def __init__(self, color: bool = True, unicode: bool = True) -> None:
        self.color = color
        self.unicode = unicode

    def paint(self, text: str, color: str) -> str:
        return f"{COLORS[color]}{text}{RESET}" if self.color and color in COLORS else text

    @property
    def sep(self) -> str:
        return " │ " if self.unicode else " | "


# -- what the line says -------------------------------------------------------------------

def _env(paths: Paths) -> dict[str, str]:
    from claudex_doctor.base.files import read_text
    from claudex_doctor.config.envfile import parse

    loaded = read_text(paths.env_file)
    return parse(loaded.text or "").values if loaded.ok else {}


def _port(env: Mapping[str, str], recorded: int | None) -> int:
    if recorded:
        return recorded
    match = _PORT.match(env.get("ANTHROPIC_BASE_URL", "").strip())
    if match and 0 < int(match.group(1)) < 65536:
        return int(match.group(1))
    return 8327


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", "rb") as handle:
            for raw in handle:
                if raw.startswith(b"btime "):
                    return float(raw.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _same_process(pid: int, create_time: float | None) -> bool:
    """The pid is alive and (where /proc tells) started when the pidfile says: not a reused pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    if create_time is None:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
        ticks = float(stat.rsplit(")", 1)[1].split()[19])
        boot = _boot_time()
    except (OSError, ValueError, IndexError):
        return True  # no /proc: the live pid is all there is to go on
    if boot is None:
        return True
    return abs(boot + ticks / os.sysconf("SC_CLK_TCK") - create_time) < 2.0


def gateway(paths: Paths, env: Mapping[str, str]) -> tuple[str, int]:
    """(state, port): up | down | starting (ours runs, not listening yet) | busy (the port is held, not by
    the process our pidfile names) | unknown (no socket table to read)."""
    from claudex_doctor.service.pidfile import PidState, read_pidfile
    from claudex_doctor.service.sockets import read_listening

    record = read_pidfile(paths.pidfile)
    port = _port(env, record.port if record.state is PidState.RECORDED else None)
    ours = record.state is PidState.RECORDED and record.pid is not None and \
        _same_process(record.pid, record.create_time)
    listening = read_listening()
    if listening is None:
        return ("up" if ours else "unknown"), port
    held = any(s.port == port for s in listening)
    if held:
        return ("up" if ours else "busy"), port
    return ("starting" if ours else "down"), port


def model_words(status: Mapping[str, Any], env: Mapping[str, str], arrow: str = "→") -> str | None:
    """'opus→gpt-5.6-sol xhigh': the Claude model Claude Code reports and the Codex model it maps to."""
    from claudex_doctor.knowledge.modelstring import split

    model = status.get("model")
    model = model if isinstance(model, Mapping) else {}
    ident = model.get("id") if isinstance(model.get("id"), str) else ""
    display = model.get("display_name") if isinstance(model.get("display_name"), str) else ""
    mapped = {alias: env[var] for alias, var in ALIASES if env.get(var)}
    alias, target = None, None
    for name, value in mapped.items():
        if ident and ident.strip() == value.strip():  # Claude Code reports the mapped string itself
            alias, target = name, value
            break
    if target is None:
        words = f"{ident} {display}".lower()
        for name, value in mapped.items():
            if name in words:
                alias, target = name, value
                break
    if target is None and env.get("ANTHROPIC_MODEL") and not ident:
        alias, target = "default", env["ANTHROPIC_MODEL"]
    if target is None:
        shown = display or ident
        return shown[:40] if shown else None
    name, effort, one_m = split(target)
    effort = effort or _effort(status)
    text = f"{alias}{arrow}{name}" if alias else name
    if effort:
        text += f" {effort}"
    return text + (" 1m" if one_m else "")


def _effort(status: Mapping[str, Any]) -> str | None:
    effort = status.get("effort")
    level = effort.get("level") if isinstance(effort, Mapping) else None
    return level[:12] if isinstance(level, str) and level else None


def context_words(status: Mapping[str, Any]) -> str | None:
    """'ctx 8%' from context_window.used_percentage, else from current_usage / context_window_size."""
    window = status.get("context_window")
    if not isinstance(window, Mapping):
        return None
    used = window.get("used_percentage")
    if isinstance(used, (int, float)) and not isinstance(used, bool):
        return f"ctx {used:.0f}%"
    size = window.get("context_window_size")
    usage = window.get("current_usage")
    if isinstance(size, (int, float)) and size > 0 and isinstance(usage, Mapping):
        total = sum(v for k, v in usage.items() if k != "output_tokens" and isinstance(v, (int, float))
                    and not isinstance(v, bool))
        return f"ctx {100 * total / size:.0f}%"
    return None


def _window_words(label: str, window: Window, now: float, style: Style) -> str:
    if window.exhausted:
        color, shown = "red", "full"
    else:
        color = "red" if window.used_percent >= 95 else "yellow" if window.near else "green"
        shown = f"{window.used_percent:.0f}%"
    text = f"{label} {style.paint(shown, color)}"
    if window.reset_at is not None:
        text += f" {'↺' if style.unicode else '@'}{countdown(window.reset_at - now)}"
    return text


def quota_words(cached: cache.Cached, now: float, style: Style) -> str:
    reading: Reading | None = cached.reading
    if reading is None:
        words, color = PROBLEM_WORDS.get(cached.last_problem or "", ("quota …", "dim"))
        if not style.unicode:
            words = words.replace("…", "...")
        return style.paint(words, color)
    parts = []
    for seconds, label in ((FIVE_HOURS, "5h"), (WEEK, "wk")):
        window = reading.main_window(seconds, now)
        if window is not None:
            parts.append(_window_words(label, window, now, style))
    if not parts:
        limited = [w for w in reading.current(now) if w.main and w.exhausted]
        if limited:  # a 429 from the log: exhausted, length unknown
            parts.append(_window_words("quota", limited[0], now, style))
    others = [w for w in reading.current(now) if not w.main and w.exhausted]
    if others:
        parts.append(style.paint(f"{others[0].name or others[0].bucket} full", "red"))
    text = (" · " if style.unicode else ", ").join(parts) if parts else style.paint("quota: windows reset", "dim")
    age = reading.age(now)
    if age >= OLD_AFTER:
        note = "token expired, " if cached.last_problem == "expired" else ""
        text += " " + style.paint(f"({note}{countdown(age)} old)", "dim")
    return text


# usage.fetch.Problem (by its word: the status line does not import the fetch code) -> (words, color),
# shown when there is no reading at all
PROBLEM_WORDS = {
    "no_login": ("quota: no ChatGPT login", "dim"),
    "api_key": ("quota: API key login", "dim"),
    "expired": ("quota: token expired", "yellow"),
    "unauthorized": ("quota: token refused", "yellow"),
    "http": ("quota: not read", "yellow"),
    "invalid": ("quota: not read", "yellow"),
    "timeout": ("quota: no answer", "yellow"),
    "transport": ("quota: offline", "yellow"),
    "offline": ("quota …", "dim"),
}

GATEWAY_WORDS = {  # state -> (mark unicode, mark ascii, color, words)
    "up": ("●", "*", "green", ":{port}"),
    "starting": ("◐", "~", "yellow", ":{port} starting"),
    "busy": ("◐", "!", "yellow", ":{port} held by another process"),
    "down": ("○", "-", "red", "down"),
    "unknown": ("◌", "?", "dim", ":{port} ?"),
}


def line(paths: Paths | None, status: Mapping[str, Any], style: Style, now: float | None = None,
         cached: cache.Cached | None = None) -> str:
    """The status line from the cache (`cached`: already loaded for this render). Reads files only; raises
    nothing a caller needs to handle beyond OSError."""
    now = time.time() if now is None else now
    if paths is None or not paths.home.is_dir():
        parts = [style.paint("claudex: no gateway home (claudex-doctor bootstrap)", "yellow")]
        ctx = context_words(status)
        return style.sep.join(parts + ([ctx] if ctx else []))
    env = _env(paths)
    state, port = gateway(paths, env)
    mark_u, mark_a, color, words = GATEWAY_WORDS[state]
    parts = [style.paint(mark_u if style.unicode else mark_a, color) + " claudex " + words.format(port=port)]
    model = model_words(status, env, "→" if style.unicode else "->")
    if model:
        parts.append(style.paint(model, "cyan"))
    parts.append(quota_words(cached if cached is not None else cache.load(paths), now, style))
    ctx = context_words(status)
    if ctx:
        parts.append(ctx)
    return style.sep.join(parts)


# -- the background refresh -------------------------------------------------------------------

def maybe_refresh(paths: Paths, now: float | None = None, max_age: float = REFRESH_AFTER,
                  cached: cache.Cached | None = None) -> bool:
    """Start one detached refresh when the cache (`cached`: already loaded for this render) is older than
    `max_age`; True when one was started (or is running). Never waits, never raises."""
    now = time.time() if now is None else now
    try:
        if not paths.home.is_dir() or not (cached if cached is not None else cache.load(paths)).stale(max_age, now):
            return False
        fd = cache.refresh_lock(paths)
        if fd is None:
            return True  # a refresh holds the lock right now
        try:
            if not cache.attempt_due(fd, max_age, now):
                return False  # one was started within max_age: its cache write failed, or it said nothing
            cache.record_attempt(fd, now)
            os.set_inheritable(fd, True)
            argv = [sys.executable, "-m", "claudex_doctor", "quota", "--refresh-cache", "--home", str(paths.home)]
            devnull = os.devnull
            os.posix_spawn(sys.executable, argv, dict(os.environ), setsid=True, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0)])
        finally:
            os.close(fd)  # the child holds its own copy of the lock until it exits
        return True
    except (OSError, ValueError, NotImplementedError):  # NotImplementedError: a platform without setsid spawn
        return False
