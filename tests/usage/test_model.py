"""Quota readings from every shape the backend sends: windows labelled by their length, never by their
slot; percentages kept raw; nothing a hostile or broken answer holds makes a parser raise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claudex_doctor.usage.model import (
    Reading,
    Source,
    Window,
    age_words,
    countdown,
    parse_event,
    parse_headers,
    parse_limit_error,
    parse_usage,
    window_label,
)
from claudex_doctor.usage.quota import Level, summary, verdict

EXAMPLES = Path(__file__).parent / "examples"
NOW = 1789990000.0  # before every reset_at in the examples


def example(name: str):
    return json.loads((EXAMPLES / name).read_text())


def titles(reading: Reading) -> list[tuple[str, float, bool]]:
    return [(w.title, w.used_percent, w.exhausted) for w in reading.windows]


def test_usage_with_both_windows_and_a_model_bucket():
    reading = parse_usage(example("wham-usage.json"), NOW)
    assert reading.source is Source.USAGE and reading.plan == "plus"
    assert titles(reading) == [("5h", 23, False), ("weekly", 41, False), ("GPT-5.3-Codex-Spark 5h", 0, False),
                               ("GPT-5.3-Codex-Spark weekly", 0, False)]
    assert reading.windows[0].reset_at == 1790000000 and reading.windows[2].bucket == "codex_bengalfox"
    assert verdict(reading, NOW)[0] is Level.ROOM


def test_weekly_only_plan_sends_the_weekly_window_as_primary():
    reading = parse_usage(example("wham-usage.weekly-only.json"), NOW)
    main = [w for w in reading.windows if w.main]
    assert [(w.label, w.seconds) for w in main] == [("weekly", 604800)]
    assert reading.main_window(18000, NOW) is None and reading.main_window(604800, NOW).used_percent == 14


def test_exhausted_window_fails_with_its_reset_and_a_null_bucket_is_skipped():
    reading = parse_usage(example("wham-usage.exhausted.json"), NOW)
    assert titles(reading)[:2] == [("5h", 100, True), ("weekly", 80, False)]
    assert all(w.bucket != "codex_other" for w in reading.windows)  # its rate_limit is null
    assert reading.reached_type == "rate_limit_reached"
    level, deciding = verdict(reading, NOW)
    assert level is Level.EXHAUSTED and [w.title for w in deciding] == ["5h"]
    assert "5h window is exhausted" in summary(level, deciding, reading, NOW)
    assert "resets" in summary(level, deciding, reading, NOW)


def test_a_closed_bucket_whose_windows_say_less_than_100_is_still_exhausted():
    data = example("wham-usage.json")
    data["rate_limit"].update(allowed=False, limit_reached=True)
    reading = parse_usage(data, NOW)
    assert verdict(reading, NOW)[0] is Level.EXHAUSTED
    assert [w.title for w in verdict(reading, NOW)[1]] == ["weekly"]  # the fullest one closed it


def test_percent_over_100_is_kept_and_near_is_80():
    data = example("wham-usage.json")
    data["rate_limit"]["primary_window"]["used_percent"] = 130
    data["rate_limit"]["secondary_window"]["used_percent"] = 80
    reading = parse_usage(data, NOW)
    assert reading.windows[0].used_percent == 130 and reading.windows[0].exhausted
    data["rate_limit"]["primary_window"]["used_percent"] = 79.9
    level, deciding = verdict(parse_usage(data, NOW), NOW)
    assert level is Level.NEAR and [w.title for w in deciding] == ["weekly"]


def test_a_window_that_has_reset_since_no_longer_counts():
    reading = parse_usage(example("wham-usage.exhausted.json"), NOW)
    after = reading.windows[0].reset_at + 1
    assert reading.windows[0].reset_passed(after)
    assert verdict(reading, after)[0] is not Level.EXHAUSTED
    assert verdict(reading, 4_000_000_000)[0] is Level.UNKNOWN


def test_reset_after_seconds_is_used_when_reset_at_is_missing():
    data = example("wham-usage.json")
    del data["rate_limit"]["primary_window"]["reset_at"]
    assert parse_usage(data, NOW).windows[0].reset_at == NOW + 9421


@pytest.mark.parametrize("junk", [None, [], "text", 5, {"rate_limit": "x"}, {"rate_limit": {"primary_window": []}},
                                  {"rate_limit": {"primary_window": {"used_percent": "lots"}}},
                                  {"rate_limit": {"primary_window": {"used_percent": True}}},
                                  {"rate_limit": {"primary_window": {"used_percent": float("nan")}}},
                                  {"additional_rate_limits": [1, "x", {"rate_limit": 7}]},
                                  {"additional_rate_limits": {"a": {"rate_limit": {}}}},
                                  {"credits": {"balance": {"deep": 1}}, "plan_type": ["x"]}])
def test_junk_never_raises(junk):
    reading = parse_usage(junk, NOW)
    assert reading is None or all(isinstance(w, Window) for w in reading.windows)
    assert parse_event(junk, NOW) is None or isinstance(parse_event(junk, NOW), Reading)
    assert parse_limit_error(junk, NOW) is None or isinstance(parse_limit_error(junk, NOW), Reading)


@pytest.mark.parametrize("seconds, label", [(18000, "5h"), (604800, "weekly"), (3600, "1h"), (86400 * 30, "30d"),
                                            (1800, "30m"), (61, "61s"), (0, "limit"), (None, "limit")])
def test_windows_are_named_by_their_length(seconds, label):
    assert window_label(seconds) == label


def test_headers_from_a_real_429_capture():
    # earendil-works/pi#4172 (Plus, 429), verbatim names and values
    headers = {"X-Codex-Active-Limit": "premium", "X-Codex-Plan-Type": "plus", "X-Codex-Primary-Used-Percent": "100",
               "X-Codex-Secondary-Used-Percent": "80", "X-Codex-Primary-Window-Minutes": "300",
               "X-Codex-Primary-Over-Secondary-Limit-Percent": "0", "X-Codex-Secondary-Window-Minutes": "10080",
               "X-Codex-Primary-Reset-After-Seconds": "13873", "X-Codex-Secondary-Reset-After-Seconds": "316705",
               "X-Codex-Primary-Reset-At": "1777936568", "X-Codex-Secondary-Reset-At": "1778239400",
               "X-Codex-Credits-Has-Credits": "False", "X-Codex-Credits-Balance": "0",
               "X-Codex-Credits-Unlimited": "False"}
    reading = parse_headers(headers, 1777922695)
    assert reading.source is Source.HEADERS and reading.plan == "plus"
    assert titles(reading) == [("5h", 100, True), ("weekly", 80, False)]
    assert reading.windows[0].reset_at == 1777936568
    assert reading.credits is not None and not reading.credits.worth_showing


def test_headers_of_a_weekly_only_free_plan_drop_the_empty_secondary():
    # icebear0828/codex-proxy#65: primary is the weekly window; secondary 0 minutes, reset-at empty
    headers = {"x-codex-plan-type": "free", "x-codex-primary-used-percent": "100",
               "x-codex-secondary-used-percent": "0", "x-codex-primary-window-minutes": "10080",
               "x-codex-secondary-window-minutes": "0", "x-codex-primary-reset-after-seconds": "471285",
               "x-codex-secondary-reset-after-seconds": "0", "x-codex-primary-reset-at": "1773860656",
               "x-codex-secondary-reset-at": ""}
    reading = parse_headers(headers, 1773389371)
    assert titles(reading) == [("weekly", 100, True)]


def test_headers_of_a_model_family_name_their_bucket():
    headers = {"x-codex-bengalfox-primary-used-percent": "62", "x-codex-bengalfox-primary-window-minutes": "300",
               "x-codex-bengalfox-limit-name": "gpt-5.2-codex-sonic"}
    reading = parse_headers(headers, NOW)
    assert titles(reading) == [("gpt-5.2-codex-sonic 5h", 62, False)]
    assert reading.windows[0].bucket == "codex_bengalfox"
    assert parse_headers({"content-type": "application/json"}, NOW) is None


def test_rate_limits_event():
    reading = parse_event(example("codex-rate-limits-event.json"), NOW)
    assert reading.source is Source.EVENT and reading.plan == "plus"
    assert titles(reading) == [("5h", 4, False), ("weekly", 48, False)]
    keyed = {"type": "codex.rate_limits", "rate_limits": None,
             "additional_rate_limits": {"GPT-5.3-Codex-Spark": {"primary": {"used_percent": 100, "window_minutes": 300,
                                                                           "limit_reached": True}}}}
    assert titles(parse_event(keyed, NOW)) == [("GPT-5.3-Codex-Spark 5h", 100, True)]
    assert parse_event({"type": "response.created"}, NOW) is None


def test_usage_limit_body_bare_and_wrapped_in_a_stream_error():
    bare = parse_limit_error(example("usage-limit-429.json"), NOW)
    assert bare.source is Source.LIMIT and bare.windows[0].exhausted and bare.windows[0].reset_at == 1777936568
    wrapped = {"type": "error", "error": {"type": "usage_limit_reached", "plan_type": "free",
                                          "resets_in_seconds": 600}, "status_code": 429}
    reading = parse_limit_error(wrapped, NOW)
    assert reading.plan == "free" and reading.windows[0].reset_at == NOW + 600 and reading.windows[0].label == "limit"
    assert "the quota is exhausted" in summary(*verdict(reading, NOW), reading, NOW)
    assert parse_limit_error({"error": {"type": "rate_limit_error"}}, NOW) is None


def test_a_reading_survives_the_cache_round_trip_and_junk_does_not():
    reading = parse_usage(example("wham-usage.exhausted.json"), NOW)
    again = Reading.from_dict(json.loads(json.dumps(reading.to_dict())))
    assert again == reading
    for junk in (None, {}, {"source": "nope", "fetched_at": 1, "windows": []}, {"source": "usage", "windows": []},
                 {"source": "usage", "fetched_at": 1, "windows": [{"bucket": 5}, {"bucket": "x", "used_percent": "y"}]}):
        restored = Reading.from_dict(junk)
        assert restored is None or restored.windows == ()


def test_nothing_personal_goes_into_a_reading():
    reading = parse_usage(example("wham-usage.json"), NOW)
    text = json.dumps(reading.to_dict())
    assert "someone@example.com" not in text and "00000000-1111" not in text and "user-AbCdEf" not in text


@pytest.mark.parametrize("seconds, words", [(0, "0s"), (59, "59s"), (600, "10m"), (7500, "2h05m"),
                                            (47 * 3600, "47h00m"), (3 * 86400 + 4 * 3600, "3d4h"), (-5, "0s")])
def test_countdown(seconds, words):
    assert countdown(seconds) == words


def test_age_words():
    assert age_words(2) == "just now" and age_words(40) == "40 s ago" and age_words(600) == "10 min ago"
    assert age_words(3 * 3600) == "3 h ago" and age_words(5 * 86400) == "5 days ago"
