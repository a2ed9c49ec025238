"""Collecting several problems into one check outcome (shared by the config, env and settings checks).

A check may find more than one thing wrong. The outcome's summary is the worst
problem (fail before warn, then the order they were found), the others follow
in the details, the reference is the worst problem's, and the fix is the first
problem's fix merged with the compatible fixes of the others (same primitive and
safety, no conflicting assignments), so one `--fix` step repairs all it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claudex_doctor.core.model import Fix, Outcome, Status, failed, passed, warned

MERGEABLE = ("set-env", "set-config")


@dataclass
class Problem:
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    reference: str | None = None
    fix: Fix | None = None


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts worth showing even when all is well

    def fail(self, summary: str, details=(), reference: str | None = None, fix: Fix | None = None) -> None:
        self.items.append(Problem(Status.FAIL, summary, _tuple(details), reference, fix))

    def warn(self, summary: str, details=(), reference: str | None = None, fix: Fix | None = None) -> None:
        self.items.append(Problem(Status.WARN, summary, _tuple(details), reference, fix))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def __bool__(self) -> bool:
        return bool(self.items)

    def ordered(self) -> list[Problem]:
        return sorted(self.items, key=lambda p: 0 if p.status is Status.FAIL else 1)

    def outcome(self, ok_summary: str, evidence: dict[str, Any] | None = None) -> Outcome:
        if not self.items:
            return passed(ok_summary, self.notes, evidence)
        ordered = self.ordered()
        worst = ordered[0]
        summary = worst.summary
        if len(ordered) > 1:
            summary += f" (and {len(ordered) - 1} more)"
        details: list[str] = list(worst.details)
        for other in ordered[1:]:
            details.append(f"Also: {other.summary}.")
            details.extend(f"  {line}" for line in other.details)
        details.extend(self.notes)
        fix = merged_fix([p.fix for p in ordered])
        make = failed if worst.status is Status.FAIL else warned
        return make(summary, details, evidence, reference=worst.reference, fix=fix)


def _tuple(details) -> tuple[str, ...]:
    if isinstance(details, str):
        return (details,)
    return tuple(d for d in details if d)


def merged_fix(fixes: list[Fix | None]) -> Fix | None:
    """The first fix, with the assignments of later fixes of the same primitive and safety folded in."""
    present = [f for f in fixes if f is not None]
    if not present:
        return None
    first = present[0]
    if first.primitive not in MERGEABLE:
        return first
    assignments = dict(first.args.get("assignments") or {})
    descriptions = [first.description]
    for other in present[1:]:
        if other.primitive != first.primitive or other.safety is not first.safety:
            continue
        theirs = other.args.get("assignments") or {}
        if any(k in assignments and assignments[k] != v for k, v in theirs.items()):
            continue
        if all(k in assignments for k in theirs):
            continue
        assignments.update(theirs)
        descriptions.append(other.description)
    if len(descriptions) == 1:
        return first
    command = f"claudex-doctor {first.primitive} " + " ".join(_assignment(k, v) for k, v in assignments.items())
    return Fix(first.primitive, first.safety, command, "; ".join(descriptions), {"assignments": assignments})


def command_value(value: Any) -> str:
    """A value as it would be typed in a shell command (quoted when needed)."""
    import shlex

    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = ",".join(str(v) for v in value)
    else:
        text = str(value)
    return shlex.quote(text)


def _assignment(key: str, value: Any) -> str:
    """KEY=VALUE for a command line; the value is quoted when a long unbroken KEY=VALUE run could be
    mistaken for a secret by the redaction layer's shape rules (it is not one)."""
    text = command_value(value)
    if len(key) + len(text) + 1 >= 32 and text[:1] != "'":
        text = "'" + text + "'"
    return f"{key}={text}"


def set_env_fix(description: str, assignments: dict[str, str], confirm: bool = False) -> Fix:
    command = "claudex-doctor set-env " + " ".join(_assignment(k, v) for k, v in assignments.items())
    make = Fix.confirm if confirm else Fix.safe
    return make("set-env", description, command=command, assignments=dict(assignments))


def set_config_fix(description: str, assignments: dict[str, Any], confirm: bool = False) -> Fix:
    command = "claudex-doctor set-config " + " ".join(_assignment(k, v) for k, v in assignments.items())
    make = Fix.confirm if confirm else Fix.safe
    return make("set-config", description, command=command, assignments=dict(assignments))
