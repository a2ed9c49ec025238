"""The two renderings of one result: terminal (color or plain) and JSON (schema-valid)."""

from __future__ import annotations

import dataclasses
import json

import jsonschema

from claudex_doctor.core.model import (
    Finding,
    Fix,
    FixOutcome,
    FixStatus,
    RunResult,
    Safety,
    Status,
    exit_code,
    overall_status,
)
from claudex_doctor.core.schema import SCHEMA
from claudex_doctor.render import Format, terminal
from claudex_doctor.render import json as json_render


def canonical() -> RunResult:
    return RunResult(
        findings=(
            Finding("paths.home", "Runtime home", Status.PASS, "~/x (default)"),
            Finding("port.owner", "Gateway port", Status.FAIL, "127.0.0.1:8327 is held by nginx (pid 42)",
                    details=("It is not this home's proxy.",), evidence={"pid": 42},
                    reference="references/service.md#port-owned-by-another-process",
                    fix=Fix.manual("Stop nginx yourself", "kill 42")),
            Finding("proxy.health", "Proxy health", Status.SKIP, "not run", blocked_by=("port.owner",)),
            Finding("env.mapping", "Model mapping", Status.WARN, "gpt-5.4 is retired",
                    fix=Fix.safe("set-env", "map opus to gpt-5.6-terra")),
            Finding("logs.errors", "Proxy log", Status.ERROR, "the check itself crashed"),
        ),
        home="~/x", started_at="2026-11-24T00:00:00+00:00", duration_ms=12, tool_version="0.1.0",
    )


def test_json_validates_against_the_schema():
    data = json.loads(json_render.render(canonical()))
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == "error"
    assert data["checks"][1]["fix"]["safety"] == "manual"
    assert data["checks"][2]["blocked_by"] == ["port.owner"]


def test_terminal_plain_has_no_escape_codes_and_says_everything():
    text = terminal.render(canonical(), color=False)
    assert "\x1b[" not in text
    for needle in ["port.owner", "nginx (pid 42)", "fix: kill 42", "references/service.md#port-owned-by-another-process",
                   "1 passed", "1 failed", "1 crashed", "Proxy service"]:
        assert needle in text, needle


def test_terminal_color_uses_escape_codes():
    assert "\x1b[" in terminal.render(canonical(), color=True)


def test_ascii_symbols_when_unicode_is_unavailable():
    text = terminal.render(canonical(), color=False, unicode=False)
    text.encode("ascii")


def test_every_format_has_a_renderer():
    for fmt in Format:
        assert callable(fmt.renderer())


def test_status_and_exit_code_rules():
    warn = (Finding("a.a", "A", Status.WARN, "w"),)
    assert overall_status(warn) is Status.WARN and exit_code(overall_status(warn)) == 0
    assert overall_status(warn, strict=True) is Status.FAIL
    for status in Status:
        assert exit_code(overall_status((Finding("a.a", "A", status, "x"),))) in (0, 1, 2)
    assert [s.applies(Safety.CONFIRM) for s in Safety] == [False, True, True]


def test_each_heading_appears_once_even_when_its_checks_are_apart():
    result = RunResult(
        findings=(Finding("paths.home", "Runtime home", Status.PASS, "~/x"),
                  Finding("bin.claude", "Claude Code", Status.PASS, "2.1"),
                  Finding("home.layout", "Home layout", Status.PASS, "all there"),
                  Finding("bin.codex", "Codex CLI", Status.PASS, "0.169")),
        home="~/x", started_at="2026-11-24T00:00:00+00:00", duration_ms=1, tool_version="0.1.0")
    lines = terminal.render(result, color=False).splitlines()
    assert lines.count("Runtime home") == 1 and lines.count("Programs") == 1
    order = [next(i for i, line in enumerate(lines) if cid in line)
             for cid in ("paths.home", "home.layout", "bin.claude", "bin.codex")]
    assert order == sorted(order)


def test_after_a_dry_run_the_next_step_is_to_apply_the_plan():
    base = canonical()
    findings = tuple(f for f in base.findings if f.status is not Status.ERROR)
    step = FixOutcome("manual", Safety.MANUAL, FixStatus.MANUAL, ("port.owner",), "kill 42", "Stop nginx yourself",
                      "run it yourself: kill 42")
    planned = dataclasses.replace(step, primitive="set-env", safety=Safety.SAFE, status=FixStatus.PLANNED,
                                  checks=("env.mapping",), command="claudex-doctor set-env X=y",
                                  message="would set X", changes=("set X",))
    dry = RunResult(findings=findings, home=base.home, started_at=base.started_at, duration_ms=1,
                    tool_version="0.1.0", fixes=(step, planned))
    assert "Next: claudex-doctor --fix applies the plan above." in terminal.render(dry, color=False)
    done = RunResult(findings=findings, home=base.home, started_at=base.started_at, duration_ms=1,
                     tool_version="0.1.0", fixes=(step,))
    assert "Next: follow the fix lines above" in terminal.render(done, color=False)


def test_the_tally_says_how_long_the_run_took_in_a_readable_unit():
    base = canonical()
    quick = RunResult(findings=base.findings[:1], home="~/x", started_at=base.started_at, duration_ms=42,
                      tool_version="0.1.0")
    slow = RunResult(findings=base.findings[:1], home="~/x", started_at=base.started_at, duration_ms=5234,
                     tool_version="0.1.0")
    assert "1 passed in 42 ms" in terminal.render(quick, color=False)
    assert "1 passed in 5.2 s" in terminal.render(slow, color=False)
