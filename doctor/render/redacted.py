"""The one redacted copy of a result that every renderer reads, so the terminal, the JSON and the
report can never disagree or leak differently."""

from __future__ import annotations

import dataclasses

from claudex_doctor.base.redact import redact, redact_text
from claudex_doctor.core.model import Finding, Fix, FixOutcome, RunResult


def _redact_fix(fix: Fix | None) -> Fix | None:
    if fix is None:
        return None
    return dataclasses.replace(fix, command=redact_text(fix.command), description=redact_text(fix.description), args={})


def redact_finding(finding: Finding) -> Finding:
    return dataclasses.replace(
        finding,
        summary=redact_text(finding.summary),
        details=tuple(redact_text(d) for d in finding.details),
        evidence=redact(dict(finding.evidence)),
        fix=_redact_fix(finding.fix),
    )


def redacted(result: RunResult) -> RunResult:
    return dataclasses.replace(
        result,
        findings=tuple(redact_finding(f) for f in result.findings),
        fixes=None if result.fixes is None else tuple(redact_outcome(f) for f in result.fixes),
    )


def redact_outcome(outcome: FixOutcome) -> FixOutcome:
    return dataclasses.replace(
        outcome,
        command=redact_text(outcome.command),
        description=redact_text(outcome.description),
        message=redact_text(outcome.message),
        changes=tuple(redact_text(c) for c in outcome.changes),
    )
