"""knowledge.models: the one model-string parser, the snapshot's lookups and the merge of live sources."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from claudex_doctor.knowledge import models

REAL_CACHE_SHAPE = {  # as Codex 0.171.0 writes $CODEX_HOME/models_cache.json (fields trimmed)
    "fetched_at": "2026-11-30T08:03:34.208572962Z", "etag": '"fake-etag-123"', "client_version": "0.171.0",
    "identity": "c744052fae8cc0741a1777027040b990c2e980aba76556ba1df39d143b96cb69",
    "models": [{"slug": "gpt-6-sol", "display_name": "GPT-6-Sol", "context_window": 272000,
                "max_context_window": 872000, "upgrade": None,
                "supported_reasoning_levels": [{"effort": e, "description": e}
                                               for e in ("low", "medium", "high", "xhigh", "max", "ultra")]},
               {"slug": "gpt-5.5", "context_window": 272000, "max_context_window": 272000,
                "upgrade": {"model": "gpt-6-sol", "migration_markdown": "...", "retirement_at": None},
                "supported_reasoning_levels": [{"effort": "low"}, {"effort": "high"}]}]}
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, name, effort, one_m", [
    ("gpt-5.5(high)", "gpt-5.5", "high", False),
    ("gpt-6.2-sol(ultra)[1m]", "gpt-6.2-sol", "ultra", True),
    ("gpt-5.5", "gpt-5.5", None, False),
])
def test_split(text, name, effort, one_m):
    assert models.split(text) == (name, effort, one_m)


@pytest.mark.parametrize("budget, level", [(0, "none"), (-1, "auto"), (512, "minimal"), (513, "low"),
                                           (8192, "medium"), (24576, "high"), (24577, "xhigh"), (-5, None)])
def test_a_budget_becomes_the_level_the_proxy_makes_of_it(budget, level):
    assert models.budget_level(budget) == level
    assert models.parse(f"gpt-5.5({budget})").level == level


def test_ultra_is_an_effort_now_and_the_parser_is_shared():
    assert models.parse("gpt-6.2-sol(ultra)").error is None
    assert models.parse("gpt-5.5(extreme)").error.startswith("'extreme' is not an effort")
    assert models.parse("gpt-5.5-high").legacy == "gpt-5.5(high)"


def test_the_snapshot_knows_todays_codex_models_and_the_pinned_proxy():
    assert len(models.catalog()["codex"]["models"]) == 14
    sol = models.codex_entry("gpt-6.2-sol")
    assert (sol["context_window"], sol["max_context_window"], sol["minimal_client_version"]) == (500000, 872000, "0.166.0")
    assert "ultra" in sol["efforts"] and "free" not in sol["plans"] and "prolite" in sol["plans"]
    assert models.codex_entry("gpt-5.5")["upgrade"] == "gpt-6-sol"
    assert models.presented_client("v7.2.140") == "0.146.0" and models.presented_client("v9.9.9") is None
    assert models.tier("business") == "team" and models.tier("go") == "team" and models.tier("enterprise") == "pro"
    assert models.normal_plan("PROLITE") == "prolite" and models.normal_plan("gold") is None


def test_undisguise_reverses_the_proxys_disguise():
    assert models.undisguise("claude-fable-5-dd-5.5-tpg") == "gpt-5.5"
    assert models.undisguise("gpt-5.5") == "gpt-5.5"


def test_the_real_cache_shape_reads(tmp_path: Path):
    path = tmp_path / "models_cache.json"
    path.write_text(json.dumps(REAL_CACHE_SHAPE))
    cache, problem = models.read_codex_cache(path)
    assert problem == "" and cache is not None
    assert cache.client_version == "0.171.0"
    assert cache.get("gpt-6-sol").efforts[-1] == "ultra" and cache.get("gpt-5.5").upgrade == "gpt-6-sol"
    source = models.Knowledge(cache=cache).cache_source
    assert source.age_days(NOW) == 1.2  # nanosecond timestamps read


@pytest.mark.parametrize("content", ["", "{", "[]", '{"models": {}}', '{"models": [1, {"slug": 3}, {}]}'])
def test_a_broken_cache_is_a_problem_not_an_exception(tmp_path: Path, content):
    path = tmp_path / "models_cache.json"
    path.write_text(content)
    cache, problem = models.read_codex_cache(path)
    assert cache is None or not cache.models
    if cache is None:
        assert problem
    assert models.read_codex_cache(tmp_path / "absent.json") == (None, "")


def test_facts_merge_field_by_field_in_source_order():
    live = models.live_list([{"id": "gpt-6-sol"}], [{"id": "claude-fable-5-dd-los-6-tpg", "max_input_tokens": 200000,
                                                     "max_tokens": 128000}], "2026-12-01T12:00:00+00:00")
    cache = models.codex_cache(REAL_CACHE_SHAPE)
    facts = models.gather(plan="plus", proxy_version="v7.2.140", live=live, cache=cache)
    sol = facts.model("gpt-6-sol(high)")
    assert sol.known_to == (models.FactSource.PROXY, models.FactSource.CODEX_CACHE, models.FactSource.SNAPSHOT)
    assert (sol.window.value, sol.window.source.kind) == (200000, models.FactSource.PROXY)
    assert (sol.ceiling.value, sol.ceiling.source.kind) == (872000, models.FactSource.CODEX_CACHE)
    assert sol.efforts.source.kind is models.FactSource.CODEX_CACHE
    assert sol.minimal_client_version.value == "0.155.0"  # only the snapshot has it
    assert facts.offered("gpt-6-sol") == (True, facts.live_source)
    assert facts.offered("gpt-5.6-sol")[0] is False  # the live list is the authority when there is one


def test_a_claim_above_codex_max_is_capped_and_kept():
    facts = models.gather(plan="pro", proxy_version="v7.2.140", live=None, cache=None)
    sol = facts.model("gpt-5.6-sol")
    assert sol.window.value == 872000 and sol.claimed_window.value == 921000
    assert sol.claimed_window.source.detail == "CLIProxyAPI v7.2.140's catalog"


def test_staleness():
    fresh = models.gather(plan=None, proxy_version=None, live=None, cache=None)
    assert fresh.stale(NOW) is None
    assert "days old" in fresh.stale(datetime(2027, 3, 1, tzinfo=timezone.utc))
    newer = models.gather(plan=None, proxy_version=None, live=None, cache=None, codex_version="0.172.0")
    assert "newer than the one the snapshot was read from" in newer.stale(NOW)
    live = models.live_list([{"id": "gpt-5.5"}], None, NOW.isoformat())
    assert models.gather(plan=None, proxy_version=None, live=live, cache=None).stale(datetime(2027, 3, 1,
                                                                                               tzinfo=timezone.utc)) is None


def test_model_strings_are_compared_in_one_form():
    assert models.model_key(" GPT-5.5(high)[1m] ") == "gpt-5.5"
    assert models.offers(["GPT-5.6-Terra"], "gpt-5.6-terra(xhigh)") and not models.offers(["gpt-5.5"], "gpt-5.6")
    assert models.replacement("gpt-5.4(high)", ["GPT-5.6-Terra"]) == "gpt-5.6-terra(high)"
    assert models.current_mapping_works({m.upper() for m in ("gpt-6.2-sol", "gpt-6.2-astra", "gpt-6.2-luna",
                                                             "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6.1-luna")},
                                        models.pinned_proxy(), "plus") == \
        models.current_mapping_works({"gpt-6.2-sol", "gpt-6.2-astra", "gpt-6.2-luna", "gpt-6.1-sol",
                                      "gpt-6.1-terra", "gpt-6.1-luna"}, models.pinned_proxy(), "plus")
