"""env.consistency, env.mapping and env.context_window: one broken thing per test, in a throwaway home."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from claudex_doctor.base.redact import fingerprint
from tests.cfgkit import Home, apply_fix, config_text, text_of


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path)


# -- env.consistency --------------------------------------------------------------------

def test_standard_env_file_is_consistent(home):
    finding = home.one("env.consistency")
    assert finding.status.value == "pass", finding
    assert finding.evidence["token"] == fingerprint(home.key)
    assert home.key not in text_of(finding)


def test_missing_env_file_offers_bootstrap(home):
    home.env_file.unlink()
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and finding.reference == "references/config.md#env-file-missing"
    assert finding.fix.primitive == "bootstrap"


def test_missing_base_url(home):
    home.env_values(ANTHROPIC_BASE_URL=None)
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and "ANTHROPIC_BASE_URL is not set" in finding.summary
    assert finding.fix.args == {"assignments": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327"}}
    apply_fix(home, finding)
    assert home.one("env.consistency").status.value == "pass"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8327/v1", "http://127.0.0.1:8327/v1/"])
def test_trailing_v1(home, url):
    home.env_values(ANTHROPIC_BASE_URL=url)
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and "ends in /v1" in finding.summary
    assert finding.reference == "references/config.md#base-url-ends-in-v1"
    assert finding.fix.args == {"assignments": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327"}}


def test_base_url_port_differs_from_config(home):
    home.env_values(ANTHROPIC_BASE_URL="http://127.0.0.1:8317")
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and "port 8317" in finding.summary and "8327" in finding.summary
    assert finding.fix.args == {"assignments": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8327"}}


def test_base_url_host_differs_from_config(home):
    home.write_config(config_text(home.key, host="::1"))
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and "binds ::1" in finding.summary
    assert finding.fix.args == {"assignments": {"ANTHROPIC_BASE_URL": "http://[::1]:8327"}}
    apply_fix(home, finding)
    assert home.one("env.consistency").status.value == "pass"


def test_localhost_against_a_numeric_bind_is_a_warning(home):
    home.env_values(ANTHROPIC_BASE_URL="http://localhost:8327")
    finding = home.one("env.consistency")
    assert finding.status.value == "warn" and "localhost" in finding.summary


def test_missing_token_offers_the_config_key(home):
    home.env_values(ANTHROPIC_AUTH_TOKEN=None)
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and "ANTHROPIC_AUTH_TOKEN is not set" in finding.summary
    assert finding.fix.args == {"assignments": {"ANTHROPIC_AUTH_TOKEN": "@config"}}
    assert finding.fix.safety.value == "safe"
    apply_fix(home, finding)
    assert home.one("env.consistency").status.value == "pass"


def test_token_not_in_api_keys_says_which_side_with_fingerprints_only(home):
    wrong = "sk-ant-api03-" + "CANARYWRONG" + "x" * 30
    home.env_values(ANTHROPIC_AUTH_TOKEN=wrong)
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and "not one of config.yaml's api-keys" in finding.summary
    text = " ".join(finding.details)
    assert fingerprint(wrong) in text and fingerprint(home.key) in text
    assert "env file is the side to change" in text and "Anthropic API key" in text
    assert wrong not in text_of(finding) and home.key not in text_of(finding)
    assert finding.fix.args == {"assignments": {"ANTHROPIC_AUTH_TOKEN": "@config"}}


def test_template_keys_mean_the_config_side_is_wrong(home):
    home.write_config(config_text("your-api-key-1"))
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and "config is the side to change" in " ".join(finding.details)
    assert finding.fix.args == {"assignments": {"api-keys": "@random"}} and finding.fix.safety.value == "confirm"


def test_api_key_beside_the_token_in_the_file(home):
    home.env_values(ANTHROPIC_API_KEY="sk-ant-CANARYAPIKEY-1234567890")
    finding = home.one("env.consistency")
    assert finding.status.value == "warn" and "ANTHROPIC_API_KEY is set beside" in finding.summary
    assert finding.reference == "references/config.md#api-key-beside-the-token"
    assert finding.fix.args == {"assignments": {"ANTHROPIC_API_KEY": ""}}
    apply_fix(home, finding)
    assert home.one("env.consistency").status.value == "pass"


def test_api_key_inherited_from_the_shell(home):
    shell = {"ANTHROPIC_API_KEY": "sk-ant-CANARYSHELL-1234567890"}
    finding = home.one("env.consistency", env=shell)
    assert finding.status.value == "warn" and "from your shell" in finding.summary
    apply_fix(home, finding)
    assert home.one("env.consistency", env=shell).status.value == "pass"


def test_lines_the_parser_cannot_take_are_a_warning(home):
    home.write_env(home.env_file.read_text() + "source ~/.other.env\nexport BROKEN='unbalanced\n")
    finding = home.one("env.consistency")
    assert finding.status.value == "warn" and "2 line(s)" in finding.summary
    assert finding.reference == "references/config.md#env-file-lines-the-doctor-cannot-read"


def test_windows_line_endings(home):
    home.write_env(home.env_file.read_bytes().replace(b"\n", b"\r\n"))
    finding = home.one("env.consistency")
    assert finding.status.value == "fail" and "CRLF" in finding.summary


def test_any_nonempty_value_note(home):
    home.write_env(home.env_file.read_text() + "export DISABLE_TELEMETRY=0\n")
    finding = home.one("env.consistency")
    assert finding.status.value == "pass"
    assert any("still turns it on" in d for d in finding.details)


# -- env.mapping ------------------------------------------------------------------------

def test_standard_mapping_passes_from_the_catalog(home):
    finding = home.one("env.mapping")
    assert finding.status.value == "pass", finding
    assert finding.evidence["source"] == "snapshot" and finding.evidence["as_of"] == "2026-11-30"
    assert finding.evidence["age_days"] == 1.5
    assert finding.evidence["plan"] == "plus"
    assert "per the snapshot of 2026-11-30" in finding.summary


def test_retired_model_after_its_date_fails_with_the_replacement(home):
    home.env_values(ANTHROPIC_DEFAULT_OPUS_MODEL="gpt-5.4(xhigh)")
    finding = home.one("env.mapping")
    assert finding.status.value == "fail" and "retired" in finding.summary and "2026-08-31" in finding.summary
    assert finding.reference == "references/models.md#retired-model"
    assert finding.fix.safety.value == "safe"
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-terra(xhigh)"}}
    apply_fix(home, finding)
    assert home.one("env.mapping").status.value == "pass"


def test_retired_mini_maps_to_luna(home):
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-5.4-mini")
    finding = home.one("env.mapping")
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-5.6-luna"}}


def test_retirement_coming_soon_is_a_warning(home):
    home.env_values(ANTHROPIC_DEFAULT_OPUS_MODEL="gpt-5.4(high)")
    finding = home.one("env.mapping", now=datetime(2026, 8, 20, tzinfo=timezone.utc))
    assert finding.status.value == "warn" and "leaves" in finding.summary
    assert home.one("env.mapping", now=datetime(2026, 6, 1, tzinfo=timezone.utc)).status.value == "pass"


def test_model_not_offered_to_the_plan(tmp_path):
    home = Home(tmp_path, plan="free")
    finding = home.one("env.mapping")
    assert finding.status.value == "fail" and "not offered" in finding.summary and "gpt-5.6-sol" in finding.summary
    assert "not served on the free tier" in " ".join(finding.details)
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-terra(high)"}}


def test_plan_ids_the_proxy_groups_get_their_tier(tmp_path):
    home = Home(tmp_path, plan="business")
    finding = home.one("env.mapping")
    assert finding.status.value == "pass" and finding.evidence["plan"] == "business"
    assert finding.evidence["tier"] == "team"


@pytest.mark.parametrize("value, words", [
    ("gpt-5.5 (high)", "spaces"),
    ("gpt-5.5(high", "parentheses"),
    ("gpt-5.5(high)(low)", "parentheses"),
    ("gpt-5.5(extreme)", "'extreme' is not an effort"),
])
def test_model_syntax_errors(home, value, words):
    home.env_values(ANTHROPIC_DEFAULT_SONNET_MODEL=value)
    finding = home.one("env.mapping")
    assert finding.status.value == "fail" and words in finding.summary
    assert finding.reference == "references/models.md#model-name-syntax"
    assert finding.fix.safety.value == "confirm"


def test_old_dash_effort_style_gets_a_precise_guess(home):
    home.env_values(ANTHROPIC_DEFAULT_SONNET_MODEL="gpt-5.5-high")
    finding = home.one("env.mapping")
    assert finding.status.value == "fail" and "old '-effort' name style" in finding.summary
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-5.5(high)"}}


def test_effort_the_model_does_not_support(home):
    home.env_values(ANTHROPIC_DEFAULT_SONNET_MODEL="gpt-5.5(max)")
    finding = home.one("env.mapping")
    # the proxy lowers it (observed end to end), so the request works, with another effort than asked
    assert finding.status.value == "warn" and "does not support effort max" in finding.summary
    assert finding.reference == "references/models.md#effort-not-supported"
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-5.5(xhigh)"}}


def test_one_m_suffix_is_tolerated(home):
    home.env_values(ANTHROPIC_DEFAULT_OPUS_MODEL="gpt-5.6-sol(xhigh)[1m]")
    assert home.one("env.mapping").status.value == "pass"


def test_unmapped_alias_fails_with_the_recommendation(home):
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL=None)
    finding = home.one("env.mapping")
    assert finding.status.value == "fail" and "haiku is not mapped" in finding.summary
    assert finding.reference == "references/models.md#alias-not-mapped"
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-5.6-luna(low)"}}


def test_deprecated_small_fast_model_only(home):
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL=None, ANTHROPIC_SMALL_FAST_MODEL="gpt-5.6-luna(low)")
    finding = home.one("env.mapping")
    assert finding.status.value == "warn" and "deprecated ANTHROPIC_SMALL_FAST_MODEL" in finding.summary


def test_subagent_is_checked_when_set(home):
    home.env_values(CLAUDE_CODE_SUBAGENT_MODEL="gpt-5.4")
    finding = home.one("env.mapping")
    assert finding.status.value == "fail" and "subagent" in finding.summary


def test_claude_model_names_cannot_be_served(home):
    home.env_values(ANTHROPIC_DEFAULT_SONNET_MODEL="claude-sonnet-4-5")
    finding = home.one("env.mapping")
    assert finding.status.value == "fail" and "not offered" in finding.summary


def test_a_model_no_source_knows_is_only_a_warning(home):
    home.env_values(ANTHROPIC_DEFAULT_SONNET_MODEL="gpt-7-nova(high)")
    finding = home.one("env.mapping")
    assert finding.status.value == "warn" and "no source knows gpt-7-nova" in finding.summary
    assert "the snapshot of 2026-11-30" in finding.summary
    assert finding.reference == "references/models.md#model-no-source-knows"
    window = home.one("env.context_window")
    assert window.status.value == "pass" and any("gpt-7-nova" in d for d in window.details)


def test_the_live_list_wins_over_the_catalog(home):
    live = ["gpt-5.6-terra", "gpt-5.6-luna", "gpt-5.7-nova"]
    finding = home.one("env.mapping", offered=live)
    assert finding.status.value == "fail" and "gpt-5.6-sol" in finding.summary
    assert finding.evidence["source"] == "proxy" and finding.evidence["age_days"] == 0
    assert "does not offer" in " ".join(finding.details)
    home.env_values(ANTHROPIC_DEFAULT_OPUS_MODEL="gpt-5.7-nova(high)")
    finding = home.one("env.mapping", offered=live)
    assert finding.status.value == "pass", finding


# -- env.context_window -----------------------------------------------------------------

def test_window_set_to_the_smallest_passes(home):
    finding = home.one("env.context_window")
    assert finding.status.value == "pass", finding
    assert finding.evidence["smallest_window"] == 372000


def test_window_unset_says_which_value_to_set(home):
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW=None, ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-5.5(low)")
    finding = home.one("env.context_window")
    assert finding.status.value == "warn" and "assumes 1,000,000" in finding.summary and "272,000" in finding.summary
    assert finding.reference == "references/context-window.md#claude-code-guesses-the-window"
    assert finding.fix.safety.value == "safe"
    assert finding.fix.args == {"assignments": {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "272000"}}
    apply_fix(home, finding)
    assert home.one("env.context_window").status.value == "pass"


def test_window_larger_than_the_smallest_mapped_fails(home):
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW="1050000")
    finding = home.one("env.context_window")
    assert finding.status.value == "fail" and "larger than the smallest mapped window" in finding.summary
    assert finding.reference == "references/context-window.md#window-larger-than-the-model"
    assert finding.fix.args == {"assignments": {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "372000"}}


def test_max_context_tokens_is_an_accepted_alternative(home):
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW=None, CLAUDE_CODE_MAX_CONTEXT_TOKENS="372000")
    assert home.one("env.context_window").status.value == "pass"
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW=None, CLAUDE_CODE_MAX_CONTEXT_TOKENS="900000")
    finding = home.one("env.context_window")
    assert finding.status.value == "fail"
    assert finding.fix.args == {"assignments": {"CLAUDE_CODE_MAX_CONTEXT_TOKENS": "372000"}}


def test_the_plan_matters(tmp_path):
    home = Home(tmp_path, plan="pro")
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW="872000")
    assert home.one("env.context_window").status.value == "pass"
    home.set_plan("plus")
    assert home.one("env.context_window").status.value == "fail"


def test_a_proxy_claim_above_codex_max_is_capped(tmp_path):
    """CLIProxyAPI v7.2.140 says 921,000 for gpt-5.6-* on pro; Codex 0.171.0 allows at most 872,000."""
    home = Home(tmp_path, plan="pro")
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW="921000")
    finding = home.one("env.context_window")
    assert finding.status.value == "fail" and "872,000" in finding.summary
    assert finding.evidence["claimed_window"]["value"] == 921000
    assert any("caps it at 872,000" in d for d in finding.details)


def test_unknown_plan_with_a_pro_sized_window_is_a_warning(tmp_path):
    home = Home(tmp_path, plan=None)
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW="872000")
    finding = home.one("env.context_window")
    assert finding.status.value == "warn" and "fits only the pro plan" in finding.summary


@pytest.mark.parametrize("value, status", [("372k", "pass"), ("abc", "fail"), ("50000", "warn")])
def test_window_values_are_read_like_claude_code(home, value, status):
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW=value)
    assert home.one("env.context_window").status.value == status


def test_disable_1m_alone_is_enough_when_every_window_is_larger(home):
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW=None, CLAUDE_CODE_DISABLE_1M_CONTEXT="1")
    finding = home.one("env.context_window")
    assert finding.status.value == "pass" and "200,000" in finding.summary
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW=None, CLAUDE_CODE_DISABLE_1M_CONTEXT="1",
                    ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-5.3-codex-spark(low)")
    assert home.one("env.context_window").status.value == "warn"


def test_window_from_the_shell_counts_with_a_note(home):
    home.env_values(CLAUDE_CODE_AUTO_COMPACT_WINDOW=None)
    finding = home.one("env.context_window", env={"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "300000"})
    assert finding.status.value == "pass" and any("from your shell" in d for d in finding.details)


def test_cli_runs_the_env_checks_without_leaking(home, cli):
    home.env_values(ANTHROPIC_AUTH_TOKEN="CANARYTOKENMISMATCH" + "z" * 20, CLAUDE_CODE_AUTO_COMPACT_WINDOW=None)
    proc = cli("--json", "--only", "env.consistency,env.mapping,env.context_window", env=home.cli_env())
    assert proc.returncode == 1, proc.stderr
    data = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}
    assert data["env.consistency"]["status"] == "fail"
    assert data["env.context_window"]["status"] == "warn"
    assert "CANARY" not in proc.stdout + proc.stderr
    # the commands stay readable after redaction (no secret in them, nothing masked)
    assert data["env.consistency"]["fix"]["command"] == "claudex-doctor set-env ANTHROPIC_AUTH_TOKEN=@config"
    assert data["env.context_window"]["fix"]["command"] == \
        "claudex-doctor set-env CLAUDE_CODE_AUTO_COMPACT_WINDOW='372000'"


def test_an_empty_live_list_falls_back_to_the_catalog(home):
    finding = home.one("env.mapping", offered=[])
    assert finding.status.value == "pass"
    assert finding.evidence["source"] == "snapshot"
    assert any("the running proxy listed no models" in d for d in finding.details)
