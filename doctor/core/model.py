"""The findings model: one set of values that every renderer reads.

A check returns an `Outcome`; the runner turns it into a `Finding` (adding the
check's id, title, timing and `blocked_by`); a run is a `RunResult`. Terminal,
JSON and the support report are renderings of a `RunResult`, never separate
code paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from claudex_doctor.base.vocab import Vocabulary


class Status(Vocabulary):
    """What a check concluded. `error` means the check itself did not complete."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    @property
    def satisfies(self) -> bool:
        """May a dependent check run after this one?"""
        return self in (Status.PASS, Status.WARN)


class Safety(Vocabulary):
    """How much a fix may be trusted to run on its own (ordered, Ruff-style).

    safe    -- applied by `--fix`
    confirm -- applied by `--fix` only with `--yes` or an interactive yes
    manual  -- never applied; the command is printed for the user to run
    """

    MANUAL = "manual"
    CONFIRM = "confirm"
    SAFE = "safe"

    @property
    def rank(self) -> int:
        return {"manual": 0, "confirm": 1, "safe": 2}[self.value]

    def applies(self, threshold: Safety) -> bool:
        return self.rank >= threshold.rank


@dataclass(frozen=True)
class Fix:
    """A remedy: which primitive repairs the finding, and how far to trust it."""

    primitive: str
    safety: Safety
    command: str
    description: str
    args: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def safe(cls, primitive: str, description: str, command: str | None = None, **args: Any) -> Fix:
        return cls(primitive, Safety.SAFE, command or f"claudex-doctor {primitive}", description, args)

    @classmethod
    def confirm(cls, primitive: str, description: str, command: str | None = None, **args: Any) -> Fix:
        return cls(primitive, Safety.CONFIRM, command or f"claudex-doctor {primitive}", description, args)

    @classmethod
    def manual(cls, description: str, command: str) -> Fix:
        return cls("manual", Safety.MANUAL, command, description, {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "primitive": self.primitive,
            "safety": self.safety.value,
            "command": self.command,
            "description": self.description,
        }


@dataclass(frozen=True)
class Outcome:
    """What a check's `run` returns. Use the helpers `passed`, `warned`, `failed`, `skipped`."""

    status: Status
    summary: str
    details: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    reference: str | None = None
    fix: Fix | None = None
    blocked_by: tuple[str, ...] = ()


def _outcome(status: Status, summary: str, details: str | Iterable[str] = (),
             evidence: Mapping[str, Any] | None = None, reference: str | None = None, fix: Fix | None = None,
             blocked_by: Iterable[str] = ()) -> Outcome:
    lines = (details,) if isinstance(details, str) else tuple(details)
    return Outcome(status, summary, lines, dict(evidence or {}), reference, fix, tuple(blocked_by))


def passed(summary: str, details: str | Iterable[str] = (), evidence: Mapping[str, Any] | None = None,
           reference: str | None = None) -> Outcome:
    return _outcome(Status.PASS, summary, details, evidence, reference)


def warned(summary: str, details: str | Iterable[str] = (), evidence: Mapping[str, Any] | None = None,
           reference: str | None = None, fix: Fix | None = None) -> Outcome:
    return _outcome(Status.WARN, summary, details, evidence, reference, fix)


def failed(summary: str, details: str | Iterable[str] = (), evidence: Mapping[str, Any] | None = None,
           reference: str | None = None, fix: Fix | None = None) -> Outcome:
    return _outcome(Status.FAIL, summary, details, evidence, reference, fix)


def skipped(summary: str, details: str | Iterable[str] = (), evidence: Mapping[str, Any] | None = None,
            reference: str | None = None, blocked_by: Iterable[str] = ()) -> Outcome:
    return _outcome(Status.SKIP, summary, details, evidence, reference, None, blocked_by)


@dataclass(frozen=True)
class Finding:
    id: str
    title: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    blocked_by: tuple[str, ...] = ()
    duration_ms: int = 0
    reference: str | None = None
    fix: Fix | None = None

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "summary": self.summary,
            "details": list(self.details),
            "evidence": dict(self.evidence),
            "blocked_by": list(self.blocked_by),
            "duration_ms": self.duration_ms,
            "reference": self.reference,
            "fix": self.fix.to_dict() if self.fix else None,
        }


def overall_status(findings: Iterable[Finding], strict: bool = False) -> Status:
    statuses = {f.status for f in findings}
    if Status.ERROR in statuses:
        return Status.ERROR
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.WARN in statuses:
        return Status.FAIL if strict else Status.WARN
    return Status.PASS


def exit_code(status: Status) -> int:
    """0: nothing failing; 1: problems found; 2: the doctor could not do its job."""
    return {Status.PASS: 0, Status.WARN: 0, Status.SKIP: 0, Status.FAIL: 1, Status.ERROR: 2}[status]


class FixStatus(Vocabulary):
    """What became of one step of a fix plan."""

    PLANNED = "planned"    # --dry-run: what would be done
    APPLIED = "applied"
    FAILED = "failed"      # the primitive refused or failed; the other steps still ran
    WITHHELD = "withheld"  # needs a confirmation nobody gave
    MANUAL = "manual"      # only the user can do it; printed, never run


@dataclass(frozen=True)
class FixOutcome:
    """One step of `--fix`: which primitive, for which checks, what it did, and the checks before -> after."""

    primitive: str
    safety: Safety
    status: FixStatus
    checks: tuple[str, ...]
    command: str
    description: str
    message: str = ""
    changes: tuple[str, ...] = ()
    before: Mapping[str, str] = field(default_factory=dict)
    after: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "primitive": self.primitive,
            "safety": self.safety.value,
            "status": self.status.value,
            "checks": list(self.checks),
            "command": self.command,
            "description": self.description,
            "message": self.message,
            "changes": list(self.changes),
            "before": dict(self.before),
            "after": dict(self.after),
        }


@dataclass(frozen=True)
class RunResult:
    findings: tuple[Finding, ...]
    home: str
    started_at: str
    duration_ms: int
    tool_version: str
    strict: bool = False
    fixes: tuple[FixOutcome, ...] | None = None
    blocks: tuple[tuple[str, Any], ...] = ()  # top-level report blocks the checks added (`knowledge`)

    @property
    def status(self) -> Status:
        return overall_status(self.findings, self.strict)

    @property
    def exit_code(self) -> int:
        return exit_code(self.status)

    def by_id(self, check_id: str) -> Finding | None:
        for finding in self.findings:
            if finding.id == check_id:
                return finding
        return None

    def tally(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for finding in self.findings:
            counts[finding.status.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": "1",
            "tool": {"name": "claudex-doctor", "version": self.tool_version},
            "home": self.home,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "status": self.status.value,
            "summary": self.tally(),
            "checks": [f.to_dict() for f in self.findings],
        }
        if self.fixes is not None:
            data["fixes"] = [f.to_dict() for f in self.fixes]
        for key, value in self.blocks:
            data.setdefault(key, value)
        return data
