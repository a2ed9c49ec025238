"""The quota and the status line on the real stack: the real CLIProxyAPI (its config's proxy-url, its logs),
the real Claude Code rendering `claudex-doctor statusline`, the fake chatgpt.com and auth.openai.com.

Facts these tests pin (see tests/e2e/FINDINGS.md):
- the request dumps of the real proxy carry the upstream's X-Codex-* headers and stream events, and its
  main.log the 429 body with resets_at: `quota --offline` reads them;
- Claude Code (2.1.33x) passes the MAPPED model string as `model.id` and `model.display_name`
  (`gpt-5.6-sol(xhigh)`, not `claude-opus-...`), and no `rate_limits` for a gateway session.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import httpx
import pytest

from tests.fakes.upstream import make_codex_auth_json, make_proxy_auth_json, write_json
from tests.fakes.usage import rate_limit_headers, rate_limits_event, usage_payload

from .scenario import Stack

pytestmark = pytest.mark.e2e
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]")


@pytest.fixture(scope="module")
def stack(proxy_bin, claude_bin, codex_bin, fake_upstream, tmp_path_factory):
    built = Stack(tmp_path_factory.mktemp("quota"), fake_upstream, proxy_bin, claude_bin, codex_bin)
    try:
        built.build()
        yield built
    finally:
        built.teardown()


@pytest.fixture
def fresh(stack):
    stack.upstream.reset()
    (stack.home / "usage-cache.json").unlink(missing_ok=True)
    yield stack
    assert stack.upstream.token_requests() == [], "nothing here may refresh a token"


def quota_json(stack: Stack, *args: str, env: dict | None = None) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "claudex_doctor", "quota", "--json", *args], env=env or stack.env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def send(stack: Stack, model: str = "gpt-5.5") -> httpx.Response:
    env_file = (stack.home / "claude-code-gpt54.env").read_text()
    key = re.search(r"ANTHROPIC_AUTH_TOKEN=['\"]?([^'\"\s]+)", env_file).group(1)
    return httpx.post(f"http://127.0.0.1:{stack.port}/v1/messages", timeout=30,
                      headers={"Authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"},
                      json={"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})


def test_the_doctor_checks_the_quota_of_a_healthy_stack(fresh):
    code, checks, _ = fresh.findings("--only", "quota.codex")
    assert checks["quota.codex"]["status"] == "pass", checks["quota.codex"]
    assert len(fresh.upstream.usage_requests()) == 1


def test_quota_goes_through_the_configs_proxy_url_alone(fresh):
    """The doctor's own environment has no proxy: the request reaches chatgpt.com through config.yaml's
    proxy-url, as the proxy's own traffic does."""
    env = {k: v for k, v in fresh.env.items() if "proxy" not in k.lower()}
    fresh.upstream.usage = usage_payload("exhausted")
    code, data = quota_json(fresh, env=env)
    assert code == 1 and data["state"] == "exhausted" and data["fresh"]
    assert [w["title"] for w in data["windows"] if w["exhausted"]] == ["5h"]
    assert len(fresh.upstream.usage_requests()) == 1
    assert fresh.upstream.usage_requests()[0].headers["chatgpt-account-id"] == fresh.tokens.account_id


def test_headers_and_events_that_passed_through_the_proxy(fresh):
    fresh.must("set-config", "request-log=true")
    fresh.must("restart")
    try:
        fresh.upstream.rate_headers = rate_limit_headers(primary=31, secondary=57)
        assert send(fresh).status_code == 200
        code, data = quota_json(fresh, "--offline")
        assert code == 0 and data["source"] in ("headers", "event"), data
        shown = {w["title"]: w["used_percent"] for w in data["windows"]}
        assert shown == {"5h": 31, "weekly": 57}
        fresh.upstream.rate_headers = []
        fresh.upstream.rate_event = rate_limits_event(primary=44, secondary=66)
        time.sleep(1.1)  # the dumps' timestamps must differ to tell the newer
        assert send(fresh).status_code == 200
        _, data = quota_json(fresh, "--offline")
        assert data["source"] == "event" and {w["title"]: w["used_percent"] for w in data["windows"]} == \
            {"5h": 44, "weekly": 66}
        assert fresh.upstream.usage_requests() == []
    finally:
        fresh.must("set-config", "request-log=false")
        fresh.must("restart")


def test_a_429_in_the_proxy_log_gives_the_reset_time(fresh):
    fresh.upstream.set_mode("usage_limit", resets_in_seconds=5400)
    try:
        assert send(fresh).status_code == 429
    finally:
        fresh.upstream.set_mode("ok")
    code, data = quota_json(fresh, "--offline")
    assert code == 1 and data["state"] == "exhausted" and data["source"] in ("limit", "headers"), data
    assert 5000 < data["windows"][0]["resets_in_seconds"] <= 5400
    fresh.must("restart")  # the proxy's cooldown lives in memory


def test_an_expired_login_is_never_refreshed(fresh):
    """Both credentials expired and the proxy stopped (it would refresh its own at start): the doctor says
    so, shows the last reading, and sends nothing to chatgpt.com or auth.openai.com."""
    fresh.upstream.usage = usage_payload("near")
    assert quota_json(fresh)[1]["state"] == "near"
    fresh.must("stop")
    codex_before = (fresh.codex_home / "auth.json").read_bytes()
    proxy_before = (fresh.home / "auth" / "codex-current.json").read_bytes()
    try:
        expired = fresh.upstream.issue_tokens(ttl=-60)
        write_json(fresh.codex_home / "auth.json", make_codex_auth_json(expired))
        write_json(fresh.home / "auth" / "codex-current.json", make_proxy_auth_json(expired))
        fresh.upstream.reset()
        code, data = quota_json(fresh)
        assert data["problem"] == "expired" and "never refreshes" in data["message"]
        assert data["state"] == "near" and not data["fresh"]
        proc = fresh.doctor("quota")
        assert "expired" in proc.stdout and "85.0 %" in proc.stdout
        assert fresh.upstream.requests == [] and fresh.upstream.token_requests() == []
    finally:
        (fresh.codex_home / "auth.json").write_bytes(codex_before)
        (fresh.home / "auth" / "codex-current.json").write_bytes(proxy_before)
        fresh.must("start")


# -- the real Claude Code renders the status line ----------------------------------------------

def run_claude(stack: Stack, work, seconds: float = 60.0) -> str:
    """claudex (the wrapper) -> Claude Code on a pseudo-terminal; type one prompt, wait for the answer and
    two status line renders, stop it. The screen's text, escape sequences removed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {**stack.env, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([str(stack.wrapper), "--model", "opus"], stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=work, start_new_session=True)
    os.close(slave)
    seen, typed, started = b"", False, time.monotonic()
    captured = work.parent / "captured"
    try:
        while time.monotonic() - started < seconds:
            ready, _, _ = select.select([master], [], [], 0.3)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                seen += data
            if not typed and b"auto mode" in seen or not typed and time.monotonic() - started > 15:
                time.sleep(1.0)
                os.write(master, b"say pong")
                time.sleep(0.5)
                os.write(master, b"\r")
                typed = True
            answered = "pongfromfakeupstream" in ANSI.sub("", seen.decode("utf-8", "replace")).replace(" ", "")
            if typed and answered and len(list(captured.glob("*.json"))) >= 2:
                time.sleep(1.0)
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(master)
    return ANSI.sub("", seen.decode("utf-8", "replace"))


def test_claude_code_shows_the_status_line(fresh, tmp_path):
    mapping = json.loads(fresh.must("status", "--json").stdout)["mapping"]
    assert mapping.get("opus")
    fresh.upstream.usage = usage_payload("near")
    assert quota_json(fresh)[0] == 0  # a fresh cache: the renders below start no refresh
    # The primitive writes the setting; then the same command is wrapped to keep what Claude Code sends it.
    settings = fresh.user_home / ".claude" / "settings.json"
    install = fresh.must("statusline", "install")
    assert "installed the status line" in install.stdout
    command = json.loads(settings.read_text())["statusLine"]["command"]
    assert command.endswith(" statusline") and os.path.isabs(command.split()[0].strip("'"))
    captured = tmp_path / "captured"
    captured.mkdir()
    data = json.loads(settings.read_text())
    data["statusLine"]["command"] = f'tee "{captured}/$(date +%s%N).json" | {command}'
    settings.write_text(json.dumps(data))
    work = tmp_path / "work"
    work.mkdir()
    claude_json = fresh.user_home / ".claude.json"
    state = json.loads(claude_json.read_text()) if claude_json.exists() else {}
    state.update(hasCompletedOnboarding=True, theme="dark")
    state.setdefault("projects", {})[str(work)] = {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}
    claude_json.write_text(json.dumps(state))
    try:
        screen = run_claude(fresh, work)
    finally:
        settings.unlink()
    inputs = [json.loads(p.read_text()) for p in sorted(captured.glob("*.json")) if p.read_text().strip()]
    assert inputs, f"Claude Code never ran the status line; the screen:\n{screen[-2000:]}"
    last = inputs[-1]
    # What Claude Code sends a gateway session: the mapped model string itself, and no rate limits.
    assert last["model"]["id"] == mapping["opus"], last["model"]
    assert "rate_limits" not in last or last["rate_limits"] is None
    assert "context_window" in last
    compact = screen.replace(" ", "")
    name = mapping["opus"].split("(")[0]
    assert f"opus→{name}" in compact, screen[-3000:]
    assert "5h85%" in compact and "wk62%" in compact and f"claudex:{fresh.port}" in compact, screen[-3000:]
    # The same input, rendered by the command directly, says the same.
    proc = subprocess.run([sys.executable, "-m", "claudex_doctor", "statusline"], input=json.dumps(last), text=True,
                          capture_output=True, env={**fresh.env, "NO_COLOR": "1"}, timeout=60)
    assert proc.returncode == 0 and f"● claudex :{fresh.port} │ opus→{name}" in proc.stdout, proc.stdout
    assert "5h 85%" in proc.stdout and "wk 62%" in proc.stdout
