"""Redaction: canary secrets never survive any output path."""

from __future__ import annotations

import base64
import json

from claudex_doctor.base import redact
from claudex_doctor.base.redact import REGISTRY, Secret, fingerprint, redact_text
from claudex_doctor.core.model import Finding, Fix, FixOutcome, FixStatus, RunResult, Safety, Status
from claudex_doctor.render import json as json_render
from claudex_doctor.render import terminal

CANARY_KEY = "canary-local-key-7f3a9c2e1b"
CANARY_REFRESH = "rt_CANARYrefreshTOKEN0123456789abcdef"


def jwt(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none'})}.{part(claims)}.c2lnbmF0dXJlLWNhbmFyeQ"


def test_fingerprint_is_stable_and_short():
    assert fingerprint("abc") == fingerprint("abc")
    assert fingerprint("abc").startswith("sha256:") and len(fingerprint("abc")) == 15
    assert fingerprint("abc") != fingerprint("abd")


def test_secret_type_never_shows_its_value():
    s = Secret("super-secret-value-123")
    assert "super-secret" not in str(s) and "super-secret" not in repr(s) and "super-secret" not in f"{s!r} {s}"
    assert s.reveal() == "super-secret-value-123"


def test_registered_values_become_fingerprints():
    REGISTRY.add(CANARY_KEY)
    out = redact_text(f"key is {CANARY_KEY}!")
    assert CANARY_KEY not in out and fingerprint(CANARY_KEY) in out


def test_shapes_are_masked_even_when_nobody_registered_them():
    token = jwt({"sub": "x", "exp": 1})
    samples = [
        token,
        "sk-proj-ABCDEFGHijklmnop1234567890",
        "Authorization: Bearer abcdef0123456789abcdef",
        CANARY_REFRESH,
        '"refresh_token": "opaque-but-secret-99"',
        "api_key=0123456789abcdefXYZ",
        "x" * 3 + "Q9vZ2xlLWNhbmFyeS1oaWdoLWVudHJvcHktc3RyaW5n",
    ]
    for sample in samples:
        out = redact_text(f"before {sample} after")
        assert "redacted" in out, sample
    assert token not in redact_text(token)


def test_ordinary_text_is_left_alone():
    for text in ["/home/user/.local/share/claudex-gateway/claude-code-gpt54.env", "gpt-5.6-terra(max)",
                 "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "127.0.0.1:8327", "your-api-key-1",
                 "input_tokens: 12345678", "a7e3596b7e351d800e58ed29529fbca3d1c18737"]:
        assert redact_text(text) == text, text


def test_redaction_is_idempotent():
    REGISTRY.add(CANARY_KEY)
    once = redact_text(f"{CANARY_KEY} Bearer {CANARY_KEY} {jwt({'a': 1})}")
    assert redact_text(once) == once


def test_register_from_walks_structures():
    redact.register_from({"tokens": {"access_token": "acc-canary-0001", "account_id": "acct"},
                          "api-keys": ["list-key-canary-2"], "host": "127.0.0.1"})
    out = redact_text("acc-canary-0001 list-key-canary-2 127.0.0.1")
    assert "acc-canary" not in out and "list-key-canary" not in out and "127.0.0.1" in out


def canary_result() -> RunResult:
    REGISTRY.add(CANARY_KEY)
    token = jwt({"exp": 1})
    finding = Finding(
        id="env.consistency", title="Env file", status=Status.FAIL,
        summary=f"token {CANARY_KEY} is not in api-keys",
        details=(f"refresh {CANARY_REFRESH}", f"id token {token}"),
        evidence={"token": CANARY_KEY, "nested": {CANARY_KEY: [token]}},
        reference="references/config.md#env-file-disagrees-with-config",
        fix=Fix.safe("set-env", f"set ANTHROPIC_AUTH_TOKEN={CANARY_KEY}"),
    )
    return RunResult((finding,), "~/x", "2026-11-24T00:00:00+00:00", 5, "0.1.0",
                     fixes=(FixOutcome("set-env", Safety.SAFE, FixStatus.APPLIED, ("env.consistency",),
                                       f"claudex-doctor set-env ANTHROPIC_AUTH_TOKEN={CANARY_KEY}", "set the token",
                                       f"wrote {CANARY_KEY}", (f"ANTHROPIC_AUTH_TOKEN -> {CANARY_KEY}",)),))


def test_no_canary_in_json_or_terminal_output():
    result = canary_result()
    for text in (json_render.render(result), terminal.render(result, color=True),
                 terminal.render(result, color=False, verbose=True)):
        assert CANARY_KEY not in text
        assert CANARY_REFRESH not in text
        assert "eyJ" not in text


def test_key_value_pairs_are_not_mistaken_for_one_random_string():
    for text in ["ANTHROPIC_DEFAULT_OPUS_MODEL=gpt-5.6-sol(xhigh)", "CLAUDE_CODE_AUTO_COMPACT_WINDOW=372000",
                 "ANTHROPIC_DEFAULT_HAIKU_MODEL=gpt-5.6-luna(low)"]:
        assert redact_text(text) == text, text
    padded = "QmFzZTY0IHBhZGRlZCBjYW5hcnkgdmFsdWUgMTIzNA=="
    assert padded not in redact_text(f"value {padded}")
