"""Model facts from live sources first: the running proxy's lists, Codex's models_cache.json, then the
snapshot; compatibility of the mapping with the installed proxy; staleness; the report's knowledge block."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.cfgkit import TODAY, Home, apply_fix
from tests.homekit import executable, write_file

TODAYS_MODELS = {"ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-6.2-sol(high)",
                 "ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-6.1-terra(medium)",
                 "ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-6-luna(low)",
                 "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "272000"}
# what a proxy that serves today's models would list (the Anthropic dialect's max_input_tokens)
TODAYS_WINDOWS = {"gpt-6.2-sol": 500000, "gpt-6.1-terra": 500000, "gpt-6-luna": 272000, "gpt-5.5": 272000}


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path)


def pinned_proxy(home: Home, version: str = "v7.2.140") -> None:
    """A stand-in for the installed cli-proxy-api: `-h` prints the version line the real one prints."""
    executable(home.paths.binary, f"#!/bin/sh\necho 'CLIProxyAPI Version: {version}, Commit: a7e3596, BuiltAt: "
                                  "unknown'\necho 'Usage of cli-proxy-api:'\n")


def models_cache(home: Home, models: list[dict], fetched_at: datetime = TODAY) -> None:
    """$CODEX_HOME/models_cache.json in the shape Codex 0.171.0 writes it."""
    data = {"fetched_at": fetched_at.isoformat().replace("+00:00", "Z"), "etag": '"abc"', "client_version": "0.171.0",
            "identity": "0" * 64, "models": models}
    write_file(home.codex_home / "models_cache.json", json.dumps(data, indent=2), 0o644)


def cached_model(slug: str, window: int, max_window: int, efforts=("low", "medium", "high")) -> dict:
    return {"slug": slug, "display_name": slug.upper(), "description": "A model", "default_reasoning_level": "medium",
            "supported_reasoning_levels": [{"effort": e, "description": e} for e in efforts],
            "visibility": "list", "upgrade": None, "context_window": window, "max_context_window": max_window,
            "effective_context_window_percent": 95}


# -- today's models -------------------------------------------------------------------------

def test_todays_models_are_green_offline(home):
    home.env_values(**TODAYS_MODELS)
    found = home.run("env.mapping", "env.context_window")
    assert found["env.mapping"].status.value == "pass", found["env.mapping"]
    window = found["env.context_window"]
    assert window.status.value == "pass", window
    assert window.evidence["smallest_window"] == 272000 and window.evidence["source"] == "snapshot"
    assert "per the snapshot of 2026-11-30" in window.summary
    facts = found["env.mapping"].evidence["models"]["gpt-6.2-sol"]
    assert facts["minimal_client_version"]["value"] == "0.166.0"
    assert facts["window"] == {"value": 500000, "source": "snapshot", "as_of": "2026-11-30", "age_days": 1.5,
                               "detail": "Codex 0.171.0's catalog"}


def test_todays_models_are_green_live_through_a_proxy_that_offers_them(home):
    home.env_values(**TODAYS_MODELS)
    found = home.run("env.mapping", "env.context_window", offered=list(TODAYS_WINDOWS), windows=TODAYS_WINDOWS)
    mapping, window = found["env.mapping"], found["env.context_window"]
    assert mapping.status.value == "pass" and mapping.evidence["source"] == "proxy", mapping
    assert "per the running proxy" in mapping.summary
    assert window.status.value == "pass" and window.evidence["source"] == "proxy"
    assert window.evidence["age_days"] == 0 and window.evidence["as_of"].startswith("2026-12-01")
    assert "272,000 tokens (haiku -> gpt-6-luna, plan plus) per the running proxy" in window.summary


def test_todays_models_on_the_free_plan_lack_gpt_6_2(tmp_path):
    home = Home(tmp_path, plan="free")
    home.env_values(**TODAYS_MODELS)
    finding = home.one("env.mapping")
    assert finding.status.value == "fail" and "gpt-6.2-sol is not offered" in finding.summary
    assert "this account is on free" in " ".join(finding.details)


# -- live windows ---------------------------------------------------------------------------

def test_a_live_window_smaller_than_the_compact_setting_is_named(home):
    """The proxy says haiku's model takes 200,000 tokens; Claude Code compacts at 372,000: it would overflow."""
    offered = ["gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"]
    windows = {"gpt-5.6-sol": 372000, "gpt-5.6-terra": 372000, "gpt-5.6-luna": 200000}
    finding = home.one("env.context_window", offered=offered, windows=windows)
    assert finding.status.value == "fail", finding
    assert "larger than the smallest mapped window, 200,000 tokens (haiku -> gpt-5.6-luna" in finding.summary
    assert "per the running proxy" in finding.summary
    assert finding.evidence["source"] == "proxy" and finding.evidence["smallest_window"] == 200000
    assert finding.fix.args == {"assignments": {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "200000"}}
    # offline, the snapshot's 372,000 would have passed: the live fact is what changed the verdict
    assert home.one("env.context_window").status.value == "pass"


def test_the_live_list_without_windows_falls_back_to_the_snapshot_window(home):
    finding = home.one("env.context_window", offered=["gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"])
    assert finding.status.value == "pass" and finding.evidence["source"] == "snapshot"
    assert finding.evidence["detail"] == "CLIProxyAPI v7.2.140's catalog"


# -- Codex's models_cache.json --------------------------------------------------------------

def test_a_model_known_only_to_models_cache_is_recognised_with_its_window(home):
    models_cache(home, [cached_model("gpt-6.3-nova", 300000, 900000)])
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-6.3-nova(low)")
    found = home.run("env.mapping", "env.context_window")
    mapping, window = found["env.mapping"], found["env.context_window"]
    assert mapping.status.value == "pass", mapping
    facts = mapping.evidence["models"]["gpt-6.3-nova"]
    assert facts["known_to"] == ["codex_cache"]
    assert facts["window"]["source"] == "codex_cache" and facts["window"]["as_of"].startswith("2026-12-01")
    assert facts["window"]["detail"] == "codex-cli 0.171.0"
    assert window.status.value == "fail" and "300,000 tokens (haiku -> gpt-6.3-nova" in window.summary
    assert "per Codex's models_cache.json of 2026-12-01 (codex-cli 0.171.0)" in window.summary
    assert window.evidence["source"] == "codex_cache" and window.evidence["smallest_window"] == 300000
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-6.3-nova(low)", CLAUDE_CODE_AUTO_COMPACT_WINDOW="300000")
    assert home.one("env.context_window").status.value == "pass"


def test_the_mapping_headline_names_models_cache_when_it_was_read(home):
    models_cache(home, [cached_model("gpt-6.3-nova", 300000, 900000)])
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-6.3-nova(low)")
    mapping = home.one("env.mapping")
    assert "per Codex's models_cache.json of 2026-12-01" in mapping.summary, mapping.summary
    assert mapping.evidence["source"] == "codex_cache"


def test_efforts_from_models_cache_are_checked(home):
    models_cache(home, [cached_model("gpt-6.3-nova", 400000, 900000, efforts=("low", "medium"))])
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-6.3-nova(high)")
    finding = home.one("env.mapping")
    assert finding.status.value == "warn" and "does not support effort high" in finding.summary
    assert "Per Codex's models_cache.json" in " ".join(finding.details)
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-6.3-nova(medium)"}}


def test_a_cache_older_than_the_snapshot_is_left_out(home):
    models_cache(home, [cached_model("gpt-6.3-nova", 400000, 900000)], fetched_at=datetime(2026, 6, 1, tzinfo=timezone.utc))
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-6.3-nova(low)")
    finding = home.one("env.mapping")
    assert finding.status.value == "warn" and "no source knows gpt-6.3-nova" in finding.summary
    assert any("older than the snapshot" in d for d in finding.details)


@pytest.mark.parametrize("content", ["{", "[]", '{"models": 3}', "\x00binary"])
def test_a_broken_models_cache_is_no_source_and_no_crash(home, content):
    write_file(home.codex_home / "models_cache.json", content, 0o644)
    found = home.run("env.mapping", "env.context_window", "knowledge.freshness")
    assert found["env.mapping"].status.value == "pass"
    assert found["knowledge.freshness"].status.value == "pass"
    assert [s["kind"] for s in found["knowledge.freshness"].evidence["sources"]] == ["snapshot"]


def test_a_models_cache_that_is_a_fifo_is_no_source(home):
    import os
    home.codex_home.mkdir(exist_ok=True)
    os.mkfifo(home.codex_home / "models_cache.json")
    assert home.one("env.mapping").status.value == "pass"


def bundled_like(slug: str, window: int, max_window: int) -> dict:
    """A models_cache.json entry the size Codex 0.171.0 writes (`codex debug models --bundled` prints 60 to
    90 KB a model: the full base instructions and the per-personality messages ride along)."""
    prompt = "You are Codex, an agent based on GPT-6. You and the user share a workspace. " * 400  # ~31 KB
    return {**cached_model(slug, window, max_window), "base_instructions": prompt,
            "model_messages": {"instructions_template": prompt + "{{ personality }}",
                               "instructions_variables": {"personality_default": "", "personality_pragmatic": prompt[:8000]}},
            "available_in_plans": ["free", "go", "plus", "pro", "team", "business"], "shell_type": "shell_command", "comp_hash": "0" * 64}


def test_a_models_cache_of_realistic_size_is_read(home):
    """16 models at ~60 KB each make a 1 MB file: more than the config files' cap, and an ordinary cache."""
    entries = [bundled_like(f"gpt-6.{n}-filler", 272000, 872000) for n in range(15)]
    models_cache(home, entries + [bundled_like("gpt-6.3-nova", 300000, 900000)])
    assert (home.codex_home / "models_cache.json").stat().st_size > 1024 * 1024
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL="gpt-6.3-nova(low)", CLAUDE_CODE_AUTO_COMPACT_WINDOW="300000")
    found = home.run("env.mapping", "env.context_window", "knowledge.freshness")
    mapping = found["env.mapping"]
    assert mapping.status.value == "pass", mapping
    assert mapping.evidence["models"]["gpt-6.3-nova"]["known_to"] == ["codex_cache"]
    assert found["env.context_window"].evidence["source"] == "codex_cache"
    assert [s["kind"] for s in found["knowledge.freshness"].evidence["sources"]] == ["codex_cache", "snapshot"]


# -- compatibility with the installed proxy -------------------------------------------------

def test_a_model_above_the_proxys_client_version_is_named(home):
    pinned_proxy(home)
    home.env_values(**TODAYS_MODELS)
    finding = home.one("env.mapping")
    assert finding.status.value == "fail", finding
    assert "gpt-6.2-sol needs Codex 0.166.0 or newer; CLIProxyAPI v7.2.140 presents itself upstream as " \
           "Codex 0.146.0" in finding.summary
    assert finding.reference == "references/models.md#model-needs-a-newer-proxy"
    assert "requires a newer version of Codex" in " ".join(finding.details)
    assert finding.evidence["proxy_version"] == "v7.2.140" and finding.evidence["presented_client"] == "0.146.0"
    # the fix maps every alias to what the pinned proxy can serve, in one step
    assert finding.fix.safety.value == "safe"
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-sol(xhigh)",
                                                "ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-5.6-terra(high)",
                                                "ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-5.6-luna(low)"}}
    apply_fix(home, finding)
    assert home.one("env.mapping").status.value == "pass"


def test_an_unknown_proxy_version_is_not_judged(home):
    pinned_proxy(home, "v7.9.0")
    home.env_values(**TODAYS_MODELS)
    finding = home.one("env.mapping")
    assert finding.status.value == "pass"
    assert any("does not know what CLIProxyAPI v7.9.0 presents" in d for d in finding.details)


def test_ultra_on_the_pinned_proxy_is_named(home):
    pinned_proxy(home)
    home.env_values(ANTHROPIC_DEFAULT_OPUS_MODEL="gpt-5.6-sol(ultra)")
    finding = home.one("env.mapping")
    assert finding.status.value == "warn", finding
    assert "CLIProxyAPI v7.2.140 does not read the effort ultra: it drops it silently" in finding.summary
    assert finding.reference == "references/models.md#effort-the-proxy-drops"
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-sol(max)"}}
    apply_fix(home, finding)
    assert home.one("env.mapping").status.value == "pass"


def test_a_numeric_budget_becomes_an_effort(home):
    home.env_values(ANTHROPIC_DEFAULT_SONNET_MODEL="gpt-5.5(100000)")
    finding = home.one("env.mapping")
    assert finding.status.value == "pass"
    assert any("the budget 100000 becomes effort xhigh" in d for d in finding.details)


def test_the_pinned_stack_is_green_and_told_about_its_legacy_models(home):
    pinned_proxy(home)
    finding = home.one("env.mapping")
    assert finding.status.value == "pass", finding
    text = " ".join(finding.details)
    assert "gpt-5.6-sol is a legacy model in Codex's catalog (its successor is gpt-6-sol)" in text
    assert "CLIProxyAPI v7.2.140 presents 0.146.0, so keep gpt-5.6-sol until the proxy is upgraded" in text


@pytest.fixture
def newer_proxy(monkeypatch):
    """A proxy version the snapshot knows that presents Codex 0.171.0 upstream (none is served yet)."""
    from claudex_doctor.knowledge import models

    pinned = models.catalog()["proxies"]["v7.2.140"]
    entry = {**pinned, "presents": {**pinned["presents"], "client_version": "0.171.0"}}
    monkeypatch.setitem(models.catalog()["proxies"], "v7.9.0", entry)
    return "v7.9.0"


def test_a_live_proxy_offering_the_successor_gets_the_command(home, newer_proxy):
    pinned_proxy(home, newer_proxy)
    live = ["gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna", "gpt-6-sol", "gpt-6-luna"]
    finding = home.one("env.mapping", offered=live)
    assert finding.status.value == "pass"
    assert "claudex-doctor set-env ANTHROPIC_DEFAULT_OPUS_MODEL='gpt-6-sol(xhigh)'" in " ".join(finding.details)


def test_with_an_unknown_proxy_the_successor_is_only_mentioned(home):
    live = ["gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna", "gpt-6-sol", "gpt-6-luna"]
    finding = home.one("env.mapping", offered=live)
    assert finding.status.value == "pass"
    assert "the doctor does not know whether this CLIProxyAPI presents Codex 0.155.0" in " ".join(finding.details)


def test_todays_mapping_is_recommended_when_the_proxy_serves_it(home, newer_proxy):
    pinned_proxy(home, newer_proxy)
    home.env_values(ANTHROPIC_DEFAULT_HAIKU_MODEL=None)
    finding = home.one("env.mapping", offered=list(TODAYS_WINDOWS) + ["gpt-5.6-sol", "gpt-5.6-terra"],
                       windows=TODAYS_WINDOWS)
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-6-luna(low)"}}
    # the pinned proxy gets the mapping that works on it
    pinned_proxy(home)
    finding = home.one("env.mapping", offered=["gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"])
    assert finding.fix.args == {"assignments": {"ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-5.6-luna(low)"}}


# -- staleness and the report ---------------------------------------------------------------

def test_fresh_snapshot_without_live_sources_passes(home):
    finding = home.one("knowledge.freshness")
    assert finding.status.value == "pass" and "no live source was read" in finding.summary


def test_a_snapshot_older_than_45_days_with_no_live_source_is_a_finding(home):
    later = TODAY + timedelta(days=60)
    finding = home.one("knowledge.freshness", now=later)
    assert finding.status.value == "warn"
    assert finding.summary.startswith("model facts may be stale: the snapshot is 61 days old")
    assert finding.reference == "references/models.md#model-facts-are-stale"
    assert finding.fix.command == "claudex-doctor start"
    # a live source makes the age of the snapshot irrelevant
    live = home.one("knowledge.freshness", now=later, offered=["gpt-5.6-sol"])
    assert live.status.value == "pass" and "the running proxy" in live.summary


def test_a_codex_newer_than_the_snapshot_makes_it_stale(home):
    npm = home.root / "npm" / "node_modules" / "@openai" / "codex"
    write_file(npm / "package.json", json.dumps({"name": "@openai/codex", "version": "0.175.0"}), 0o644)
    executable(npm / "bin" / "codex.js", "#!/bin/sh\necho codex-cli 0.175.0\n")
    (home.root / "bin").mkdir()
    (home.root / "bin" / "codex").symlink_to(npm / "bin" / "codex.js")
    finding = home.one("knowledge.freshness", env={"PATH": f"{home.root / 'bin'}:/usr/bin:/bin"})
    assert finding.status.value == "warn" and "Codex CLI (0.175.0) is newer" in finding.summary


def test_the_json_report_has_a_knowledge_block(home, cli):
    import jsonschema

    from claudex_doctor.core.schema import SCHEMA

    proc = cli("--json", "--only", "env.mapping,knowledge.freshness", env=home.cli_env())
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    block = data["knowledge"]
    assert block["snapshot"] == "2026-11-30" and block["stale"] is False
    assert [s["kind"] for s in block["sources"]] == ["snapshot"]
    assert block["sources"][0]["as_of"] == "2026-11-30" and block["sources"][0]["age_days"] >= 0
    without = json.loads(cli("--json", "--only", "env.mapping", env=home.cli_env()).stdout)
    assert "knowledge" not in without  # optional: only when the check that reports it ran


# -- Claude Code's gateway discovery ---------------------------------------------------------

def test_gateway_discovery_with_ids_it_keeps_is_a_note(home):
    from claudex_doctor.knowledge.models import LiveList, LiveModel

    home.env_values(CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY="1")
    ctx = home.context()
    ctx.publish("live_models", LiveList(("gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"), tuple(
        LiveModel(m, 372000, 128000, "claude-fable-5-dd-" + m[::-1]) for m in ("gpt-5.6-sol", "gpt-5.6-terra",
                                                                              "gpt-5.6-luna")), "2026-12-01T12:00:00"))
    from tests.homekit import run_checks
    finding = run_checks(ctx, ["env.mapping"])["env.mapping"]
    assert finding.status.value == "pass"
    assert any("picker lists the proxy's 3 models" in d for d in finding.details)


def test_gateway_discovery_with_plain_ids_finds_nothing(home):
    from claudex_doctor.knowledge.models import LiveList, LiveModel
    from tests.homekit import run_checks

    home.env_values(CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY="1")
    ctx = home.context()
    ids = ("gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna")
    ctx.publish("live_models", LiveList(ids, tuple(LiveModel(m, 372000, 128000, m) for m in ids), "2026-12-01T12:00"))
    finding = run_checks(ctx, ["env.mapping"])["env.mapping"]
    assert finding.status.value == "warn" and "no model id the proxy lists contains claude" in finding.summary
    assert finding.reference == "references/models.md#gateway-discovery-finds-no-model"
