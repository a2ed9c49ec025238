"""Broken config.yaml, env files and Claude Code settings: a named finding each, never a crash.

tests/malformed/config/*    are placed at $HOME_DIR/config.yaml
tests/malformed/env/*       are placed at $HOME_DIR/claude-code-gpt54.env
tests/malformed/settings/*  at ~/.claude/settings.json; claude-json-* at ~/.claude.json;
                            local-* at <project>/.claude/settings.local.json
`__KEY__` in a corpus file is replaced by the home's canary key before placing it. The rest of the
home is healthy, so the finding is about exactly that file. Each case runs the real CLI
(`claudex-doctor --json`): exit 1 or 0 (never 2), no traceback, no canary in the output, and every
file byte-identical afterwards. A few cases are made at run time because git cannot hold them:
files too large, an unreadable file, a directory where a file belongs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from claudex_doctor.help import refs
from tests.cfgkit import Home, canary, config_text
from tests.conftest import run_cli

CORPUS = Path(__file__).parent.parent / "malformed"
IDS = "config.valid,config.exposure,env.consistency,env.mapping,env.context_window,claude.settings,route.litellm"

# corpus file -> (check id, status, words the summary must contain)
EXPECTED = {
    "config/truncated.yaml": ("config.valid", "fail", "not valid YAML"),
    "config/binary.yaml": ("config.valid", "fail", "binary data"),
    "config/not-utf8.yaml": ("config.valid", "fail", "not UTF-8"),
    "config/list.yaml": ("config.valid", "fail", "holds a list"),
    "config/scalar.yaml": ("config.valid", "fail", "holds a string"),
    "config/port-abc.yaml": ("config.valid", "fail", "not a whole number"),
    "config/api-keys-string.yaml": ("config.valid", "fail", "api-keys is text"),
    "config/host-number.yaml": ("config.valid", "fail", "host is a number"),
    "config/tabs.yaml": ("config.valid", "fail", "not valid YAML"),
    "config/duplicate-keys.yaml": ("config.valid", "fail", "not valid YAML"),
    "config/empty.yaml": ("config.valid", "fail", "is empty"),
    "config/whitespace.yaml": ("config.valid", "fail", "is empty"),
    "config/remote-management-string.yaml": ("config.valid", "fail", "remote-management is text"),
    "config/alias-bomb.yaml": ("config.valid", "fail", "expands (through YAML aliases)"),
    "config/deep-nesting.yaml": ("config.valid", "fail", "not valid YAML"),
    "config/python-tag.yaml": ("config.valid", "fail", "not valid YAML"),
    "env/unbalanced-quote.env": ("env.consistency", "warn", "not plain assignments"),
    "env/binary.env": ("env.consistency", "fail", "binary data"),
    "env/not-utf8.env": ("env.consistency", "fail", "not UTF-8"),
    "env/odd-shell.env": ("env.consistency", "warn", "not plain assignments"),
    "env/crlf.env": ("env.consistency", "fail", "CRLF"),
    "env/unquoted-spaces.env": ("env.consistency", "warn", "not plain assignments"),
    "env/only-comments.env": ("env.consistency", "fail", "ANTHROPIC_BASE_URL is not set"),
    "env/empty.env": ("env.consistency", "fail", "ANTHROPIC_BASE_URL is not set"),
    "env/truncated.env": ("env.consistency", "fail", "ANTHROPIC_AUTH_TOKEN is not set"),
    "settings/truncated.json": ("claude.settings", "warn", "not valid JSON"),
    "settings/list.json": ("claude.settings", "warn", "holds a list"),
    "settings/env-not-object.json": ("claude.settings", "warn", "env that is not an object"),
    "settings/binary.json": ("claude.settings", "warn", "binary data"),
    "settings/not-utf8.json": ("claude.settings", "warn", "not UTF-8"),
    "settings/empty.json": ("claude.settings", "warn", "is empty"),
    "settings/env-values-wrong-types.json": ("claude.settings", "fail", "overrides ANTHROPIC_BASE_URL"),
    "settings/claude-json-truncated.json": ("claude.settings", "warn", "not valid JSON"),
    "settings/claude-json-list.json": ("claude.settings", "warn", "holds a list"),
    "settings/local-string.json": ("claude.settings", "warn", "holds a string"),
    "settings/apikeyhelper-object.json": ("claude.settings", "warn", "apiKeyHelper that is not a command string"),
    "settings/claude-json-apikeyhelper-number.json": ("claude.settings", "warn",
                                                      "apiKeyHelper that is not a command string"),
}


def test_the_corpus_is_complete():
    on_disk = {str(p.relative_to(CORPUS)) for sub in ("config", "env", "settings") for p in (CORPUS / sub).iterdir()}
    assert on_disk == set(EXPECTED)
    assert len(EXPECTED) >= 20


def _target(home: Home, name: str) -> Path:
    group, file = name.split("/", 1)
    if group == "config":
        return home.config
    if group == "env":
        return home.env_file
    if file.startswith("claude-json-"):
        return home.user_home / ".claude.json"
    if file.startswith("local-"):
        return home.project / ".claude" / "settings.local.json"
    return home.user_home / ".claude" / "settings.json"


def _run(home: Home, *extra: str, obey_file_modes: bool = False):
    proc = run_cli("--json", "--offline", "--only", IDS, *extra, env=home.cli_env(), cwd=home.project,
                   obey_file_modes=obey_file_modes)
    assert proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc, {c["id"]: c for c in json.loads(proc.stdout)["checks"]}


def _assert_named(found: dict, check_id: str, status: str, words: str) -> None:
    finding = found[check_id]
    assert finding["status"] == status, finding
    assert words in finding["summary"], finding["summary"]
    assert finding["reference"] and refs.library().problem(finding["reference"]) is None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_gives_a_named_finding(tmp_path, name):
    home = Home(tmp_path)
    target = _target(home, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((CORPUS / name).read_bytes().replace(b"__KEY__", home.key.encode()))
    before = home.snapshot()
    proc, found = _run(home)
    check_id, status, words = EXPECTED[name]
    _assert_named(found, check_id, status, words)
    assert proc.returncode == (1 if any(c["status"] == "fail" for c in found.values()) else 0)
    assert "CANARY" not in proc.stdout + proc.stderr
    assert home.snapshot() == before, "diagnosing changed a file"


@pytest.mark.parametrize("where, check_id, status", [
    ("config", "config.valid", "fail"), ("env", "env.consistency", "fail"),
    ("settings", "claude.settings", "warn")])
def test_huge_files(tmp_path, where, check_id, status):
    home = Home(tmp_path)
    target = {"config": home.config, "env": home.env_file,
              "settings": home.user_home / ".claude" / "settings.json"}[where]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"# padding\n" * 500_000)  # 5 MB, over the 4 MB a real file could need
    before = home.snapshot()
    _proc, found = _run(home)
    _assert_named(found, check_id, status, "too large")
    assert home.snapshot() == before


@pytest.mark.parametrize("where, check_id, status", [
    ("config", "config.valid", "fail"), ("env", "env.consistency", "fail"),
    ("settings", "claude.settings", "warn")])
def test_a_directory_where_the_file_belongs(tmp_path, where, check_id, status):
    home = Home(tmp_path)
    target = {"config": home.config, "env": home.env_file,
              "settings": home.user_home / ".claude" / "settings.json"}[where]
    if target.exists():
        target.unlink()
    target.mkdir(parents=True)
    (target / "inside").write_text("x")
    before = home.snapshot()
    _proc, found = _run(home)
    _assert_named(found, check_id, status, "not a regular file")
    assert home.snapshot() == before


@pytest.mark.parametrize("where, check_id, status", [("config", "config.valid", "fail"),
                                                     ("env", "env.consistency", "fail")])
def test_unreadable_files(tmp_path, where, check_id, status):
    home = Home(tmp_path)
    target = home.config if where == "config" else home.env_file
    os.chmod(target, 0)
    try:
        _proc, found = _run(home, obey_file_modes=True)  # as root too: the capabilities that bypass modes are dropped
        _assert_named(found, check_id, status, "permission denied")
    finally:
        os.chmod(target, 0o600)


def test_a_path_that_cannot_be_read_even_by_root(tmp_path):
    """The unreadable case that also holds for root: ~/.claude is a file, so settings.json cannot be opened."""
    home = Home(tmp_path)
    (home.user_home / ".claude").write_text("not a directory")
    before = home.snapshot()
    _proc, found = _run(home)
    _assert_named(found, "claude.settings", "warn", "cannot be read")
    assert home.snapshot() == before


def test_canaries_never_reach_any_output(tmp_path):
    """Secrets everywhere, several checks failing on purpose: JSON and terminal stay clean."""
    home = Home(tmp_path)
    token, settings_token, api_key, login = canary("ENV"), canary("SET"), canary("APIK"), canary("LOGIN")
    home.write_config(config_text(home.key, host="0.0.0.0").replace(
        f'  - "{home.key}"\n', f'  - "{home.key}"\n  - "{canary("SECOND")}"\n'))
    home.env_values(ANTHROPIC_AUTH_TOKEN=token, ANTHROPIC_API_KEY=api_key)
    home.claude_file("~/.claude/settings.json", {"env": {"ANTHROPIC_AUTH_TOKEN": settings_token,
                                                         "ANTHROPIC_API_KEY": api_key,
                                                         "SOME_HELPER_SECRET": canary("HELPER")}})
    home.claude_file("project/.claude/settings.local.json", {"env": {"ANTHROPIC_AUTH_TOKEN": canary("LOCAL")}})
    home.claude_file("~/.claude.json", {"primaryApiKey": login, "oauthAccount": {"token": canary("OAUTH")}})
    proc, found = _run(home)
    assert proc.returncode == 1
    assert {found[i]["status"] for i in ("config.exposure", "env.consistency", "claude.settings")} == {"fail"}
    assert "CANARY" not in proc.stdout + proc.stderr
    terminal = run_cli("-v", "--offline", "--only", IDS, env=home.cli_env(NO_COLOR="1"), cwd=home.project)
    assert terminal.returncode == 1 and "CANARY" not in terminal.stdout + terminal.stderr
    dry = run_cli("--fix", "--dry-run", "--offline", "--only", IDS, env=home.cli_env(NO_COLOR="1"), cwd=home.project)
    assert "Traceback" not in dry.stderr and "CANARY" not in dry.stdout + dry.stderr
