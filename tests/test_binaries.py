"""bin.*: where the programs are, whether they run, and their versions."""

from __future__ import annotations

import json
import os
from pathlib import Path

from claudex_doctor.checks import binaries
from claudex_doctor.context import Context, Options
from claudex_doctor.model import Status
from claudex_doctor.paths import resolve


def ctx_with_path(tmp_path: Path, bin_dir: Path) -> Context:
    env = {"HOME": str(tmp_path), "PATH": str(bin_dir)}
    return Context(resolve(env=env), Options(), env=env)


def npm_codex(tmp_path: Path, version: str = "0.169.0", runs: bool = True) -> Path:
    package = tmp_path / "node_modules" / "@openai" / "codex"
    (package / "bin").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@openai/codex", "version": version}))
    script = package / "bin" / "codex.js"
    script.write_text("#!/bin/sh\n" + ("echo codex-cli 9.9.9\n" if runs else "exit 3\n"))
    script.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(script, bin_dir / "codex")
    return bin_dir


def test_codex_version_is_read_from_npm_metadata_without_running_it(tmp_path):
    bin_dir = npm_codex(tmp_path)
    outcome = binaries.bin_codex.run(ctx_with_path(tmp_path, bin_dir))
    assert outcome.status is Status.PASS and "0.169.0" in outcome.summary
    assert outcome.evidence["version_from"] == "package.json"


def test_codex_without_npm_metadata_is_run_for_its_version(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "codex"
    script.write_text("#!/bin/sh\necho codex-cli 1.2.3\n")
    script.chmod(0o755)
    outcome = binaries.bin_codex.run(ctx_with_path(tmp_path, bin_dir))
    assert outcome.status is Status.PASS and outcome.evidence["version"] == "1.2.3"
    script.write_text("#!/bin/sh\nexit 3\n")
    outcome = binaries.bin_codex.run(ctx_with_path(tmp_path, bin_dir))
    assert outcome.status is Status.FAIL and "exit 3" in outcome.summary


def test_npm_version_ignores_other_packages(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "package.json").write_text(json.dumps({"name": "something-else", "version": "1.0.0"}))
    (folder / "codex").write_text("")
    assert binaries.npm_version(folder / "codex", "@openai/codex") is None
    (folder / "package.json").write_text("{not json")
    assert binaries.npm_version(folder / "codex", "@openai/codex") is None
