"""bin.*: where the programs are, whether they run, and their versions."""

from __future__ import annotations

import json
import os
from pathlib import Path

from claudex_doctor.base.paths import resolve
from claudex_doctor.checks import StackContext, binaries
from claudex_doctor.core.context import Options
from claudex_doctor.core.model import Status


def ctx_with_path(tmp_path: Path, bin_dir: Path) -> StackContext:
    env = {"HOME": str(tmp_path), "PATH": str(bin_dir)}
    return StackContext(resolve(env=env), Options(), env=env)


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


def _layout(tmp_path: Path, platform_pkg: bool = True) -> Path:
    import platform

    key = (platform.system().lower(), platform.machine().lower())
    if key not in binaries._CODEX_TRIPLES:
        import pytest
        pytest.skip(f"codex ships no native build for {key}")
    triple, suffix = binaries._CODEX_TRIPLES[key]
    bin_dir = npm_codex(tmp_path)
    if platform_pkg:
        native = tmp_path / "node_modules" / "@openai" / f"codex-{suffix}" / "vendor" / triple / "bin" / "codex"
        native.parent.mkdir(parents=True)
        native.write_text("#!/bin/sh\necho \"native $CODEX_MANAGED_BY_NPM $*\" >&2\n")
        native.chmod(0o755)
    return bin_dir


def test_the_native_codex_behind_the_npm_launcher_is_found(tmp_path):
    bin_dir = _layout(tmp_path)
    native, extra = binaries.codex_native(bin_dir / "codex")
    assert native.name == "codex" and "vendor" in native.parts
    assert extra["CODEX_MANAGED_BY_NPM"] == "1" and extra["CODEX_MANAGED_PACKAGE_ROOT"].endswith("@openai/codex")


def test_login_status_uses_the_native_codex_and_falls_back_to_the_launcher(tmp_path):
    from claudex_doctor.checks._credentials import login_status

    bin_dir = _layout(tmp_path)
    (tmp_path / ".codex").mkdir()
    ctx = ctx_with_path(tmp_path, bin_dir)
    state, line = login_status(ctx)
    assert line.startswith("native 1 login status")  # the native program ran, with the launcher's variable
    other = tmp_path / "other"
    other.mkdir()
    bin_dir = _layout(other, platform_pkg=False)
    (other / ".codex").mkdir()
    assert binaries.codex_native(bin_dir / "codex") is None
    state, line = login_status(ctx_with_path(other, bin_dir))
    assert "codex-cli 9.9.9" in line  # no native binary: the launcher itself ran
