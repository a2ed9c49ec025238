"""The proxy's start log: a marker per start, the lines written since, and why a start failed.

`start` appends the proxy's stdout+stderr to `$HOME/cli-proxy-api.log`. Each start first writes a
marker line and remembers the offset after it, so the reason for an early exit is read from this
start's lines only. CLIProxyAPI may exit with status 0 on a taken port or a bad config, so the
reason comes from the text, never from the exit status. Lines are redacted before they leave here.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from claudex_doctor.base import atomic, files
from claudex_doctor.base.paths import Paths

MAX_TAIL_BYTES = 256 * 1024

# CLIProxyAPI's log prefix: "[2026-11-24 02:48:05] [--------] [error] [run.go:66] "
_PREFIX = re.compile(r"^\[[^\]]*\]\s*\[[^\]]*\]\s*\[\s*(\w+)\s*\]\s*(?:\[[^\]]*\]\s*)?")

# (pattern, explanation); the first that matches a line of this start's output wins.
REASONS: tuple[tuple[str, str], ...] = (
    (r"address already in use", "port {port} is already in use (address already in use)"),
    (r"failed to load config:\s*(?P<rest>.+)", "config.yaml was rejected: {rest}"),
    (r"exec format error", "cli-proxy-api is not a program for this machine (exec format error)"),
    (r"permission denied", "permission denied: {line}"),
    (r"(?:not found|no such file or directory)", "{line}"),
)
_ERRORISH = re.compile(r"(?i)\b(error|fatal|panic)\b")

# The proxy's own lines: "[2026-11-24 02:48:05] ..." (local time); its request dumps: "Timestamp: <RFC 3339>";
# logrus text: time="..."; the start markers written here: "===== <ISO> ...".
_BRACKET_TS = re.compile(r"^\[(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})\]")
_ISO_TS = re.compile(r"(?:^|time=\"|Timestamp:\s*|^=====\s+)(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def mark_log(path: Path, text: str) -> int:
    """Append a start marker line; return the offset just after it."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return atomic.append(path, f"===== {now} {text} =====\n".encode("utf-8", "replace"))


def log_since(path: Path, offset: int, limit: int = 40) -> list[str]:
    """The last `limit` lines written after `offset`, redacted."""
    from claudex_doctor.base.redact import redact_text

    loaded, size = files.read_tail(path, MAX_TAIL_BYTES)
    if not loaded.ok:
        return []
    data: bytes = loaded.data[max(0, offset - (size - len(loaded.data))):]
    lines = [line.rstrip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return [redact_text(line)[:400] for line in lines[-limit:]]


def strip_prefix(line: str) -> str:
    return _PREFIX.sub("", line).strip()


def exit_reason(lines: list[str], port: int) -> str | None:
    """Why a proxy exited at start, from its output (already redacted lines)."""
    if not lines:
        return None
    for pattern, explanation in REASONS:
        regex = re.compile(pattern, re.IGNORECASE)
        for line in reversed(lines):
            match = regex.search(line)
            if match:
                rest = match.groupdict().get("rest") or ""
                return explanation.format(port=port, rest=rest.strip(), line=strip_prefix(line))[:300]
    for line in reversed(lines):
        if _ERRORISH.search(line) and not line.startswith("====="):
            return strip_prefix(line)[:300]
    for line in reversed(lines):
        if not line.startswith("====="):
            return f"its last words: {strip_prefix(line)[:280]}"
    return None


def stamp(line: str) -> datetime | None:
    """When a log line was written, if it says (aware; a time without a zone is local time)."""
    match = _BRACKET_TS.match(line)
    try:
        if match:
            # fromisoformat, not strptime: the groups are fixed YYYY-MM-DD[ T]HH:MM:SS, and strptime's
            # first use imports _strptime and builds its locale tables (about 25 ms).
            return datetime.fromisoformat(match.group(1)).astimezone()
        match = _ISO_TS.search(line[:200])
        if match:
            when = datetime.fromisoformat(match.group(1))
            zone = match.group(3)
            if zone == "Z":
                return when.replace(tzinfo=timezone.utc)
            if zone:
                return datetime.fromisoformat(match.group(1) + zone[:3] + ":" + zone[-2:])
            return when.astimezone()
    except (ValueError, OverflowError, OSError):
        return None
    return None


def log_files(paths: Paths, auth_dir: Path | None = None, limit: int = 24) -> list[Path]:
    """The proxy's log files, the captured stdout/stderr first, then the newest file logs and request dumps
    (logs/ in the home and in the auth folder: `auth_dir`, else the home's ./auth), each file once."""
    folders = [paths.logs_dir, (auth_dir or paths.auth_dir) / "logs"]
    found: list[tuple[float, Path]] = []
    for folder in folders:
        try:
            entries = list(folder.glob("*.log"))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_file():
                    found.append((entry.stat().st_mtime, entry))
            except OSError:
                continue
    ordered = [paths.log_file] if paths.log_file.is_file() else []
    seen = {files.real_path(p) for p in ordered}
    for _, entry in sorted(found, key=lambda item: item[0], reverse=True):
        if files.real_path(entry) not in seen:
            seen.add(files.real_path(entry))
            ordered.append(entry)
    return ordered[:limit]


def tail_text(path: Path, limit: int) -> tuple[str, int]:
    """The last `limit` bytes of a log as text, whole lines only (NULs dropped), and how many bytes that
    was; raises OSError with the reason when the file cannot be read."""
    loaded, size = files.read_tail(path, limit)
    if not loaded.ok:
        raise OSError(loaded.message)
    raw: bytes = loaded.data
    if size > len(raw):
        cut = raw.find(b"\n")
        raw = raw[cut + 1:] if cut >= 0 else b""
    return raw.replace(b"\x00", b"").decode("utf-8", "replace"), len(raw)

