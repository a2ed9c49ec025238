"""A corpus of broken credential files: each gives a named finding, never a crash, and stays untouched.

tests/malformed/auth/codex-*  are placed at $CODEX_HOME/auth.json (the proxy side is healthy);
tests/malformed/auth/proxy-*  are placed at auth/codex-current.json (the Codex side is healthy).
Two more cases are made at run time because git cannot store them: an unreadable file, and a
file too large to be a credential.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from claudex_doctor import cli
from claudex_doctor.auth.sync import apply
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.help import refs
from tests.authkit import Login, Stack
from tests.conftest import run_cli

CORPUS = Path(__file__).parent.parent / "malformed" / "auth"

# file -> (check id, status, words the summary must contain)
EXPECTED = {
    "codex-truncated.json": ("auth.codex", "fail", "is not valid JSON"),
    "codex-binary.bin": ("auth.codex", "fail", "binary data"),
    "codex-not-utf8.json": ("auth.codex", "fail", "not UTF-8"),
    "codex-empty.json": ("auth.codex", "fail", "is empty"),
    "codex-whitespace.json": ("auth.codex", "fail", "is empty"),
    "codex-non-object.json": ("auth.codex", "fail", "holds a list"),
    "codex-string.json": ("auth.codex", "fail", "holds a string"),
    "codex-null.json": ("auth.codex", "fail", "holds null"),
    "codex-tokens-string.json": ("auth.codex", "fail", "tokens is a string"),
    "codex-tokens-list.json": ("auth.codex", "fail", "tokens is a list"),
    "codex-access-token-number.json": ("auth.codex", "fail", "access_token is a number"),
    "codex-junk-jwt.json": ("auth.codex", "fail", "id_token is not a readable JWT"),
    "codex-jwt-two-parts.json": ("auth.codex", "fail", "id_token is not a readable JWT"),
    "codex-id-token-unsigned.json": ("auth.codex", "fail", "id_token has an empty part"),
    "codex-jwt-deep-payload.json": ("auth.codex", "fail", "id_token is not a readable JWT"),
    "codex-huge-exp.json": ("auth.codex", "warn", "expiry cannot be read"),
    "codex-last-refresh-number.json": ("auth.codex", "fail", "last_refresh is not an RFC 3339 time"),
    "codex-auth-mode-number.json": ("auth.codex", "fail", "auth_mode is a number"),
    "codex-auth-mode-unknown.json": ("auth.codex", "fail", "not one Codex knows"),
    "codex-deep-nesting.json": ("auth.codex", "fail", "nested too deeply"),
    "codex-api-key-only.json": ("auth.codex", "fail", "API key"),
    "proxy-truncated.json": ("auth.proxy", "fail", "is not valid JSON"),
    "proxy-binary.bin": ("auth.proxy", "fail", "binary data"),
    "proxy-empty.json": ("auth.proxy", "fail", "is empty"),
    "proxy-non-object.json": ("auth.proxy", "fail", "holds a list"),
    "proxy-number.json": ("auth.proxy", "fail", "holds a number"),
    "proxy-nested-copy.json": ("auth.proxy", "fail", "nested format"),
    "proxy-no-type.json": ("auth.proxy", "fail", "has no \"type\""),
    "proxy-type-number.json": ("auth.proxy", "fail", "type is a number"),
    "proxy-other-type.json": ("auth.proxy", "fail", "not a codex one"),
    "proxy-access-token-list.json": ("auth.proxy", "fail", "access_token is a list"),
    "proxy-refresh-token-object.json": ("auth.proxy", "fail", "refresh_token is an object"),
    "proxy-junk-jwt.json": ("auth.proxy", "warn", "expiry cannot be read"),
    "proxy-huge-exp.json": ("auth.proxy", "warn", "expiry cannot be read"),
    "proxy-disabled.json": ("auth.proxy", "fail", "disabled"),
}
GENERATED = {
    "codex-unreadable": ("auth.codex", "fail", "cannot be read"),
    "proxy-unreadable": ("auth.proxy", "fail", "cannot be read"),
    "codex-too-large": ("auth.codex", "fail", "too large"),
    "proxy-directory": ("auth.proxy", "fail", "not a regular file"),
}
SECRET_SHAPES = re.compile(rb"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]+|CORPUSCANARY[\w-]*|sk-proj-\w+")


def test_the_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.iterdir()}
    assert on_disk == set(EXPECTED), on_disk ^ set(EXPECTED)
    assert len([n for n in EXPECTED if n.startswith("codex-")]) >= 12
    assert len([n for n in EXPECTED if n.startswith("proxy-")]) >= 12


def _place(stack: Stack, name: str) -> Path:
    """A healthy stack with exactly one broken credential file; returns the broken file's path."""
    login = Login()
    stack.make_full_home()
    side = "codex" if name.startswith("codex-") else "proxy"
    if side == "codex":
        stack.write_proxy(login.proxy_json())
        stack.codex_home.mkdir(parents=True, exist_ok=True)
        target = stack.codex_file
    else:
        stack.write_codex(login.codex_json())
        target = stack.proxy_file
    if name in EXPECTED:
        shutil.copyfile(CORPUS / name, target)
        os.chmod(target, 0o600)
    elif name.endswith("-unreadable"):
        if os.geteuid() == 0:
            target.symlink_to(target.name)  # a symlink loop: unreadable even for root
        else:
            target.write_text("{}")
            os.chmod(target, 0)
    elif name.endswith("-too-large"):
        target.write_bytes(b'{"pad": "' + b"x" * (4 * 1024 * 1024 + 10) + b'"}')
    elif name.endswith("-directory"):
        target.mkdir()
    return target


def _secrets(target: Path) -> list[bytes]:
    try:
        raw = target.read_bytes() if target.is_file() else b""
    except OSError:
        raw = b""
    if len(raw) > 100_000:  # the too-large case holds no token; keep the scan linear
        return []
    return [m.group(0) for m in SECRET_SHAPES.finditer(raw)]


CASES = {**EXPECTED, **GENERATED}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_malformed_file_gives_a_named_finding(tmp_path, name, capsys, monkeypatch):
    check_id, status, words = CASES[name]
    stack = Stack(tmp_path)
    target = _place(stack, name)
    before = stack.snapshot()
    found = stack.run("auth.codex", "auth.proxy", "auth.sync")
    finding = found[check_id]
    assert finding.status.value == status, finding
    assert words in finding.summary, finding.summary
    assert refs.library().problem(finding.reference) is None
    assert all(f.status.value != "error" for f in found.values())

    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    code = cli.main(["--json", "--strict", "--offline", "--only", "auth.codex,auth.proxy,auth.sync"])
    out = capsys.readouterr()
    assert code == 1, out.err  # problems found: 1, never 2
    assert "Traceback" not in out.err
    data = json.loads(out.out)
    assert next(c for c in data["checks"] if c["id"] == check_id)["status"] == status
    for secret in _secrets(target):
        assert secret.decode("utf-8", "replace") not in out.out + out.err

    # sync-auth in both directions: a clear refusal or a plan, never a crash; dry runs write nothing.
    for kwargs in ({}, {"reverse": True}):
        try:
            result = apply(stack.paths, dry_run=True, **kwargs)
            text = result.message + " ".join(result.changes) + json.dumps(result.details, default=str)
        except PrimitiveError as exc:
            text = str(exc)
        for secret in _secrets(target):
            assert secret.decode("utf-8", "replace") not in text
    assert stack.snapshot() == before


@pytest.mark.parametrize("name", ["codex-truncated.json", "proxy-binary.bin"])
def test_the_real_command_line_exits_1_without_a_traceback(tmp_path, name):
    stack = Stack(tmp_path)
    _place(stack, name)
    before = stack.snapshot()
    env = dict(stack.env, PATH=os.environ.get("PATH", ""))
    proc = run_cli("--json", "--offline", "--only", "auth.codex,auth.proxy,auth.sync,home.layout", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    json.loads(proc.stdout)
    refused = run_cli("sync-auth", env=env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert stack.snapshot() == before


@pytest.mark.parametrize("side, check_id", [("codex", "auth.codex"), ("proxy", "auth.proxy")])
def test_a_credential_file_without_read_permission_is_named(tmp_path, side, check_id):
    """chmod 000, and the doctor runs without the capabilities that let root read it anyway."""
    stack = Stack(tmp_path)
    stack.write_proxy(Login().proxy_json())
    stack.codex_home.mkdir(parents=True, exist_ok=True)
    stack.write_codex(Login().codex_json())
    target = stack.codex_file if side == "codex" else stack.proxy_file
    os.chmod(target, 0)
    try:
        env = dict(stack.env, PATH=os.environ.get("PATH", ""))
        proc = run_cli("--json", "--offline", "--only", "auth.codex,auth.proxy,auth.sync", env=env,
                       obey_file_modes=True)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        finding = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}[check_id]
        assert finding["status"] in ("fail", "warn") and "permission denied" in json.dumps(finding), finding
    finally:
        os.chmod(target, 0o600)
