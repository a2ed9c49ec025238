"""What the proxy log shows about the quota, and the cache in the runtime home: written atomically 0600,
never a token, never creating the home, read without raising, and one refresh lock at a time."""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.usage import cache, logscan
from claudex_doctor.usage.model import Source, parse_usage

EXAMPLES = Path(__file__).parent / "examples"

# What CLIProxyAPI v7.2.140 logged for a 429 (tests/e2e/FINDINGS.md), with its request dump.
MAIN_LINE = ('[2026-11-24 02:54:56] [e65da388] [warn ] [conductor_execution.go:1602] upstream execution failed: '
             'provider=codex model=gpt-5.5 auth=provider=codex auth_file=codex-current.json duration=19ms '
             'err={"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached", '
             '"plan_type": "plus", "resets_at": 1796028189, "resets_in_seconds": 500}}\n')
DUMP = """=== REQUEST INFO ===
Version: v7.2.140
URL: /v1/messages
Timestamp: 2026-11-30T08:34:49.599936839Z


=== API RESPONSE 1 ===
Timestamp: 2026-11-30T08:34:49.604488467Z

Status: 429
Headers:
Content-Length: 161
Content-Type: application/json
X-Codex-Plan-Type: plus
X-Codex-Primary-Reset-After-Seconds: 500
X-Codex-Primary-Used-Percent: 100
X-Codex-Primary-Window-Minutes: 300
X-Codex-Secondary-Used-Percent: 55
X-Codex-Secondary-Window-Minutes: 10080

Body:
{"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached", "plan_type": "plus", "resets_at": 1796028189, "resets_in_seconds": 500}}
"""
EVENT_DUMP = """=== API RESPONSE 1 ===
Timestamp: 2026-11-30T09:00:00Z

Status: 200
Body:
event: codex.rate_limits
data: {"type": "codex.rate_limits", "plan_type": "pro", "rate_limits": {"primary": {"used_percent": 12, "window_minutes": 10080, "reset_at": 1796600000}}}

event: response.created
data: {"type": "response.created"}
"""


@pytest.fixture
def paths(tmp_path, monkeypatch):
    home = tmp_path / "gateway"
    home.mkdir()
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(home))
    return resolve()


def test_the_429_line_of_main_log_gives_the_reset(paths):
    (paths.auth_dir / "logs").mkdir(parents=True)
    (paths.auth_dir / "logs" / "main.log").write_text("[2026-11-24 02:54:50] [--------] [info ] started\n" + MAIN_LINE)
    reading = logscan.latest(paths)
    assert reading.source is Source.LIMIT and reading.plan == "plus"
    assert reading.windows[0].reset_at == 1796028189 and reading.windows[0].exhausted
    assert reading.origin.endswith("auth/logs/main.log")


def test_a_request_dump_gives_the_windows_from_its_headers(paths):
    (paths.auth_dir / "logs").mkdir(parents=True)
    (paths.auth_dir / "logs" / "error-v1-messages-2026-11-30T083449-0c005cc5.log").write_text(DUMP)
    reading = logscan.latest(paths)
    assert reading.source is Source.HEADERS  # the headers say more than the body at the same moment
    assert [(w.title, w.used_percent) for w in reading.windows] == [("5h", 100), ("weekly", 55)]
    expected = datetime(2026, 11, 30, 8, 34, 49, tzinfo=timezone.utc).timestamp()
    assert reading.fetched_at == pytest.approx(expected, abs=1)


def test_a_rate_limits_event_in_a_stream_dump(paths):
    paths.logs_dir.mkdir()
    (paths.logs_dir / "v1-messages-x.log").write_text(EVENT_DUMP)
    reading = logscan.latest(paths)
    assert reading.source is Source.EVENT and reading.plan == "pro"
    assert [(w.title, w.used_percent) for w in reading.windows] == [("weekly", 12)]


def test_the_newest_reading_wins(paths):
    (paths.auth_dir / "logs").mkdir(parents=True)
    (paths.auth_dir / "logs" / "a.log").write_text(DUMP)
    (paths.auth_dir / "logs" / "b.log").write_text(EVENT_DUMP)
    assert logscan.latest(paths).source is Source.EVENT


def test_a_429_just_after_a_reading_with_room_is_the_news(paths):
    (paths.auth_dir / "logs").mkdir(parents=True)
    (paths.auth_dir / "logs" / "a.log").write_text(EVENT_DUMP)  # 09:00:00Z, 12 % used
    stamp = datetime(2026, 11, 30, 9, 0, 2, tzinfo=timezone.utc).astimezone().strftime("[%Y-%m-%d %H:%M:%S]")
    (paths.auth_dir / "logs" / "main.log").write_text(MAIN_LINE.replace("[2026-11-24 02:54:56]", stamp))
    assert logscan.latest(paths).source is Source.LIMIT


@pytest.mark.parametrize("text", ["", "usage_limit_reached\n", "x-codex-primary-used-percent: lots\n",
                                  "[2026-11-24 02:54:56] usage_limit_reached {not json\n",
                                  "[2026-11-24 02:54:56] codex.rate_limits {\"type\": \"codex.rate_limits\"}\n",
                                  "\x00\xff" * 1000, "{" * 100000 + "usage_limit_reached"])
def test_log_junk_gives_nothing_and_never_raises(paths, text):
    paths.logs_dir.mkdir()
    (paths.logs_dir / "main.log").write_text(text, errors="surrogateescape")
    assert logscan.latest(paths) is None


def test_a_fifo_named_like_a_log_is_not_opened(paths):
    paths.logs_dir.mkdir()
    os.mkfifo(paths.logs_dir / "main.log")
    assert logscan.latest(paths) is None  # would hang if it were opened


# -- the cache -------------------------------------------------------------------------------

def reading(at: float | None = None):
    return parse_usage(json.loads((EXAMPLES / "wham-usage.json").read_text()), time.time() if at is None else at)


def test_store_and_load_round_trip_private_and_without_personal_data(paths):
    assert cache.store(paths, reading(), problem=None)
    path = cache.cache_path(paths)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "someone@example.com" not in text and "00000000-1111" not in text
    loaded = cache.load(paths)
    assert loaded.reading == reading().__class__.from_dict(json.loads(text)["reading"])
    assert loaded.problem is None and loaded.age() < 5 and not loaded.stale(60)


def test_a_failed_attempt_keeps_the_reading_and_counts_as_asked(paths):
    cache.store(paths, reading(time.time() - 3600), attempted_at=time.time() - 3600)
    assert cache.load(paths).stale(60)
    cache.store(paths, None, problem="expired", message="the access token expired")
    loaded = cache.load(paths)
    assert loaded.reading is not None and loaded.last_problem == "expired"
    assert not loaded.stale(60)  # asked just now, even though it failed


def test_no_home_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(tmp_path / "nowhere"))
    paths = resolve()
    assert cache.store(paths, reading()) is False
    assert not paths.home.exists()
    assert cache.load(paths).problem == "missing" and cache.load(paths).stale(60)


@pytest.mark.parametrize("content", ['{"version": 1, "reading": 5}', "[]", "garbage", '{"version": 99}',
                                     '{"version": 1, "attempted_at": "x", "reading": {"source": "usage"}}'])
def test_a_broken_cache_reads_as_nothing(paths, content):
    cache.cache_path(paths).write_text(content)
    loaded = cache.load(paths)
    assert loaded.reading is None and loaded.stale(60)


def test_one_refresh_lock_at_a_time(paths):
    first = cache.refresh_lock(paths)
    assert first is not None
    try:
        assert cache.refresh_lock(paths) is None and cache.refreshing(paths)
    finally:
        os.close(first)
    again = cache.refresh_lock(paths)
    assert again is not None
    os.close(again)
    assert not cache.refreshing(paths)


@pytest.mark.parametrize("configured", ["absolute", "tilde"])
def test_the_logs_in_the_configured_auth_dir_are_read(paths, tmp_path, configured):
    """config.yaml's auth-dir, wherever it is, holds the proxy's file logs: not only the home's ./auth."""
    auth = tmp_path / "elsewhere" if configured == "absolute" else paths.user_home / "creds"
    (auth / "logs").mkdir(parents=True)
    (auth / "logs" / "main.log").write_text(MAIN_LINE)
    shown = str(auth) if configured == "absolute" else "~/creds"
    paths.config.write_text(f'host: "127.0.0.1"\nport: 8327\nauth-dir: "{shown}"\n')
    reading = logscan.latest(paths)
    assert reading is not None and reading.source is Source.LIMIT
    assert reading.origin.endswith("logs/main.log")


def test_a_log_line_nested_past_any_real_answer_is_skipped_not_parsed(monkeypatch):
    """The fallback parse (a JSON value followed by more words) is never handed text the bounds refused."""
    parsed: list[str] = []
    real = json.JSONDecoder.raw_decode
    monkeypatch.setattr(json.JSONDecoder, "raw_decode", lambda self, s, idx=0: parsed.append(s) or real(self, s, idx))
    deep = '{"error": ' * 5000 + '{"type": "usage_limit_reached"}' + "}" * 5000 + " and more words"
    assert logscan._json_from(deep, "usage_limit_reached") is None and parsed == []
    fine = '{"error": {"type": "usage_limit_reached", "resets_in_seconds": 5}} and more words'
    assert logscan._json_from(fine, "usage_limit_reached") == {"error": {"type": "usage_limit_reached",
                                                                         "resets_in_seconds": 5}}
