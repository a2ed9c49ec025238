"""`claudex-doctor upgrade` between two real CLIProxyAPI versions the Go module proxy serves, and a
rollback from broken binaries, on a stack built with the doctor (real proxy, fake chatgpt.com).

The versions: v6.10.0 (github.com/router-for-me/CLIProxyAPI/v6) -> v7.2.140 (the pin, .../v7), both
built from the Go module proxy by .ci/install-e2e. Within v7 the module proxy serves only v7.2.140
here (see FINDINGS.md), so the two real versions are a major version apart. With
CLAUDEX_TEST_GO_BUILD=1 the upgrade builds v7.2.140 itself (`--version`); otherwise it takes the
cached build (`--binary`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .harness import ENV_AT_IMPORT, bin_dir, components_required
from .scenario import Stack, failing

pytestmark = pytest.mark.e2e

FROM, TO = "v6.10.0", "v7.2.140"


@pytest.fixture(scope="module")
def old_proxy_bin() -> Path:
    path = bin_dir() / f"cli-proxy-api-{FROM}"
    if not os.access(path, os.X_OK):
        why = f"{path.name} not found in {bin_dir()} (run .ci/install-e2e)"
        if components_required():
            pytest.fail(f"e2e component missing and CLAUDEX_E2E_REQUIRED=1: {why}", pytrace=False)
        pytest.skip(why)
    return path


@pytest.fixture(scope="module")
def stack(proxy_bin, old_proxy_bin, claude_bin, codex_bin, fake_upstream, tmp_path_factory):
    built = Stack(tmp_path_factory.mktemp("upgrade"), fake_upstream, old_proxy_bin, claude_bin, codex_bin)
    try:
        built.build()
        yield built
    finally:
        built.teardown()


def _version(binary: Path) -> str:
    out = subprocess.run([str(binary), "-h"], capture_output=True, text=True, timeout=30, cwd=binary.parent)
    return (out.stdout + out.stderr).split("CLIProxyAPI Version: ", 1)[1].split(",", 1)[0]


def _entries(stack) -> list[dict]:
    return [json.loads(line) for line in (stack.home / "doctor-journal.jsonl").read_text().splitlines()]


def test_upgrade_from_an_older_real_version_to_the_pin_and_roll_back_from_broken_ones(stack, proxy_bin, tmp_path):
    home = stack.home
    assert _version(home / "cli-proxy-api") == FROM
    code, checks, _ = stack.findings("--only", "bin.proxy_version,proxy.health,probe.messages")
    assert checks["bin.proxy_version"]["status"] == "warn", checks["bin.proxy_version"]
    assert f"{FROM} is older than the known-good {TO}" in checks["bin.proxy_version"]["summary"]
    assert checks["bin.proxy_version"]["fix"]["primitive"] == "upgrade"
    # The old proxy runs and answers, but does not know today's models: what users meet before upgrading.
    assert checks["proxy.health"]["status"] == "pass", failing(checks)
    assert checks["probe.messages"]["status"] == "fail" and "unknown provider" in checks["probe.messages"]["summary"]
    old_pid = stack.pid()

    if os.environ.get("CLAUDEX_TEST_GO_BUILD") == "1":
        # The real build: the machine's module proxy and Go caches (the stack's HOME is a throwaway).
        import pwd
        real_home = Path(pwd.getpwuid(os.getuid()).pw_dir)
        saved = dict(stack.env)
        stack.env.update(GOPROXY=ENV_AT_IMPORT.get("GOPROXY") or "https://proxy.golang.org,direct",
                         GOMODCACHE=ENV_AT_IMPORT.get("GOMODCACHE") or str(real_home / "go" / "pkg" / "mod"),
                         GOCACHE=ENV_AT_IMPORT.get("GOCACHE") or str(real_home / ".cache" / "go-build"))
        try:
            upgraded = stack.doctor("upgrade", "--version", TO, "--json", timeout=1800)
        finally:
            stack.env.clear()
            stack.env.update(saved)
    else:
        upgraded = stack.doctor("upgrade", "--binary", str(proxy_bin), "--json")
    data = json.loads(upgraded.stdout)
    assert upgraded.returncode == 0 and data["ok"], upgraded.stdout + upgraded.stderr
    assert data["details"]["from"] == FROM and data["details"]["to"] == TO
    assert _version(home / "cli-proxy-api") == TO and _version(home / "cli-proxy-api.previous") == FROM
    assert stack.pid() != old_pid
    code, checks, _ = stack.findings()
    assert code == 0, failing(checks)
    assert checks["bin.proxy_version"]["status"] == "pass" and checks["probe.messages"]["status"] == "pass"
    assert stack.request().status_code == 200

    # A binary that answers -h but cannot serve: swapped in, probed, rolled back by itself.
    broken = tmp_path / "cli-proxy-api-broken"
    broken.write_text("#!/bin/sh\ncase \"$1\" in -h) echo 'CLIProxyAPI Version: v7.9.9, Commit: x, BuiltAt: y'; "
                      "exit 0;; esac\necho 'fatal: cannot load config' >&2\nexit 1\n")
    broken.chmod(0o755)
    rolled = stack.doctor("upgrade", "--binary", str(broken), "--json", "--timeout", "10")
    data = json.loads(rolled.stdout)
    assert rolled.returncode == 1 and data["details"]["rolled_back"], rolled.stdout
    assert "cannot load config" in json.dumps(data) or "exited at start" in data["message"]
    assert _version(home / "cli-proxy-api") == TO
    assert stack.request().status_code == 200  # the previous binary serves again
    assert _entries(stack)[-1]["status"] == "rolled back"

    # A truncated binary never gets swapped in.
    truncated = tmp_path / "cli-proxy-api-truncated"
    truncated.write_bytes(proxy_bin.read_bytes()[:65536])
    truncated.chmod(0o755)
    refused = stack.doctor("upgrade", "--binary", str(truncated))
    assert refused.returncode == 1 and "nothing was changed" in refused.stderr, refused.stderr
    assert _version(home / "cli-proxy-api") == TO and _version(home / "cli-proxy-api.previous") == FROM
    code, checks, _ = stack.findings()
    assert code == 0, failing(checks)
