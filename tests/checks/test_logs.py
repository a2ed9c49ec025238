"""logs.errors: signatures in the proxy's log tails, counts, last occurrence, redaction, bad files."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.checks import StackContext, logs
from claudex_doctor.core.context import Options
from claudex_doctor.core.model import Status
from claudex_doctor.knowledge import load
from claudex_doctor.knowledge.signatures import compile_signature
from tests.fakes.home import make_home

CANARY = "canary-local-key-7f3a9c2e5b"


@pytest.fixture
def home(tmp_path, user_home) -> Path:
    # The canary lives only in the env file (config.yaml has another key): logs.errors must still mask it.
    return make_home(tmp_path / "home", 8327, key=CANARY, api_keys=["config-side-key-5d8e1f0a7b"])


def ctx_for(home: Path, user_home: Path) -> StackContext:
    env = {"HOME": str(user_home)}
    return StackContext(resolve(env=env, home_option=str(home)), Options(deadline=5), env=env)


def stamp(delta: timedelta = timedelta()) -> str:
    return (datetime.now() - delta).strftime("[%Y-%m-%d %H:%M:%S]")


def test_every_signature_matches_its_examples_and_claims_them_first():
    signatures = load("signatures")["signatures"]
    assert {s["id"] for s in signatures} >= {
        "refresh_token_reused", "token_invalidated", "usage_limit_reached", "unsafe_example_api_key",
        "model_not_supported", "address_in_use", "auth_unavailable", "context_window_exceeded",
        "unsupported_parameter"}
    for sig in signatures:
        assert sig["examples"], sig["id"]
        for example in sig["examples"]:
            first = next(s for s in signatures if re.search(s["pattern"], example, re.IGNORECASE))
            assert first["id"] == sig["id"], (sig["id"], example)
            # the check's own matcher (lower-cased patterns where that means the same) agrees, in any case
            for text in (example, example.upper(), example.lower()):
                found: dict = {}
                logs.scan(text, "log", None, found)
                assert list(found) == [sig["id"]], (sig["id"], text)


def test_patterns_whose_meaning_depends_on_case_keep_ignorecase():
    assert compile_signature(r"token\S+expired").flags & re.IGNORECASE
    assert compile_signature(r"token\S+expired").search("TOKEN_X_EXPIRED")
    fast = compile_signature(r"Unsafe Example API key|\bchatgpt\.com[^\n]*refused")
    assert not fast.flags & re.IGNORECASE and fast.pattern == r"unsafe example api key|\bchatgpt\.com[^\n]*refused"


def test_no_log_is_a_clear_skip(home, user_home):
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert outcome.status is Status.SKIP and "no proxy log" in outcome.summary


def test_clean_log_passes(home, user_home):
    (home / "cli-proxy-api.log").write_text(f"{stamp()} [--------] [info ] [main.go:1] API server started\n")
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert outcome.status is Status.PASS and "no known error signature" in outcome.summary


def test_counts_last_occurrence_and_fails_on_a_recent_serious_one(home, user_home):
    old, recent = stamp(timedelta(hours=3)), stamp(timedelta(minutes=2))
    (home / "cli-proxy-api.log").write_text("\n".join([
        f"{old} [abc] [warn ] [x.go:1] upstream status=429 err={{\"error\":{{\"type\":\"usage_limit_reached\"}}}}",
        f"{old} [abc] [error] [x.go:2] refresh failed: refresh_token_reused",
        f"{recent} [abc] [error] [x.go:2] refresh failed: refresh_token_reused (client {CANARY})",
        f"{recent} [--------] [info ] [gin_logger.go:97] 200 | 0s | 127.0.0.1 | GET \"/v1/models\"",
    ]) + "\n")
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("the proxy log shows refresh_token_reused (2x), usage_limit_reached (1x)")
    assert recent.strip("[]") in outcome.summary
    match = outcome.evidence["matches"]["refresh_token_reused"]
    assert match["count"] == 2 and match["last"] == recent.strip("[]")
    assert CANARY not in str(outcome) and "[abc]" not in match["excerpt"]
    assert outcome.reference == "references/probes.md#refresh-token-reused"
    assert outcome.fix.safety.value == "manual" and "codex login" in outcome.fix.command


def test_a_serious_line_from_before_the_last_repair_only_warns(home, user_home):
    from claudex_doctor.base import journal

    (home / "cli-proxy-api.log").write_text(
        f"{stamp(timedelta(minutes=5))} [--------] [warn ] [openai_auth.go:320] Token refresh attempt 1 failed with "
        "non-retryable error: token refresh failed with status 401: {\"error\": {\"code\": \"refresh_token_reused\"}}\n")
    paths = resolve(env={"HOME": str(user_home)}, home_option=str(home))
    assert logs.logs_errors.run(ctx_for(home, user_home)).status is Status.FAIL
    journal.record(paths, "sync-auth", "failed", "refused")  # a failed primitive repaired nothing
    assert logs.logs_errors.run(ctx_for(home, user_home)).status is Status.FAIL
    journal.record(paths, "sync-auth", "applied", "copied the newer tokens")
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert outcome.status is Status.WARN
    assert any("before the last repair" in d for d in outcome.details)


def test_old_serious_lines_only_warn(home, user_home):
    (home / "cli-proxy-api.log").write_text(
        f"{stamp(timedelta(days=2))} [--------] [error] [run.go:66] proxy service exited with error: failed to start "
        "HTTP server: listen tcp 127.0.0.1:8327: bind: address already in use\n")
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert outcome.status is Status.WARN and "address_in_use (1x)" in outcome.summary
    assert outcome.reference == "references/probes.md#port-already-in-use"


def test_file_logs_under_the_home_and_the_auth_dir_are_read(home, user_home):
    (home / "logs").mkdir()
    (home / "logs" / "main.log").write_text(f"{stamp()} [x] [warn ] Your input exceeds the context window of this model\n")
    auth_logs = home / "auth" / "logs"
    auth_logs.mkdir(parents=True)
    (auth_logs / "error-v1-messages-2026-11-24T024828-3f2dc305.log").write_text(
        "=== REQUEST INFO ===\nTimestamp: 2026-11-24T02:48:28.408164704Z\n\n"
        "=== REQUEST BODY ===\n{\"messages\":[{\"content\":\"why does unknown parameter happen?\"}]}\n\n"
        "=== API RESPONSE ===\nTimestamp: 2026-11-24T02:48:28.411294079Z\n"
        "{\"detail\":\"Unsupported parameter: temperature\"}\n\n"
        "=== RESPONSE ===\nStatus: 400\n{\"detail\":\"Unsupported parameter: temperature\"}\n")
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    matches = outcome.evidence["matches"]
    assert set(matches) == {"context_window_exceeded", "unsupported_parameter"}
    assert matches["unsupported_parameter"]["count"] == 1  # one failed request; the request body's words do not count
    last = datetime.fromisoformat("2026-11-24T02:48:28+00:00").astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert matches["unsupported_parameter"]["last"] == last
    assert len(outcome.evidence["files"]) == 2


def test_only_the_tail_of_a_big_log_is_read(home, user_home):
    head = f"{stamp()} [x] [error] auth_unavailable: no auth available\n"
    filler = f"{stamp()} [x] [info ] nothing to see here\n" * (2 * logs.TAIL_BYTES // 40)
    (home / "cli-proxy-api.log").write_text(head + filler)
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert outcome.status is Status.PASS and outcome.evidence["bytes_read"] <= logs.TAIL_BYTES


def test_binary_garbage_is_read_without_a_crash_and_left_unchanged(home, user_home):
    log = home / "cli-proxy-api.log"
    log.write_bytes(b"\x00\xff\xfe garbage \x00" * 100 + b"\nrefresh_token_reused\n\xc3\x28\n")
    before = log.read_bytes()
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert outcome.status is Status.WARN and "refresh_token_reused" in outcome.summary  # unstamped: only a warning
    assert "file changed" in outcome.evidence["matches"]["refresh_token_reused"]["last"]
    assert log.read_bytes() == before


def test_unreadable_log_is_a_named_warning(home, user_home, monkeypatch):
    (home / "cli-proxy-api.log").write_text("refresh_token_reused\n")

    def denied(path, limit=logs.TAIL_BYTES):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(logs, "read_tail", denied)
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert outcome.status is Status.WARN and "cannot read the proxy log" in outcome.summary
    assert "Permission denied" in outcome.summary and "cli-proxy-api.log" in outcome.summary


def test_fake_gateway_log_lines_are_recognised(home, user_home):
    """The fake gateway logs what the real proxy logs: safe mode, then a port already taken."""
    import socket
    import subprocess
    import sys
    gateway = Path(__file__).resolve().parent.parent / "fakes" / "gateway.py"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        (home / "config.yaml").write_text(f'host: "127.0.0.1"\nport: {taken.getsockname()[1]}\n'
                                          'api-keys: ["your-api-key-1"]\n')
        with (home / "cli-proxy-api.log").open("w") as out:
            subprocess.run([sys.executable, str(gateway), "-config", "config.yaml"], cwd=home, stdout=out,
                           timeout=20, check=True)
    outcome = logs.logs_errors.run(ctx_for(home, user_home))
    assert set(outcome.evidence["matches"]) == {"unsafe_example_api_key", "address_in_use"}
    assert outcome.status is Status.FAIL
