"""claude.settings: settings env blocks, a pinned Claude model, provider switches and the /login key."""

from __future__ import annotations

import json

import pytest

from tests.cfgkit import Home, text_of


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path)


def test_no_settings_files_pass(home):
    finding = home.one("claude.settings")
    assert finding.status.value == "pass" and "no Claude Code settings" in finding.summary


def test_harmless_settings_pass(home):
    home.claude_file("~/.claude/settings.json", {"permissions": {"allow": []}, "env": {"DISABLE_AUTOUPDATER": "1"}})
    finding = home.one("claude.settings")
    assert finding.status.value == "pass" and "1 file(s) read" in finding.summary


def test_user_settings_base_url_defeats_the_wrapper(home):
    home.claude_file("~/.claude/settings.json", {"env": {"ANTHROPIC_BASE_URL": "https://gateway.example.com"}})
    finding = home.one("claude.settings")
    assert finding.status.value == "fail" and "overrides ANTHROPIC_BASE_URL" in finding.summary
    assert finding.reference == "references/claude-code.md#settings-override-the-wrapper"
    assert finding.fix.safety.value == "manual" and "settings.json" in finding.fix.command
    assert finding.evidence["overrides"] == {"~/.claude/settings.json": ["ANTHROPIC_BASE_URL"]}


def test_the_same_value_as_the_env_file_is_harmless(home):
    home.claude_file("~/.claude/settings.json", {"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327/",
                                                         "ANTHROPIC_AUTH_TOKEN": home.key}})
    finding = home.one("claude.settings")
    assert finding.status.value == "pass"
    assert home.key not in text_of(finding)


def test_claude_config_dir_is_honoured(home, tmp_path):
    other = tmp_path / "claude-config"
    home.env["CLAUDE_CONFIG_DIR"] = str(other)
    other.mkdir()
    (other / "settings.json").write_text(json.dumps({"env": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-4-5"}}))
    finding = home.one("claude.settings")
    assert finding.status.value == "fail" and "ANTHROPIC_DEFAULT_OPUS_MODEL" in finding.summary
    # ~/.claude is not read when CLAUDE_CONFIG_DIR moves it
    home.claude_file("~/.claude/settings.json", {"env": {"ANTHROPIC_BASE_URL": "http://elsewhere:1"}})
    assert "ANTHROPIC_BASE_URL" not in home.one("claude.settings").summary


def test_project_local_settings_with_an_api_key(home):
    secret = "sk-ant-api03-CANARYSETTINGSKEY1234567890"
    home.claude_file("project/.claude/settings.local.json", {"env": {"ANTHROPIC_API_KEY": secret}})
    finding = home.one("claude.settings")
    assert finding.status.value == "warn" and "ANTHROPIC_API_KEY" in finding.summary
    assert "local project settings" in finding.summary
    assert secret not in text_of(finding)


def test_project_settings_token_differs(home):
    token = "CANARYPROJECTTOKEN" + "q" * 24
    home.claude_file("project/.claude/settings.json", {"env": {"ANTHROPIC_AUTH_TOKEN": token}})
    finding = home.one("claude.settings")
    assert finding.status.value == "fail" and "ANTHROPIC_AUTH_TOKEN" in finding.summary
    assert token not in text_of(finding) and home.key not in text_of(finding)


def test_window_override_is_a_warning(home):
    home.claude_file("~/.claude/settings.json", {"env": {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": 1000000}})
    finding = home.one("claude.settings")
    assert finding.status.value == "warn" and "CLAUDE_CODE_AUTO_COMPACT_WINDOW" in finding.summary


def test_pinned_claude_model(home):
    home.claude_file("~/.claude/settings.json", {"model": "claude-sonnet-4-5-20250929"})
    finding = home.one("claude.settings")
    assert finding.status.value == "fail" and "pins model" in finding.summary
    assert finding.reference == "references/claude-code.md#settings-pin-a-claude-model"
    home.claude_file("~/.claude/settings.json", {"model": "opus"})
    assert home.one("claude.settings").status.value == "pass"


def test_cloud_provider_switch_in_settings_and_in_the_shell(home):
    home.claude_file("~/.claude/settings.json", {"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}})
    finding = home.one("claude.settings")
    assert finding.status.value == "fail" and "cloud provider" in finding.summary
    home.claude_file("~/.claude/settings.json", {"env": {"CLAUDE_CODE_USE_BEDROCK": "0"}})
    assert home.one("claude.settings").status.value == "pass"
    finding = home.one("claude.settings", env={"CLAUDE_CODE_USE_VERTEX": "true"})
    assert finding.status.value == "fail" and "your shell sets CLAUDE_CODE_USE_VERTEX" in finding.summary


def test_login_key_conflicts_with_the_token(home):
    key = "sk-ant-api03-CANARYLOGINKEY" + "k" * 30
    home.claude_file("~/.claude.json", {"numStartups": 3, "primaryApiKey": key})
    finding = home.one("claude.settings")
    assert finding.status.value == "warn" and "/login API key" in finding.summary
    assert finding.reference == "references/claude-code.md#login-key-conflicts-with-the-token"
    assert finding.fix.safety.value == "manual" and finding.fix.command == "claude /logout"
    assert key not in text_of(finding)


def test_login_key_inside_claude_config_dir(home, tmp_path):
    other = tmp_path / "cfg"
    other.mkdir()
    home.env["CLAUDE_CONFIG_DIR"] = str(other)
    (other / ".claude.json").write_text(json.dumps({"primaryApiKey": "sk-ant-CANARYMOVED-123456789012"}))
    assert home.one("claude.settings").status.value == "warn"


def test_malformed_settings_file_is_a_named_warning(home):
    path = home.claude_file("~/.claude/settings.json", None,
                            raw='{"env": {"ANTHROPIC_AUTH_TOKEN": "CANARYBROKENSETTINGS1234567890"')
    before = path.read_bytes()
    finding = home.one("claude.settings")
    assert finding.status.value == "warn" and "cannot be used" in finding.summary and "not valid JSON" in finding.summary
    assert finding.reference == "references/claude-code.md#settings-file-unreadable"
    assert "CANARYBROKENSETTINGS" not in text_of(finding)
    assert path.read_bytes() == before


def test_settings_env_that_is_not_an_object(home):
    home.claude_file("~/.claude/settings.json", {"env": ["ANTHROPIC_BASE_URL=x"]})
    finding = home.one("claude.settings")
    assert finding.status.value == "warn" and "env that is not an object" in finding.summary


def test_cli_never_shows_settings_secrets(home, cli):
    token = "CANARYCLITOKEN" + "t" * 30
    login = "sk-ant-api03-CANARYCLILOGIN" + "l" * 30
    home.claude_file("~/.claude/settings.json", {"env": {"ANTHROPIC_AUTH_TOKEN": token, "ANTHROPIC_API_KEY": login}})
    home.claude_file("~/.claude.json", {"primaryApiKey": login})
    proc = cli("--json", "--only", "claude.settings", env=home.cli_env(), cwd=home.project)
    assert proc.returncode == 1, proc.stderr
    check = json.loads(proc.stdout)["checks"][0]
    assert check["id"] == "claude.settings" and check["status"] == "fail"
    assert "CANARY" not in proc.stdout + proc.stderr
    proc = cli("-v", "--only", "claude.settings", env=home.cli_env(NO_COLOR="1"), cwd=home.project)
    assert "CANARY" not in proc.stdout + proc.stderr


# -- apiKeyHelper -----------------------------------------------------------------------

HELPER = "security find-generic-password -s CANARYHELPERCOMMAND -w"


@pytest.mark.parametrize("where, label", [
    ("~/.claude/settings.json", "user settings"),
    ("project/.claude/settings.json", "project settings"),
    ("project/.claude/settings.local.json", "local project settings"),
])
def test_api_key_helper_beside_the_token_is_a_named_conflict(home, where, label):
    home.claude_file(where, {"apiKeyHelper": HELPER})
    finding = home.one("claude.settings")
    assert finding.status.value == "warn", finding.summary
    assert finding.summary.startswith(f"{label} sets apiKeyHelper")
    assert finding.reference == "references/claude-code.md#apikeyhelper-overrides-the-gateway-token"
    assert any("Invalid API key · Fix external API key" in d for d in finding.details)  # the words the user saw
    assert finding.fix.safety.value == "manual" and where.split("/")[-1] in finding.fix.command
    assert HELPER not in text_of(finding), "the command may embed a key: fingerprint only"


def test_api_key_helper_without_a_token_replaces_it(home):
    home.env_values(ANTHROPIC_AUTH_TOKEN=None)
    home.claude_file("~/.claude/settings.json", {"apiKeyHelper": "echo sk-ant-CANARYHELPEROUTPUT000000"})
    finding = home.one("claude.settings")
    assert finding.status.value == "fail" and "instead of the gateway token" in finding.summary
    assert "CANARYHELPEROUTPUT" not in text_of(finding)


def test_api_key_helper_in_claude_json_and_empty_ones(home):
    home.claude_file("~/.claude.json", {"apiKeyHelper": HELPER})
    finding = home.one("claude.settings")
    assert finding.status.value == "warn" and "apiKeyHelper" in finding.summary
    home.claude_file("~/.claude.json", {"apiKeyHelper": "  "})
    home.claude_file("~/.claude/settings.json", {"apiKeyHelper": None})
    assert home.one("claude.settings").status.value == "pass"


def test_model_overrides_that_rewrite_a_mapped_id_are_named(tmp_path):
    home = Home(tmp_path)
    home.claude_file("~/.claude/settings.json", {"modelOverrides": {"gpt-5.6-sol(xhigh)": "arn:aws:bedrock:x",
                                                                      "claude-opus-4-6": "arn:aws:bedrock:y"}})
    finding = home.one("claude.settings")
    assert finding.status.value == "warn" and "sets modelOverrides for gpt-5.6-sol(xhigh), claude-opus-4-6" \
        in finding.summary
    assert finding.reference == "references/claude-code.md#settings-model-overrides"
    assert finding.fix.safety.value == "manual"
    assert list(finding.evidence["model_overrides"].values()) == [["gpt-5.6-sol(xhigh) -> arn:aws:bedrock:x",
                                                                   "claude-opus-4-6 -> arn:aws:bedrock:y"]]


def test_model_overrides_of_other_ids_are_left_alone(tmp_path):
    home = Home(tmp_path)
    home.claude_file("~/.claude/settings.json", {"modelOverrides": {"some-provider-model": "x"}})
    assert home.one("claude.settings").status.value == "pass"
