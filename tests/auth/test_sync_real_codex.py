"""sync-auth and the credential checks against the REAL CLIProxyAPI (and Codex CLI) with the fake upstream.

The refresh-token race, played out for real: sync-auth copies a Codex login that is within the
proxy's 5-day refresh lead; the proxy refreshes at startup and writes new tokens back (compact JSON,
local-time last_refresh, "disabled": false); the fake auth server now holds Codex's refresh token as
used. The doctor must see that the proxy is newer, a plain sync-auth must refuse, and --reverse must
hand Codex the live session. Components come from the end-to-end harness (skipped when missing,
failed with CLAUDEX_E2E_REQUIRED=1).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from claudex_doctor.auth import credentials as codexauth
from claudex_doctor.auth.sync import apply
from claudex_doctor.base import paths as paths_mod
from claudex_doctor.core.model import Status
from claudex_doctor.errors import PrimitiveError
from tests.e2e import harness  # imported now: it captures the environment before the fixtures scrub it

pytestmark = pytest.mark.e2e

DAY = 86400


def _component(name: str) -> Path:
    path, why = harness.find_component(name)
    if path is None:
        if harness.components_required():
            pytest.fail(f"e2e component missing and CLAUDEX_E2E_REQUIRED=1: {why}", pytrace=False)
        pytest.skip(why)
    return path


@pytest.fixture
def upstream(tmp_path):
    from tests.fakes.upstream import FakeUpstream

    with FakeUpstream(workdir=tmp_path / "upstream") as fake:
        yield fake


@pytest.fixture
def runtime(tmp_path, upstream):
    proxy = harness.ProxyRuntime(tmp_path / "stack", _component("proxy"), upstream)
    try:
        yield proxy
    finally:
        proxy.stop()


def _env(runtime) -> dict[str, str]:
    codex_home = runtime.root / "codex"
    codex_home.mkdir(exist_ok=True)
    return {"HOME": str(runtime.user_home), "PATH": "/usr/bin:/bin", "CODEX_HOME": str(codex_home),
            "CLAUDEX_GATEWAY_HOME": str(runtime.home)}


def _checks(env: dict[str, str], *ids: str) -> dict:
    from claudex_doctor.checks import StackContext, graph
    from claudex_doctor.core.context import Options
    from claudex_doctor.core.graph import run

    ctx = StackContext(paths_mod.resolve(env), Options(deadline=10), env=env)
    return {f.id: f for f in run(graph(), ctx, only=ids)}


def _write_codex_login(env, tokens) -> Path:
    from tests.fakes.upstream_creds import make_codex_auth_json, write_json

    return write_json(Path(env["CODEX_HOME"]) / "auth.json", make_codex_auth_json(tokens, auth_mode=None))


def test_the_proxy_serves_requests_with_the_credential_sync_auth_wrote(runtime, upstream):
    env = _env(runtime)
    tokens = upstream.issue_tokens(ttl=10 * DAY)  # beyond the 5-day lead: no refresh at startup
    _write_codex_login(env, tokens)
    paths = paths_mod.resolve(env)
    apply(paths)
    runtime.start()  # waits until /v1/models lists a model: the credential was loaded
    reply = runtime.post("/v1/messages", {"model": "gpt-5.5", "max_tokens": 50,
                                          "messages": [{"role": "user", "content": "say pong"}]})
    assert reply.status_code == 200, reply.text
    calls = upstream.requests_to("chatgpt.com", "/backend-api/codex/responses")
    assert calls and calls[-1].headers.get("chatgpt-account-id") == tokens.account_id
    found = _checks(env, "auth.codex", "auth.proxy", "auth.sync")
    assert [found[i].status for i in ("auth.proxy", "auth.sync")] == [Status.PASS, Status.PASS]


def test_proxy_refresh_is_detected_and_reverse_sync_restores_codex(runtime, upstream):
    env = _env(runtime)
    tokens = upstream.issue_tokens(ttl=2 * DAY)  # inside the lead: the proxy refreshes at once
    codex_file = _write_codex_login(env, tokens)
    paths = paths_mod.resolve(env)
    apply(paths)
    assert _checks(env, "auth.sync")["auth.sync"].status is Status.PASS

    runtime.start()
    rotated = runtime.wait_for(lambda: runtime.peek_auth().get("refresh_token") not in (None, tokens.refresh_token))
    assert rotated, runtime.output()
    assert upstream.refresh_state(tokens.refresh_token) == "used"  # Codex's copy is now spent

    found = _checks(env, "auth.codex", "auth.proxy", "auth.sync")
    assert found["auth.proxy"].status is Status.PASS, found["auth.proxy"]  # the proxy's own compact rewrite
    sync = found["auth.sync"]
    assert sync.status is Status.WARN and sync.evidence["newer"] == "proxy", sync
    assert sync.fix.args == {"reverse": True, "yes": True}

    before = codex_file.read_bytes()
    with pytest.raises(PrimitiveError, match="--reverse"):
        apply(paths)  # newest wins: the stale Codex tokens must not overwrite the live session
    result = apply(paths, reverse=True, yes=True)
    assert result.ok and result.backups
    live = runtime.read_auth()
    codex = codexauth.load_codex(codex_file)
    assert codex.ok and codex.tokens.refresh_token == live["refresh_token"]
    assert upstream.refresh_state(codex.tokens.refresh_token) == "active"
    assert codex_file.read_bytes() != before
    assert _checks(env, "auth.sync")["auth.sync"].status is Status.PASS

    codex_bin = _component("codex")
    status = subprocess.run([str(codex_bin), "login", "status"], capture_output=True, text=True, timeout=30,
                            env={**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert status.returncode == 0 and "Logged in using ChatGPT" in status.stderr, status.stderr
    # Nothing the doctor printed or journalled holds a token.
    journal = paths.journal.read_text()
    for value in (tokens.refresh_token, tokens.access_token, live["refresh_token"], live["access_token"]):
        assert value not in journal and value not in json.dumps(result.details) + " ".join(result.changes)
