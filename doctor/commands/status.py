"""`claudex-doctor status`: the home's files, the env file's mapping, who holds the port, health, pid, uptime.

Exit 0 when this home's proxy runs and answers /healthz, 1 otherwise. `--json` prints the same data
(`claudex_doctor.service.control.status`) and nothing else on stdout. Read-only: nothing is started or written.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import paths_for

HELP = "show layout, env mapping, port owner and health"

STATE_WORDS = {  # OwnerState -> words
    "ours": "running",
    "unrecorded": "running (not started by claudex-doctor: stop/restart will not manage it)",
    "none": "not running",
    "foreign": "NOT running: the port is held by another program",
    "other_home": "NOT running: the port is held by another home's proxy",
    "unknown": "unknown: the port is held by a process this user cannot see",
}


def main(args: argparse.Namespace) -> int:
    from claudex_doctor import console
    from claudex_doctor.service.control import status

    data = status(paths_for(args))
    healthy = bool(data["running"] and data["health"].get("ok"))
    if args.json:
        console.out_json({**data, "healthy": healthy})
    else:
        console.out(render(data, healthy))
    return 0 if healthy else 1


def _uptime(seconds: int | None) -> str:
    if seconds is None:
        return ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _quota_lines(quota: dict) -> list[str]:
    """'  quota    5h 23 %, weekly 41 % (chatgpt.com usage endpoint, 3 min ago)' from the cached reading."""
    windows = [w for w in quota.get("windows") or [] if not w.get("reset_passed")]
    if not quota.get("source"):
        return ["  quota    no reading yet: claudex-doctor quota"]
    shown = []
    for w in windows:
        if w.get("bucket") == "codex" or w.get("exhausted"):
            shown.append(f"{w['title']} {'exhausted' if w['exhausted'] else format(w['used_percent'], '.0f') + ' %'}")
    from claudex_doctor.usage.model import age_words

    age = quota.get("age_seconds")
    when = age_words(age) if isinstance(age, int) else "age unknown"
    words = ", ".join(shown) or "every window has reset since"
    state = {"exhausted": "  EXHAUSTED", "near": "  (80 % or more used)"}.get(quota.get("state", ""), "")
    return [f"  quota    {words}{state} ({quota.get('source_words')}, {when}; claudex-doctor quota)"]


def render(data: dict, healthy: bool) -> str:
    from claudex_doctor.base.net import is_loopback

    owner = data["owner"]
    state = STATE_WORDS[owner["state"]]
    if owner["state"] == "none" and owner.get("running_pid"):
        state = f"not listening (pid {owner['running_pid']} runs but holds no socket on the port)"
    head = f"proxy: {state}"
    if data.get("pid"):
        head += f", pid {data['pid']}"
        if data.get("uptime_seconds") is not None:
            head += f", up {_uptime(data['uptime_seconds'])}"
    if data["running"]:
        head += ", healthy" if healthy else ", NOT healthy"
    lines = [head]
    lines.append(f"  home     {data['home']} ({data['home_reason']})" +
                 ("" if data["home_exists"] else "  MISSING: claudex-doctor bootstrap"))
    addresses = ", ".join(owner.get("addresses") or []) or data["host"]
    lines.append(f"  port     {addresses}:{data['port']}: {owner['reason']}")
    proc = owner.get("process")
    if proc and owner["state"] != "ours":
        who = f"{proc['name']} (pid {proc['pid']}"
        who += f", user {proc['user']})" if proc.get("user") else ")"
        lines.append(f"  owner    {who}: {proc.get('cmdline') or ''}")
    exposed = [a for a in owner.get("addresses") or [] if not is_loopback(a)]
    if exposed:
        lines.append(f"  WARNING  bound to {', '.join(exposed)}: reachable from the network")
    pidfile = owner.get("pidfile") or {}
    if pidfile.get("state") not in (None, "missing", "alive"):
        lines.append(f"  pidfile  stale: {pidfile.get('message')}")
    health = data["health"]
    if health.get("ok"):
        lines.append(f"  health   GET /healthz -> {health.get('status')} {health.get('body', '').strip()}")
    elif owner["state"] != "none":
        got = health.get("error") or f"{health.get('status')} {health.get('body', '')[:60]}".strip()
        lines.append(f"  health   GET /healthz failed: {got}")
    lines.append(f"  log      {data['log']}")
    service = data.get("supervisor") or {}
    if service.get("installed"):
        lines.append(f"  service  {service.get('manager')}: {service.get('state')}"
                     + (f", pid {service['pid']}" if service.get("pid") else "") + f" ({service.get('path')})")
    lines += _quota_lines(data.get("quota") or {})
    lines.append("files")
    for entry in data["layout"]:
        mark = "ok" if entry["exists"] else "--"
        extra = entry.get("mode", "missing")
        if entry.get("executable") is False:
            extra += " (not executable)"
        lines.append(f"  {mark}  {entry['name']:<11} {extra:<8} {entry['path']}")
    lines.append("env file")
    for key, value in data["env"].items():
        lines.append(f"  {key:<22} {value if value else '(not set)'}")
    if data["mapping"]:
        lines.append("model mapping")
        for alias, model in data["mapping"].items():
            lines.append(f"  {alias:<9} {model}")
    else:
        lines.append("model mapping: none (the env file sets no ANTHROPIC_DEFAULT_*_MODEL)")
    if not data["running"]:
        present = {e["name"] for e in data["layout"] if e["exists"]}
        if not {"binary", "config", "launcher"} <= present:
            lines.append("next: claudex-doctor bootstrap   (the home lacks what start needs)")
        elif owner["state"] == "none":
            lines.append("next: claudex-doctor start")
        else:
            lines.append("next: claudex-doctor --only port.owner -v   (see references/service.md)")
    return "\n".join(lines) + "\n"
