"""The claudex wrapper: installed where the user runs it, and passing arguments through exactly.

wrapper.installed
    What it checks: the wrapper file ($CLAUDEX_WRAPPER, default ~/.local/bin/claudex)
    exists, is executable, is the first `claudex` on PATH, sources THIS home's env file,
    runs claude with `exec "$CLAUDE_BIN" "$@"` (no $*, no unquoted $@, no eval, no
    missing exec) and intercepts only status/start/stop/restart as the first argument.
    Static reading only: the file is not run.
    Why it matters: a wrapper that mangles arguments, loses claude's exit status or
    steals `claudex doctor` breaks Claude Code in ways that look like Claude Code bugs.
    Fix safety: `bootstrap --only wrapper --force` (confirm) writes a fresh wrapper and
    keeps the old one as a backup; PATH problems and permissions are manual.

wrapper.passthrough
    What it checks: runs the installed wrapper, unedited, with CLAUDEX_CLAUDE_BIN
    pointing at a recording stand-in for claude; verifies argv byte for byte for hard
    vectors, the env file's variables as claude receives them (secrets compared by
    fingerprint), exit-code and SIGTERM propagation, and that `claudex doctor` and a
    `status` after the first position reach claude. No model request, no real claude.
    Why it matters: the static reading cannot see everything a shell does.
    Fix safety: as above (confirm).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.base.files import Problem, read_text
from claudex_doctor.base.paths import display, shell_word
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, passed, skipped, warned

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/wrapper.md"


def _rewrite_fix(missing: bool = False) -> Fix:
    if missing:
        return Fix.confirm("bootstrap", "Write the claudex wrapper for this home",
                           command="claudex-doctor bootstrap --only wrapper", only=("wrapper",))
    return Fix.confirm("bootstrap", "Write a fresh claudex wrapper for this home (the old one is kept as a backup)",
                       command="claudex-doctor bootstrap --only wrapper --force", only=("wrapper",), force=True)


def installed_state(ctx: StackContext):
    """(Loaded wrapper text, Analysis or None), read once per run."""
    def compute():
        from claudex_doctor.wrapper.script import analyse
        loaded = read_text(ctx.paths.wrapper)
        if not loaded.ok:
            return loaded, None
        env = ctx.env_file
        env_text = env.text if env.ok else None
        values = dict(ctx.env)
        values.setdefault("HOME", str(ctx.paths.user_home))
        return loaded, analyse(loaded.text or "", ctx.paths.env_file, values, env_text)
    return ctx.memo("wrapper.analysis", compute)


def _path_issue(ctx: StackContext, path: Path):
    """(message, evidence) when `claudex` on PATH is not this wrapper, else (None, evidence)."""
    name = path.name
    first = ctx.which(name)
    dirs = [os.path.abspath(d) for d in ctx.env.get("PATH", "").split(os.pathsep) if d]
    evidence = {"first_on_path": display(first, ctx.paths.user_home) if first else None}
    if first is not None:
        try:
            if os.path.samefile(first, path):
                return None, evidence
        except OSError:
            pass
        return (f"`{name}` runs {display(first, ctx.paths.user_home)}, not this wrapper: it comes first on PATH",
                "wrapper-shadowed"), evidence
    if os.path.abspath(path.parent) not in dirs:
        return (f"{display(path.parent, ctx.paths.user_home)} is not on PATH: typing `{name}` finds nothing",
                "wrapper-not-on-path"), evidence
    return None, evidence


@check("wrapper.installed", "claudex wrapper", reference=f"{REF}#wrapper-missing", fixes=("bootstrap", "manual"))
def wrapper_installed(ctx: StackContext):
    path = ctx.paths.wrapper
    shown = display(path, ctx.paths.user_home)
    loaded, analysis = installed_state(ctx)
    evidence = {"path": shown, "source": ctx.paths.wrapper_reason}
    if analysis is None:
        if loaded.problem is Problem.MISSING:
            details = ["Without it, `claudex` does not exist: Claude Code runs without the gateway's env."]
            other = ctx.which(path.name)
            if other is not None:
                details.append(f"A {path.name} exists at {display(other, ctx.paths.user_home)}; this home's wrapper "
                               "path is set by --wrapper / CLAUDEX_WRAPPER.")
            return failed(f"no claudex wrapper at {shown}", details, evidence, reference=f"{REF}#wrapper-missing",
                          fix=_rewrite_fix(missing=True))
        if loaded.problem == "not_utf8":
            return failed(f"{shown} is not a shell script ({loaded.message})",
                          ["A compiled or binary wrapper cannot be read to check the passthrough contract."],
                          evidence, reference=f"{REF}#the-wrapper-contract", fix=_rewrite_fix())
        return failed(f"{shown}: {loaded.message}", [], evidence, reference=f"{REF}#wrapper-missing",
                      fix=Fix.manual("Look at the path and fix or remove it", f"ls -l {shown}"))
    evidence.update(analysis.to_evidence())
    details = [issue.message for issue in analysis.failures + analysis.warnings]
    if not os.access(path, os.X_OK):
        return failed(f"{shown} is not executable", details, evidence, reference=f"{REF}#wrapper-not-executable",
                      fix=Fix.manual("Make it executable", f"chmod 755 {shown}"))
    if analysis.failures:
        first = analysis.failures[0]
        return failed(first.message, details[1:], evidence, reference=first.reference, fix=_rewrite_fix())
    path_issue, path_evidence = _path_issue(ctx, path)
    evidence.update(path_evidence)
    if path_issue is not None:
        message, anchor = path_issue
        folder = shell_word(path.parent, ctx.paths.user_home)
        command = f'export PATH={folder}:"$PATH"'
        details.append(f"Put its directory first on PATH in your shell profile: {command}")
        return warned(message, details, evidence, reference=f"{REF}#{anchor}",
                      fix=Fix.manual("Put the wrapper's directory first on PATH", command))
    if analysis.warnings:
        first = analysis.warnings[0]
        return warned(first.message, details[1:], evidence, reference=first.reference, fix=_rewrite_fix())
    kind = "generated by claudex-doctor" if analysis.generated else "hand-written"
    notes = [f"The wrapper is {kind}; it intercepts only {', '.join(analysis.intercepted)} as the first argument."]
    if not analysis.supports_override:
        notes.append("It has no CLAUDEX_CLAUDE_BIN override, so wrapper.passthrough cannot test it without editing it.")
    return passed(f"{shown} execs \"$CLAUDE_BIN\" \"$@\" with this home's env file", notes, evidence)


@check("wrapper.passthrough", "Wrapper passthrough", needs=("wrapper.installed",), timeout=15.0,
       reference=f"{REF}#arguments-mangled", fixes=("bootstrap",))
def wrapper_passthrough(ctx: StackContext):
    from claudex_doctor.wrapper import passthrough

    path = ctx.paths.wrapper
    shown = display(path, ctx.paths.user_home)
    _, analysis = installed_state(ctx)
    if analysis is None:
        return skipped("the wrapper cannot be read", blocked_by=("wrapper.installed",))
    if not analysis.supports_override:
        return warned(f"cannot test {shown} without editing it: it has no CLAUDEX_CLAUDE_BIN override",
                      ["A live test must not run the real claude; the generated wrapper lets a stand-in take its "
                       "place for one run. Regenerate it with bootstrap to make it testable."],
                      {"path": shown}, reference=f"{REF}#passthrough-cannot-be-tested", fix=_rewrite_fix())
    env_file = ctx.env_file
    if not env_file.ok:
        return skipped(f"the env file cannot be used ({env_file.message}); home.layout and env.consistency report it")
    if ctx.remaining() < 1.0:
        return skipped("not enough time left in the run's deadline to run the wrapper")
    data = env_file.data
    if data.notes or data.dynamic:
        # Running the wrapper sources the env file: with anything but plain assignments in it, that would run
        # code from the user's file during a diagnosis. Say so instead of running it.
        lines = [*data.notes, *(f"line {data.lines.get(k, '?')}: {k} needs the shell to expand its value"
                                for k in sorted(data.dynamic))]
        return warned("not run: the env file is not plain assignments, and testing the wrapper would run it",
                      ["A diagnosis never runs code from your files; the passthrough stays untested.", *lines[:5]],
                      {"path": shown, "env_lines": lines[:10]}, reference=f"{REF}#env-file-runs-code",
                      fix=Fix.manual("Write the values out as plain KEY=value lines",
                                     "claudex-doctor --only env.consistency -v"))
    expected = {k: v for k, v in data.values.items() if k != "CLAUDE_BIN"}
    report = passthrough.verify(path, expected, ctx.run, ctx.env, budget=ctx.remaining() - 0.2)
    return _judge(report, shown)


def _judge(report, shown: str):
    from claudex_doctor.base.redact import redact_text

    canary = report.outcomes[0]
    evidence: dict = {"path": shown, "runs": len(report.outcomes),
                      "max_ms": max((o.duration_ms for o in report.outcomes), default=0)}
    if not report.reached:
        why = canary.error.strip().splitlines()[0] if canary.error.strip() else f"exit {canary.returncode}"
        return failed(f"{shown} did not run the stand-in given in CLAUDEX_CLAUDE_BIN ({redact_text(why)[:120]})",
                      ["Either the wrapper stopped before exec (an env file it cannot source?) or it ignores the "
                       "override. Run `claudex --version` to see."], evidence,
                      reference=f"{REF}#passthrough-cannot-be-tested", fix=_rewrite_fix())
    problems: list[tuple[str, str, str]] = []  # (summary, detail, anchor)
    for o in report.outcomes[1:]:
        if o.recorded is None:
            anchor = "wrapper-steals-claude-subcommands" if o.argv[:1] == ("doctor",) else "arguments-mangled"
            problems.append((f"`claudex {' '.join(o.argv)[:40]}` never reached claude ({o.name})",
                             redact_text(o.error.strip())[:200], anchor))
            continue
        if not o.argv_ok:
            got = [os.fsdecode(b) for b in o.recorded]
            problems.append((f"arguments changed on the way to claude ({o.name})",
                             f"sent {list(o.argv)!r}, claude got {got!r}", "arguments-mangled"))
        if not o.code_ok:
            problems.append((f"claude's {'SIGTERM' if o.expected_code < 0 else f'exit code {o.expected_code}'} "
                             f"came back as {o.returncode} ({o.name})",
                             "The wrapper does not exec claude, or changes its status.", "exit-code-and-signals-lost"))
    for name, values in report.env_mismatch.items():
        problems.append((f"claude gets {name}={values['got']}, the env file says {values['expected']}",
                         "Something after the env file (or an unexported assignment) changes it.",
                         "env-not-reaching-claude"))
    evidence["env_verified"] = [n for n in report.env_checked if n not in report.env_mismatch]
    if problems:
        summary, _, anchor = problems[0]
        details = [f"{s}: {d}" if d else s for s, d, _ in problems]
        return failed(summary, details, evidence, reference=f"{REF}#{anchor}", fix=_rewrite_fix())
    if report.api_key_leak:
        return warned("ANTHROPIC_API_KEY from your shell reaches claude beside the gateway token",
                      ["Claude Code then sends both and warns about an auth conflict; unset it in your shell profile."],
                      evidence, reference=f"{REF}#shell-api-key-reaches-claude",
                      fix=Fix.manual("Stop exporting ANTHROPIC_API_KEY in your shell", "unset ANTHROPIC_API_KEY"))
    return passed(f"{len(report.outcomes) - 1} argument vectors reached claude byte for byte; exit code and SIGTERM "
                  f"are claude's; {len(evidence['env_verified'])} env variables verified", [], evidence)
