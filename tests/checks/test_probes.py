"""The live checks against the fake gateway: one test per failure mode, the deadline, --offline, secrets.

Most tests call the checks in-process with the real runner (`graph.run`) and a stand-in for
port.owner, so they exercise the probe logic itself whatever state port.owner is in. The tests
at the end drive the real CLI against a fake proxy started from a real temporary home; they need
the real port.owner check (they skip, saying so, while it is a placeholder).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.checks import CHECKS, StackContext, probes, proxy
from claudex_doctor.core.context import Options
from claudex_doctor.core.graph import Graph, check, run
from claudex_doctor.core.model import RunResult, Status, passed
from claudex_doctor.core.schema import SCHEMA
from claudex_doctor.proxy import client as probe_client
from claudex_doctor.render import json as json_render
from claudex_doctor.render import terminal
from tests.conftest import free_port, run_cli, wait_listening
from tests.fakes.gateway import DEFAULT_MODELS, TODAYS_MODELS, FakeGateway, install_binary
from tests.fakes.home import make_home

KEY = "canary-local-key-7f3a9c2e5b"
LIVE = ("proxy.health", "proxy.models", "probe.messages", "probe.stream", "probe.tool_use", "probe.count_tokens")
MODEL_CALLS = ("probe.messages", "probe.stream", "probe.tool_use")
_port_stub = check("port.owner", "Gateway port")(lambda ctx: passed("stand-in for the port check"))
GRAPH = Graph([_port_stub if c.id == "port.owner" else c for c in CHECKS])


class Live:
    """A fake gateway plus a home pointed at it; runs the live checks through the real runner."""

    def __init__(self, root: Path, user_home: Path) -> None:
        self.root, self.user_home = root, user_home
        self.gateways: list[FakeGateway] = []
        self.contexts: list[StackContext] = []

    def start(self, mode: str = "ok", api_keys=(KEY,), **home) -> FakeGateway:
        gw = FakeGateway(api_keys=api_keys, mode=mode, delay=home.pop("delay", 2.0),
                         reset_seconds=home.pop("reset_seconds", 3600),
                         models=home.pop("models", DEFAULT_MODELS), log=home.pop("log", None),
                         windows=home.pop("windows", None)).start()
        self.gateways.append(gw)
        self.home(gw.port, **home)
        return gw

    def home(self, port: int, **kwargs) -> Path:
        return make_home(self.root / "home", port, **kwargs)

    def context(self, deadline: float = 10, offline: bool = False) -> StackContext:
        env = {"HOME": str(self.user_home), "PATH": os.environ.get("PATH", "")}
        paths = resolve(env=env, home_option=str(self.root / "home"))
        ctx = StackContext(paths, Options(deadline=deadline, offline=offline), env=env)
        self.contexts.append(ctx)
        return ctx

    def run(self, ids=LIVE, deadline: float = 10, offline: bool = False) -> dict:
        ctx = self.context(deadline, offline)
        return {f.id: f for f in run(GRAPH, ctx, only=ids)}

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()
        for gw in self.gateways:
            gw.stop()


@pytest.fixture
def live(tmp_path, user_home):
    harness = Live(tmp_path, user_home)
    yield harness
    harness.close()


def text(finding) -> str:
    return " ".join([finding.summary, *finding.details]).lower()


# -- live model facts: the windows of the Anthropic dialect ------------------------------------

MODEL_FACTS = ("proxy.health", "proxy.models", "env.mapping", "env.context_window", "knowledge.freshness")
TODAY = {"opus": "gpt-6.2-sol(high)", "sonnet": "gpt-6.1-terra(medium)", "haiku": "gpt-6-luna(low)"}


def test_todays_models_are_green_through_a_proxy_that_offers_them(live):
    live.start(models=TODAYS_MODELS, mapping=TODAY, extra_env={"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "272000"})
    found = live.run(MODEL_FACTS, offline=True)
    for check_id in MODEL_FACTS:
        assert found[check_id].status is Status.PASS, found[check_id]
    window = found["env.context_window"]
    assert window.evidence["source"] == "proxy" and window.evidence["smallest_window"] == 272000
    assert "per the running proxy" in window.summary
    assert found["env.mapping"].evidence["source"] == "proxy"
    assert [s["kind"] for s in found["knowledge.freshness"].evidence["sources"]] == ["proxy", "snapshot"]


def test_a_live_window_under_the_compact_setting_fails_the_window_check(live):
    live.start(windows={"gpt-5.6-luna": 200000},
               mapping={"opus": "gpt-5.6-sol(xhigh)", "sonnet": "gpt-5.6-terra(high)", "haiku": "gpt-5.6-luna(low)"},
               extra_env={"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "372000"})
    window = live.run(MODEL_FACTS, offline=True)["env.context_window"]
    assert window.status is Status.FAIL
    assert "200,000 tokens (haiku -> gpt-5.6-luna" in window.summary and "per the running proxy" in window.summary
    assert window.fix.args == {"assignments": {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "200000"}}


# -- the healthy path ----------------------------------------------------------------
def test_healthy_proxy_passes_every_live_check_with_minimal_requests(live):
    gw = live.start(mapping={"opus": "gpt-5.6-sol(xhigh)", "haiku": "gpt-5.6-luna(medium)"})
    found = live.run()
    assert {cid: found[cid].status for cid in LIVE} == {cid: Status.PASS for cid in LIVE}, \
        {cid: found[cid].summary for cid in LIVE}
    assert "pong" in found["probe.messages"].summary
    posts = [r for r in gw.requests if r.method == "POST" and r.path == "/v1/messages"]
    assert len(posts) == 4  # messages, stream, tool_use + its tool_result: one request per probe
    for request in posts:
        body = request.json
        assert body["model"] == "gpt-5.6-luna(low)"  # haiku mapping, lowest effort, not (medium)
        assert body["max_tokens"] <= 64
        assert request.query == {"beta": ["true"]}
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert request.headers["authorization"] == f"Bearer {KEY}"
    models = next(r for r in gw.requests if r.path == "/v1/models")
    assert "anthropic-version" not in models.headers
    assert not models.headers["user-agent"].startswith("claude-cli")
    assert found["proxy.models"].evidence["offered"][0] == "gpt-5.3-codex-spark"


def test_offered_models_are_published_for_env_mapping(live):
    live.start()
    ctx = live.context()
    assert proxy.proxy_health.run(ctx).status is Status.PASS
    assert proxy.proxy_models.run(ctx).status is Status.PASS
    assert "gpt-5.6-luna" in ctx.published("offered_models")


def test_probe_model_prefers_haiku_then_sonnet_at_the_lowest_effort(live):
    live.home(free_port(), mapping={"sonnet": "gpt-5.5(high)[1m]", "opus": "gpt-5.6-sol(max)"})
    assert probe_client.probe_model(live.context()) == ("gpt-5.5(low)", "the sonnet mapping in the env file")
    live.home(free_port(), mapping={"haiku": "some-new-model(high)"})
    assert probe_client.probe_model(live.context())[0] == "some-new-model(low)"
    live.home(free_port(), mapping={})
    model, source = probe_client.probe_model(live.context())
    assert model == "gpt-5.6-luna(low)" and "catalog" in source


# -- one test per failure mode ---------------------------------------------------------
def test_connection_refused_is_known_in_milliseconds(live):
    live.home(free_port())
    start = time.monotonic()
    found = live.run(ids=("proxy.health",))
    health = found["proxy.health"]
    assert health.status is Status.FAIL and "connection refused" in health.summary
    assert health.reference == "references/probes.md#connection-refused"
    # refused, not waited out: the health request's own timeout is 1 s
    assert time.monotonic() - start < 3.0 and health.evidence["elapsed_ms"] < 1000


def test_hang_is_named_and_bounded_by_the_deadline_while_the_rest_is_reported(live):
    live.start("hang")
    start = time.monotonic()
    found = live.run(ids=(*LIVE, "logs.errors"), deadline=2.5)
    elapsed = time.monotonic() - start
    assert elapsed < 2.5 + 2.5, elapsed  # the gateway hangs until it is stopped
    health = found["proxy.health"]
    assert health.status is Status.FAIL and "hangs" in health.summary
    assert health.reference == "references/probes.md#proxy-hangs"
    assert set(found) >= {*LIVE, "logs.errors"}
    for cid in LIVE[1:]:
        assert found[cid].status is Status.SKIP and found[cid].blocked_by, cid
    assert found["logs.errors"].status is Status.SKIP


def test_a_hanging_model_request_leaves_count_tokens_reported(live):
    live.start("hang_messages")
    start = time.monotonic()
    found = live.run(deadline=2.5)
    assert time.monotonic() - start < 2.5 + 2.5  # the gateway hangs until it is stopped
    assert found["probe.messages"].status is Status.FAIL and "hangs" in found["probe.messages"].summary
    assert found["probe.count_tokens"].status is Status.PASS
    assert found["probe.stream"].blocked_by == ("probe.messages",)


def test_slow_first_byte_warns(live, monkeypatch):
    monkeypatch.setattr(proxy, "SLOW_LOCAL", 0.25)  # the real bar is 1 s; the same code path, faster
    live.start("slow_first_byte", delay=0.35)
    health = live.run(ids=("proxy.health",))["proxy.health"]
    assert health.status is Status.WARN and "slow" in health.summary and "first byte" in health.summary
    assert health.reference == "references/probes.md#slow-first-byte"


def test_slow_model_answer_warns(live, monkeypatch):
    live.start()
    ctx = live.context()
    monkeypatch.setattr(probes, "SLOW_MODEL", 0.0)
    outcome = probes.probe_messages.run(ctx)
    assert outcome.status is Status.WARN and "slow" in outcome.summary


def test_invalid_key_when_the_running_proxy_has_another_config(live):
    live.start("invalid_key")
    found = live.run()
    models = found["proxy.models"]
    assert models.status is Status.FAIL and "401 invalid api key" in text(models)
    assert "running proxy rejects it" in models.summary and models.fix.primitive == "restart"
    assert models.reference == "references/probes.md#invalid-or-missing-api-key"


def test_invalid_key_when_the_env_file_holds_another_key(live):
    config_key = "config-side-key-5d8e1f0a7b"
    gw = FakeGateway(api_keys=(config_key,)).start()
    live.gateways.append(gw)
    live.home(gw.port, key=KEY, api_keys=[config_key])
    outcome = probes.probe_messages.run(live.context())
    assert outcome.status is Status.FAIL
    assert "env file is the wrong side" in outcome.summary and "ANTHROPIC_AUTH_TOKEN" in outcome.summary
    assert outcome.fix.primitive == "set-env" and outcome.fix.args == {"assignments": {"ANTHROPIC_AUTH_TOKEN": config_key}}
    assert config_key not in outcome.fix.command


def test_missing_key_when_nothing_holds_one(live):
    gw = FakeGateway(api_keys=("running-proxy-key-a1b2c3d4",)).start()
    live.gateways.append(gw)
    live.home(gw.port, key=None, api_keys=[])
    outcome = proxy.proxy_models.run(live.context())
    assert outcome.status is Status.FAIL and "401 Missing API key" in outcome.summary
    assert outcome.fix.primitive == "restart"


def test_safe_mode_is_detected_by_proxy_health(live):
    gw = FakeGateway(api_keys=("your-api-key-1",)).start()
    live.gateways.append(gw)
    live.home(gw.port, key="your-api-key-1")
    found = live.run()
    health = found["proxy.health"]
    assert health.status is Status.FAIL and "safe mode" in health.summary and "your-api-key-N" in health.summary
    assert health.reference == "references/probes.md#safe-mode-template-api-keys"
    assert found["probe.messages"].blocked_by == ("proxy.health",)
    # a probe that meets the 403 anyway names it the same way
    outcome = probes.probe_messages.run(live.context())
    assert "unsafe_example_api_key" in outcome.summary


def test_usage_limit_takes_the_reset_time_from_the_proxy_log(live):
    # Like the real proxy, the fake gives the client only the message; the reset time is in its log.
    log_file = live.root / "home" / "cli-proxy-api.log"

    def log(line: str) -> None:
        with open(log_file, "a") as handle:
            handle.write(line + "\n")

    live.start("usage_limit", reset_seconds=5400, log=log)
    found = live.run()
    messages = found["probe.messages"]
    assert messages.status is Status.FAIL and "usage_limit_reached" in messages.summary
    assert re.search(r"resets in 1 h (29|30) min", messages.summary), messages.summary
    assert 5390 <= messages.evidence["resets_in_seconds"] <= 5400
    assert "proxy log" in messages.evidence["reset_from"]
    assert messages.reference == "references/probes.md#usage-limit-reached"
    assert found["probe.count_tokens"].status is Status.PASS  # counted locally: no quota needed


def test_usage_limit_without_a_logged_reset_time_still_names_the_quota(live):
    live.start("usage_limit")
    messages = live.run()["probe.messages"]
    assert messages.status is Status.FAIL and "quota is used up" in messages.summary
    assert "resets in" not in messages.summary


def test_model_not_supported_with_a_chatgpt_account(live):
    live.start("model_not_supported")
    outcome = live.run()["probe.messages"]
    assert outcome.status is Status.FAIL and "not supported when using codex with a chatgpt account" in text(outcome)
    assert outcome.reference == "references/probes.md#model-not-supported"


def test_auth_unavailable_offers_sync_auth_only_when_it_changes_something(live, user_home):
    """sync-auth is offered when Codex holds a login the proxy lacks; without one it would change nothing."""
    live.start("auth_unavailable")
    found = live.run()
    for cid in ("probe.messages", "probe.count_tokens"):
        assert found[cid].status is Status.FAIL and "auth_unavailable" in found[cid].summary, cid
        assert found[cid].fix.primitive == "manual" and "codex login" in found[cid].fix.command
        assert found[cid].reference == "references/probes.md#auth-unavailable"
    from tests.authkit import Login

    (user_home / ".codex").mkdir()
    (user_home / ".codex" / "auth.json").write_text(json.dumps(Login().codex_json()))
    found = live.run()
    for cid in ("probe.messages", "probe.count_tokens"):
        assert found[cid].fix.primitive == "sync-auth", cid


def test_upstream_unreachable(live):
    live.start("upstream_unreachable")
    outcome = live.run()["probe.messages"]
    assert outcome.status is Status.FAIL and "cannot reach chatgpt.com" in outcome.summary


def test_no_credential_loaded_is_explained_once_models_are_empty(live):
    live.start("no_credential")
    found = live.run()
    assert found["proxy.models"].status is Status.FAIL and "offers no models" in found["proxy.models"].summary
    assert found["proxy.models"].reference == "references/probes.md#no-credential-loaded"
    for cid in ("probe.messages", "probe.count_tokens"):
        assert "no usable codex credential loaded" in text(found[cid]), cid
        assert found[cid].fix.primitive == "sync-auth"


def test_mapped_model_not_offered_proposes_the_offered_replacement(live):
    live.start(models=("gpt-5.5", "gpt-5.6-terra", "gpt-5.6-luna"),
               mapping={"sonnet": "gpt-5.4(high)", "haiku": "gpt-5.6-luna(low)"})
    outcome = live.run()["proxy.models"]
    assert outcome.status is Status.FAIL and "does not offer gpt-5.4" in outcome.summary
    assert outcome.fix.primitive == "set-env"
    assert outcome.fix.args["assignments"] == {"ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-5.6-terra(high)"}


def test_a_mapped_model_in_another_case_is_the_offered_model_for_proxy_models_and_env_mapping(live):
    """One comparison: proxy.models and env.mapping agree that GPT-5.6-Luna is the gpt-5.6-luna listed."""
    live.start(models=("gpt-5.5", "gpt-5.6-terra", "gpt-5.6-luna"),
               mapping={"sonnet": "GPT-5.6-Terra(high)", "haiku": "gpt-5.6-luna(low)", "opus": "Gpt-5.5(high)"})
    found = live.run(("proxy.health", "proxy.models", "env.mapping"))
    assert found["proxy.models"].status is Status.PASS, found["proxy.models"].summary
    assert "not offered" not in found["env.mapping"].summary


def test_non_json_body(live):
    live.start("non_json")
    outcome = live.run()["probe.messages"]
    assert outcome.status is Status.FAIL and "not the json" in outcome.summary.lower()
    assert "text/html" in outcome.summary and outcome.reference == "references/probes.md#malformed-answer"


def test_stream_that_ends_before_message_stop(live):
    live.start("truncated_stream")
    found = live.run()
    assert found["probe.messages"].status is Status.PASS
    stream = found["probe.stream"]
    assert stream.status is Status.FAIL and "ended before message_stop" in stream.summary
    assert "content_block_delta" in stream.summary
    assert stream.reference == "references/probes.md#stream-ends-early"


def test_tool_use_missing(live):
    live.start("no_tool_use")
    outcome = live.run()["probe.tool_use"]
    assert outcome.status is Status.FAIL and "without a tool_use block" in outcome.summary
    assert outcome.reference == "references/probes.md#tool-use-broken"


def test_tool_use_malformed(live):
    live.start("malformed_tool_use")
    outcome = live.run()["probe.tool_use"]
    assert outcome.status is Status.FAIL and "malformed" in outcome.summary and "no id" in outcome.summary
    assert any("not a JSON object" in d for d in outcome.details)


def test_count_tokens_404_means_not_cliproxyapi(live):
    live.start("no_count_tokens")
    outcome = live.run()["probe.count_tokens"]
    assert outcome.status is Status.WARN and "404" in outcome.summary and "not CLIProxyAPI" in outcome.summary
    assert outcome.reference == "references/probes.md#count-tokens-fails"


@pytest.mark.parametrize("mode, words", [("litellm", "looks like litellm"), ("foreign", "it works")])
def test_another_server_is_not_cliproxyapi(live, mode, words):
    live.start(mode)
    health = live.run(ids=("proxy.health",))["proxy.health"]
    assert health.status is Status.FAIL and "is not cliproxyapi" in health.summary.lower()
    assert words in text(health) and health.reference == "references/probes.md#not-cliproxyapi"


# -- --offline, the deadline budget, secrets ------------------------------------------------
def test_offline_skips_model_requests_but_checks_the_proxy(live):
    gw = live.start()
    found = live.run(offline=True)
    assert found["probe.messages"].status is Status.SKIP and "--offline" in found["probe.messages"].summary
    for cid in MODEL_CALLS[1:]:
        assert found[cid].status is Status.SKIP and found[cid].blocked_by == ("probe.messages",), cid
    for cid in ("proxy.health", "proxy.models", "probe.count_tokens"):
        assert found[cid].status is Status.PASS, (cid, found[cid].summary)
    assert not [r for r in gw.requests if r.path == "/v1/messages"]


def test_no_time_left_is_a_skip_not_a_hang(live):
    live.start()
    ctx = live.context(deadline=0.2)
    outcome = proxy.proxy_health.run(ctx)
    assert outcome.status is Status.SKIP and "deadline" in outcome.summary


class _Echo(BaseHTTPRequestHandler):
    """A broken upstream that echoes the request's headers (and so the key) in an error body."""

    def do_GET(self):
        body = json.dumps({"status": "ok"} if self.path == "/healthz" else {"message": "CLI Proxy API Server"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sent = (self.headers.get("Authorization") or "")[len("Bearer "):]
        body = json.dumps({"error": {"type": "api_error", "message": f"upstream said: you sent {sent}"}})
        self.send_response(502)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def test_canary_key_never_reaches_any_output(live):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live.home(server.server_address[1])
        findings = tuple(live.run().values())
    finally:
        server.shutdown()
        server.server_close()
    messages = next(f for f in findings if f.id == "probe.messages")
    assert messages.status is Status.FAIL and "upstream said" in messages.summary
    result = RunResult(findings, "~/home", "now", 1, "test")
    rendered = terminal.render(result, verbose=True) + json_render.render(result)
    assert KEY not in rendered and KEY[:12] not in rendered
    assert "sha256:" in rendered or "[redacted" in rendered


def test_validators_name_what_is_wrong():
    assert probe_client.message_problems({"type": "message", "role": "assistant", "content": [{"type": "text"}],
                                          "stop_reason": "end_turn",
                                          "usage": {"input_tokens": 1, "output_tokens": 1}}) == []
    assert "stop_reason is missing" in probe_client.message_problems({"type": "message", "role": "assistant",
                                                                      "content": [{"type": "text"}]})
    ok = [("message_start", {}), ("content_block_start", {"index": 0}), ("ping", {}),
          ("content_block_delta", {"index": 0}), ("content_block_stop", {"index": 0}), ("message_delta", {}),
          ("message_stop", {})]
    assert probe_client.stream_problems(ok) == []
    assert any("never closed" in p for p in probe_client.stream_problems(ok[:4] + ok[5:]))
    assert any("outside" in p for p in probe_client.stream_problems([ok[0], ok[3], *ok[4:]]))
    assert probe_client.stream_problems([]) == ["the stream carried no events"]
    block, problems = probe_client.tool_use_block({"content": [{"type": "tool_use", "id": "t1",
                                                                "name": probe_client.TOOL_NAME, "input": {}}]})
    assert block["id"] == "t1" and problems == []


# -- the real CLI against a fake proxy started from a real home ---------------------------------
@pytest.fixture
def proxy_home(tmp_path):
    """A home whose cli-proxy-api is the fake gateway, started from the home like run.sh does."""
    procs = []

    def start(mode: str = "ok") -> tuple[Path, subprocess.Popen]:
        port = free_port()
        home = make_home(tmp_path / "gw-home", port)
        install_binary(home / "cli-proxy-api")
        proc = subprocess.Popen([str(home / "cli-proxy-api"), "-config", "config.yaml"], cwd=home,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "FAKE_GATEWAY_MODE": mode})
        procs.append(proc)
        wait_listening(port)
        return home, proc

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_probe_reports_a_healthy_proxy(proxy_home):
    home, _ = proxy_home()
    proc = run_cli("probe", "--home", str(home), "--json")
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    status = {c["id"]: c["status"] for c in data["checks"]}
    assert set(LIVE) <= set(status) and "port.owner" in status
    assert all(status[cid] == "pass" for cid in LIVE), (status, proc.stderr)
    assert proc.returncode == 0
    assert KEY not in proc.stdout and KEY not in proc.stderr


def test_cli_probe_offline_sends_no_model_request(proxy_home):
    home, _ = proxy_home()
    proc = run_cli("probe", "--home", str(home), "--offline", env={"NO_COLOR": "1"})
    assert "not run: --offline" in proc.stdout and "probe.count_tokens" in proc.stdout
    assert "Traceback" not in proc.stderr and KEY not in proc.stdout


def test_cli_hang_finishes_within_the_deadline_with_every_check_reported(proxy_home):
    home, _ = proxy_home("hang")
    start = time.monotonic()
    proc = run_cli("--home", str(home), "--deadline", "3", "--json")
    elapsed = time.monotonic() - start
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    assert elapsed < 3 + 7, elapsed  # the deadline plus interpreter start-up on a busy machine; a hang never ends
    ids = {c["id"] for c in data["checks"]}
    assert ids == {c.id for c in CHECKS}
    health = next(c for c in data["checks"] if c["id"] == "proxy.health")
    assert health["status"] == "fail" and "hangs" in health["summary"], health
    assert KEY not in proc.stdout


def test_cli_probe_rejects_a_bad_deadline():
    proc = run_cli("probe", "--deadline", "0")
    assert proc.returncode == 2 and "--deadline" in proc.stderr


def test_a_base_url_ending_in_v1_is_named(live):
    gw = live.start()
    live.home(gw.port, extra_env={"ANTHROPIC_BASE_URL": f"{gw.url}/v1"})
    outcome = probes.probe_messages.run(live.context())
    assert outcome.status is Status.FAIL and "404" in outcome.summary and "/v1/v1/messages" in outcome.summary
    assert "drop the trailing /v1" in text(outcome)
    assert outcome.fix.args == {"assignments": {"ANTHROPIC_BASE_URL": gw.url}}
