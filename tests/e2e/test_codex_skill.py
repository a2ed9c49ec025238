"""The skill `skill install` writes for the Codex CLI is one the real Codex CLI (0.171.0) loads: it is in
the skills list of the prompt Codex would send (`codex debug prompt-input`, offline)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_codex_lists_the_installed_skill(codex_bin, tmp_path):
    home, codex_home = tmp_path / "home", tmp_path / "codex"
    home.mkdir()
    codex_home.mkdir()
    env = {"HOME": str(home), "CODEX_HOME": str(codex_home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LANG": "C.UTF-8", "GOPROXY": "off"}
    before = subprocess.run([str(codex_bin), "debug", "prompt-input"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert before.returncode == 0, before.stderr[-2000:]
    assert "claudex-gateway" not in before.stdout
    installed = subprocess.run([sys.executable, "-m", "claudex_doctor", "skill", "install", "--agent", "codex"],
                               env=env, capture_output=True, text=True, timeout=60)
    assert installed.returncode == 0, installed.stderr
    after = subprocess.run([str(codex_bin), "debug", "prompt-input"], env=env, capture_output=True, text=True,
                           timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert after.returncode == 0, after.stderr[-2000:]
    assert "- claudex-gateway: Diagnose and repair the local claudex stack" in after.stdout
    assert "claudex-gateway/SKILL.md" in after.stdout
