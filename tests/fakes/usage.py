"""Crafted answers of `GET chatgpt.com/backend-api/wham/usage`, shaped like the real ones (the Codex CLI's
backend-client types and live captures), with reset times relative to now.

    usage_payload("room")        5h 23 %, weekly 41 %, a per-model bucket at 0 %
    usage_payload("near")        5h 85 %, weekly 62 %
    usage_payload("exhausted")   5h 100 % (limit reached), weekly 80 %, one bucket with rate_limit null
    usage_payload("model")       main bucket with room, the GPT-5.3-Codex-Spark bucket exhausted
    usage_payload("weekly")      weekly-only: the PRIMARY window is the weekly one, secondary null
"""

from __future__ import annotations

import time
from typing import Any

KINDS = ("room", "near", "exhausted", "model", "weekly")


def _window(used: float, seconds: int, reset_in: int, now: int) -> dict[str, Any]:
    return {"used_percent": used, "limit_window_seconds": seconds, "reset_after_seconds": reset_in,
            "reset_at": now + reset_in}


def _limit(primary: dict | None, secondary: dict | None, reached: bool = False) -> dict[str, Any]:
    return {"allowed": not reached, "limit_reached": reached, "primary_window": primary, "secondary_window": secondary}


def usage_payload(kind: str = "room", *, plan: str = "plus", now: float | None = None,
                  account_id: str = "acct-usage", email: str = "e2e@example.test") -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown usage kind {kind!r}; one of {KINDS}")
    t = int(now if now is not None else time.time())
    five, week = 18000, 604800
    spark_ok = {"limit_name": "GPT-5.3-Codex-Spark", "metered_feature": "codex_bengalfox",
                "rate_limit": _limit(_window(0, five, five, t), _window(0, week, week, t))}
    main = {
        "room": _limit(_window(23, five, 9421, t), _window(41, week, 352211, t)),
        "near": _limit(_window(85, five, 4000, t), _window(62, week, 300000, t)),
        "exhausted": _limit(_window(100, five, 5400, t), _window(80, week, 316705, t), reached=True),
        "model": _limit(_window(12, five, 9000, t), _window(30, week, 400000, t)),
        "weekly": _limit(_window(14, week, 524971, t), None),
    }[kind]
    extra: list[dict[str, Any]] = [spark_ok]
    if kind == "exhausted":
        extra.append({"limit_name": "codex_other", "metered_feature": "codex_other", "rate_limit": None})
    if kind == "model":
        extra = [{"limit_name": "GPT-5.3-Codex-Spark", "metered_feature": "codex_bengalfox",
                  "rate_limit": _limit(_window(100, five, 1200, t), _window(70, week, 200000, t), reached=True)}]
    return {
        "user_id": "user-usage", "account_id": account_id, "email": email, "plan_type": plan,
        "rate_limit": main, "code_review_rate_limit": None, "additional_rate_limits": extra,
        "credits": {"has_credits": False, "unlimited": False, "balance": "0",
                    "approx_local_messages": [0, 0], "approx_cloud_messages": [0, 0]},
        "spend_control": {"reached": False, "individual_limit": None},
        "rate_limit_reached_type": {"type": "rate_limit_reached"} if kind == "exhausted" else None,
        "rate_limit_reset_credits": {"available_count": 1},
    }


def rate_limit_headers(primary: float = 4, secondary: float = 48, *, now: float | None = None,
                       plan: str = "plus") -> list[tuple[str, str]]:
    """x-codex-* headers as the backend sends them on a Responses answer (5h primary, weekly secondary)."""
    t = int(now if now is not None else time.time())
    return [("x-codex-plan-type", plan), ("x-codex-active-limit", "codex"),
            ("x-codex-primary-used-percent", str(primary)), ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-after-seconds", "9421"), ("x-codex-primary-reset-at", str(t + 9421)),
            ("x-codex-secondary-used-percent", str(secondary)), ("x-codex-secondary-window-minutes", "10080"),
            ("x-codex-secondary-reset-after-seconds", "352211"), ("x-codex-secondary-reset-at", str(t + 352211)),
            ("x-codex-credits-has-credits", "False"), ("x-codex-credits-unlimited", "False"),
            ("x-codex-credits-balance", "0")]


def rate_limits_event(primary: float = 4, secondary: float = 48, *, now: float | None = None,
                      plan: str = "plus") -> dict[str, Any]:
    """A codex.rate_limits stream event, shaped like live captures."""
    t = int(now if now is not None else time.time())
    return {"type": "codex.rate_limits", "plan_type": plan,
            "rate_limits": {"allowed": True, "limit_reached": False,
                            "primary": {"used_percent": primary, "window_minutes": 300, "reset_after_seconds": 9421,
                                        "reset_at": t + 9421},
                            "secondary": {"used_percent": secondary, "window_minutes": 10080,
                                          "reset_after_seconds": 352211, "reset_at": t + 352211}},
            "code_review_rate_limits": None, "additional_rate_limits": None,
            "credits": {"has_credits": False, "unlimited": False, "balance": "0"}, "promo": None}


def usage_upstream(name: str):
    """A test module's fake chatgpt.com, one per module, reset for each test, which asserts after each test
    that no token was refreshed (reading the quota never refreshes). In the module:

        fake, upstream = usage_upstream("quota-upstream")
    """
    import pytest

    from tests.fakes.upstream import FakeUpstream

    @pytest.fixture(scope="module")
    def fake(tmp_path_factory):
        with FakeUpstream(workdir=tmp_path_factory.mktemp(name)) as server:
            yield server

    @pytest.fixture
    def upstream(fake):
        fake.reset()
        yield fake
        assert fake.token_requests() == [], "the doctor must never refresh a token"

    return fake, upstream
