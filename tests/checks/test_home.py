"""home.layout: each catch breaks exactly one piece of an otherwise complete home."""

from __future__ import annotations

import os
import shutil

import pytest

from claudex_doctor.core.model import Safety, Status
from claudex_doctor.help import refs
from tests.authkit import Stack


@pytest.fixture
def stack(tmp_path) -> Stack:
    return Stack(tmp_path).make_full_home()


def layout(stack: Stack):
    before = stack.snapshot()
    finding = stack.run("home.layout")["home.layout"]
    assert stack.snapshot() == before  # diagnosing changes nothing
    if finding.reference:
        assert refs.library().problem(finding.reference) is None
    return finding


def test_complete_home_passes(stack):
    finding = layout(stack)
    assert finding.status is Status.PASS, finding
    assert finding.evidence["auth/"] == "0700" and finding.evidence["claude-code-gpt54.env"] == "0600"


@pytest.mark.parametrize("piece", ["config.yaml", "run.sh", "claude-code-gpt54.env", "auth"])
def test_a_missing_piece_fails_with_bootstrap(stack, piece):
    target = stack.home / piece
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    finding = layout(stack)
    assert finding.status is Status.FAIL and "missing" in finding.summary
    assert piece.rstrip("/") in finding.summary
    assert finding.reference.endswith("#home-layout-incomplete")
    assert finding.fix.primitive == "bootstrap" and finding.fix.safety is Safety.CONFIRM


def test_all_missing_are_listed_together(tmp_path):
    stack = Stack(tmp_path).make_home(auth_dir=False)
    finding = layout(stack)
    assert finding.status is Status.FAIL
    for piece in ("config.yaml", "run.sh", "claude-code-gpt54.env", "auth/"):
        assert piece in finding.summary


def test_launcher_not_executable_fails(stack):
    os.chmod(stack.home / "run.sh", 0o644)
    finding = layout(stack)
    assert finding.status is Status.FAIL and "not executable" in finding.summary
    assert finding.reference.endswith("#launcher-not-executable")
    assert finding.fix.safety is Safety.MANUAL and finding.fix.command.startswith("chmod 755 ")


def test_env_file_readable_by_others_warns(stack):
    os.chmod(stack.home / "claude-code-gpt54.env", 0o644)
    finding = layout(stack)
    assert finding.status is Status.WARN and "claude-code-gpt54.env is 0644" in finding.summary
    assert finding.reference.endswith("#home-permissions-too-open")
    assert finding.fix.command.startswith("chmod 600 ")


def test_auth_dir_open_to_group_warns(stack):
    os.chmod(stack.auth_dir, 0o750)
    finding = layout(stack)
    assert finding.status is Status.WARN and "auth/ is 0750" in finding.summary
    assert "chmod 700" in finding.fix.command


def test_wrong_kind_of_entry_fails_manually(stack):
    (stack.home / "config.yaml").unlink()
    (stack.home / "config.yaml").mkdir()
    finding = layout(stack)
    assert finding.status is Status.FAIL and "not a regular file" in finding.summary
    assert finding.fix.safety is Safety.MANUAL


def test_auth_as_a_file_fails(stack):
    shutil.rmtree(stack.auth_dir)
    stack.auth_dir.write_text("oops")
    finding = layout(stack)
    assert finding.status is Status.FAIL and "not a directory" in finding.summary


def test_no_home_skips_layout(tmp_path):
    finding = Stack(tmp_path).run("home.layout")["home.layout"]
    assert finding.status is Status.SKIP and finding.blocked_by == ("paths.home",)


def test_runtime_home_reference_exists():
    from claudex_doctor.checks import home

    assert refs.library().problem(home.paths_home.reference) is None
    page = refs.library().page("home")
    assert {"runtime-home-missing", "home-layout-incomplete", "how-the-home-is-chosen"} <= page.anchors
