"""set-env and set-config: in-place edits, shell-exact quoting, comment-preserving YAML, backups, journal."""

from __future__ import annotations

import difflib
import json
import os
import stat
import subprocess

import pytest

from claudex_doctor.base.files import read_yaml
from claudex_doctor.base.redact import fingerprint
from claudex_doctor.config import envfile
from claudex_doctor.config.edit import set_config, set_env
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.primitives import apply
from tests.cfgkit import Home, canary

ENV_TEXT = """\
# claudex env: hand-written
export ANTHROPIC_BASE_URL="http://127.0.0.1:8327"   # the proxy

export ANTHROPIC_AUTH_TOKEN='{key}'
ANTHROPIC_DEFAULT_OPUS_MODEL=gpt-5.4  # old
"""

CONFIG_TEXT = """\
# Server host/interface to bind to. Default is empty ("") to bind all interfaces.
host: ""

# Server port
port: 8327

# Authentication directory (supports ~ for home directory)
auth-dir:   "./auth"

# API keys for authentication
api-keys:
  - "your-api-key-1"
  - "your-api-key-2"

# Management API settings
remote-management:
  # Whether to allow remote (non-localhost) management access.
  allow-remote: true
  secret-key: ""   # empty: management off

debug: false
"""


@pytest.fixture
def home(tmp_path):
    h = Home(tmp_path)
    h.write_env(ENV_TEXT.format(key=h.key))
    return h


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def shell_values(path, *names) -> dict:
    """What a POSIX shell really reads from the env file."""
    script = f". '{path}'; " + "; ".join(f"printf '%s\\0' \"${name}\"" for name in names)
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout.decode()
    return dict(zip(names, out.split("\0")[:-1], strict=True))


# -- set-env ------------------------------------------------------------------------------

def test_set_env_edits_in_place_keeping_comments_and_style(home):
    before = home.env_file.read_text()
    result = set_env(home.paths, assignments={"ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-terra(xhigh)",
                                              "ANTHROPIC_BASE_URL": "http://127.0.0.1:9000"})
    after = home.env_file.read_text()
    assert changed_lines(before, after) == [
        '-export ANTHROPIC_BASE_URL="http://127.0.0.1:8327"   # the proxy',
        '+export ANTHROPIC_BASE_URL=http://127.0.0.1:9000   # the proxy',
        '-ANTHROPIC_DEFAULT_OPUS_MODEL=gpt-5.4  # old',
        "+ANTHROPIC_DEFAULT_OPUS_MODEL='gpt-5.6-terra(xhigh)'  # old",
    ]
    assert result.ok and len(result.changes) == 2 and "(line 5)" in result.changes[0]


def test_set_env_appends_with_export(home):
    set_env(home.paths, assignments={"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "272000"})
    assert home.env_file.read_text().endswith("export CLAUDE_CODE_AUTO_COMPACT_WINDOW=272000\n")


@pytest.mark.parametrize("value", ["with spaces", "it's \"quoted\"", "$HOME and `cmd` and $(x)", "back\\slash",
                                   "ünïcødé ☃", "", "gpt-5.5(high)[1m]", "-leading-dash", "a;b&&c|d"])
def test_values_read_back_exactly_through_a_real_shell(home, value):
    set_env(home.paths, assignments={"ODD_VALUE": value, "ANTHROPIC_DEFAULT_OPUS_MODEL": value})
    assert shell_values(home.env_file, "ODD_VALUE", "ANTHROPIC_DEFAULT_OPUS_MODEL") == {
        "ODD_VALUE": value, "ANTHROPIC_DEFAULT_OPUS_MODEL": value}
    assert envfile.parse(home.env_file.read_text()).values["ODD_VALUE"] == value


def test_mode_backup_and_journal(home):
    os.chmod(home.env_file, 0o640)
    original = home.env_file.read_bytes()
    result = set_env(home.paths, assignments={"ANTHROPIC_AUTH_TOKEN": "CANARYNEWTOKEN1234567890"})
    # The env file holds the gateway token: after any write it is the owner's alone, and so is its backup.
    assert stat.S_IMODE(home.env_file.stat().st_mode) == 0o600
    assert len(result.backups) == 1
    backup = home.paths.backups / os.path.basename(result.backups[0])
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.paths.backups.stat().st_mode) == 0o700
    assert backup.read_bytes() == original and str(home.paths.backups) in result.backups[0]
    entry = json.loads(home.paths.journal.read_text().splitlines()[-1])
    assert entry["primitive"] == "set-env" and entry["status"] == "applied"
    journal = home.paths.journal.read_text()
    assert "CANARY" not in journal and fingerprint("CANARYNEWTOKEN1234567890") in journal
    assert fingerprint(home.key) in " ".join(result.changes)
    assert "CANARY" not in " ".join(result.changes) + result.message


def test_dry_run_writes_nothing(home):
    before = home.snapshot()
    result = set_env(home.paths, dry_run=True, assignments={"ANTHROPIC_BASE_URL": "http://127.0.0.1:1"})
    assert result.ok and result.changes and "would" in result.message
    assert home.snapshot() == before and not home.paths.journal.exists()


def test_nothing_to_change_writes_nothing(home):
    before = home.snapshot()
    result = set_env(home.paths, assignments={"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327"})
    assert result.ok and "nothing to change" in result.message and home.snapshot() == before


def test_config_key_sentinel(home):
    set_env(home.paths, assignments={"ANTHROPIC_AUTH_TOKEN": "@config"})
    assert envfile.parse(home.env_file.read_text()).values["ANTHROPIC_AUTH_TOKEN"] == home.key
    home.write_config(CONFIG_TEXT)
    with pytest.raises(PrimitiveError, match="api-keys=@random"):
        set_env(home.paths, assignments={"ANTHROPIC_AUTH_TOKEN": "@config"})
    with pytest.raises(PrimitiveError, match="set-config api-keys=@random"):
        set_env(home.paths, assignments={"ANTHROPIC_AUTH_TOKEN": "@random"})
    set_env(home.paths, assignments={"AT_VALUE": "@@literal"})
    assert envfile.parse(home.env_file.read_text()).values["AT_VALUE"] == "@literal"


@pytest.mark.parametrize("assignments, words", [
    ({"1BAD": "x"}, "not a valid variable name"),
    ({"GOOD": "two\nlines"}, "line break"),
    ({"GOOD": "@whatever"}, "unknown reserved value"),
    ({}, "at least one"),
])
def test_set_env_refusals(home, assignments, words):
    before = home.snapshot()
    with pytest.raises(PrimitiveError, match=words):
        set_env(home.paths, assignments=assignments)
    assert home.snapshot() == before


def test_set_env_refuses_a_missing_or_binary_env_file(home):
    home.env_file.write_bytes(b"export A=1\x00\n")
    with pytest.raises(PrimitiveError, match="binary"):
        set_env(home.paths, assignments={"A": "2"})
    home.env_file.unlink()
    with pytest.raises(PrimitiveError, match="bootstrap"):
        set_env(home.paths, assignments={"A": "2"})


def test_symlinked_env_file_inside_the_home_keeps_the_link(home):
    real = home.paths.home / "envs" / "real.env"
    real.parent.mkdir()
    real.write_text(home.env_file.read_text())
    home.env_file.unlink()
    home.env_file.symlink_to(real)
    set_env(home.paths, assignments={"NEW_ONE": "1"})
    assert home.env_file.is_symlink() and "NEW_ONE=1" in real.read_text()


@pytest.mark.parametrize("primitive, target", [("set-env", "env_file"), ("set-config", "config")])
def test_a_link_out_of_the_home_is_refused_and_nothing_changes(home, tmp_path, primitive, target):
    outside = tmp_path / "dotfiles" / "stack-file"
    outside.parent.mkdir()
    path = getattr(home.paths, target)
    outside.write_text(path.read_text())
    before = outside.read_bytes()
    path.unlink()
    path.symlink_to(outside)
    assignments = {"NEW_ONE": "1"} if primitive == "set-env" else {"debug": True}
    with pytest.raises(PrimitiveError, match="outside"):
        apply(primitive, home.paths, assignments=assignments)
    assert outside.read_bytes() == before and path.is_symlink()
    assert not home.paths.backups.exists() or not any(home.paths.backups.iterdir())


def test_crlf_files_stay_crlf(home):
    home.write_env(b"export A=1\r\nexport B=2\r\n")
    set_env(home.paths, assignments={"A": "3", "C": "4"})
    assert home.env_file.read_bytes() == b"export A=3\r\nexport B=2\r\nexport C=4\r\n"


# -- set-config ---------------------------------------------------------------------------

def test_set_config_changes_only_the_asked_lines(home):
    home.write_config(CONFIG_TEXT)
    result = set_config(home.paths, assignments={"host": "127.0.0.1", "remote-management.allow-remote": "false",
                                                 "port": "8327"})
    after = home.config.read_text()
    assert changed_lines(CONFIG_TEXT, after) == ['-host: ""', '+host: "127.0.0.1"',
                                                 '-  allow-remote: true', '+  allow-remote: false']
    data = read_yaml(home.config).data
    assert data["host"] == "127.0.0.1" and data["remote-management"]["allow-remote"] is False and data["port"] == 8327
    assert any("already" in c for c in result.changes)


def test_set_config_types_values(home):
    home.write_config(CONFIG_TEXT)
    set_config(home.paths, assignments={"port": "9000", "debug": "true", "request-retry": "3", "proxy-url": "",
                                        "api-keys": "k-one-12345678,k-two-12345678"})
    data = read_yaml(home.config).data
    assert data["port"] == 9000 and data["debug"] is True and data["request-retry"] == 3 and data["proxy-url"] == ""
    assert data["api-keys"] == ["k-one-12345678", "k-two-12345678"]
    assert "# API keys for authentication" in home.config.read_text()


def test_set_config_nested_insertions(home):
    home.write_config(CONFIG_TEXT)
    set_config(home.paths, assignments={"remote-management.disable-control-panel": True, "codex.disable-codex-cloaking": "true"})
    data = read_yaml(home.config).data
    assert data["remote-management"]["disable-control-panel"] is True
    assert data["codex"] == {"disable-codex-cloaking": True}
    assert home.config.read_text().startswith(CONFIG_TEXT.split("remote-management:")[0])


def test_random_key_goes_to_both_files_and_is_never_shown(home):
    home.write_config(CONFIG_TEXT)
    result = set_config(home.paths, assignments={"api-keys": "@random"})
    keys = read_yaml(home.config).data["api-keys"]
    token = envfile.parse(home.env_file.read_text()).values["ANTHROPIC_AUTH_TOKEN"]
    assert keys == [token] and len(result.backups) == 2
    shown = json.dumps(result.__dict__) + home.paths.journal.read_text()
    assert token not in shown and fingerprint(token) in shown
    assert "# Management API settings" in home.config.read_text()  # the comment after the list survives


def test_random_key_dry_run_touches_nothing(home):
    home.write_config(CONFIG_TEXT)
    before = home.snapshot()
    result = set_config(home.paths, dry_run=True, assignments={"api-keys": "@random"})
    assert result.ok and len(result.changes) == 2 and home.snapshot() == before


def test_random_key_refuses_without_an_env_file(home):
    home.write_config(CONFIG_TEXT)
    home.env_file.unlink()
    before = home.snapshot()
    with pytest.raises(PrimitiveError, match="bootstrap"):
        set_config(home.paths, assignments={"api-keys": "@random"})
    assert home.snapshot() == before


@pytest.mark.parametrize("text", ["host: [unclosed\n", "- a\n- b\n", "port: 1\nport: 2\n"])
def test_set_config_refuses_a_config_that_does_not_parse(home, text):
    home.write_config(text)
    before = home.snapshot()
    with pytest.raises(PrimitiveError, match="does not parse"):
        set_config(home.paths, assignments={"host": "127.0.0.1"})
    assert home.snapshot() == before


@pytest.mark.parametrize("assignments, words", [
    ({"port": "abc"}, "whole number"),
    ({"port": "70000"}, "between 1 and 65535"),
    ({"remote-management.allow-remote": "maybe"}, "true or false"),
    ({"bad key": "1"}, "not a config key"),
])
def test_set_config_refusals(home, assignments, words):
    before = home.snapshot()
    with pytest.raises(PrimitiveError, match=words):
        set_config(home.paths, assignments=assignments)
    assert home.snapshot() == before


def test_set_config_under_a_scalar_parent_is_refused(home):
    home.write_config('host: "127.0.0.1"\nremote-management: "off"\n')
    with pytest.raises(PrimitiveError, match="not a mapping"):
        set_config(home.paths, assignments={"remote-management.allow-remote": "false"})


def test_set_config_makes_the_config_private_and_backs_up(home):
    home.write_config(CONFIG_TEXT)
    os.chmod(home.config, 0o644)
    result = set_config(home.paths, assignments={"host": "127.0.0.1"})
    assert stat.S_IMODE(home.config.stat().st_mode) == 0o600  # it holds the api keys
    assert len(result.backups) == 1 and open(result.backups[0]).read() == CONFIG_TEXT
    assert result.details["restart_needed"] is True and "claudex-doctor restart" in result.message


def test_primitives_registry_resolves_both(home):
    result = apply("set-env", home.paths, dry_run=True, assignments={"X_Y": "1"})
    assert result.ok
    result = apply("set-config", home.paths, dry_run=True, assignments={"debug": False})
    assert result.ok


# -- the commands ---------------------------------------------------------------------------

def test_cli_set_env_and_set_config(home, cli):
    env = home.cli_env()
    proc = cli("set-env", "CLAUDE_CODE_AUTO_COMPACT_WINDOW=272000", "--dry-run", env=env)
    assert proc.returncode == 0 and "would update" in proc.stdout
    assert "CLAUDE_CODE_AUTO_COMPACT_WINDOW" not in home.env_file.read_text()
    secret = canary("CLI")
    proc = cli("set-env", f"ANTHROPIC_AUTH_TOKEN={secret}", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] and secret not in proc.stdout and fingerprint(secret) in proc.stdout
    proc = cli("set-config", "port=abc", env=env)
    assert proc.returncode == 1 and "whole number" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("set-config", "justaword", env=env)
    assert proc.returncode == 2 and "not KEY=VALUE" in proc.stderr
    home.write_config("host: [broken\n")
    proc = cli("set-config", "host=127.0.0.1", env=env)
    assert proc.returncode == 1 and "does not parse" in proc.stderr


def test_fix_applies_the_safe_config_and_env_fixes_end_to_end(home, cli):
    from tests.cfgkit import config_text
    home.write_config(config_text(home.key, host="0.0.0.0"))
    home.write_env(ENV_TEXT.format(key=home.key) + "export ANTHROPIC_DEFAULT_SONNET_MODEL='gpt-5.6-terra(high)'\n"
                   "export ANTHROPIC_DEFAULT_HAIKU_MODEL='gpt-5.6-luna(low)'\n")
    ids = "config.exposure,env.mapping,env.context_window"
    proc = cli("--fix", "--yes", "--json", "--offline", "--only", ids, env=home.cli_env())
    data = json.loads(proc.stdout)
    status = {c["id"]: c["status"] for c in data["checks"]}
    assert status["config.exposure"] == "pass" and status["env.mapping"] == "pass", data["fixes"]
    assert status["env.context_window"] == "pass"
    assert read_yaml(home.config).data["host"] == "127.0.0.1"
    values = envfile.parse(home.env_file.read_text()).values
    assert values["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "gpt-5.6-terra"
    assert values["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "372000"
    assert home.key not in proc.stdout + proc.stderr


@pytest.mark.parametrize("text, key, value, expect", [
    ('host: "x"\nremote-management: {allow-remote: true}\n', "remote-management.allow-remote", "false",
     {"host": "x", "remote-management": {"allow-remote": False}}),
    ('host: "x"\nremote-management:\nport: 1\n', "remote-management.allow-remote", "false",
     {"host": "x", "remote-management": {"allow-remote": False}, "port": 1}),
    ("host: |\n  multi\n  line\nport: 1\n", "host", "127.0.0.1", {"host": "127.0.0.1", "port": 1}),
    ("port: 1\napi-keys: ['a', 'b']  # flow\n", "api-keys", "k-12345678", {"port": 1, "api-keys": ["k-12345678"]}),
])
def test_unusual_layouts_fall_back_to_the_round_trip_dumper_and_still_read_back_exactly(home, text, key, value,
                                                                                         expect):
    home.write_config("# keep me\n" + text)
    set_config(home.paths, assignments={key: value})
    assert read_yaml(home.config).data == expect
    assert home.config.read_text().startswith("# keep me\n")


def test_a_value_built_by_the_shell_is_replaced_whole(home):
    home.write_env('export CLAUDE_BIN=$(command -v claude)  # found at start\nexport B="$(x "y z")"\n')
    set_env(home.paths, assignments={"CLAUDE_BIN": "/opt/claude/bin/claude", "B": "2"})
    assert home.env_file.read_text() == "export CLAUDE_BIN=/opt/claude/bin/claude  # found at start\nexport B=2\n"
