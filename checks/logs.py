"""Known error signatures in the proxy's recent log lines.

logs.errors -- What it checks: the tail (last 256 KiB) of each proxy log: the file `start`
    captures stdout/stderr into (<home>/cli-proxy-api.log), and with file logging on,
    <home>/logs/*.log and <auth-dir>/logs/*.log (main.log and the per-request error-*.log
    dumps). Lines are matched against knowledge/signatures.json; each signature found is
    reported with its count and its last occurrence (timestamp when the line has one, and a
    redacted excerpt).
Why it matters: the proxy logs what Claude Code only shows as "API Error": a refresh token used
    twice, an exhausted quota, a port already taken, a model the plan does not offer.
Fix safety: read-only. The log is history, so the finding only points at the fix (manual);
    the live checks say whether the problem still exists. A signature of severity `fail` on a
    line stamped within the last hour fails the check; older, unstamped or milder ones warn.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.base import redact
from claudex_doctor.base.paths import display
from claudex_doctor.config import facts as stack
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, passed, skipped, warned
from claudex_doctor.knowledge import signatures
from claudex_doctor.service import proxylog

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/probes.md#errors-in-the-proxy-log"
TAIL_BYTES = 256 * 1024
TOTAL_BYTES = 2 * 1024 * 1024
MAX_FILES = 24
LINE_MAX = 8192
RECENT_FAIL = timedelta(hours=1)

_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*){1,4}")
_SECTION = re.compile(r"^===\s+([A-Z][A-Z0-9 ]*?)\s+===$")  # CLIProxyAPI's request dumps (error-*.log)


def log_sources(ctx: StackContext) -> list[Path]:
    """Candidate log files, the captured stdout/stderr first, then the newest file logs."""
    paths = ctx.paths
    auth = stack.auth_dir(paths, stack.config_data(ctx) or {})
    return proxylog.log_files(paths, auth, MAX_FILES)


def read_tail(path: Path, limit: int = TAIL_BYTES) -> tuple[str, int]:
    """The last `limit` bytes of a file as text (whole lines only); raises OSError."""
    return proxylog.tail_text(path, limit)


def scan(text: str, source: str, mtime: datetime | None, found: dict[str, dict]) -> None:
    """Count signature matches in `text` (lines; once per request dump), keeping the last occurrence of each."""
    context: datetime | None = None
    skipping = dump = False
    counted: set[str] = set()  # a request dump (error-*.log) is one failed request: count it once
    for line in text.splitlines():
        line = line[:LINE_MAX]
        section = _SECTION.match(line.strip())
        if section:
            title = section.group(1)
            dump = True
            skipping = "REQUEST" in title or title == "HEADERS"  # what a client sent, not what went wrong
            continue
        when = proxylog.stamp(line)
        if when is not None:
            context = when
        if skipping or not line.strip():
            continue
        sig = signatures.match(line)
        if sig is None:
            continue
        entry = found.setdefault(sig.id, {"signature": sig, "count": 0})
        if not (dump and sig.id in counted):
            entry["count"] += 1
            counted.add(sig.id)
        entry["at"] = when or context
        entry["at_is_mtime"] = (when or context) is None
        if entry["at"] is None:
            entry["at"] = mtime
        entry["file"] = source
        excerpt = " ".join(_PREFIX.sub("", line).split())
        entry["excerpt"] = redact.redact_text(excerpt[:200] + ("…" if len(excerpt) > 200 else ""))


def _when(entry: dict) -> str:
    at = entry.get("at")
    if at is None:
        return "time unknown"
    shown = at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"file changed {shown}" if entry.get("at_is_mtime") else shown


def last_repair(ctx: StackContext) -> datetime | None:
    """When a primitive last changed the stack (the newest applied journal entry)."""
    from claudex_doctor.auth.jwt import parse_time
    from claudex_doctor.base import journal

    for entry in reversed(journal.read(ctx.paths, limit=200)):
        if entry.get("status") == "applied":
            return parse_time(entry.get("at"))
    return None


@check("logs.errors", "Proxy log", needs=("paths.home",), reference=REF, fixes=("manual",))
def logs_errors(ctx: StackContext):
    sources = log_sources(ctx)
    looked = [display(ctx.paths.log_file, ctx.paths.user_home), display(ctx.paths.logs_dir, ctx.paths.user_home)]
    if not sources:
        return skipped("no proxy log to read yet (the proxy was not started by `claudex-doctor start`, "
                       "and file logging is off)", evidence={"looked_in": looked})
    # Reading these registers their secrets, so excerpts are redacted even when this check runs alone.
    _ = (ctx.env_file, ctx.config, ctx.proxy_auth, ctx.codex_auth)
    found: dict[str, dict] = {}
    unreadable, read_files, total = [], [], 0
    for path in sources:
        shown = display(path, ctx.paths.user_home)
        if total >= TOTAL_BYTES:
            break
        try:
            text, size = read_tail(path, min(TAIL_BYTES, TOTAL_BYTES - total))
            mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        except OSError as exc:
            unreadable.append(f"{shown}: {exc.strerror or exc}")
            continue
        total += size
        read_files.append(shown)
        scan(text, shown, mtime, found)
    evidence = {"files": read_files, "bytes_read": total}
    if unreadable:
        evidence["unreadable"] = unreadable
    if not read_files:
        return warned("cannot read the proxy log: " + "; ".join(unreadable), [], evidence, REF)
    if not found:
        return passed(f"no known error signature in the last {total // 1024 or 1} KiB of "
                      f"{len(read_files)} log file{'s' if len(read_files) != 1 else ''}", evidence=evidence)
    now = ctx.now()
    floor = datetime.min.replace(tzinfo=timezone.utc)
    ranked = sorted(found.values(), key=lambda e: (e["signature"]["severity"] == "fail",
                                                   e.get("at") or floor), reverse=True)
    evidence["matches"] = {e["signature"]["id"]: {"count": e["count"], "last": _when(e), "file": e["file"],
                                                  "excerpt": e["excerpt"]} for e in ranked}
    details = []
    for e in ranked:
        details.append(f"{e['signature']['id']}: {e['count']}x, last {_when(e)} in {e['file']}: {e['excerpt']}")
        details.append(f"  {e['signature']['meaning']}")
    if unreadable:
        details.append("Not readable: " + "; ".join(unreadable))
    top = ranked[0]
    sig = top["signature"]
    summary = "the proxy log shows " + ", ".join(f"{e['signature']['id']} ({e['count']}x)" for e in ranked[:4])
    summary += f"; last {sig['id']} at {_when(top)}"
    fix = Fix.manual(sig["fix"]["hint"], sig["fix"].get("command") or "claudex-doctor probe")
    # Only a line that carries its own time proves recency (a file's mtime moves with every later line),
    # and a line written before the last repair (an applied fix or primitive) is history that repair answered.
    recent = top.get("at") is not None and not top.get("at_is_mtime") and now - top["at"] <= RECENT_FAIL
    repaired = last_repair(ctx)
    if recent and repaired is not None and top["at"] <= repaired:
        recent = False
        details.append(f"Seen before the last repair ({repaired.astimezone().strftime('%Y-%m-%d %H:%M:%S')}); "
                       "the live checks say whether it came back.")
    if sig["severity"] == "fail" and recent:
        return failed(summary, details, evidence, sig["reference"], fix)
    return warned(summary, details + ["Log lines are history: the live checks (probe.*) say whether it still "
                                      "happens."], evidence, sig["reference"], fix)
