"""`--fix`: from findings to a plan, from a plan to outcomes. Values in, values out.

1. `plan`: every failing or warning finding that carries a fix becomes a step. Steps for the same
   primitive merge (three findings, one restart; two env edits, one set-env with both assignments) and
   run in a fixed order that follows the stack: create, configure, credentials, then the service.
2. `execute`: each step is gated by its safety (`Safety.applies` against the threshold the caller
   grants: SAFE, or CONFIRM with --yes or a per-step yes from `confirm`); `manual` steps are only
   reported. --dry-run asks each primitive for its exact changes and touches nothing. A failing step
   never stops the steps that do not depend on it.
3. `recheck`: the caller diagnoses again and each outcome gets its checks before -> after.

The engine knows no primitive, no terminal and no argparse: the caller passes `apply(name, dry_run=...,
**args)`, the names it knows, and how to ask for a confirmation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.core.model import Finding, FixOutcome, FixStatus, RunResult, Safety, Status
from claudex_doctor.errors import PrimitiveError

# Primitive order: a later step may rely on an earlier one (sync before restart before probe).
ORDER = ("bootstrap", "set-config", "set-env", "sync-auth", "stop", "start", "restart")
MERGEABLE_ARGS = {"set-env": "assignments", "set-config": "assignments"}

Apply = Callable[..., PrimitiveResult]


@dataclass(frozen=True)
class Step:
    """One primitive to run, for these checks, with these arguments."""

    primitive: str
    safety: Safety
    command: str
    descriptions: tuple[str, ...]
    checks: tuple[str, ...]
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return "; ".join(dict.fromkeys(self.descriptions))

    def outcome(self, status: FixStatus, message: str = "", changes: Collection[str] = ()) -> FixOutcome:
        return FixOutcome(self.primitive, self.safety, status, self.checks, self.command, self.description,
                          message, tuple(changes))


def _rank(primitive: str) -> int:
    return ORDER.index(primitive) if primitive in ORDER else len(ORDER)


def plan(findings: tuple[Finding, ...], known: Collection[str]) -> tuple[Step, ...]:
    """Merge the fixes of failing/warning findings into ordered steps; a primitive not in `known`
    is a manual step."""
    steps: list[Step] = []
    for finding in findings:
        fix = finding.fix
        if finding.status not in (Status.FAIL, Status.WARN) or fix is None:
            continue
        primitive = fix.primitive if fix.primitive in known else "manual"
        safety = fix.safety if primitive != "manual" else Safety.MANUAL
        at = _merge_target(steps, primitive, fix.command, dict(fix.args))
        if at is None:
            steps.append(Step(primitive, safety, fix.command, (fix.description,), (finding.id,), dict(fix.args)))
            continue
        steps[at] = _merged(steps[at], finding.id, fix.description, safety, fix.command, dict(fix.args))
    # start + restart: one restart does both.
    if any(s.primitive == "restart" for s in steps):
        for start in [s for s in steps if s.primitive == "start"]:
            at = next(i for i, s in enumerate(steps) if s.primitive == "restart")
            steps[at] = dataclasses.replace(steps[at], checks=steps[at].checks + start.checks,
                                            descriptions=steps[at].descriptions + start.descriptions)
            steps.remove(start)
    steps.sort(key=lambda s: (s.primitive == "manual", _rank(s.primitive)))
    return tuple(steps)


def _merge_target(steps: list[Step], primitive: str, command: str, args: dict[str, Any]) -> int | None:
    for index, step in enumerate(steps):
        if step.primitive != primitive:
            continue
        if primitive == "manual":
            if step.command == command:
                return index
            continue
        key = MERGEABLE_ARGS.get(primitive)
        if key:
            ours, theirs = step.args.get(key) or {}, args.get(key) or {}
            if all(ours[k] == theirs[k] for k in ours.keys() & theirs.keys()):
                return index
            continue
        if primitive == "bootstrap" and bool(step.args.get("force")) == bool(args.get("force")):
            return index
        if dict(step.args) == args:
            return index
    return None


def _merged(step: Step, check: str, description: str, safety: Safety, command: str, args: dict[str, Any]) -> Step:
    # The merged step is only as trusted as its least safe part.
    merged_safety = safety if safety.rank < step.safety.rank else step.safety
    new_args, new_command = dict(step.args), step.command
    key = MERGEABLE_ARGS.get(step.primitive)
    if key:
        assignments = dict(step.args.get(key) or {})
        assignments.update(args.get(key) or {})
        new_args[key] = assignments
        new_command = f"claudex-doctor {step.primitive} " + " ".join(f"{k}=…" for k in assignments)
    elif step.primitive == "bootstrap":
        # One bootstrap writes every part either asked for (no `only` = all parts).
        ours, theirs = step.args.get("only"), args.get("only")
        only = None if ours is None or theirs is None else tuple(dict.fromkeys((*ours, *theirs)))
        new_args = {k: v for k, v in {**step.args, **args}.items() if k != "only"}
        if only is not None:
            new_args["only"] = only
        elif step.command != command:
            new_command = "claudex-doctor bootstrap" + (" --force" if new_args.get("force") else "")
    return dataclasses.replace(step, safety=merged_safety, command=new_command, args=new_args,
                               checks=step.checks + (check,), descriptions=step.descriptions + (description,))


def execute(steps: tuple[Step, ...], apply: Apply, *, dry_run: bool, allow_safe: bool = True,
            allow_confirm: bool = False, confirm: Callable[[Step], bool] | None = None,
            remaining: Callable[[], float] | None = None) -> tuple[FixOutcome, ...]:
    """Apply (or dry-run) each step in order and say what became of it.

    allow_safe=False (no terminal and no --yes) withholds every step: nobody is there to see it happen.
    allow_confirm (--yes) lets confirm-class steps run; otherwise `confirm(step)` may grant each one.
    `remaining()` is the run's time left: a step that finds none left is not started (the caller passes
    what is left to each primitive that waits)."""
    threshold = Safety.CONFIRM if allow_confirm else Safety.SAFE
    queue = list(steps)
    done: list[FixOutcome] = []
    while queue:
        step = queue.pop(0)
        if not dry_run and step.primitive != "manual" and remaining is not None and remaining() <= 0:
            done.append(step.outcome(FixStatus.WITHHELD, f"not started: the run's deadline ran out first; run it "
                                                         f"yourself: {step.command}"))
            continue
        if step.primitive == "manual":
            done.append(step.outcome(FixStatus.MANUAL, f"run it yourself: {step.command}"))
            continue
        if dry_run:
            try:
                result = apply(step.primitive, dry_run=True, **step.args)
                done.append(step.outcome(FixStatus.PLANNED, result.message, result.changes))
                queue[:0] = _follow_up(step, result, queue)
            except PrimitiveError as exc:
                done.append(step.outcome(FixStatus.PLANNED, f"would refuse: {exc}"))
            except Exception as exc:  # a primitive's bug must not sink the whole plan
                done.append(step.outcome(FixStatus.PLANNED, f"could not plan: {type(exc).__name__}: {exc}"))
            continue
        if not allow_safe and not allow_confirm:
            done.append(step.outcome(FixStatus.WITHHELD,
                                     "not applied: no terminal to confirm on; run again with --fix --yes"))
            continue
        if not step.safety.applies(threshold) and not (confirm is not None and confirm(step)):
            done.append(step.outcome(FixStatus.WITHHELD, "needs confirmation: run again with --fix --yes"))
            continue
        try:
            result = apply(step.primitive, dry_run=False, **step.args)
        except PrimitiveError as exc:
            done.append(step.outcome(FixStatus.FAILED, str(exc)))
            continue
        except Exception as exc:
            done.append(step.outcome(FixStatus.FAILED, f"{type(exc).__name__}: {exc}"))
            continue
        done.append(step.outcome(FixStatus.APPLIED if result.ok else FixStatus.FAILED, result.message, result.changes))
        if result.ok:
            queue[:0] = _follow_up(step, result, queue)
    return tuple(done)


def _follow_up(step: Step, result: PrimitiveResult, later: list[Step]) -> list[Step]:
    """A change the running proxy only reads at start (config.yaml) gets one safe restart after it."""
    if not result.details.get("restart_needed") or step.primitive in ("start", "restart"):
        return []
    if any(s.primitive in ("start", "restart") for s in later):
        return []
    return [Step("restart", Safety.SAFE, "claudex-doctor restart",
                 ("restart the proxy so it reads the changed config",), step.checks)]


def recheck(outcomes: tuple[FixOutcome, ...], before: RunResult, after: RunResult) -> RunResult:
    """The run after the fixes, carrying each fix with its checks before -> after."""
    was = {f.id: f.status.value for f in before.findings}
    now = {f.id: f.status.value for f in after.findings}
    fixes = tuple(dataclasses.replace(o, before={c: was[c] for c in o.checks if c in was},
                                      after={c: now[c] for c in o.checks if c in now}) for o in outcomes)
    return dataclasses.replace(after, fixes=fixes)


def applied_any(outcomes: tuple[FixOutcome, ...]) -> bool:
    return any(o.status is FixStatus.APPLIED for o in outcomes)
