"""`--fix`: from findings to a plan, from a plan to applied primitives, then a re-check.

1. Plan: every failing or warning finding that carries a fix becomes a step. Steps
   for the same primitive merge (three findings, one restart; two env edits, one
   set-env with both assignments) and run in a fixed order that follows the
   stack: create, configure, credentials, then the service.
2. Gate by safety: on a terminal, `safe` steps run with --fix and `confirm` steps
   need --yes or an interactive yes; without a terminal nothing is applied unless
   --yes (which applies both); `manual` steps are only printed.
3. --dry-run asks each primitive for its exact changes and touches nothing.
4. After applying, the checks run again and each step shows its checks before -> after.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from claudex_doctor.core.model import Finding, Fix, RunResult, Safety, Status

# Primitive order: a later step may rely on an earlier one (sync before restart before probe).
ORDER = ("bootstrap", "set-config", "set-env", "sync-auth", "stop", "start", "restart")
MERGEABLE_ARGS = {"set-env": "assignments", "set-config": "assignments"}


@dataclass
class Step:
    primitive: str
    safety: Safety
    command: str
    descriptions: list[str]
    checks: list[str]
    args: dict[str, Any] = field(default_factory=dict)
    status: str = "planned"  # planned | applied | failed | withheld | manual
    message: str = ""
    changes: list[str] = field(default_factory=list)

    def to_dict(self, before: dict[str, str], after: dict[str, str]) -> dict[str, Any]:
        return {
            "primitive": self.primitive,
            "safety": self.safety.value,
            "status": self.status,
            "checks": list(self.checks),
            "command": self.command,
            "description": "; ".join(dict.fromkeys(self.descriptions)),
            "message": self.message,
            "changes": list(self.changes),
            "before": {cid: before[cid] for cid in self.checks if cid in before},
            "after": {cid: after[cid] for cid in self.checks if cid in after},
        }


def _rank(primitive: str) -> int:
    return ORDER.index(primitive) if primitive in ORDER else len(ORDER)


def _is_known(primitive: str) -> bool:
    from claudex_doctor.primitives import PRIMITIVES
    return primitive in PRIMITIVES


def plan(findings: tuple[Finding, ...]) -> list[Step]:
    """Merge the fixes of failing/warning findings into ordered steps."""
    steps: list[Step] = []
    for finding in findings:
        fix: Fix | None = finding.fix
        if finding.status not in (Status.FAIL, Status.WARN) or fix is None:
            continue
        primitive = fix.primitive if _is_known(fix.primitive) else "manual"
        safety = fix.safety if primitive != "manual" else Safety.MANUAL
        step = _merge_target(steps, primitive, fix)
        if step is None:
            steps.append(Step(primitive, safety, fix.command, [fix.description], [finding.id], dict(fix.args)))
            continue
        step.checks.append(finding.id)
        step.descriptions.append(fix.description)
        if safety.rank < step.safety.rank:  # the merged step is only as trusted as its least safe part
            step.safety = safety
        key = MERGEABLE_ARGS.get(primitive)
        if key:
            merged = dict(step.args.get(key) or {})
            merged.update(fix.args.get(key) or {})
            step.args[key] = merged
            step.command = f"claudex-doctor {primitive} " + " ".join(f"{k}=…" for k in merged)
    # start + restart: one restart does both.
    if any(s.primitive == "restart" for s in steps):
        for s in [s for s in steps if s.primitive == "start"]:
            restart = next(r for r in steps if r.primitive == "restart")
            restart.checks.extend(s.checks)
            restart.descriptions.extend(s.descriptions)
            steps.remove(s)
    steps.sort(key=lambda s: (s.primitive == "manual", _rank(s.primitive)))
    return steps


def _merge_target(steps: list[Step], primitive: str, fix: Fix) -> Step | None:
    for step in steps:
        if step.primitive != primitive:
            continue
        if primitive == "manual":
            if step.command == fix.command:
                return step
            continue
        key = MERGEABLE_ARGS.get(primitive)
        if key:
            ours, theirs = step.args.get(key) or {}, fix.args.get(key) or {}
            if all(ours[k] == theirs[k] for k in ours.keys() & theirs.keys()):
                return step
            continue
        if primitive == "bootstrap" and bool(step.args.get("force")) == bool(fix.args.get("force")):
            # One bootstrap writes every part either asked for (no `only` = all parts).
            ours, theirs = step.args.get("only"), fix.args.get("only")
            merged = None if ours is None or theirs is None else tuple(dict.fromkeys((*ours, *theirs)))
            step.args = {k: v for k, v in {**step.args, **fix.args}.items() if k != "only"}
            if merged is not None:
                step.args["only"] = merged
            if merged is None and step.command != fix.command:
                step.command = "claudex-doctor bootstrap" + (" --force" if step.args.get("force") else "")
            return step
        if step.args == dict(fix.args):
            return step
    return None


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _confirm(step: Step) -> bool:
    if not _isatty(sys.stdin):
        return False
    sys.stderr.write(f"Apply '{step.command}'? {'; '.join(dict.fromkeys(step.descriptions))} [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline().strip().lower()
    except (EOFError, KeyboardInterrupt):
        return False
    return answer in ("y", "yes")


def execute(steps: list[Step], paths, *, dry_run: bool, allow_confirm: bool,
            ask: Callable[[Step], bool] | None = _confirm, allow_safe: bool = True) -> None:
    """Apply (or dry-run) each step in order; a failure never stops the steps that do not depend on it.

    allow_safe=False (no terminal and no --yes) withholds every step: nobody is there to see it happen."""
    from claudex_doctor.primitives import PrimitiveError, apply

    index = 0
    while index < len(steps):
        step = steps[index]
        index += 1
        if step.primitive == "manual":
            step.status, step.message = "manual", f"run it yourself: {step.command}"
            continue
        if dry_run:
            try:
                result = apply(step.primitive, paths, dry_run=True, **step.args)
                step.changes = list(result.changes)
                step.message = result.message
                _follow_up(steps, index, step, result)
            except PrimitiveError as exc:
                step.message = f"would refuse: {exc}"
            except Exception as exc:  # a primitive's bug must not sink the whole plan
                step.message = f"could not plan: {type(exc).__name__}: {exc}"
            step.status = "planned"
            continue
        if not allow_safe and not allow_confirm:
            step.status = "withheld"
            step.message = "not applied: no terminal to confirm on; run again with --fix --yes"
            continue
        if step.safety is Safety.CONFIRM and not allow_confirm:
            if ask is None or not ask(step):
                step.status = "withheld"
                step.message = "needs confirmation: run again with --fix --yes"
                continue
        try:
            result = apply(step.primitive, paths, dry_run=False, **step.args)
        except PrimitiveError as exc:
            step.status, step.message = "failed", str(exc)
            continue
        except Exception as exc:
            step.status, step.message = "failed", f"{type(exc).__name__}: {exc}"
            continue
        step.status = "applied" if result.ok else "failed"
        step.message = result.message
        step.changes = list(result.changes)
        if result.ok:
            _follow_up(steps, index, step, result)


def _follow_up(steps: list[Step], index: int, step: Step, result) -> None:
    """A change the running proxy only reads at start (config.yaml) gets one safe restart after it."""
    if not result.details.get("restart_needed") or step.primitive in ("start", "restart"):
        return
    if any(later.primitive in ("start", "restart") for later in steps[index:]):
        return
    steps.insert(index, Step("restart", Safety.SAFE, "claudex-doctor restart",
                             ["restart the proxy so it reads the changed config"], list(step.checks)))


def run_fix(args, paths, options) -> int:
    """The --fix command: diagnose, plan, apply (or dry-run), re-check, render."""
    from claudex_doctor.core.diagnose import diagnose
    from claudex_doctor.cli import DoctorError
    from claudex_doctor.core.graph import GraphError

    try:
        before, _ = diagnose(paths, options)
    except GraphError as exc:
        raise DoctorError(str(exc)) from None
    steps = plan(before.findings)
    allow_confirm = bool(args.yes or args.unsafe)
    # The contract: without a terminal, --fix applies nothing unless --yes says so.
    interactive = _isatty(sys.stdin)
    execute(steps, paths, dry_run=args.dry_run, allow_confirm=allow_confirm,
            ask=None if args.json else _confirm, allow_safe=interactive)

    after = before
    if any(s.status == "applied" for s in steps):
        # Re-check everything: a repair also changes what checks ordered `after` the fixed ones
        # saw (a live model list, a log verdict), so the final report must be a fresh one.
        after, _ = diagnose(paths, options)
    before_status = {f.id: f.status.value for f in before.findings}
    after_status = {f.id: f.status.value for f in after.findings}
    fixes = tuple(s.to_dict(before_status, after_status) for s in steps)
    result = RunResult(after.findings, after.home, after.started_at, after.duration_ms, after.tool_version,
                       after.strict, fixes=fixes)
    from claudex_doctor.commands.doctor import emit

    emit(result, args)  # the same renderers as a plain run: the fixes are part of the result
    return result.exit_code
