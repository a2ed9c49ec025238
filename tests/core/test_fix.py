"""The fix planner: merging, ordering, safety gates, dry-run, and the re-check."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from claudex_doctor import primitives
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.core import fix as fixmod
from claudex_doctor.core.model import Finding, Fix, Status
from claudex_doctor.errors import PrimitiveError

CALLS: list[tuple[str, bool, dict]] = []


def recorder(name):
    def apply(paths, *, dry_run=False, **args):
        CALLS.append((name, dry_run, args))
        if args.get("explode"):
            raise PrimitiveError("refused: it is not ours")
        return PrimitiveResult(True, f"{name} done", changes=[f"{name} change"])
    return apply


@pytest.fixture(autouse=True)
def fake_primitives(monkeypatch):
    CALLS.clear()
    table = {}
    for name in ("bootstrap", "set-config", "set-env", "sync-auth", "start", "restart", "stop"):
        monkeypatch.setattr(f"{__name__}.{name.replace('-', '_')}_impl", recorder(name), raising=False)
        table[name] = f"{__name__}:{name.replace('-', '_')}_impl"
    monkeypatch.setattr(primitives, "PRIMITIVES", table)


def finding(cid, status=Status.FAIL, fix=None):
    return Finding(cid, cid, status, "x", fix=fix)


def known():
    return primitives.PRIMITIVES


NO_HOME = SimpleNamespace(home=Path("/nonexistent/claudex-home"))  # the fake primitives need no home


def apply(name, **kwargs):
    """What the doctor command passes to execute: a primitive by name, for this home (none here)."""
    return primitives.apply(name, NO_HOME, **kwargs)


def execute(steps, **options):
    """execute() with the doctor command's defaults; the ask/confirm callback under its new name."""
    confirm = options.pop("ask", None)
    return fixmod.execute(steps, apply, confirm=confirm, **options)


def test_duplicates_merge_and_order_follows_the_stack():
    findings = (
        finding("probe.messages", fix=Fix.safe("restart", "restart the proxy")),
        finding("port.owner", fix=Fix.safe("start", "start the proxy")),
        finding("proxy.health", fix=Fix.safe("restart", "restart the proxy")),
        finding("auth.sync", fix=Fix.safe("sync-auth", "take the newer tokens")),
        finding("env.mapping", Status.WARN, Fix.safe("set-env", "opus", assignments={"A": "1"})),
        finding("env.context_window", Status.WARN, Fix.safe("set-env", "window", assignments={"B": "2"})),
        finding("bin.claude", fix=Fix.manual("install claude", "npm i -g @anthropic-ai/claude-code")),
        finding("paths.home", Status.PASS, Fix.confirm("bootstrap", "never planned: it passed")),
    )
    steps = fixmod.plan(findings, known())
    assert [s.primitive for s in steps] == ["set-env", "sync-auth", "restart", "manual"]
    restart = steps[2]
    assert sorted(restart.checks) == ["port.owner", "probe.messages", "proxy.health"]
    assert steps[0].args == {"assignments": {"A": "1", "B": "2"}}


def test_conflicting_edits_do_not_merge_and_safety_is_the_weakest():
    steps = fixmod.plan(known=known(), findings=(
        finding("a.a", fix=Fix.safe("set-env", "x", assignments={"K": "1"})),
        finding("b.b", fix=Fix.safe("set-env", "y", assignments={"K": "2"})),
        finding("c.c", fix=Fix.safe("sync-auth", "s")),
        finding("d.d", fix=Fix.confirm("sync-auth", "s")),
    ))
    assert [s.primitive for s in steps] == ["set-env", "set-env", "sync-auth"]
    assert steps[2].safety.value == "confirm"


def test_safe_applies_confirm_is_withheld_without_yes_and_manual_is_printed(tmp_path):
    steps = fixmod.plan(known=known(), findings=(
        finding("a.a", fix=Fix.safe("start", "start")),
        finding("b.b", fix=Fix.confirm("sync-auth", "reverse")),
        finding("c.c", fix=Fix.manual("log in", "codex login")),
    ))
    done = execute(steps, dry_run=False, allow_confirm=False, ask=None)
    assert [(s.primitive, s.status) for s in done] == [
        ("sync-auth", "withheld"), ("start", "applied"), ("manual", "manual")]
    assert [c[0] for c in CALLS] == ["start"]
    assert "--yes" in done[0].message


def test_yes_applies_confirm_and_an_interactive_no_withholds():
    steps = fixmod.plan(known=known(), findings=(finding("b.b", fix=Fix.confirm("sync-auth", "reverse")),))
    done = execute(steps, dry_run=False, allow_confirm=False, ask=lambda step: False)
    assert done[0].status == "withheld"
    done = execute(steps, dry_run=False, allow_confirm=True, ask=None)
    assert done[0].status == "applied"


def test_dry_run_calls_primitives_in_dry_run_mode_only():
    steps = fixmod.plan(known=known(), findings=(finding("a.a", fix=Fix.safe("set-env", "x", assignments={"K": "1"})),
                         finding("b.b", fix=Fix.confirm("bootstrap", "create"))))
    done = execute(steps, dry_run=True, allow_confirm=False, ask=None)
    assert all(dry for _, dry, _ in CALLS) and len(CALLS) == 2
    assert [s.primitive for s in done] == ["bootstrap", "set-env"]
    assert done[0].changes == ("bootstrap change",) and done[1].changes == ("set-env change",)
    from claudex_doctor.core.model import RunResult
    from claudex_doctor.render import terminal

    fixes = done
    text = terminal.render(RunResult((), "~/x", "2026-11-24T00:00:00+00:00", 1, "0.1.0", fixes=fixes))
    assert "nothing was changed" in text and "set-env change" in text and "[would]" in text


def test_a_refusing_primitive_fails_its_step_and_the_rest_go_on():
    steps = fixmod.plan(known=known(), findings=(finding("a.a", fix=Fix.safe("stop", "stop", explode=True)),
                         finding("b.b", fix=Fix.safe("start", "start"))))
    done = execute(steps, dry_run=False, allow_confirm=False, ask=None)
    assert [s.status for s in done] == ["failed", "applied"]
    assert "not ours" in done[0].message


def test_unknown_primitive_is_treated_as_manual():
    steps = fixmod.plan(known=known(), findings=(finding("a.a", fix=Fix("teleport", fixmod.Safety.SAFE, "teleport now", "magic")),))
    assert steps[0].primitive == "manual" and steps[0].safety.value == "manual"


def test_a_config_change_that_needs_a_restart_gets_one(monkeypatch):
    def set_config(paths, *, dry_run=False, **args):
        CALLS.append(("set-config", dry_run, args))
        return PrimitiveResult(True, "updated", ["host 0.0.0.0 -> 127.0.0.1"], details={"restart_needed": True})

    monkeypatch.setattr(f"{__name__}.set_config_impl", set_config, raising=False)
    steps = fixmod.plan(known=known(), findings=(finding("config.exposure", fix=Fix.safe("set-config", "bind", assignments={"host": "x"})),))
    done = execute(steps, dry_run=False, allow_confirm=False, ask=None)
    assert [(s.primitive, s.status) for s in done] == [("set-config", "applied"), ("restart", "applied")]
    # Not twice: a plan that already restarts later keeps its own restart.
    CALLS.clear()
    steps = fixmod.plan(known=known(), findings=(finding("config.exposure", fix=Fix.safe("set-config", "bind", assignments={"host": "x"})),
                         finding("port.owner", fix=Fix.safe("restart", "restart"))))
    done = execute(steps, dry_run=True, allow_confirm=False, ask=None)
    assert [s.primitive for s in done] == ["set-config", "restart"]


def test_bootstrap_steps_merge_their_parts():
    steps = fixmod.plan(known=known(), findings=(
        finding("paths.home", fix=Fix.confirm("bootstrap", "create the home")),
        finding("wrapper.installed", fix=Fix.confirm("bootstrap", "wrapper", command="claudex-doctor bootstrap --only wrapper",
                                                     only=("wrapper",))),
        finding("bin.proxy", fix=Fix.confirm("bootstrap", "binary", only=("binary",))),
    ))
    assert len(steps) == 1 and "only" not in steps[0].args and steps[0].command == "claudex-doctor bootstrap"
    steps = fixmod.plan(known=known(), findings=(
        finding("a.a", fix=Fix.confirm("bootstrap", "w", only=("wrapper",))),
        finding("b.b", fix=Fix.confirm("bootstrap", "b", only=("binary",))),
        finding("c.c", fix=Fix.confirm("bootstrap", "forced", only=("wrapper",), force=True)),
    ))
    assert [s.args.get("only") for s in steps] == [("wrapper", "binary"), ("wrapper",)]
    assert [bool(s.args.get("force")) for s in steps] == [False, True]


def test_without_a_terminal_nothing_is_applied_unless_yes():
    steps = fixmod.plan(known=known(), findings=(finding("a.a", fix=Fix.safe("start", "start")),
                         finding("b.b", fix=Fix.confirm("sync-auth", "reverse")),
                         finding("c.c", fix=Fix.manual("log in", "codex login"))))
    done = execute(steps, dry_run=False, allow_confirm=False, ask=None, allow_safe=False)
    assert [s.status for s in done] == ["withheld", "withheld", "manual"] and not CALLS
    assert "--yes" in done[0].message
    done = execute(steps, dry_run=False, allow_confirm=True, ask=None, allow_safe=False)
    assert [s.status for s in done] == ["applied", "applied", "manual"]


def test_cli_fix_without_a_terminal_changes_nothing_without_yes(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, HOME=str(tmp_path), NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "claudex_doctor", "--fix", "--offline", "--only", "paths.home"],
                          env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 1
    assert "no terminal to confirm on" in proc.stdout
    assert not (tmp_path / ".local" / "share" / "claudex-gateway").exists()
