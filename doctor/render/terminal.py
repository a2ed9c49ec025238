"""The terminal rendering: grouped, one line per check, details where they help.

Built with rich into a string, so it is a pure function of the result; color is
a parameter (the CLI decides it from the stream and NO_COLOR).
"""

from __future__ import annotations

import io

from claudex_doctor.base.redact import redact_text
from claudex_doctor.core.model import Finding, FixStatus, RunResult, Safety, Status
from claudex_doctor.render.redacted import redacted

GROUPS = {
    "paths": "Runtime home", "home": "Runtime home", "bin": "Programs", "config": "Proxy config",
    "env": "Env file and models", "claude": "Claude Code", "auth": "Credentials", "port": "Proxy service",
    "proxy": "Proxy service", "probe": "Live probes", "wrapper": "claudex wrapper", "route": "Routing",
    "logs": "Proxy log", "quota": "Codex quota", "knowledge": "Model facts",
}

SYMBOLS = {
    True: {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "-", Status.ERROR: "‼"},
    False: {Status.PASS: "ok", Status.WARN: "!!", Status.FAIL: "XX", Status.SKIP: "--", Status.ERROR: "EE"},
}
STYLES = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim",
          Status.ERROR: "bold magenta"}
SAFETY_NOTE = {Safety.SAFE: "applied by --fix", Safety.CONFIRM: "--fix asks first, or --yes",
               Safety.MANUAL: "run it yourself"}


def _esc(text: str) -> str:
    from rich.markup import escape
    return escape(text)


def topic_of(reference: str) -> str:
    page = reference.split("#", 1)[0].rsplit("/", 1)[-1]
    return page[:-3] if page.endswith(".md") else page


def render(result: RunResult, *, color: bool = False, unicode: bool = True, verbose: bool = False,
           width: int = 100, header: bool = True) -> str:
    from rich.console import Console

    result = redacted(result)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, color_system="standard" if color else None,
                      no_color=not color, width=width, soft_wrap=True, highlight=False, emoji=False)
    symbols = SYMBOLS[unicode]
    dash = "—" if unicode else "-"
    if header:
        console.print(f"[bold]claudex-doctor {result.tool_version}[/] {dash} home {_esc(result.home)}")
    id_width = max((len(f.id) for f in result.findings), default=10)
    for group, findings in _grouped(result.findings):
        console.print()
        console.print(f"[bold underline]{_esc(group)}[/]")
        for finding in findings:
            _finding(console, finding, symbols, id_width, verbose)
    console.print()
    if result.fixes is not None:
        _fixes(console, result.fixes, symbols)
    _tally(console, result, dash)
    return redact_text(buffer.getvalue())


def _grouped(findings) -> list[tuple[str, list[Finding]]]:
    """Each heading once, in the order it first appears; findings keep their order within it."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(GROUPS.get(finding.group, finding.group), []).append(finding)
    return list(groups.items())


def _finding(console, f: Finding, symbols, id_width: int, verbose: bool) -> None:
    style = STYLES[f.status]
    console.print(f"  [{style}]{symbols[f.status]:>2}[/] {_esc(f.id):<{id_width}}  {_esc(f.summary)}")
    indent = " " * (6 + id_width)
    show_details = verbose or f.status in (Status.WARN, Status.FAIL, Status.ERROR)
    if show_details:
        for line in f.details:
            console.print(f"{indent}{_esc(line)}", style="dim" if f.status is Status.WARN else None)
        if verbose and f.evidence:
            for key, value in f.evidence.items():
                console.print(f"{indent}[dim]{_esc(str(key))}: {_esc(str(value))}[/]")
    if f.status in (Status.WARN, Status.FAIL) and f.fix is not None:
        console.print(f"{indent}[bold]fix:[/] {_esc(f.fix.command)}  [dim]({f.fix.safety.value}: "
                      f"{SAFETY_NOTE[f.fix.safety]})[/]")
    if f.status in (Status.WARN, Status.FAIL, Status.ERROR) and f.reference:
        console.print(f"{indent}[dim]see:[/] {_esc(f.reference)}  [dim](claudex-doctor explain {topic_of(f.reference)})[/]")


FIX_MARKS = {FixStatus.PLANNED: "would", FixStatus.APPLIED: "done", FixStatus.FAILED: "FAILED",
             FixStatus.WITHHELD: "not applied", FixStatus.MANUAL: "manual"}
FIX_STYLES = {FixStatus.PLANNED: "", FixStatus.APPLIED: "green", FixStatus.FAILED: "bold red",
              FixStatus.WITHHELD: "yellow", FixStatus.MANUAL: ""}


def _fixes(console, fixes, symbols) -> None:
    """The fix plan, or what --fix did: one numbered step per primitive, its changes and its re-check."""
    if not fixes:
        console.print("Nothing to fix automatically: no failing check has a fix.")
        console.print()
        return
    dry_run = all(f.status in (FixStatus.PLANNED, FixStatus.MANUAL) for f in fixes)
    console.print("[bold underline]Fix plan[/] [dim](dry run: nothing was changed)[/]" if dry_run
                  else "[bold underline]Fixes[/]")
    for number, fix in enumerate(fixes, 1):
        status = fix.status
        style = FIX_STYLES[status]
        mark = f"[{style}]{FIX_MARKS[status]}[/]" if style else FIX_MARKS[status]
        checks = ", ".join(fix.checks)
        console.print(f"  {number}. \\[{mark}] [bold]{_esc(fix.command)}[/]  "
                      f"[dim]({_esc(fix.safety.value)}; for {_esc(checks)})[/]")
        indent = " " * 7
        for line in fix.description.split("; "):
            if line:
                console.print(f"{indent}{_esc(line)}")
        for change in fix.changes:
            console.print(f"{indent}- {_esc(change)}")
        message = fix.message
        if message and (status is not FixStatus.PLANNED or message.startswith(("would refuse", "could not"))):
            console.print(f"{indent}{_esc(message)}", style="dim" if status is FixStatus.MANUAL else None)
        if status is FixStatus.APPLIED:
            moved = [f"{cid}: {fix.before.get(cid, '?')} -> {fix.after.get(cid, '?')}" for cid in fix.checks]
            console.print(f"{indent}re-check: " + "; ".join(moved))
    withheld = sum(1 for f in fixes if f.status is FixStatus.WITHHELD)
    if withheld:
        console.print(f"[yellow]{withheld} fix{'es' if withheld != 1 else ''} not applied without confirmation:[/] "
                      "run `claudex-doctor --fix --yes`.")
    if dry_run:
        console.print("Run `claudex-doctor --fix` to apply the safe ones on a terminal "
                      "(`--yes` applies those that need confirmation too).")
    console.print()


def _tally(console, result: RunResult, dash: str) -> None:
    t = result.tally()
    parts = [f"{t['pass']} passed"]
    if t["warn"]:
        parts.append(f"[yellow]{t['warn']} warning{'s' if t['warn'] != 1 else ''}[/]")
    if t["fail"]:
        parts.append(f"[bold red]{t['fail']} failed[/]")
    if t["skip"]:
        parts.append(f"{t['skip']} skipped")
    if t["error"]:
        parts.append(f"[bold magenta]{t['error']} crashed[/]")
    took = f"{result.duration_ms} ms" if result.duration_ms < 1000 else f"{result.duration_ms / 1000:.1f} s"
    console.print(", ".join(parts) + f" [dim]in {took}[/]")
    status = result.status
    if status is Status.ERROR:
        console.print("The doctor could not finish every check (see the crashed ones above).")
    elif status is Status.FAIL:
        fixable = [f for f in result.findings if f.status in (Status.FAIL, Status.WARN) and f.fix
                   and f.fix.safety is not Safety.MANUAL]
        planned = [step for step in result.fixes or () if step.status is FixStatus.PLANNED]
        if fixable and result.fixes is None:
            console.print(f"Next: [bold]claudex-doctor --fix --dry-run[/] shows what {len(fixable)} "
                          f"automatic fix{'es' if len(fixable) != 1 else ''} would change.")
        elif planned:
            console.print("Next: [bold]claudex-doctor --fix[/] applies the plan above.")
        else:
            console.print("Next: follow the fix lines above, first problem first.")
    elif status is Status.WARN:
        console.print("No failing checks; the warnings above are worth a look.")
    else:
        console.print("All good: the stack looks healthy.")
