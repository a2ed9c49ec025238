"""The markdown rendering of a RunResult: what the support report embeds, readable on GitHub.

A pure function of the result, like the terminal and JSON renderings, and built
from the same redacted copy (`render.redacted`); its output passes through
`redact_text` once more before it is returned. Failing and warning checks come
first with everything known about them; passing ones follow inside a
collapsible block, evidence included, so a helper sees the whole picture.
"""

from __future__ import annotations

import json
import re
from typing import Any

from claudex_doctor.base.redact import redact_text
from claudex_doctor.core.model import Finding, RunResult, Status
from claudex_doctor.render.redacted import redacted

LABELS = {Status.PASS: "✅ pass", Status.WARN: "⚠️ warn", Status.FAIL: "❌ fail", Status.SKIP: "⏭️ skip",
          Status.ERROR: "💥 error"}
ORDER = {Status.ERROR: 0, Status.FAIL: 1, Status.WARN: 2, Status.SKIP: 3, Status.PASS: 4}


def cell(text: Any) -> str:
    """Text safe inside a table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def fence(text: str, info: str = "") -> str:
    """A fenced code block that the text cannot close early, however many backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{marks}{info}\n{body}{marks}\n"


def _topic(reference: str) -> str:
    page = reference.split("#", 1)[0].rsplit("/", 1)[-1]
    return page.removesuffix(".md")


def _finding(f: Finding, level: int) -> list[str]:
    hashes = "#" * level
    out = [f"{hashes} {LABELS[f.status]} `{f.id}`: {f.title}", "", cell(f.summary), ""]
    if f.blocked_by:
        out += [f"Blocked by: {', '.join(f'`{b}`' for b in f.blocked_by)}", ""]
    if f.details:
        out += [f"- {' '.join(line.split())}" for line in f.details] + [""]
    if f.evidence:
        out += ["Evidence:", "", fence(json.dumps(dict(f.evidence), indent=2, ensure_ascii=False, default=str),
                                       "json")]
    if f.fix is not None:
        out += [f"Fix ({f.fix.safety.value}): `{f.fix.command}`: {cell(f.fix.description)}", ""]
    if f.reference:
        out += [f"Reference: `{f.reference}` (`claudex-doctor explain {_topic(f.reference)}`)", ""]
    out += [f"Took {f.duration_ms} ms.", ""]
    return out


def render(result: RunResult, level: int = 2) -> str:
    """Findings as markdown; `level` is the heading level of the section (2 = `##`)."""
    result = redacted(result)
    hashes = "#" * level
    tally = result.tally()
    counts = ", ".join(f"{n} {name}" for name, n in tally.items() if n)
    out = [f"{hashes} Findings", "",
           (f"Overall: **{result.status.value}** (exit code {result.exit_code}); {counts or 'no checks'}; "
            f"{result.duration_ms} ms; started {result.started_at}; home `{result.home}`."), "",
           "| status | check | summary |", "|---|---|---|"]
    ordered = sorted(result.findings, key=lambda f: ORDER[f.status])
    out += [f"| {LABELS[f.status]} | `{f.id}` | {cell(f.summary)} |" for f in ordered]
    out.append("")
    problems = [f for f in ordered if f.status is not Status.PASS]
    passing = [f for f in ordered if f.status is Status.PASS]
    for finding in problems:
        out += _finding(finding, level + 1)
    if passing:
        out += [(f"<details><summary>{len(passing)} passing check{'s' if len(passing) != 1 else ''}, "
                 "with evidence</summary>"), ""]
        for finding in passing:
            out += _finding(finding, level + 1)
        out += ["</details>", ""]
    if result.fixes is not None:
        out += [f"{hashes} Fixes", "", "| status | primitive | safety | message |", "|---|---|---|---|"]
        for fix in result.fixes:
            out.append(f"| {cell(fix.status.value)} | `{cell(fix.primitive)}` | "
                       f"{cell(fix.safety.value)} | {cell(fix.message or fix.description)} |")
        out.append("")
    return redact_text("\n".join(out).rstrip() + "\n")
