"""`claudex-doctor skill`: the claudex-gateway skill for Claude Code, installed safely and idempotently."""

from __future__ import annotations

import hashlib
import json

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.help import skill


@pytest.fixture
def paths(user_home):
    return resolve(env={"HOME": str(user_home)})


def _front_matter(text: str) -> dict:
    from ruamel.yaml import YAML

    assert text.startswith("---\n")
    head, _, _ = text[4:].partition("\n---\n")
    return YAML(typ="safe", pure=True).load(head)


def test_content_is_a_valid_skill():
    text = skill.render()
    meta = _front_matter(text)
    assert meta["name"] == "claudex-gateway"
    assert "claudex-doctor" in meta["description"] and "LiteLLM" in meta["description"]
    assert "\n" not in meta["description"]
    for needle in ("claudex-doctor --json", "checks[]", "`blocked_by`", "Exit code: 0", "1 at least one", "2 the doctor",
                   "claudex-doctor explain", "--fix --dry-run", "--yes", "manual", "Never replace CLIProxyAPI with LiteLLM",
                   "Never print or paste secrets", "claudex-doctor report", "sync-auth"):
        assert needle in text, needle
    assert skill.state(text) == "current"


def test_install_writes_under_the_claude_config_dir(paths):
    result = skill.install(paths)
    assert result.action == "installed" and result.backup is None
    path = paths.user_home / ".claude" / "skills" / "claudex-gateway" / "SKILL.md"
    assert result.path == path and path.read_text() == skill.render()
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_claude_config_dir_is_honoured(user_home, tmp_path):
    paths = resolve(env={"HOME": str(user_home), "CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")})
    assert skill.install(paths).path == tmp_path / "cfg" / "skills" / "claudex-gateway" / "SKILL.md"
    assert not (user_home / ".claude").exists()


def test_install_is_idempotent(paths):
    skill.install(paths)
    path = skill.target(paths)
    before = path.stat()
    again = skill.install(paths)
    assert again.action == "unchanged" and again.backup is None
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_ino == before.st_ino
    assert sorted(p.name for p in path.parent.iterdir()) == ["SKILL.md"]


def test_an_edited_skill_is_kept_unless_forced(paths):
    skill.install(paths)
    path = skill.target(paths)
    edited = path.read_text() + "\nMy own note.\n"
    path.write_text(edited)
    kept = skill.install(paths)
    assert kept.action == "kept" and not kept.ok and path.read_text() == edited
    assert skill.install(paths, force=True, dry_run=True).action == "would-replace" and path.read_text() == edited
    forced = skill.install(paths, force=True)
    assert forced.action == "replaced" and path.read_text() == skill.render()
    assert forced.backup is not None and forced.backup.read_text() == edited


def test_a_foreign_skill_is_kept(paths):
    path = skill.target(paths)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe not even utf-8")
    assert skill.install(paths).action == "kept"
    assert path.read_bytes() == b"\xff\xfe not even utf-8"


def test_an_older_unedited_copy_is_updated_with_a_backup(paths):
    text = "---\nname: claudex-gateway\ndescription: \"older\"\n---\n\n# old body\n"
    older = f"{text}\n<!-- claudex-doctor skill 0.0.1; sha256:{hashlib.sha256(text.encode()).hexdigest()} -->\n"
    assert skill.state(older) == "outdated"
    path = skill.target(paths)
    path.parent.mkdir(parents=True)
    path.write_text(older)
    assert skill.install(paths, dry_run=True).action == "would-update" and path.read_text() == older
    result = skill.install(paths)
    assert result.action == "updated" and result.backup.read_text() == older
    assert path.read_text() == skill.render()


def test_cli_install_show_and_exit_codes(cli, user_home):
    proc = cli("skill", "install")
    assert proc.returncode == 0, proc.stderr
    assert "~/.claude/skills/claudex-gateway/SKILL.md" in proc.stdout and str(user_home) not in proc.stdout
    proc = cli("skill", "install", "--json")
    assert json.loads(proc.stdout)["action"] == "unchanged"
    path = user_home / ".claude" / "skills" / "claudex-gateway" / "SKILL.md"
    path.write_text(path.read_text() + "edit\n")
    proc = cli("skill", "install")
    assert proc.returncode == 1 and "--force" in proc.stderr
    assert cli("skill", "install", "--force").returncode == 0
    shown = cli("skill", "show")
    assert shown.returncode == 0 and shown.stdout == skill.render()
    assert json.loads(cli("skill", "show", "--json").stdout)["state"] == "current"


def test_install_also_writes_the_codex_skill_under_codex_home(cli, user_home, tmp_path):
    codex_home = tmp_path / "codex home"
    proc = cli("skill", "install", "--json", env={"CODEX_HOME": str(codex_home)})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["action"] == "installed" and data["agent"] == "claude"  # the Claude Code fields, as before
    assert data["codex"]["action"] == "installed" and data["codex"]["path"].endswith("skills/claudex-gateway/SKILL.md")
    written = codex_home / "skills" / "claudex-gateway" / "SKILL.md"
    assert written.read_text() == skill.render() and _front_matter(written.read_text())["name"] == "claudex-gateway"
    only = cli("skill", "install", "--agent", "codex", env={"CODEX_HOME": str(codex_home)})
    assert only.returncode == 0 and only.stdout.startswith("Codex CLI: the claudex-gateway skill is up to date")
    assert "Claude Code" not in only.stdout
    written.write_text(written.read_text() + "my edit\n")
    kept = cli("skill", "install", env={"CODEX_HOME": str(codex_home)})
    assert kept.returncode == 1 and "Codex CLI: kept" in kept.stderr and written.read_text().endswith("my edit\n")
