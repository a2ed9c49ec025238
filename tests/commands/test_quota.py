"""`claudex-doctor quota` as a user runs it (against the fake upstream), and the quota in `checks`, the JSON
schema, `status` and the support report."""

from __future__ import annotations

import json
import re
import time

import jsonschema
import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.usage import cache
from claudex_doctor.usage.model import parse_usage
from tests.commands.test_tty import run_in_pty
from tests.conftest import run_cli
from tests.fakes.upstream import make_codex_auth_json, write_json
from tests.fakes.usage import usage_payload, usage_upstream

ANSI = re.compile(r"\x1b\[[0-9;]*m")


fake, upstream = usage_upstream("cli-upstream")


@pytest.fixture
def env(tmp_path, upstream):
    (tmp_path / "gateway").mkdir()
    tokens = upstream.issue_tokens()
    write_json(tmp_path / "codex" / "auth.json", make_codex_auth_json(tokens))
    return {"CLAUDEX_GATEWAY_HOME": str(tmp_path / "gateway"), "CODEX_HOME": str(tmp_path / "codex"),
            **upstream.proxy_env(), "CANARY": tokens.access_token}


@pytest.mark.parametrize("kind, code, state", [("room", 0, "room"), ("near", 0, "near"), ("exhausted", 1, "exhausted"),
                                               ("weekly", 0, "room")])
def test_json_and_exit_codes(env, upstream, kind, code, state):
    upstream.usage = usage_payload(kind)
    proc = run_cli("quota", "--json", env=env)
    assert proc.returncode == code, proc.stderr
    data = json.loads(proc.stdout)
    assert data["state"] == state and data["fresh"] and data["source"] == "usage" and data["plan"] == "plus"
    assert all({"title", "used_percent", "reset_at", "resets_in_seconds"} <= set(w) for w in data["windows"])
    assert env["CANARY"] not in proc.stdout + proc.stderr


def test_plain_when_piped(env, upstream):
    upstream.usage = usage_payload("exhausted")
    proc = run_cli("quota", env=env)
    assert proc.returncode == 1 and not ANSI.search(proc.stdout)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Codex quota") and "plan plus" in lines[0] and "just now" in lines[0]
    assert re.search(r"^  5h\s+\S+\s+exhausted  resets \S+.*\(in 1h\d\dm\)$", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^  weekly\s+\S+\s+80\.0 %  resets", proc.stdout, re.MULTILINE)
    assert "references/quota.md#quota-exhausted" in proc.stdout


def test_bars_and_colors_on_a_terminal(env, upstream):
    upstream.usage = usage_payload("near")
    out = run_in_pty(["quota"], env_extra={k: v for k, v in env.items() if k != "CANARY"})
    assert "\x1b[" in out and "━" in out and "85.0 %" in ANSI.sub("", out)


def test_offline_asks_nothing_and_shows_the_cache(env, upstream):
    upstream.usage = usage_payload("near")
    assert run_cli("quota", env=env).returncode == 0
    proc = run_cli("quota", "--offline", "--json", env=env)
    data = json.loads(proc.stdout)
    assert data["state"] == "near" and not data["fresh"] and len(upstream.usage_requests()) == 1


def test_an_expired_login_says_so_and_shows_the_last_values(env, upstream, tmp_path):
    upstream.usage = usage_payload("room")
    assert run_cli("quota", env=env).returncode == 0
    write_json(tmp_path / "codex" / "auth.json", make_codex_auth_json(upstream.issue_tokens(ttl=-60)))
    proc = run_cli("quota", env=env)
    assert proc.returncode == 0 and "not read now:" in proc.stdout and "expired" in proc.stdout
    assert "23.0 %" in proc.stdout and len(upstream.usage_requests()) == 1


def test_nothing_at_all(tmp_path):
    proc = run_cli("quota", "--offline", env={"CLAUDEX_GATEWAY_HOME": str(tmp_path / "none")})
    assert proc.returncode == 0 and "no reading" in proc.stdout and not (tmp_path / "none").exists()


def test_catalog_schema_status_and_report(env, upstream, tmp_path, monkeypatch):
    checks = json.loads(run_cli("checks", "--json", env=env).stdout)
    assert "quota.codex" in {c["id"] for c in checks}
    # a cached reading: the offline run uses it; status and the report show it
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", env["CLAUDEX_GATEWAY_HOME"])
    cache.store(resolve(), parse_usage(usage_payload("near"), time.time() - 120))
    run = run_cli("--json", "--offline", "--only", "quota.codex", env=env)
    document = json.loads(run.stdout)
    jsonschema.validate(document, json.loads(run_cli("schema").stdout))
    found = {c["id"]: c for c in document["checks"]}["quota.codex"]
    assert found["status"] == "warn" and found["summary"].startswith("the 5h window: 85 % used")
    status = json.loads(run_cli("status", "--json", env=env).stdout)
    assert status["quota"]["state"] == "near" and status["quota"]["age_seconds"] >= 120
    text = run_cli("status", env=env).stdout
    assert re.search(r"^  quota    5h 85 %, weekly 62 %  \(80 % or more used\) \(chatgpt.com usage endpoint, 2 min ago",
                     text, re.MULTILINE), text
    report = run_cli("report", "--offline", "--format", "json", "-o", "-", env=env)
    assert json.loads(report.stdout)["quota"]["state"] == "near"
    markdown = run_cli("report", "--offline", "-o", "-", env=env).stdout
    assert "## Codex quota (last known)" in markdown and "| 5h | 85 % |" in markdown
    assert upstream.usage_requests() == []


def test_help_lists_the_commands():
    out = run_cli("--help").stdout
    assert "quota" in out and "statusline" in out
