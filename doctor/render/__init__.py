"""Renderings of a RunResult. Each is a pure function `render(result, ...) -> str`.

All of them read the same redacted copy of the result (`redacted()`), so the
terminal, the JSON and the report can never disagree or leak differently.
"""

from __future__ import annotations

import dataclasses
import enum

from claudex_doctor.core.model import Finding, Fix, RunResult
from claudex_doctor.base.redact import redact, redact_text


class Format(str, enum.Enum):
    TERMINAL = "terminal"
    JSON = "json"
    MARKDOWN = "markdown"

    def renderer(self):
        if self is Format.TERMINAL:
            from claudex_doctor.render import terminal
            return terminal.render
        if self is Format.JSON:
            from claudex_doctor.render import json as json_renderer
            return json_renderer.render
        if self is Format.MARKDOWN:
            from claudex_doctor.render import markdown
            return markdown.render
        raise AssertionError(f"unhandled format {self}")


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
        fixes=None if result.fixes is None else tuple(redact(dict(f)) for f in result.fixes),
    )
