"""auth.codex, auth.proxy, auth.sync: each catch breaks exactly one thing in a throwaway stack."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest

from claudex_doctor.checks.auth import parse_login_status
from claudex_doctor.core.model import Safety, Status
from claudex_doctor.help import refs
from tests.authkit import NOW, Login, Stack, text_of


@pytest.fixture
def stack(tmp_path) -> Stack:
    return Stack(tmp_path)


@pytest.fixture
def synced(stack) -> tuple[Stack, Login]:
    """A healthy stack: Codex and proxy hold the same fresh login."""
    login = Login()
    stack.make_home()
    stack.write_codex(login.codex_json())
    stack.write_proxy(login.proxy_json())
    return stack, login


def assert_reference_resolves(finding) -> None:
    if finding.reference:
        assert refs.library().problem(finding.reference) is None, finding.reference


def assert_no_secret(finding, login: Login) -> None:
    text = text_of(finding)
    for value in login.secrets:
        assert value not in text
    assert login.canary not in text


# -- auth.codex ----------------------------------------------------------------------

def test_healthy_login_passes_with_plan_and_email(synced):
    stack, login = synced
    found = stack.run("auth.codex", "auth.proxy", "auth.sync")
    codex = found["auth.codex"]
    assert codex.status is Status.PASS, codex
    assert "plus" in codex.summary and "me@example.com" in codex.summary
    assert codex.evidence["account_id"] == login.account
    assert codex.evidence["refresh_token"].startswith("sha256:")
    assert found["auth.proxy"].status is Status.PASS, found["auth.proxy"]
    assert found["auth.sync"].status is Status.PASS
    for finding in found.values():
        assert_no_secret(finding, login)


def test_missing_auth_json_is_not_logged_in(stack):
    stack.codex_home.mkdir()
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.FAIL
    assert "not logged in" in finding.summary
    assert finding.reference.endswith("#codex-not-logged-in")
    assert finding.fix.safety is Safety.MANUAL and finding.fix.command == "codex login"


def test_missing_codex_home_is_named(stack):
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.FAIL and "does not exist" in finding.summary
    assert "CODEX_HOME" in finding.summary


@pytest.mark.parametrize("mode", ["keyring", "auto", "ephemeral"])
def test_keyring_storage_makes_a_missing_file_normal(stack, mode):
    stack.codex_config(f'model = "gpt-5.5"\ncli_auth_credentials_store = "{mode}"\n')
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN, finding
    assert "normal" in finding.summary and "not logged in" not in finding.summary
    assert finding.evidence["storage"] == mode
    assert finding.reference.endswith("#codex-login-in-the-keyring")


def test_keyring_storage_confirmed_by_codex(stack):
    stack.codex_config("cli_auth_credentials_store = 'keyring'\n")
    stack.fake_codex("Logged in using ChatGPT")
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN and finding.summary.startswith("logged in, kept in the keyring store")
    assert finding.evidence["codex_login_status"] == "chatgpt"


def test_keyring_storage_and_codex_says_not_logged_in(stack):
    stack.codex_config("cli_auth_credentials_store = \"keyring\"\n")
    stack.fake_codex("Not logged in", code=1)
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.FAIL and "not logged in" in finding.summary


def test_api_key_mode_fails_and_never_shows_the_key(stack):
    key = "sk-proj-" + "CANARYkey" + "x" * 30
    stack.write_codex({"OPENAI_API_KEY": key})
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.FAIL
    assert "API key" in finding.summary
    assert finding.reference.endswith("#codex-in-api-key-mode")
    assert key not in text_of(finding) and finding.evidence["api_key"].startswith("sha256:")


def test_api_key_beside_tokens_warns_that_codex_ignores_them(stack):
    login = Login()
    stack.write_codex(login.codex_json(OPENAI_API_KEY="sk-proj-" + "y" * 40))
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN and finding.reference.endswith("#codex-in-api-key-mode")


def test_explicit_chatgpt_auth_mode_beats_a_leftover_key(stack):
    login = Login()
    stack.write_codex(login.codex_json(OPENAI_API_KEY="sk-proj-" + "y" * 40, auth_mode="chatgpt"))
    assert stack.run("auth.codex")["auth.codex"].status is Status.PASS


def test_expired_access_token_with_refresh_token_is_a_warning(stack):
    login = Login(issued=NOW - timedelta(days=12), lifetime=timedelta(days=10))
    stack.write_codex(login.codex_json())
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN and "expired" in finding.summary
    assert finding.reference.endswith("#codex-access-token-expired")
    assert finding.fix is None  # codex and the proxy refresh it themselves


def test_account_id_that_is_not_the_claim_warns(stack):
    login = Login()
    data = login.codex_json()
    data["tokens"]["account_id"] = "acct-somebody-else"
    stack.write_codex(data)
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN and "account_id" in finding.summary
    assert finding.reference.endswith("#codex-tokens-inconsistent")


def test_missing_last_refresh_warns(stack):
    login = Login()
    data = login.codex_json()
    del data["last_refresh"]
    stack.write_codex(data)
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN and "last_refresh is missing" in finding.summary


def test_unparseable_last_refresh_fails_like_codex(stack):
    stack.write_codex(Login().codex_json(last_refresh="yesterday"))
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.FAIL and "last_refresh" in finding.summary
    assert finding.reference.endswith("#codex-auth-file-unreadable")


def test_missing_refresh_token_fails(stack):
    data = Login().codex_json()
    del data["tokens"]["refresh_token"]
    stack.write_codex(data)
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.FAIL and "refresh_token is missing" in finding.summary


def test_codex_login_status_disagreement_is_a_warning(stack, tmp_path):
    login = Login()
    stack.write_codex(login.codex_json())
    record = tmp_path / "codex-calls.txt"
    stack.fake_codex("Not logged in", code=1, record=record)
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN and "disagrees" in finding.summary
    assert finding.reference.endswith("#codex-login-status-disagrees")
    # codex ran with the doctor's own CODEX_HOME, asked only for the status
    assert record.read_text().strip() == f"{stack.codex_home}|login status"


def test_codex_login_status_agreement_passes(stack):
    stack.write_codex(Login().codex_json())
    stack.fake_codex("Logged in using ChatGPT")
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.PASS and finding.evidence["codex_login_status"] == "chatgpt"


def test_a_hanging_codex_is_bounded(stack):
    stack.write_codex(Login().codex_json())
    script = stack.bin / "codex"
    script.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    os.chmod(script, 0o755)
    started = time.monotonic()
    finding = stack.run_with_deadline(1.5, "auth.codex")["auth.codex"]
    assert time.monotonic() - started < 10  # not the 30 s codex sleeps
    assert finding.status is Status.PASS  # the file is fine; codex's silence is not a finding
    assert finding.evidence["codex_login_status"] == "unknown"


@pytest.mark.parametrize("text, state", [
    ("Logged in using ChatGPT", "chatgpt"),
    ("Logged in using an API key - sk-proj-***ABCDE", "api_key"),
    ("API key configured - sk-proj-***ABCDE\nAuthentication is checked when you send a request.", "api_key"),
    ("WARNING: proceeding, even though we could not create PATH aliases\nNot logged in", "not_logged_in"),
    ("Error checking login status: failed to deserialize CLI auth from file", "error"),
    ("something else entirely", "unknown"),
])
def test_login_status_parsing(text, state):
    assert parse_login_status(text) == state


def _real_codex() -> Path | None:
    """CLAUDEX_E2E_CODEX, else codex on PATH, else the end-to-end components' folder (if installed)."""
    explicit = os.environ.get("CLAUDEX_E2E_CODEX")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    found = shutil.which("codex")
    if found:
        return Path(found)
    try:
        from tests.e2e.harness import find_component
    except ImportError:
        return None
    return find_component("codex")[0]


REAL_CODEX = _real_codex()  # read at import: the autouse fixture clears CLAUDEX_* for each test


@pytest.mark.e2e
def test_real_codex_login_status_agrees_with_the_doctor(stack):
    codex = REAL_CODEX
    if codex is None:
        pytest.skip("no real codex binary (set CLAUDEX_E2E_CODEX or put codex on PATH)")
    (stack.bin / "codex").symlink_to(codex.resolve())
    stack.env["PATH"] = f"{stack.bin}:{os.environ.get('PATH', '')}"
    stack.write_codex(Login().codex_json())
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.evidence["codex_login_status"] == "chatgpt", finding
    assert finding.status is Status.PASS
    stack.write_codex({"OPENAI_API_KEY": "sk-proj-" + "z" * 40})
    assert stack.run("auth.codex")["auth.codex"].evidence["codex_login_status"] == "api_key"
    stack.codex_file.unlink()
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.FAIL and finding.evidence["codex_login_status"] == "not_logged_in"
    # An id_token with an empty signature part: codex rejects the file, and so does the doctor.
    data = Login().codex_json()
    data["tokens"]["id_token"] = data["tokens"]["id_token"].rsplit(".", 1)[0] + "."
    stack.write_codex(data)
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.FAIL and finding.evidence["codex_login_status"] == "error"


# -- auth.proxy ------------------------------------------------------------------------

def test_missing_proxy_credential_fails_with_safe_sync(stack):
    stack.make_home()
    stack.write_codex(Login().codex_json())
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.FAIL and finding.reference.endswith("#proxy-credential-missing")
    assert finding.fix.primitive == "sync-auth" and finding.fix.safety is Safety.SAFE


def test_missing_proxy_credential_without_codex_login_is_manual(stack):
    stack.make_home()
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.FAIL and finding.fix.safety is Safety.MANUAL
    assert "codex login" in finding.fix.command


def test_nested_codex_copy_fails_with_sync(stack):
    login = Login()
    stack.write_codex(login.codex_json())
    stack.write_proxy(login.codex_json())
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.FAIL and "nested" in finding.summary
    assert finding.reference.endswith("#proxy-credential-in-codex-format")
    assert finding.fix.primitive == "sync-auth" and finding.fix.safety is Safety.SAFE
    assert_no_secret(finding, login)


def test_flat_file_without_type_fails(stack):
    data = Login().proxy_json()
    del data["type"]
    stack.write_proxy(data)
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.FAIL and "type" in finding.summary


def test_credential_of_another_provider_is_not_overwritten_by_the_fix(stack):
    stack.write_proxy(Login().proxy_json(type="gemini"))
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.FAIL and "gemini" in finding.summary
    assert finding.fix.safety is Safety.MANUAL


def test_disabled_credential_fails(stack):
    stack.write_proxy(Login().proxy_json(disabled=True))
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.FAIL and "disabled" in finding.summary
    assert finding.reference.endswith("#proxy-credential-disabled")


@pytest.mark.parametrize("file_mode, dir_mode", [(0o644, 0o700), (0o600, 0o755)])
def test_loose_permissions_warn(stack, file_mode, dir_mode):
    login = Login()
    stack.write_codex(login.codex_json())
    stack.write_proxy(login.proxy_json(), mode=file_mode)
    os.chmod(stack.auth_dir, dir_mode)
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.WARN, finding
    assert finding.reference.endswith("#proxy-credential-permissions")
    assert finding.fix.primitive == "sync-auth"  # same tokens: sync-auth only tightens the modes


def test_loose_permissions_with_newer_proxy_tokens_fix_by_hand(stack):
    old, new = Login(issued=NOW - timedelta(days=3)), Login()
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.proxy_json(), mode=0o644)
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.fix.safety is Safety.MANUAL and "chmod 600" in finding.fix.command


def test_expired_proxy_token_with_refresh_token_warns(stack):
    login = Login(issued=NOW - timedelta(days=11))
    stack.write_proxy(login.proxy_json())
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.WARN and "expired" in finding.summary
    assert finding.reference.endswith("#proxy-credential-expired")


def test_expired_proxy_token_without_refresh_token_fails(stack):
    data = Login(issued=NOW - timedelta(days=11)).proxy_json()
    del data["refresh_token"]
    stack.write_proxy(data)
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.FAIL and "no refresh token" in finding.summary


def test_no_refresh_token_but_still_valid_warns(stack):
    data = Login().proxy_json()
    data["refresh_token"] = ""
    stack.write_proxy(data)
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.WARN and "no refresh token" in finding.summary


def test_expiry_alias_is_honoured(stack):
    login = Login()
    data = login.proxy_json()
    data["expires_at"] = data.pop("expired")
    stack.write_proxy(data)
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.PASS and finding.evidence["expiry_field"] == "expires_at"


def test_broken_proxy_json_fails_with_a_confirm_force_fix(stack):
    stack.write_codex(Login().codex_json())
    stack.write_proxy(None, raw='{"type": "codex", "access_token": ')
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.FAIL and "not valid JSON" in finding.summary
    assert finding.fix.safety is Safety.CONFIRM and finding.fix.args == {"force": True}


def test_proxy_check_needs_the_home(stack):
    finding = stack.run("auth.proxy")["auth.proxy"]
    assert finding.status is Status.SKIP and finding.blocked_by == ("paths.home",)


# -- auth.sync --------------------------------------------------------------------------

def test_same_tokens_pass_and_explain_the_race(synced):
    stack, login = synced
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.status is Status.PASS and "same tokens" in finding.summary
    assert any("refresh_token_reused" in d for d in finding.details)
    assert finding.evidence["codex"]["refresh_token"] == finding.evidence["proxy"]["refresh_token"]
    assert_no_secret(finding, login)


def test_codex_newer_warns_with_safe_sync(stack):
    old, new = Login(issued=NOW - timedelta(days=2)), Login()
    stack.write_codex(new.codex_json())
    stack.write_proxy(old.proxy_json())
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.status is Status.WARN and "older tokens than Codex" in finding.summary
    assert finding.evidence["newer"] == "codex" and finding.evidence["basis"] == "last_refresh"
    assert finding.fix.primitive == "sync-auth" and finding.fix.safety is Safety.SAFE and not finding.fix.args
    assert finding.reference.endswith("#proxy-credential-older-than-codex")
    assert_no_secret(finding, old)
    assert_no_secret(finding, new)


def test_codex_newer_and_proxy_expired_fails(stack):
    old, new = Login(issued=NOW - timedelta(days=11)), Login()
    stack.write_codex(new.codex_json())
    stack.write_proxy(old.proxy_json())
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.status is Status.FAIL and finding.fix.safety is Safety.SAFE


def test_proxy_newer_warns_with_reverse_confirm(stack):
    old, new = Login(issued=NOW - timedelta(days=2)), Login()
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.proxy_json())
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.status is Status.WARN and "Codex's copy is stale" in finding.summary
    assert finding.reference.endswith("#proxy-refreshed-codex-stale")
    assert finding.fix.safety is Safety.CONFIRM
    assert finding.fix.args == {"reverse": True, "yes": True}
    assert finding.fix.command == "claudex-doctor sync-auth --reverse --yes"


def test_newer_by_issue_time_when_last_refresh_is_missing(stack):
    old, new = Login(issued=NOW - timedelta(days=2)), Login()
    data = new.proxy_json()
    del data["last_refresh"]
    stack.write_codex(old.codex_json())
    stack.write_proxy(data)
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.evidence["newer"] == "proxy" and finding.evidence["basis"] == "issued_at"


def test_different_accounts_fail_and_say_which_is_which(stack):
    mine = Login(account="acct-mine", email="me@example.com", plan="plus")
    work = Login(account="acct-work", email="me@work.example", plan="team")
    stack.write_codex(mine.codex_json())
    stack.write_proxy(work.proxy_json())
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.status is Status.FAIL and "different ChatGPT accounts" in finding.summary
    joined = " ".join(finding.details)
    assert "me@example.com" in joined and "me@work.example" in joined and "team" in joined
    assert finding.fix.safety is Safety.MANUAL


def test_undecidable_direction_warns(stack):
    a, b = Login(), Login()
    pa, ca = b.proxy_json(), a.codex_json()
    del pa["last_refresh"], ca["last_refresh"]
    stack.write_codex(ca)
    stack.write_proxy(pa)
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.status is Status.WARN and finding.evidence["newer"] == "unknown"
    assert finding.reference.endswith("#sync-direction-unknown")


def test_sync_skips_when_codex_keeps_the_login_in_the_keyring(stack):
    stack.codex_config('cli_auth_credentials_store = "keyring"\n')
    stack.write_proxy(Login().proxy_json())
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.status is Status.SKIP and "keyring" in finding.summary


def test_sync_is_blocked_when_a_side_fails(stack):
    stack.make_home()
    stack.write_codex(Login().codex_json())
    finding = stack.run("auth.sync")["auth.sync"]
    assert finding.status is Status.SKIP and finding.blocked_by == ("auth.proxy",)


# -- whole-run properties ----------------------------------------------------------------

SCENARIOS = {
    "synced": lambda s, a, b: (s.write_codex(a.codex_json()), s.write_proxy(a.proxy_json())),
    "codex-newer": lambda s, a, b: (s.write_codex(b.codex_json()), s.write_proxy(a.proxy_json(), mode=0o644)),
    "proxy-newer": lambda s, a, b: (s.write_codex(a.codex_json()), s.write_proxy(b.proxy_json())),
    "nested": lambda s, a, b: (s.write_codex(a.codex_json()), s.write_proxy(b.codex_json())),
    "broken": lambda s, a, b: (s.write_codex(None, raw=json.dumps(a.codex_json())[:-40]),
                               s.write_proxy(None, raw=json.dumps(b.proxy_json())[:-3])),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_checks_change_nothing_leak_nothing_and_every_reference_resolves(stack, scenario, capsys, monkeypatch):
    a, b = Login(issued=NOW - timedelta(days=3)), Login()
    stack.make_home()
    SCENARIOS[scenario](stack, a, b)
    before = stack.snapshot()
    found = stack.run("auth.codex", "auth.proxy", "auth.sync")
    for finding in found.values():
        assert finding.status is not Status.ERROR, finding
        assert_reference_resolves(finding)
        assert_no_secret(finding, a)
        assert_no_secret(finding, b)
    # The same through the CLI, terminal (verbose) and JSON.
    from claudex_doctor import cli
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    only = "auth.codex,auth.proxy,auth.sync"
    code_json = cli.main(["--json", "--offline", "--only", only])
    code_term = cli.main(["-v", "--offline", "--only", only])
    out = capsys.readouterr()
    assert code_json in (0, 1) and code_term == code_json
    assert "Traceback" not in out.err
    for login in (a, b):
        for value in login.secrets:
            assert value not in out.out and value not in out.err
        assert login.canary not in out.out
    assert stack.snapshot() == before


# -- storage mode (config.toml) -----------------------------------------------------------

@pytest.mark.parametrize("text, mode", [
    ('cli_auth_credentials_store = "keyring"\n', "keyring"),
    ("cli_auth_credentials_store = 'auto'  # comment\n", "auto"),
    ('model = "gpt-5.5"\n\n[profiles.x]\ncli_auth_credentials_store = "keyring"\n', "file"),  # not top level
    ('cli_auth_credentials_store = "keyring"\nthis is = = not toml\n', "keyring"),  # broken TOML: line parse
    ("cli_auth_credentials_store = 3\n", "file"),
    ("", "file"),
])
@pytest.mark.parametrize("have_tomllib", [True, False])
def test_storage_mode_is_read_with_or_without_tomllib(tmp_path, monkeypatch, text, mode, have_tomllib):
    import sys

    from claudex_doctor.auth import credentials as codexauth

    if not have_tomllib:
        monkeypatch.setitem(sys.modules, "tomllib", None)  # Python 3.10: no tomllib
    config = tmp_path / "config.toml"
    config.write_text(text)
    assert codexauth.storage_mode(config).mode == mode
    assert codexauth.storage_mode(tmp_path / "missing.toml").mode == "file"


def test_auth_json_left_over_in_keyring_mode_warns(stack):
    stack.codex_config('cli_auth_credentials_store = "keyring"\n')
    stack.write_codex(Login().codex_json())
    finding = stack.run("auth.codex")["auth.codex"]
    assert finding.status is Status.WARN and "may be stale" in finding.summary
    assert finding.reference.endswith("#codex-login-in-the-keyring")
