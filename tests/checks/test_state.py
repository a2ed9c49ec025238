"""checks/_state.py: reading the proxy's benches from its log, the lines as CLIProxyAPI v7.2.140 writes them."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta

import pytest

from claudex_doctor.checks import _state
from claudex_doctor.core.model import Status
from tests.authkit import Login, Stack

NOW = datetime.now().astimezone()


def stamp(at: datetime) -> str:
    return at.strftime("[%Y-%m-%d %H:%M:%S]")


def upstream_line(at: datetime, model: str, err: str) -> str:
    return (f"{stamp(at)} [2aa17ff8] [warn ] [conductor_execution.go:1602] upstream execution failed: provider=codex "
            f"model={model} auth=provider=codex auth_file=codex-current.json duration=49ms err={err}")


QUOTA = '{"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached", "plan_type": "plus", ' \
        '"resets_in_seconds": 3600}}'
UNAUTHORIZED = '{"error":{"message":"Your authentication token has been invalidated. Please try signing in again.",' \
               '"type":"authentication_error","code":"auth_unavailable"}}'
NOT_SUPPORTED = "{\"detail\": \"The 'gpt-5.5' model is not supported when using Codex with a ChatGPT account.\"}"
REUSED = ('[warn ] [openai_auth.go:320] Token refresh attempt 1 failed with non-retryable error: token refresh failed '
          'with status 401: {"error": {"code": "refresh_token_reused"}}')


@pytest.mark.parametrize("body, kind", [
    (QUOTA, "quota"), (UNAUTHORIZED, "unauthorized"), (NOT_SUPPORTED, "model_not_supported"),
    ('{"detail": "The \'gpt-9\' model requires a newer version of Codex."}', "model_not_supported"),
    ("stream error: stream disconnected before completion: stream closed before response.completed", "transient"),
    ("request error, error status: 502, error message: Upstream request failed", "transient"),
    ("something else entirely", "other"),
])
def test_classify(body, kind):
    assert _state.classify(body) == kind


def test_reset_time_from_the_upstream_body():
    at = NOW.replace(microsecond=0)
    err = _state.UpstreamError("gpt-5.5", at, QUOTA, "quota")
    assert err.reset_at() == at + timedelta(seconds=3600)
    pinned = _state.UpstreamError("gpt-5.5", at, '{"error": {"resets_at": 1796031759, "resets_in_seconds": 1}}', "quota")
    assert int(pinned.reset_at().timestamp()) == 1796031759  # resets_at wins, as the proxy does
    assert _state.UpstreamError("gpt-5.5", at, NOT_SUPPORTED, "model_not_supported").quoted.startswith("The 'gpt-5.5'")


@pytest.fixture
def stack(tmp_path) -> Stack:
    made = Stack(tmp_path)
    made.make_full_home()
    return made


def test_history_keeps_the_newest_error_per_model_and_the_last_reused_refresh(stack):
    old, new = NOW - timedelta(minutes=30), NOW - timedelta(minutes=2)
    log = stack.home / "cli-proxy-api.log"
    log.write_text("\n".join([upstream_line(old, "gpt-5.5", QUOTA), upstream_line(new, "gpt-5.5", UNAUTHORIZED),
                              upstream_line(old, "gpt-5.4", NOT_SUPPORTED), f"{stamp(new)} [--------] {REUSED}",
                              "garbage \x00 line", "upstream execution failed: but not the shape"]) + "\n")
    errors, reused = _state.history(stack.context())
    assert errors["gpt-5.5"].kind == "unauthorized" and errors["gpt-5.4"].kind == "model_not_supported"
    assert reused is not None and abs((reused - new).total_seconds()) < 1


def test_auth_sync_names_a_spent_token_on_both_sides(stack):
    login = Login()
    stack.write_codex(login.codex_json())
    stack.write_proxy(login.proxy_json())
    past = time.time() - 600
    for path in (stack.codex_file, stack.proxy_file):
        os.utime(path, (past, past))
    found = stack.run("auth.sync")["auth.sync"]
    assert found.status is Status.PASS  # same tokens, nothing in the log: in sync
    (stack.home / "cli-proxy-api.log").write_text(f"{stamp(NOW - timedelta(minutes=1))} [--------] {REUSED}\n")
    found = stack.run("auth.sync")["auth.sync"]
    assert found.status is Status.FAIL and "it is spent" in found.summary
    assert found.fix.primitive == "manual" and found.fix.command == "codex login && claudex-doctor sync-auth"
    assert found.reference == "references/auth.md#spent-refresh-token-on-both-sides"
    stack.write_proxy(json.loads(stack.proxy_file.read_text()))  # written after the failure: history
    assert stack.run("auth.sync")["auth.sync"].status is Status.PASS


def test_a_suspended_model_gets_the_same_advice_from_proxy_models_and_env_mapping(tmp_path):
    """The proxy left gpt-5.6-luna out of /v1/models after a 401 on it: a restart is the repair, not a remap."""
    from tests.cfgkit import Home

    home = Home(tmp_path)
    home.env_values()
    offered = ["gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.5"]  # no gpt-5.6-luna: suspended
    (home.paths.home / "cli-proxy-api.log").write_text(
        upstream_line(NOW - timedelta(minutes=5), "gpt-5.6-luna", UNAUTHORIZED) + "\n")
    mapping = home.one("env.mapping", offered=offered)
    assert mapping.status is Status.PASS and mapping.fix is None, mapping
    note = next(d for d in mapping.details if "gpt-5.6-luna" in d)
    assert "suspended" in note and "proxy.models" in note and "proxy-state.md#model-suspended-by-the-proxy" in note
    # without the log line it is a model the account lacks: a failing mapping, no word of a suspension
    (home.paths.home / "cli-proxy-api.log").write_text("")
    unoffered = home.one("env.mapping", offered=offered)
    assert unoffered.status is Status.FAIL and "not offered to this account" in unoffered.summary
    assert not any("suspended" in d for d in unoffered.details)


@pytest.mark.parametrize("seconds, reset", [
    ("3600", NOW + timedelta(hours=1)),
    ("0", NOW),
    ("99999999999", None),           # three thousand years: no window is that long
    ("9" * 40, None),                # would overflow a datetime
])
def test_a_logged_reset_delay_is_a_time_only_when_a_window_can_have_it(seconds, reset):
    body = QUOTA.replace('"resets_in_seconds": 3600', f'"resets_in_seconds": {seconds}')
    assert _state.UpstreamError("gpt-5.5", NOW, body, "quota").reset_at() == reset


def test_a_reply_reset_delay_no_window_has_is_ignored():
    from types import SimpleNamespace

    from claudex_doctor.checks._live import _reset_seconds

    def reply(data, headers=None):
        return SimpleNamespace(data=data, events=[], headers=headers or {})

    assert _reset_seconds(reply({"error": {"resets_in_seconds": 1800}})) == 1800
    assert _reset_seconds(reply({"error": {"resets_in_seconds": float("inf")}})) is None
    assert _reset_seconds(reply({"error": {"resets_in_seconds": 10 ** 30}})) is None
    assert _reset_seconds(reply({}, {"retry-after": "9" * 40})) is None
    assert _reset_seconds(reply({}, {"retry-after": "120"})) == 120


# -- asking another model: only when its answer can change the verdict, once per model a run ----------

class CooldownReply:
    status = 429
    headers: dict = {}
    data = None
    events: list = []

    def __init__(self, model: str) -> None:
        self.text = f'{{"error":{{"message":"All credentials for model {model} are cooling down via provider codex"}}}}'

    def error_message(self) -> str:
        return self.text


def asking(monkeypatch) -> list[str]:
    """Record the models ask_sibling would send a request for, answering as a working login would."""
    asked: list[str] = []

    class Refused:  # what the proxy answers when this model is benched too
        error, ok, status, data = None, False, 429, None

        def error_message(self) -> str:
            return "cooling down"

    def fake_post(self, path, body, **kwargs):
        asked.append(body["model"])
        return Refused()

    from claudex_doctor.proxy import client

    monkeypatch.setattr(client.Probe, "post", fake_post)
    return asked


def test_a_passed_reset_decides_a_stale_cooldown_without_asking_another_model(tmp_path, monkeypatch):
    from claudex_doctor.checks._live import _cooldown
    from tests.cfgkit import Home

    home = Home(tmp_path)
    home.env_values()
    asked = asking(monkeypatch)
    ctx = home.context()
    past = QUOTA.replace('"resets_in_seconds": 3600', '"resets_in_seconds": 60')
    (home.paths.home / "cli-proxy-api.log").write_text(upstream_line(ctx.now() - timedelta(hours=2), "gpt-5.5", past) + "\n")
    ev: dict = {}
    outcome = _cooldown(ctx, CooldownReply("gpt-5.5"), ev)
    assert outcome is not None and outcome.summary.startswith("stale cooldown: the reset time passed"), outcome
    assert asked == [] and "asked_other_model" not in ev


def test_one_other_model_is_asked_once_a_run_whichever_model_it_stands_in_for(tmp_path, monkeypatch):
    from tests.cfgkit import Home

    home = Home(tmp_path)
    home.env_values()
    asked = asking(monkeypatch)
    ctx = home.context()
    other = _state.sibling(ctx, "gpt-5.5")
    assert other is not None and _state.sibling(ctx, "gpt-5.4") == other  # both stand in for one model
    first, second = _state.ask_sibling(ctx, "gpt-5.5"), _state.ask_sibling(ctx, "gpt-5.4")
    assert first == second and first is not None and first.model == other and first.status == 429
    assert len(asked) == 1 and asked[0].startswith(other)
