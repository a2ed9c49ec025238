"""`claudex-doctor` with no command: run the checks, render them, exit 0/1/2; with --fix, repair first.

--fix: diagnose, plan, apply (or --dry-run), diagnose again, render the run with its fixes. On a terminal
safe fixes apply and confirm-class ones are asked about one by one; without a terminal nothing is applied
unless --yes, which applies both. Manual fixes are only printed.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import diagnose, emit, id_list, paths_for, positive_seconds, run_options

HELP = "run every check"  # the command without a name
DEFAULT_DEADLINE = 10.0


def configure(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("running checks")
    run.add_argument("--only", type=id_list, default=(), metavar="ID[,ID]", help="run only these checks (and what they need)")
    run.add_argument("--skip", type=id_list, default=(), metavar="ID[,ID]", help="do not run these checks")
    run.add_argument("--offline", action="store_true", help="send no model request (no Codex quota spent)")
    run.add_argument("--deadline", type=positive_seconds, default=None, metavar="SECONDS",
                     help="overall bound for the run (default 10; 20 for probe)")
    run.add_argument("--strict", action="store_true", help="warnings count as problems for the exit code")
    run.add_argument("-v", "--verbose", action="store_true", help="show details and evidence for every check")
    fix = parser.add_argument_group("repairing")
    fix.add_argument("--fix", action="store_true", help="plan and apply fixes, then re-check")
    fix.add_argument("--dry-run", action="store_true", help="with --fix: show the plan and exact changes, touch nothing")
    fix.add_argument("--yes", "-y", action="store_true", help="with --fix: also apply fixes that need confirmation")
    fix.add_argument("--unsafe", action="store_true", help="with --fix: same as --yes (confirm-class fixes)")


def main(args: argparse.Namespace) -> int:
    paths = paths_for(args)
    options = run_options(args)
    if not args.fix:
        result = diagnose(paths, options)
        emit(result, args)
        return result.exit_code

    import dataclasses
    import time

    from claudex_doctor import console, primitives
    from claudex_doctor.core import fix

    # One deadline for the whole repair: half for the first diagnosis (a hung proxy must leave time for
    # the restart that repairs it), then the fixes, then the re-check with what is left.
    give_up = time.monotonic() + options.deadline

    def remaining() -> float:
        return give_up - time.monotonic()

    before = diagnose(paths, dataclasses.replace(options, deadline=options.deadline / 2), progress=False)
    steps = fix.plan(before.findings, known=primitives.PRIMITIVES)

    def apply(name: str, **kwargs):
        left = max(0.5, remaining())
        if name == "restart" and not kwargs.get("dry_run"):
            kwargs.update(stop_timeout=min(5.0, left / 3), timeout=min(15.0, left * 2 / 3))
        elif name in ("start", "stop") and not kwargs.get("dry_run"):
            kwargs["timeout"] = min(15.0 if name == "start" else 5.0, left)
        return primitives.apply(name, paths, **kwargs)

    def confirm(step: fix.Step) -> bool:
        return console.ask(f"Apply '{step.command}'? {step.description}")

    outcomes = fix.execute(steps, apply, dry_run=args.dry_run, allow_safe=console.interactive(),
                           allow_confirm=bool(args.yes or args.unsafe), confirm=None if args.json else confirm,
                           remaining=remaining)
    # Re-check everything: a repair also changes what checks ordered `after` the fixed ones saw
    # (a live model list, a log verdict), so the final report must be a fresh one.
    after = before
    if fix.applied_any(outcomes):
        after = diagnose(paths, dataclasses.replace(options, deadline=max(1.0, remaining())), progress=False)
    result = fix.recheck(outcomes, before, after)
    emit(result, args)  # the same renderers as a plain run: the fixes are part of the result
    return result.exit_code
