"""A Codex login in the macOS Keychain (cli_auth_credentials_store = keyring/auto): sync-auth reads it with
`security` when the user allows it (--keychain). Run on Linux by forcing the macOS path
(CLAUDEX_PLATFORM=darwin) against a stand-in `security` that serves one generic password."""

from __future__ import annotations

import json
import os
import sys

import pytest

from claudex_doctor.auth import keychain
from tests.authkit import Login, Stack
from tests.conftest import run_cli

SECURITY = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["KEYCHAIN_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
want = ["find-generic-password", "-s", "Codex Auth", "-a", os.environ["KEYCHAIN_ACCOUNT"], "-w"]
if args != want:
    sys.stderr.write("security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\\n")
    sys.exit(44)
sys.stdout.write(open(os.environ["KEYCHAIN_ITEM"]).read() + "\\n")
"""


@pytest.fixture
def mac(tmp_path):
    stack = Stack(tmp_path).make_full_home()
    stack.codex_config('cli_auth_credentials_store = "keyring"\n')
    security = stack.bin / "security"
    security.write_text(SECURITY.format(python=sys.executable))
    security.chmod(0o755)
    login = Login()
    item = tmp_path / "item.json"
    item.write_text(json.dumps(login.codex_json()))
    env = {**stack.env, "CLAUDEX_PLATFORM": "darwin", "KEYCHAIN_LOG": str(tmp_path / "security.log"),
           "KEYCHAIN_ITEM": str(item), "KEYCHAIN_ACCOUNT": keychain.account(stack.codex_home)}
    return stack, login, env


def test_the_account_is_codexs_store_key(tmp_path):
    import hashlib
    home = tmp_path / "codex"
    home.mkdir()
    assert keychain.account(home) == "cli|" + hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:16]


def test_without_consent_sync_auth_names_the_keychain_option_and_reads_nothing(mac):
    stack, login, env = mac
    out = run_cli("sync-auth", env=env)
    assert out.returncode == 1 and "sync-auth --keychain" in out.stderr
    assert not os.path.exists(env["KEYCHAIN_LOG"]) and not stack.proxy_file.exists()


def test_with_consent_the_keychain_login_reaches_the_proxy_and_no_token_is_printed(mac):
    stack, login, env = mac
    out = run_cli("sync-auth", "--keychain", env=env)
    assert out.returncode == 0, out.stderr
    written = json.loads(stack.proxy_file.read_text())
    assert written["refresh_token"] == login.refresh_token and written["type"] == "codex"
    for secret in login.secrets:
        assert secret not in out.stdout + out.stderr
    assert not stack.codex_file.exists()  # the Keychain stays the Codex side: no auth.json is written


def test_a_keychain_without_the_item_is_a_clear_refusal(mac, tmp_path):
    stack, login, env = mac
    env["KEYCHAIN_ACCOUNT"] = "cli|0000000000000000"
    out = run_cli("sync-auth", "--keychain", env=env)
    assert out.returncode == 1 and "holds no Codex login" in out.stderr and "could not be found" in out.stderr
    (stack.codex_home / "secrets").mkdir()
    (stack.codex_home / "secrets" / "codex_auth.age").write_text("age-encryption.org/v1\n")
    out = run_cli("sync-auth", "--keychain", env=env)
    assert "codex_auth.age" in out.stderr and not stack.proxy_file.exists()


def test_on_linux_the_keychain_is_not_asked(mac):
    stack, login, env = mac
    env["CLAUDEX_PLATFORM"] = "linux"
    out = run_cli("sync-auth", "--keychain", env=env)
    assert out.returncode == 1 and "OS keyring" in out.stderr
    assert not os.path.exists(env["KEYCHAIN_LOG"])
