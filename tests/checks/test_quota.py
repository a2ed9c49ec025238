"""quota.codex: room passes, 80 % warns, exhausted fails with the reset time; --offline uses only a cache
younger than 10 minutes; a reading that cannot be made now falls back on the last known one with its age;
the check writes nothing and never refreshes a token."""

from __future__ import annotations

import time

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.checks import StackContext, graph, quota
from claudex_doctor.core.context import Options
from claudex_doctor.core.graph import run
from claudex_doctor.core.model import Status
from claudex_doctor.usage import cache
from claudex_doctor.usage.model import parse_usage
from tests.fakes.upstream import make_codex_auth_json, write_json
from tests.fakes.usage import usage_payload, usage_upstream
from tests.homekit import snapshot

fake, upstream = usage_upstream("quota-upstream")


@pytest.fixture
def paths(tmp_path, monkeypatch, upstream):
    (tmp_path / "gateway").mkdir()
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(tmp_path / "gateway"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    for name, value in upstream.proxy_env().items():
        monkeypatch.setenv(name, value)
    write_json(tmp_path / "codex" / "auth.json", make_codex_auth_json(upstream.issue_tokens()))
    return resolve()


def finding(paths, offline=False):
    ctx = StackContext(paths, Options(deadline=15, offline=offline))
    return {f.id: f for f in run(graph(), ctx, only=["quota.codex"])}["quota.codex"]


def test_room_passes_and_writes_nothing(paths, upstream):
    upstream.usage = usage_payload("room")
    before = snapshot(paths.home, paths.codex_home)
    result = finding(paths)
    assert result.status is Status.PASS, result.summary
    assert result.summary == "room in every window: 5h 23 %, weekly 41 %"
    assert result.evidence["source"] == "usage" and len(result.evidence["windows"]) == 4
    assert snapshot(paths.home, paths.codex_home) == before  # no cache written by a diagnosis


def test_near_warns(paths, upstream):
    upstream.usage = usage_payload("near")
    result = finding(paths)
    assert result.status is Status.WARN and result.summary.startswith("the 5h window: 85 % used, resets")
    assert result.reference == "references/quota.md#quota-nearly-used-up"


@pytest.mark.parametrize("kind, what", [("exhausted", "the 5h window is exhausted"),
                                        ("model", "the GPT-5.3-Codex-Spark 5h window is exhausted")])
def test_exhausted_fails_with_the_reset_time(paths, upstream, kind, what):
    upstream.usage = usage_payload(kind)
    result = finding(paths)
    assert result.status is Status.FAIL and result.summary.startswith(what)
    assert "resets" in result.summary and "(in " in result.summary
    assert result.fix.safety == "manual" and result.fix.command == "claudex-doctor quota"
    assert result.reference == "references/quota.md#quota-exhausted"


def test_offline_skips_without_a_fresh_cache_and_asks_nothing(paths, upstream):
    result = finding(paths, offline=True)
    assert result.status is Status.SKIP and "--offline" in result.summary
    assert result.reference == "references/quota.md#quota-not-checked-offline"
    cache.store(paths, parse_usage(usage_payload("exhausted"), time.time() - 900))
    assert finding(paths, offline=True).status is Status.SKIP  # 15 minutes old
    cache.store(paths, parse_usage(usage_payload("exhausted"), time.time() - 60))
    assert finding(paths, offline=True).status is Status.FAIL
    assert upstream.usage_requests() == []


def test_expired_token_shows_the_last_known_reading_with_its_age(paths, upstream):
    write_json(paths.codex_auth, make_codex_auth_json(upstream.issue_tokens(ttl=-10)))
    assert finding(paths).status is Status.WARN  # nothing known at all
    cache.store(paths, parse_usage(usage_payload("room"), time.time() - 1800))
    result = finding(paths)
    assert result.status is Status.WARN and "(last known, 30 min ago)" in result.summary
    assert any("expired" in d for d in result.details)
    cache.store(paths, parse_usage(usage_payload("exhausted"), time.time() - 1800))
    assert finding(paths).status is Status.FAIL  # still exhausted until its reset
    assert upstream.usage_requests() == []


def test_server_errors_warn(paths, upstream):
    upstream.usage_mode = 500
    result = finding(paths)
    assert result.status is Status.WARN and "answered 500" in result.summary
    assert result.reference == "references/quota.md#quota-not-read"


def test_no_login_or_an_api_key_skips(tmp_path, monkeypatch, upstream):
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(tmp_path / "gateway"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    result = finding(resolve())
    assert result.status is Status.SKIP and result.reference == "references/quota.md#quota-not-read"


def test_the_check_is_in_the_catalog_with_its_reference():
    assert quota.quota_codex in __import__("claudex_doctor.checks", fromlist=["CHECKS"]).CHECKS
    assert quota.quota_codex.fixes == ("manual",) and not quota.quota_codex.live
