"""The user's story end to end, on the real programs: build the stack with claudex-doctor, use it,
then break it one way at a time and let `--fix --yes` repair it (or print the manual step).

Only chatgpt.com / auth.openai.com are simulated (tests/fakes/upstream.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import wait_listening

from .scenario import Stack, failing

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(proxy_bin, claude_bin, codex_bin, fake_upstream, tmp_path_factory):
    built = Stack(tmp_path_factory.mktemp("scenario"), fake_upstream, proxy_bin, claude_bin, codex_bin)
    try:
        built.build()
        yield built
    finally:
        built.teardown()


@pytest.fixture
def healthy(stack):
    """Each break-and-fix test starts from a green stack and leaves one behind."""
    stack.upstream.reset()
    _, checks, _ = stack.findings()
    if failing(checks):  # a leftover of the previous case: repair it, and say so in the log
        print(f"\nrepairing before the test: {failing(checks)}")
        stack.fix()
        _, checks, _ = stack.findings()
    assert not failing(checks), f"the stack was not green before the test: {failing(checks)}"
    yield stack
    stack.upstream.reset()
    _, checks, _ = stack.findings()
    if failing(checks):  # a failed test must not poison the next one: repair, or rebuild from scratch
        stack.fix()
        _, checks, _ = stack.findings()
        if failing(checks):
            stack.teardown()
            shutil.rmtree(stack.home, ignore_errors=True)
            stack.build()


def test_a_stack_built_by_the_doctor_is_green_with_live_probes(stack):
    code, checks, data = stack.findings()
    assert code == 0, failing(checks)
    for cid in ("probe.messages", "probe.stream", "probe.tool_use", "probe.count_tokens", "proxy.models",
                "wrapper.passthrough", "auth.sync", "port.owner"):
        assert checks[cid]["status"] == "pass", (cid, checks[cid]["summary"])
    assert checks["bin.proxy"]["evidence"]["version"] == "v7.2.140"
    # The test's port is not 8327: a warning, never a silent change.
    assert checks["config.valid"]["status"] == "warn"
    assert stack.upstream.responses_requests(), "the probes reached the (fake) Codex backend"


def test_claude_code_through_the_wrapper_prints_the_upstream_text(stack):
    proc = stack.claudex("-p", "say pong")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pong from fake upstream" in proc.stdout
    sent = stack.upstream.responses_requests()[-1]
    assert sent.headers.get("chatgpt-account-id"), "the proxy sent the account header"


def test_codex_login_status_agrees_with_auth_codex(stack, codex_bin):
    proc = subprocess.run([str(codex_bin), "login", "status"], env=stack.env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and "Logged in using ChatGPT" in proc.stdout + proc.stderr
    _, checks, _ = stack.findings("--only", "auth.codex")
    assert checks["auth.codex"]["status"] == "pass"
    assert "ChatGPT" in checks["auth.codex"]["summary"]


# -- break and fix ---------------------------------------------------------------------------

def test_proxy_killed_is_restarted(healthy):
    healthy.kill_proxy()
    code, checks, _ = healthy.findings()
    assert code == 1 and checks["port.owner"]["status"] == "fail"
    assert checks["probe.messages"]["status"] == "skip"
    code, checks, data = healthy.fix()
    assert code == 0, failing(checks)
    assert any(f["primitive"] in ("start", "restart") and f["status"] == "applied" for f in data["fixes"])
    assert checks["probe.messages"]["status"] == "pass"


def test_a_foreign_process_on_the_port_is_named_and_never_touched(healthy):
    healthy.must("stop")
    foreign = subprocess.Popen([sys.executable, "-m", "http.server", str(healthy.port), "--bind", "127.0.0.1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(healthy.port)
        code, checks, _ = healthy.findings()
        assert code == 1 and checks["port.owner"]["status"] == "fail"
        assert str(foreign.pid) in checks["port.owner"]["summary"]
        code, checks, data = healthy.fix()
        assert code == 1 and foreign.poll() is None, "the doctor must never stop a process it did not start"
        assert checks["port.owner"]["fix"]["safety"] == "manual"
        assert any(f["status"] in ("manual", "failed") for f in data["fixes"])
    finally:
        foreign.terminate()
        foreign.wait(timeout=10)
    healthy.must("start")


def test_tokens_rotated_behind_the_proxys_back(healthy):
    healthy.codex_refreshed()  # Codex used the shared refresh token: the proxy's copy is now spent
    healthy.upstream.set_mode("unauthorized")  # the backend rejects the proxy's access token: it must refresh
    healthy.doctor("--only", "probe.messages", "--deadline", "40")
    healthy.upstream.set_mode("ok")
    code, checks, _ = healthy.findings()
    assert code == 1
    assert checks["auth.sync"]["status"] in ("warn", "fail")
    assert checks["auth.sync"]["fix"]["primitive"] == "sync-auth"
    assert "refresh_token_reused" in json.dumps(checks["logs.errors"])
    assert checks["probe.messages"]["status"] == "fail"
    code, checks, data = healthy.fix()
    assert any(f["primitive"] == "sync-auth" and f["status"] == "applied" for f in data["fixes"])
    assert checks["auth.sync"]["status"] == "pass"
    assert checks["probe.messages"]["status"] == "pass", checks["probe.messages"]["summary"]
    assert code == 0, failing(checks)


def test_api_key_mismatch(healthy):
    healthy.must("set-env", "ANTHROPIC_AUTH_TOKEN=not-the-configured-key-0123")
    code, checks, _ = healthy.findings()
    assert code == 1 and checks["env.consistency"]["status"] == "fail"
    code, checks, _ = healthy.fix()
    assert code == 0, failing(checks)
    assert checks["probe.messages"]["status"] == "pass"


def test_template_key_safe_mode(healthy):
    healthy.must("set-config", "api-keys=your-api-key-1")
    healthy.must("set-env", "ANTHROPIC_AUTH_TOKEN=your-api-key-1")
    healthy.must("restart")
    code, checks, _ = healthy.findings()
    assert code == 1 and checks["config.exposure"]["status"] == "fail"
    assert "your-api-key" in checks["config.exposure"]["summary"] or "safe mode" in checks["config.exposure"]["summary"]
    code, checks, _ = healthy.fix()
    assert code == 0, failing(checks)
    config = (healthy.home / "config.yaml").read_text()
    assert "your-api-key-1" not in config


def test_host_open_to_the_network(healthy):
    healthy.must("set-config", "host=0.0.0.0")
    healthy.must("restart")
    code, checks, _ = healthy.findings()
    assert code == 1 and checks["config.exposure"]["status"] == "fail"
    assert checks["port.owner"]["status"] == "fail"
    code, checks, _ = healthy.fix()
    assert code == 0, failing(checks)
    assert "127.0.0.1" in checks["port.owner"]["summary"]


def test_retired_model_in_the_mapping(healthy):
    healthy.must("set-env", "ANTHROPIC_DEFAULT_OPUS_MODEL=gpt-5.4(high)")
    code, checks, _ = healthy.findings()
    assert checks["env.mapping"]["status"] in ("warn", "fail")
    assert "gpt-5.4" in checks["env.mapping"]["summary"] and checks["env.mapping"]["fix"]["primitive"] == "set-env"
    code, checks, _ = healthy.fix()
    assert checks["env.mapping"]["status"] == "pass" and code == 0, failing(checks)
    assert "gpt-5.4(" not in (healthy.home / "claude-code-gpt54.env").read_text()


def test_wrapper_missing(healthy):
    healthy.wrapper.unlink()
    code, checks, _ = healthy.findings()
    assert code == 1 and checks["wrapper.installed"]["status"] == "fail"
    assert checks["wrapper.passthrough"]["status"] == "skip"
    code, checks, _ = healthy.fix()
    assert code == 0, failing(checks)
    assert checks["wrapper.passthrough"]["status"] == "pass"
    assert "pong from fake upstream" in healthy.claudex("-p", "say pong").stdout


def test_litellm_style_base_url(healthy):
    healthy.must("set-env", "ANTHROPIC_BASE_URL=http://127.0.0.1:4000")
    code, checks, _ = healthy.findings()
    assert code == 1
    assert checks["route.litellm"]["status"] in ("warn", "fail")
    assert "litellm" in checks["route.litellm"]["reference"]
    proc = healthy.doctor("--fix", "--yes", "--deadline", "40")
    assert "explain litellm" in proc.stdout or "4000" in proc.stdout
    code, checks, _ = healthy.findings()
    if code != 0:  # no automatic fix for the route itself: the manual step was printed; undo by hand
        healthy.must("set-env", f"ANTHROPIC_BASE_URL=http://127.0.0.1:{healthy.port}")
        code, checks, _ = healthy.findings()
    assert code == 0, failing(checks)


def test_dry_run_changes_nothing_on_a_broken_stack(healthy):
    healthy.must("set-env", "ANTHROPIC_DEFAULT_OPUS_MODEL=gpt-5.4(high)")
    healthy.wrapper.unlink()
    before = _snapshot(healthy.root)
    proc = healthy.doctor("--fix", "--dry-run", "--offline", "--deadline", "40")
    assert proc.returncode == 1
    assert "nothing was changed" in proc.stdout
    assert _snapshot(healthy.root) == before
    healthy.fix()


def _snapshot(root: Path) -> dict[str, bytes]:
    skip = ("cli-proxy-api.log", "logs")  # the running proxy writes its own log
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and not any(part in skip for part in path.parts) \
                and "fake-upstream" not in str(path) and "upstream" not in path.parts:
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def test_usage_limit_names_the_quota_and_its_reset_time(healthy):
    healthy.upstream.set_mode("usage_limit", resets_in_seconds=5400)
    try:
        code, checks, _ = healthy.findings()
    finally:
        healthy.upstream.set_mode("ok")
    messages = checks["probe.messages"]
    assert code == 1 and messages["status"] == "fail", messages
    assert "quota is used up" in messages["summary"]
    # The real proxy drops the reset time from the client's error; the doctor reads it from the proxy log.
    assert "resets in 1 h" in messages["summary"], messages["summary"]
    assert messages["fix"]["safety"] == "manual"
    healthy.must("restart")  # the proxy's cooldown lives in memory: a restart ends it for the next test


def test_proxy_variables_that_catch_loopback_traffic(healthy):
    """Claude Code sends http://127.0.0.1 through HTTP(S)_PROXY unless NO_PROXY names 127.0.0.1; the lower-case
    no_proxy wins over NO_PROXY. The fake upstream's CONNECT proxy stands in for the corporate proxy."""
    saved = healthy.env.get("no_proxy")
    healthy.env["no_proxy"] = "corp.example"
    try:
        broken = healthy.claudex("-p", "say pong")
        assert broken.returncode != 0 and "pong from fake upstream" not in broken.stdout, broken.stdout
        code, checks, _ = healthy.findings("--offline")
        finding = checks["env.proxy_vars"]
        assert code == 1 and finding["status"] == "fail", finding
        assert "the lower-case no_proxy wins" in finding["summary"]
        assert finding["fix"]["primitive"] == "set-env" and finding["fix"]["safety"] == "safe"
        code, checks, data = healthy.fix()
        assert any(f["primitive"] == "set-env" and f["status"] == "applied" for f in data["fixes"])
        assert checks["env.proxy_vars"]["status"] == "pass" and code == 0, failing(checks)
        assert "pong from fake upstream" in healthy.claudex("-p", "say pong").stdout
    finally:
        healthy.env["no_proxy"] = saved or "127.0.0.1,localhost,::1"


# -- state inside the proxy: stale benches versus real limits ---------------------------------

def _applied(data: dict, primitive: str) -> bool:
    return any(f["primitive"] == primitive and f["status"] == "applied" for f in data["fixes"])


def _warm(stack) -> None:
    """One good request first: the proxy forgets a bench set before its first rewrite of the credential."""
    assert stack.request().status_code == 200


def test_stale_cooldown_is_named_and_a_restart_repairs_it(healthy):
    _warm(healthy)
    healthy.upstream.set_mode("usage_limit", resets_in_seconds=5400)
    assert healthy.request().status_code == 429  # what Claude Code met: the plan's quota was used up
    healthy.upstream.set_mode("ok")  # the quota came back early; the proxy does not know
    assert healthy.request().json()["error"]["message"].endswith("are cooling down via provider codex")
    code, checks, _ = healthy.findings()
    messages = checks["probe.messages"]
    assert code == 1 and messages["status"] == "fail", messages
    assert messages["summary"].startswith("stale cooldown: the upstream answers again"), messages["summary"]
    assert "a restart clears it" in messages["summary"]
    assert messages["reference"] == "references/proxy-state.md#stale-cooldown"
    assert messages["fix"]["primitive"] == "restart" and messages["fix"]["safety"] == "safe"
    assert messages["evidence"]["last_upstream_error"]["kind"] == "quota"
    assert messages["evidence"]["asked_other_model"]["answered"] is True
    code, checks, data = healthy.fix()
    assert _applied(data, "restart")
    assert checks["probe.messages"]["status"] == "pass" and code == 0, failing(checks)


def test_real_quota_is_named_with_its_reset_and_nothing_is_restarted(healthy):
    _warm(healthy)
    healthy.upstream.set_mode("usage_limit", resets_in_seconds=5400)
    try:
        assert healthy.request().status_code == 429
        code, checks, _ = healthy.findings()
        messages = checks["probe.messages"]
        assert code == 1 and "quota used up" in messages["summary"] and "resets at" in messages["summary"], messages
        assert messages["fix"]["safety"] == "manual"
        pid = healthy.pid()
        code, checks, data = healthy.fix()
        assert not _applied(data, "restart") and healthy.pid() == pid, "a real limit is waited out, not restarted"
    finally:
        healthy.upstream.set_mode("ok")
    healthy.must("restart")  # end the cooldown for the next test


def test_suspension_after_401s_on_one_model_is_stale_once_the_login_works(healthy):
    _warm(healthy)
    model = healthy.probed_model()
    healthy.upstream.set_mode("unauthorized", models=(model,))
    assert healthy.request().status_code == 401  # refreshed once, retried, still 401: suspended 30 min
    healthy.upstream.set_mode("ok")
    assert healthy.request().status_code == 503
    code, checks, _ = healthy.findings()
    messages, offered = checks["probe.messages"], checks["proxy.models"]
    assert code == 1 and "suspended model" in messages["summary"] and "stale" in messages["summary"], messages
    assert messages["fix"]["primitive"] == "restart"
    assert messages["evidence"]["last_upstream_error"]["kind"] == "unauthorized"
    # /v1/models leaves a suspended model out: that is state, not the plan, and is not remapped
    assert offered["status"] == "fail" and "suspended" in offered["summary"], offered
    assert offered["fix"]["primitive"] == "restart"
    mapping = checks["env.mapping"]  # the same advice: the mapping stays, no remap is offered
    assert mapping["status"] != "fail" and any("suspended" in d for d in mapping["details"]), mapping
    before = healthy.env_file_values()["ANTHROPIC_DEFAULT_HAIKU_MODEL"]
    code, checks, data = healthy.fix()
    assert _applied(data, "restart") and code == 0, failing(checks)
    assert healthy.env_file_values()["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == before


def test_a_suspended_model_the_plan_includes_versus_a_model_the_upstream_refuses(healthy):
    _warm(healthy)
    model = healthy.probed_model()
    healthy.upstream.unsupported_models.add(model)
    try:
        assert healthy.request().status_code == 400
        code, checks, _ = healthy.findings()
        # The model really is refused right now: the suspension is not called stale, and not restarted away.
        # (The plan includes it by the catalog, so the doctor cannot call it "not in the plan" either.)
        assert "stale" not in checks["probe.messages"]["summary"], checks["probe.messages"]
    finally:
        healthy.upstream.unsupported_models.discard(model)
    # The upstream serves it again (a rollout glitch, a plan upgrade): the proxy still suspends it for 12 h.
    code, checks, _ = healthy.findings()
    messages = checks["probe.messages"]
    assert "suspended model" in messages["summary"] and "plan" in messages["summary"], messages
    assert messages["reference"] == "references/proxy-state.md#model-suspended-by-the-proxy"
    code, checks, data = healthy.fix()
    assert _applied(data, "restart") and code == 0, failing(checks)


def test_spent_refresh_token_on_both_sides_needs_a_new_login_not_sync_auth(healthy):
    shared = json.loads((healthy.codex_home / "auth.json").read_text())["tokens"]["refresh_token"]
    assert json.loads((healthy.home / "auth" / "codex-current.json").read_text())["refresh_token"] == shared
    healthy.upstream.rotate(shared)  # a third refresher used the token both files hold
    healthy.upstream.set_mode("unauthorized")  # the proxy must refresh: refresh_token_reused
    healthy.request()
    healthy.upstream.set_mode("ok")
    code, checks, _ = healthy.findings()
    assert code == 1
    for cid in ("probe.messages", "auth.sync"):
        finding = checks[cid]
        assert finding["status"] == "fail", finding
        assert finding["fix"]["primitive"] == "manual", finding
        assert finding["fix"]["command"] == "codex login && claudex-doctor sync-auth", finding
    assert "same spent token" in checks["probe.messages"]["summary"]
    code, checks, data = healthy.fix()
    assert not _applied(data, "sync-auth"), "sync-auth would copy the same dead token: never offered as the fix"
    assert code == 1
    healthy.login()  # what `codex login` leaves behind: a new token pair
    code, checks, data = healthy.fix()
    assert _applied(data, "sync-auth")
    assert checks["probe.messages"]["status"] == "pass" and code == 0, failing(checks)
