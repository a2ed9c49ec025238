"""sync-auth: newest wins, atomic writes with backups, clear refusals, no secret in any message."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest

from claudex_doctor.auth import credentials as codexauth
from claudex_doctor.auth.sync import apply
from claudex_doctor.base import journal
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.primitives import apply as apply_primitive
from tests.authkit import NOW, Login, Stack, rfc3339
from tests.conftest import run_cli


@pytest.fixture
def stack(tmp_path) -> Stack:
    return Stack(tmp_path).make_home()


@pytest.fixture
def old() -> Login:
    return Login(issued=NOW - timedelta(days=3))


@pytest.fixture
def new() -> Login:
    return Login()


def mode_of(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def result_text(result: PrimitiveResult) -> str:
    return json.dumps({"m": result.message, "c": result.changes, "b": result.backups, "d": result.details},
                      default=str)


def assert_clean(text: str, *logins: Login) -> None:
    for login in logins:
        for value in login.secrets:
            assert value not in text
        assert login.canary not in text


# -- the newest-wins matrix (forward) ---------------------------------------------------

def test_codex_newer_overwrites_the_proxy_with_a_backup_and_a_journal_entry(stack, old, new):
    stack.write_codex(new.codex_json())
    stack.write_proxy(old.proxy_json(priority=3, proxy_url="socks5://127.0.0.1:1080", expire="2001-01-01T00:00:00Z"),
                      mode=0o644)
    os.chmod(stack.auth_dir, 0o755)
    old_bytes = stack.proxy_file.read_bytes()
    result = apply(stack.paths)
    assert result.ok and "Codex's tokens are newer" in result.message
    data = json.loads(stack.proxy_file.read_text())
    assert data["type"] == "codex"
    assert (data["access_token"], data["refresh_token"], data["id_token"]) == \
        (new.access_token, new.refresh_token, new.id_token)
    assert data["account_id"] == new.account and data["email"] == new.email
    assert data["expired"] == rfc3339(new.issued + new.lifetime)
    assert data["last_refresh"] == rfc3339(new.last_refresh)
    assert data["priority"] == 3 and data["proxy_url"] == "socks5://127.0.0.1:1080"  # the proxy's own keys stay
    assert "expire" not in data  # a stale expiry alias must not contradict `expired`
    assert mode_of(stack.proxy_file) == 0o600 and mode_of(stack.auth_dir) == 0o700
    assert len(result.backups) == 1
    backups = list(stack.paths.backups.iterdir())
    assert len(backups) == 1 and backups[0].read_bytes() == old_bytes
    entry = journal.read(stack.paths)[-1]
    assert entry["primitive"] == "sync-auth" and entry["direction"] == "codex->proxy"
    assert_clean(result_text(result) + stack.paths.journal.read_text(), old, new)
    fp = codexauth.TokenSet.build({"refresh_token": new.refresh_token}).fingerprints()["refresh_token"]
    assert any(fp in change for change in result.changes)


def test_proxy_missing_is_written_without_a_backup(stack, new):
    stack.write_codex(new.codex_json())
    result = apply(stack.paths)
    assert result.ok and result.backups == []
    assert codexauth.load_proxy(stack.proxy_file).tokens.refresh_token == new.refresh_token
    assert mode_of(stack.proxy_file) == 0o600


def test_auth_dir_is_created_private(tmp_path, new):
    stack = Stack(tmp_path).make_home(auth_dir=False)
    stack.write_codex(new.codex_json())
    result = apply(stack.paths)
    assert any("create" in c and "auth" in c for c in result.changes)
    assert mode_of(stack.auth_dir) == 0o700


def test_proxy_newer_is_refused_and_points_at_reverse(stack, old, new):
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.proxy_json())
    before = stack.snapshot()
    with pytest.raises(PrimitiveError) as err:
        apply(stack.paths)
    message = str(err.value)
    assert "refusing to overwrite newer tokens" in message and "--reverse --yes" in message
    assert stack.snapshot() == before
    assert_clean(message, old, new)


def test_force_overwrites_newer_tokens_but_keeps_a_backup(stack, old, new):
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.proxy_json())
    kept = stack.proxy_file.read_bytes()
    result = apply(stack.paths, force=True)
    assert result.ok and "--force" in result.message
    assert codexauth.load_proxy(stack.proxy_file).tokens.refresh_token == old.refresh_token
    assert [p.read_bytes() for p in stack.paths.backups.iterdir()] == [kept]


def test_equal_tokens_are_already_in_sync_and_nothing_is_written(stack, new):
    stack.write_codex(new.codex_json())
    stack.write_proxy(new.proxy_json())
    before = stack.snapshot()
    result = apply(stack.paths)
    assert result.ok and result.message.startswith("already in sync") and result.changes == []
    assert stack.snapshot() == before
    assert not stack.paths.backups.exists() and not stack.paths.journal.exists()


def test_equal_tokens_with_loose_modes_only_tighten_them(stack, new):
    stack.write_codex(new.codex_json())
    stack.write_proxy(new.proxy_json(), mode=0o644)
    os.chmod(stack.auth_dir, 0o755)
    content = stack.proxy_file.read_bytes()
    result = apply(stack.paths)
    assert "already in sync" in result.message and len(result.changes) == 2
    assert mode_of(stack.proxy_file) == 0o600 and mode_of(stack.auth_dir) == 0o700
    assert stack.proxy_file.read_bytes() == content


def test_after_a_sync_the_doctor_agrees(stack, old, new):
    stack.write_codex(new.codex_json())
    stack.write_proxy(old.proxy_json())
    apply(stack.paths)
    found = stack.run("auth.codex", "auth.proxy", "auth.sync")
    assert [found[i].status.value for i in ("auth.codex", "auth.proxy", "auth.sync")] == ["pass", "pass", "pass"]


def test_nested_copy_in_the_proxy_file_is_replaced_without_force(stack, old, new):
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.codex_json())  # newer tokens, but in a format the proxy never read
    result = apply(stack.paths)
    assert result.ok and "not in a format the proxy reads" in result.message
    assert codexauth.load_proxy(stack.proxy_file).ok


@pytest.mark.parametrize("setup, words", [
    ("missing", "codex login"),
    ("api-key", "API key"),
    ("keyring", "keyring"),
    ("broken", "not valid JSON"),
    ("no-tokens", "no tokens"),
    ("tokens-string", "tokens is a string"),
])
def test_refusals_on_the_codex_side(stack, new, setup, words):
    if setup == "api-key":
        stack.write_codex({"OPENAI_API_KEY": "sk-proj-" + new.canary + "k" * 20})
    elif setup == "keyring":
        stack.codex_config('cli_auth_credentials_store = "keyring"\n')
    elif setup == "broken":
        stack.write_codex(None, raw=json.dumps(new.codex_json())[:-30])
    elif setup == "no-tokens":
        stack.write_codex({"OPENAI_API_KEY": None, "last_refresh": rfc3339(NOW)})
    elif setup == "tokens-string":
        stack.write_codex({"OPENAI_API_KEY": None, "tokens": "x"})
    stack.write_proxy(new.proxy_json(refresh_token="something-else-entirely"))
    before = stack.snapshot()
    with pytest.raises(PrimitiveError) as err:
        apply(stack.paths, force=True)  # not even --force copies from an unusable source
    assert words in str(err.value)
    assert_clean(str(err.value), new)
    assert stack.snapshot() == before


def test_broken_proxy_file_needs_force(stack, new):
    stack.write_codex(new.codex_json())
    broken = b'{"type": "codex", "access_token": "eyJ'
    stack.write_proxy(None, raw=broken)
    with pytest.raises(PrimitiveError) as err:
        apply(stack.paths)
    assert "--force" in str(err.value) and stack.proxy_file.read_bytes() == broken
    result = apply(stack.paths, force=True)
    assert result.ok and codexauth.load_proxy(stack.proxy_file).ok
    assert [p.read_bytes() for p in stack.paths.backups.iterdir()] == [broken]


def test_undecidable_direction_is_refused(stack):
    a, b = Login(), Login()
    ca, pb = a.codex_json(), b.proxy_json()
    del ca["last_refresh"], pb["last_refresh"]
    stack.write_codex(ca)
    stack.write_proxy(pb)
    with pytest.raises(PrimitiveError, match="refusing to guess"):
        apply(stack.paths)


def test_no_home_is_refused(tmp_path, new):
    stack = Stack(tmp_path)
    stack.write_codex(new.codex_json())
    with pytest.raises(PrimitiveError, match="bootstrap"):
        apply(stack.paths)
    assert not stack.home.exists()


# -- dry run ---------------------------------------------------------------------------

@pytest.mark.parametrize("reverse", [False, True])
def test_dry_run_describes_and_writes_nothing(stack, old, new, reverse):
    if reverse:
        stack.write_codex(old.codex_json())
        stack.write_proxy(new.proxy_json())
    else:
        stack.write_codex(new.codex_json())
        stack.write_proxy(old.proxy_json())
    before = stack.snapshot()
    result = apply(stack.paths, dry_run=True, reverse=reverse)  # reverse without yes: allowed to plan
    assert result.ok and result.message.startswith("would have") and result.changes
    assert stack.snapshot() == before
    assert not stack.paths.backups.exists() and not stack.paths.journal.exists()
    assert_clean(result_text(result), old, new)
    if reverse:
        assert "--yes" in result.message


# -- reverse ------------------------------------------------------------------------------

def test_reverse_without_yes_is_refused(stack, old, new):
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.proxy_json())
    before = stack.snapshot()
    with pytest.raises(PrimitiveError, match="--yes"):
        apply(stack.paths, reverse=True)
    assert stack.snapshot() == before


def test_reverse_writes_codex_format_and_keeps_other_keys(stack, old, new):
    data = old.codex_json(auth_mode="chatgpt", custom_key={"kept": True})
    data["tokens"]["future_field"] = "kept too"
    stack.write_codex(data, mode=0o600)
    stack.write_proxy(new.proxy_json())
    old_bytes = stack.codex_file.read_bytes()
    result = apply(stack.paths, reverse=True, yes=True)
    assert result.ok and "proxy's tokens are newer" in result.message
    text = stack.codex_file.read_text()
    written = json.loads(text)
    assert text.startswith("{\n  ")  # pretty-printed like Codex writes it
    assert written["auth_mode"] == "chatgpt" and written["custom_key"] == {"kept": True}
    assert written["OPENAI_API_KEY"] is None
    assert written["tokens"] == {"id_token": new.id_token, "access_token": new.access_token,
                                 "refresh_token": new.refresh_token, "account_id": new.account,
                                 "future_field": "kept too"}
    assert written["last_refresh"] == rfc3339(new.last_refresh)
    assert mode_of(stack.codex_file) == 0o600
    assert [p.read_bytes() for p in stack.paths.backups.iterdir()] == [old_bytes]
    assert journal.read(stack.paths)[-1]["direction"] == "proxy->codex"
    assert codexauth.load_codex(stack.codex_file).ok
    assert_clean(result_text(result) + stack.paths.journal.read_text(), old, new)
    assert stack.run("auth.sync")["auth.sync"].status.value == "pass"


def test_reverse_refuses_when_codex_is_newer(stack, old, new):
    stack.write_codex(new.codex_json())
    stack.write_proxy(old.proxy_json())
    with pytest.raises(PrimitiveError, match="no --reverse"):
        apply(stack.paths, reverse=True, yes=True)


def test_reverse_when_already_in_sync_needs_no_yes(stack, new):
    stack.write_codex(new.codex_json())
    stack.write_proxy(new.proxy_json())
    assert apply(stack.paths, reverse=True).message.startswith("already in sync")


def test_reverse_refuses_keyring_storage_and_broken_or_missing_proxy(stack, new):
    stack.codex_config('cli_auth_credentials_store = "keyring"\n')
    stack.write_proxy(new.proxy_json())
    with pytest.raises(PrimitiveError, match="keyring"):
        apply(stack.paths, reverse=True, yes=True)
    stack.write_proxy(None, raw=b"\x00\x01garbage")
    with pytest.raises(PrimitiveError, match="binary"):
        apply(stack.paths, reverse=True, yes=True)
    stack.proxy_file.unlink()
    with pytest.raises(PrimitiveError, match="nothing to copy back"):
        apply(stack.paths, reverse=True, yes=True)


def test_reverse_into_a_broken_codex_file_needs_force(stack, new):
    broken = b'{"OPENAI_API_KEY": null, "tokens": {'
    stack.write_codex(None, raw=broken)
    stack.write_proxy(new.proxy_json())
    with pytest.raises(PrimitiveError, match="--force"):
        apply(stack.paths, reverse=True, yes=True)
    assert stack.codex_file.read_bytes() == broken
    apply(stack.paths, reverse=True, yes=True, force=True)
    assert codexauth.load_codex(stack.codex_file).tokens.refresh_token == new.refresh_token


def test_reverse_creates_a_missing_codex_file(stack, new):
    stack.write_proxy(new.proxy_json())
    apply(stack.paths, reverse=True, yes=True)
    loaded = codexauth.load_codex(stack.codex_file)
    assert loaded.ok and loaded.login_mode == "chatgpt" and mode_of(stack.codex_file) == 0o600


def test_registered_primitive_is_this_function(stack, new):
    stack.write_codex(new.codex_json())
    assert apply_primitive("sync-auth", stack.paths, dry_run=True).message.startswith("would have")


# -- conversion -------------------------------------------------------------------------

def test_round_trip_between_formats_keeps_the_tokens(new):
    codex = codexauth.read_codex(_loaded(new.codex_json()))
    flat = codexauth.to_proxy(codex.tokens)
    proxy = codexauth.read_proxy(_loaded(flat))
    assert proxy.ok and proxy.tokens.same_tokens(codex.tokens)
    nested = codexauth.to_codex(proxy.tokens)
    again = codexauth.read_codex(_loaded(nested))
    assert again.ok and again.tokens.same_tokens(codex.tokens)
    assert again.tokens.last_refresh == codex.tokens.last_refresh


def test_to_proxy_fills_account_from_the_claim(new):
    data = new.codex_json()
    del data["tokens"]["account_id"]
    flat = codexauth.to_proxy(codexauth.read_codex(_loaded(data)).tokens)
    assert flat["account_id"] == new.account


def _loaded(data):
    from pathlib import Path

    from claudex_doctor.base.files import Loaded
    return Loaded(Path("/nonexistent/auth.json"), data=data)


# -- the command ---------------------------------------------------------------------------

def test_command_exit_codes_and_output(stack, old, new):
    env = dict(stack.env, PATH=os.environ.get("PATH", ""))
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.proxy_json())
    refused = run_cli("sync-auth", env=env)
    assert refused.returncode == 1 and "--reverse" in refused.stderr
    dry = run_cli("sync-auth", "--reverse", "--dry-run", env=env)
    assert dry.returncode == 0 and "would have" in dry.stdout
    done = run_cli("sync-auth", "--reverse", "--yes", "--json", env=env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["ok"] and payload["changes"] and payload["backups"]
    again = run_cli("sync-auth", env=env)
    assert again.returncode == 0 and "already in sync" in again.stdout
    usage = run_cli("sync-auth", "--no-such-flag", env=env)
    assert usage.returncode == 2
    for proc in (refused, dry, done, again, usage):
        assert "Traceback" not in proc.stderr
        assert_clean(proc.stdout + proc.stderr, old, new)


def test_reverse_refuses_a_leftover_file_in_keyring_mode(stack, old, new):
    stack.codex_config('cli_auth_credentials_store = "keyring"\n')
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.proxy_json())
    before = stack.snapshot()
    with pytest.raises(PrimitiveError, match="keyring"):
        apply(stack.paths, reverse=True, yes=True, force=True)
    assert stack.snapshot() == before


def test_reverse_refuses_an_id_token_codex_would_reject(stack, old, new):
    stack.write_codex(old.codex_json())
    stack.write_proxy(new.proxy_json(id_token=new.id_token.rsplit(".", 1)[0] + "."))
    with pytest.raises(PrimitiveError, match="empty part"):
        apply(stack.paths, reverse=True, yes=True)


def test_a_token_set_or_a_usage_login_never_shows_its_secrets_in_a_repr():
    """A crash report or a debug line may quote an object whole."""
    import secrets

    from claudex_doctor.auth.tokens import TokenSet
    from claudex_doctor.usage.fetch import Login

    canary = {k: f"canary-{k}-{secrets.token_hex(8)}" for k in ("id_token", "access_token", "refresh_token")}
    shown = repr(TokenSet.build(dict(canary, account_id="acct-1")))
    assert "acct-1" in shown and not any(v in shown for v in canary.values())
    password = secrets.token_hex(8)
    login = Login("the Codex login", access_token=canary["access_token"], proxy_url=f"http://u:{password}@127.0.0.1:3128")
    assert canary["access_token"] not in repr(login) and password not in repr(login)
