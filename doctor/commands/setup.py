"""`claudex-doctor setup`: from an empty machine to a working `claudex`, one step at a time.

    1 prerequisites  node, claude, codex (and go, unless --binary or a working binary): what is missing
                     and the exact command that installs it (claudex_doctor.machine.prerequisites)
    2 bootstrap      the runtime home, the proxy binary (a Go build, shown with progress; its output when
                     it fails), config, env file, wrapper (primitive `bootstrap`)
    3 login          a ChatGPT login from `codex login`: setup never logs in for you; it asks you to run
                     it and continues once it exists (a login in the macOS Keychain is read with
                     `security` when you allow it: --yes, or a yes at the prompt)
    4 sync-auth      the login copied to the proxy (primitive `sync-auth`)
    5 start          the proxy in the background (primitive `start`)
    6 probe          health, models and, unless --offline, one small live request
    7 next           what to type now, and how to keep the proxy running across reboots

Idempotent and resumable: every step keeps what exists, so running it again continues where it stopped.
`--yes` answers every question (no prompt; without a terminal nothing is asked either). Exit 0 when the
stack works, 1 when a step needs you (the output says what to do, then run setup again), 2 bad usage.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from claudex_doctor.commands._common import paths_for, positive_seconds

HELP = "walk this machine to a working claudex: prerequisites, bootstrap, login, sync, start, probe"
DEFAULT_DEADLINE = 60.0
LOGIN_TRIES = 3


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--binary", metavar="PATH", help="use this cli-proxy-api binary instead of building one")
    source.add_argument("--source", metavar="DIR", help="build from a CLIProxyAPI checkout (go build ./cmd/server)")
    parser.add_argument("--plan", metavar="PLAN", help="ChatGPT plan for the model mapping (default: from the login)")
    parser.add_argument("--yes", "-y", action="store_true", help="answer yes to every question; never prompt")
    parser.add_argument("--offline", action="store_true", help="probe without a live model request")
    parser.add_argument("--timeout", type=positive_seconds, default=20.0, metavar="SECONDS",
                        help="how long to wait for the proxy to answer")


@dataclass
class Step:
    name: str
    status: str  # ok | done | skipped | needs-you | failed
    message: str
    lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.name, "status": self.status, "message": self.message, "lines": list(self.lines)}


class Walk:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.steps: list[Step] = []
        self.number = 0
        self.keychain = False  # the user allowed reading the Codex login from the macOS Keychain

    def add(self, step: Step) -> Step:
        from claudex_doctor import console

        self.number += 1
        self.steps.append(step)
        if not self.args.json:
            mark = {"ok": "ok", "done": "done", "skipped": "skip", "needs-you": "TODO", "failed": "FAILED"}[step.status]
            text = f"[{self.number}] {step.name:<13} {mark:<6} {step.message}"
            lines = [text, *(f"      {line}" for line in step.lines)]
            if step.status in ("needs-you", "failed"):
                console.error("\n".join(lines))
            else:
                console.line("\n".join(lines))
        return step

    def finish(self, code: int) -> int:
        from claudex_doctor import console

        if self.args.json:
            console.out_json({"ok": code == 0, "steps": [s.to_dict() for s in self.steps]})
        elif code != 0:
            console.error("When that is done, run `claudex-doctor setup` again: it continues where it stopped.")
        return code


def main(args: argparse.Namespace) -> int:
    paths = paths_for(args)
    walk = Walk(args)
    for step in (_prerequisites, _bootstrap, _login, _sync, _start, _probe, _next):
        if not step(walk, paths):
            return walk.finish(1)
    return walk.finish(0)


# -- the steps ------------------------------------------------------------------------------------

def _prerequisites(walk: Walk, paths) -> bool:
    from claudex_doctor.machine.prerequisites import find
    from claudex_doctor.proxy import build

    args = walk.args
    binary_ok = build.probe(paths.binary)[0] == "ok"
    tools = find(need_go=not (args.binary or binary_ok), need_git=bool(args.source))
    missing = [t for t in tools if t.required and not t.ok]
    found = ", ".join(f"{t.name} {t.version}" if t.version else t.name for t in tools if t.ok)
    if not missing:
        optional = [t for t in tools if not t.ok and not t.required]
        lines = [f"{t.problem} ({t.why}); not needed now" for t in optional]
        lines += [t.note for t in tools if t.ok and t.note]
        walk.add(Step("prerequisites", "ok", f"found {found}", lines))
        return True
    lines = []
    for tool in missing:
        lines.append(f"{tool.problem}: {tool.why}")
        lines.append(f"  install: {tool.hint}")
    if any(t.name == "go" for t in missing):
        lines.append("or skip the Go build: claudex-doctor setup --binary /path/to/cli-proxy-api")
    lines += [t.note for t in tools if t.ok and t.note]
    walk.add(Step("prerequisites", "needs-you", f"missing: {', '.join(t.name for t in missing)}", lines))
    return False


def _apply(name: str, paths, **kwargs):
    """(result, None) or (None, refusal message)."""
    from claudex_doctor.errors import PrimitiveError
    from claudex_doctor.primitives import apply

    try:
        return apply(name, paths, **kwargs), None
    except PrimitiveError as exc:
        return None, exc


def _bootstrap(walk: Walk, paths) -> bool:
    from claudex_doctor import console
    from claudex_doctor.console import Spinner

    args = walk.args
    with Spinner("bootstrap: the runtime home and the proxy binary…") as spinner:
        def progress(text: str) -> None:
            if spinner.active:
                spinner.update(text)
            elif not args.json:
                console.error(f"      {text}")

        result, refused = _apply("bootstrap", paths, binary=args.binary, source=args.source, plan=args.plan,
                                 status=progress)
    if refused is not None:
        lines = [line for line in str(refused).split("; ") if line]
        output = refused.details.get("build_output") if isinstance(refused.details, dict) else None
        if output:
            lines.append("the build's output:")
            lines += [f"  | {line}" for line in output]
        walk.add(Step("bootstrap", "failed", "could not create the stack", lines))
        return False
    assert result is not None
    from claudex_doctor.bootstrap import Action

    written = [f for f in result.details.get("files", []) if f["action"] not in (Action.KEEP, Action.UNCHANGED)]
    if written:
        walk.add(Step("bootstrap", "done", result.message, [c for c in result.changes if not c.startswith("keep ")]))
    else:
        walk.add(Step("bootstrap", "ok", "every part exists (kept as it is)"))
    return True


def _login_state(paths):
    from claudex_doctor.auth import credentials

    return credentials.load_codex(paths.codex_auth), credentials.storage_mode(paths.codex_config)


def _login(walk: Walk, paths) -> bool:
    from claudex_doctor import console
    from claudex_doctor.auth.credentials import CredentialState
    from claudex_doctor.base import platform
    from claudex_doctor.base.paths import display

    args = walk.args
    for attempt in range(LOGIN_TRIES):
        codex, store = _login_state(paths)
        if codex.ok:
            who = codex.tokens.email if codex.tokens and codex.tokens.email else "a ChatGPT account"
            walk.add(Step("login", "ok", f"Codex is logged in with {who} ({display(paths.codex_auth, paths.user_home)})"))
            return True
        if store.file_optional and platform.has_keychain():
            allowed = args.yes or console.ask("Codex keeps its login in the macOS Keychain. Read it with "
                                              "`security find-generic-password` to copy it to the proxy?")
            if allowed:
                walk.keychain = True
                walk.add(Step("login", "ok", "the Codex login is in the macOS Keychain; sync-auth reads it there"))
                return True
        lines = ["Run this in another terminal and choose \"Sign in with ChatGPT\":", "  codex login",
                 "claudex-doctor never logs in for you."]
        if codex.state is not CredentialState.MISSING:
            lines.insert(0, f"{display(paths.codex_auth, paths.user_home)}: {codex.message}")
        if args.yes or not console.interactive() or attempt == LOGIN_TRIES - 1:
            walk.add(Step("login", "needs-you", "no ChatGPT login from the Codex CLI yet", lines))
            return False
        console.error("\n".join(["no ChatGPT login from the Codex CLI yet.", *lines]))
        if not console.ask("Done? (y continues, n stops here)"):
            walk.add(Step("login", "needs-you", "no ChatGPT login from the Codex CLI yet", lines))
            return False
    return False


def _sync(walk: Walk, paths) -> bool:
    kwargs = {"keychain": True} if walk.keychain else {}
    result, refused = _apply("sync-auth", paths, **kwargs)
    if refused is not None:
        walk.add(Step("sync-auth", "failed", str(refused)))
        return False
    assert result is not None
    walk.add(Step("sync-auth", "done" if result.changes else "ok", result.message))
    return result.ok


def _start(walk: Walk, paths) -> bool:
    result, refused = _apply("start", paths, timeout=walk.args.timeout)
    if refused is not None:
        walk.add(Step("start", "failed", str(refused), [f"see: {refused.reference}"] if refused.reference else []))
        return False
    assert result is not None
    if not result.ok:
        tail = [f"| {line}" for line in (result.details.get("log_tail") or [])[-8:]]
        walk.add(Step("start", "failed", result.message, tail))
        return False
    walk.add(Step("start", "ok" if result.details.get("already_running") else "done", result.message))
    return True


PROBES = ("proxy.health", "proxy.models", "probe.messages")


def _probe(walk: Walk, paths) -> bool:
    from claudex_doctor.commands._common import diagnose, run_options
    from claudex_doctor.core.model import Status

    args = walk.args
    args.only = PROBES if not args.offline else PROBES[:2]
    options = run_options(args)
    result = diagnose(paths, options, progress=not args.json)
    bad = [f for f in result.findings if f.status in (Status.FAIL, Status.ERROR)]
    if bad:
        lines = [f"{f.id}: {f.summary}" for f in bad]
        lines += [f"fix: {f.fix.command}" for f in bad if f.fix is not None]
        lines.append("the whole picture: claudex-doctor")
        walk.add(Step("probe", "failed", "the proxy runs but does not serve yet", lines))
        return False
    done = ", ".join(f.id for f in result.findings if f.status is Status.PASS)
    walk.add(Step("probe", "ok", f"passed: {done}" + (" (offline: no live request)" if args.offline else "")))
    return True


def _next(walk: Walk, paths) -> bool:
    from claudex_doctor.base.paths import display
    from claudex_doctor.machine.prerequisites import on_path
    from claudex_doctor.service import supervisor

    wrapper = display(paths.wrapper, paths.user_home)
    lines = []
    if on_path(paths.wrapper.parent):
        lines.append("claudex                      Claude Code through your ChatGPT plan")
    else:
        lines.append(f"{wrapper}    ({display(paths.wrapper.parent, paths.user_home)} is not on PATH: add "
                     f"`export PATH=\"{display(paths.wrapper.parent, paths.user_home)}:$PATH\"` to your shell profile)")
    if supervisor.installed_file(paths) is None:  # installed: nothing to suggest, no manager to ask
        if supervisor.detect().available:
            lines.append("claudex-doctor service install   keep the proxy running across reboots")
        else:
            lines.append("claudex-doctor set-env CLAUDEX_AUTOSTART=1   let claudex start the proxy when it is down "
                         "(no user service manager here)")
    lines.append("claudex-doctor skill install     teach Claude Code and Codex to use claudex-doctor")
    lines.append("claudex-doctor                   check everything, any time")
    walk.add(Step("next", "ok", "the stack works; type:", lines))
    return True
