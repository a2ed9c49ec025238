"""`claudex-doctor statusline install`: the statusLine goes into Claude Code's settings.json atomically,
with a backup, every other byte kept; an existing statusLine is kept unless --force; nothing that is not
a JSON object is ever overwritten."""

from __future__ import annotations

import json
import os
import stat

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.primitives import apply
from tests.conftest import run_cli

EXISTING = """{
    "env": {"DISABLE_TELEMETRY": "1"},
    "permissions": {
        "allow": ["Bash(git status)"]
    },
    "theme": "dark-daltonized",
    "note": "café ☕"
}
"""


@pytest.fixture
def settings(tmp_path, monkeypatch):
    config_dir = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(tmp_path / "gateway"))
    return config_dir / "settings.json"


def entry(path):
    return json.loads(path.read_text())["statusLine"]


def backups(path):
    return sorted(p.name for p in path.parent.glob("settings.json.bak-*"))


def test_a_new_settings_file(settings):
    result = apply("statusline-install", resolve(), command="/opt/claudex-doctor statusline")
    assert result.ok and result.backups == []
    assert json.loads(settings.read_text()) == {"statusLine": {"type": "command", "command": "/opt/claudex-doctor statusline",
                                                               "padding": 0}}
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600


def test_every_other_byte_is_kept_and_a_backup_made(settings):
    settings.parent.mkdir()
    settings.write_text(EXISTING, encoding="utf-8")
    os.chmod(settings, 0o644)
    result = apply("statusline-install", resolve(), command="/opt/claudex-doctor statusline")
    text = settings.read_text(encoding="utf-8")
    head = EXISTING.rstrip()[:-1].rstrip()
    assert text.startswith(head) and text.endswith("}\n")
    assert json.loads(text) == {**json.loads(EXISTING), "statusLine": {"type": "command", "padding": 0,
                                                                       "command": "/opt/claudex-doctor statusline"}}
    assert '\n    "statusLine": {\n        "type": "command"' in text  # the file's own indentation
    assert stat.S_IMODE(settings.stat().st_mode) == 0o644
    assert len(result.backups) == 1 and (settings.parent / backups(settings)[0]).read_text() == EXISTING


@pytest.mark.parametrize("original", ["{}", "{}\n", '{"a":1}', '{\n\t"a": [1,\n\t2]\n}\n'])
def test_odd_but_valid_files(settings, original):
    settings.parent.mkdir()
    settings.write_text(original)
    apply("statusline-install", resolve(), command="x statusline")
    assert json.loads(settings.read_text()) == {**json.loads(original), "statusLine": {
        "type": "command", "command": "x statusline", "padding": 0}}


def test_an_existing_status_line_is_kept_unless_forced(settings):
    settings.parent.mkdir()
    settings.write_text('{"statusLine": {"type": "command", "command": "~/my-line.sh"}, "model": "opus"}\n')
    before = settings.read_bytes()
    with pytest.raises(PrimitiveError, match="already has a statusLine.*my-line.sh.*--force"):
        apply("statusline-install", resolve(), command="/opt/cd statusline")
    assert settings.read_bytes() == before and backups(settings) == []
    result = apply("statusline-install", resolve(), force=True, command="/opt/cd statusline")
    assert entry(settings)["command"] == "/opt/cd statusline" and json.loads(settings.read_text())["model"] == "opus"
    assert len(result.backups) == 1


def test_dry_run_writes_nothing_and_a_second_install_changes_nothing(settings):
    result = apply("statusline-install", resolve(), dry_run=True, command="/opt/cd statusline")
    assert result.ok and "would add" in result.message and result.changes and not settings.exists()
    apply("statusline-install", resolve(), command="/opt/cd statusline")
    before = settings.read_bytes()
    again = apply("statusline-install", resolve(), command="/opt/cd statusline")
    assert "already installed" in again.message and again.changes == []
    assert settings.read_bytes() == before and backups(settings) == []


@pytest.mark.parametrize("content", ["[1, 2]", "{broken", "", "\x00\x01"])
def test_a_settings_file_that_is_not_an_object_is_refused_untouched(settings, content):
    settings.parent.mkdir()
    settings.write_text(content)
    with pytest.raises(PrimitiveError, match="cannot be used.*nothing was changed"):
        apply("statusline-install", resolve(), command="/opt/cd statusline")
    assert settings.read_text() == content


def test_the_command_line(tmp_path):
    config_dir = tmp_path / "claude"
    env = {"CLAUDE_CONFIG_DIR": str(config_dir), "CLAUDEX_GATEWAY_HOME": str(tmp_path / "gateway")}
    dry = run_cli("statusline", "install", "--dry-run", env=env)
    assert dry.returncode == 0 and "would add a statusLine" in dry.stdout and not config_dir.exists()
    done = run_cli("statusline", "install", "--json", env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["primitive"] == "statusline-install" and data["ok"]
    command = entry(config_dir / "settings.json")["command"]
    assert command.endswith(" statusline") and os.path.isabs(command.split()[0].strip("'"))
    (config_dir / "settings.json").write_text('{"statusLine": {"type": "command", "command": "other"}}')
    refused = run_cli("statusline", "install", env=env)
    assert refused.returncode == 1 and "--force" in refused.stderr


def test_the_default_home_is_under_claude(tmp_path, monkeypatch):
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    paths = resolve()
    apply("statusline-install", paths, command="c statusline")
    assert (paths.user_home / ".claude" / "settings.json").exists()
