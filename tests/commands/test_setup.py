"""`claudex-doctor setup`: prerequisites with exact install commands, a stop (never a login) when there is
no ChatGPT login, and the walk resumed to a working stack on the next run. Against the fake CLIProxyAPI on
a random port; the real components: tests/e2e/test_readme_user_path.py."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.authkit import Login
from tests.conftest import free_port, run_cli
from tests.fakes.gateway import install_binary
from tests.homekit import executable
from tests.service_home import kill_home, leftover_children


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    yield
    assert not leftover_children(), leftover_children()


@pytest.fixture
def machine(tmp_path, user_home):
    """A PATH with node, stand-ins for claude and codex, and a fake cli-proxy-api to pass as --binary."""
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "claude", "#!/bin/sh\necho '2.1.332 (Claude Code)'\n")
    executable(bin_dir / "codex", "#!/bin/sh\necho 'codex-cli 0.171.0'\n")
    executable(bin_dir / "node", "#!/bin/sh\necho v22.12.0\n")  # new enough whatever node this machine has
    proxy = tmp_path / "dist" / "cli-proxy-api"
    proxy.parent.mkdir()
    install_binary(proxy)
    home = user_home / ".local" / "share" / "claudex-gateway"
    port = free_port()
    env = {"PATH": f"{bin_dir}{os.pathsep}{user_home / '.local' / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    yield {"bin": bin_dir, "proxy": proxy, "home": home, "port": port, "env": env, "user_home": user_home}
    run_cli("stop", env=env)
    kill_home(home)


def _config(machine) -> None:
    """What the tests need from the home before setup: a random port (setup keeps an existing config)."""
    machine["home"].mkdir(parents=True, exist_ok=True)
    (machine["home"] / "config.yaml").write_text(
        f'host: "127.0.0.1"\nport: {machine["port"]}\nauth-dir: "./auth"\napi-keys:\n  - "setup-test-key-0123456789"\n')


def test_a_node_below_claude_codes_engines_is_a_note_not_a_stop(machine):
    executable(machine["bin"] / "node", "#!/bin/sh\necho v20.20.2\n")
    (machine["bin"] / "codex").unlink()  # the walk stops at the prerequisites, after saying what it found
    out = run_cli("setup", env=machine["env"])
    missing = next(line for line in out.stderr.splitlines() if "missing:" in line)
    assert out.returncode == 1 and "codex" in missing and "node" not in missing, out.stderr
    assert "node 20.20.2 is older than the 22.0 Claude Code's package asks for; it works" in out.stderr


def test_missing_programs_are_named_with_the_command_that_installs_them(machine):
    (machine["bin"] / "claude").unlink()
    (machine["bin"] / "codex").unlink()
    out = run_cli("setup", env=machine["env"])
    assert out.returncode == 1, out.stdout + out.stderr
    assert "missing: claude, codex" in out.stderr
    assert "npm install -g @anthropic-ai/claude-code" in out.stderr and "npm install -g @openai/codex" in out.stderr
    assert "run `claudex-doctor setup` again" in out.stderr
    assert not machine["home"].exists()  # nothing was written


def test_without_go_or_a_binary_go_is_asked_for_with_the_way_around(machine):
    if shutil.which("go", path=machine["env"]["PATH"]):
        pytest.skip("go is installed in /usr/bin or /bin here")
    out = run_cli("setup", env=machine["env"])
    assert out.returncode == 1 and "missing: go" in out.stderr and "setup --binary" in out.stderr, out.stderr


def test_no_login_stops_the_walk_and_the_next_run_resumes_to_a_working_stack(machine):
    _config(machine)
    first = run_cli("setup", "--binary", str(machine["proxy"]), "--offline", env=machine["env"])
    assert first.returncode == 1, first.stdout + first.stderr
    assert "[2] bootstrap     done" in first.stdout
    assert "codex login" in first.stderr and "never logs in for you" in first.stderr
    codex_auth = machine["user_home"] / ".codex" / "auth.json"
    assert not codex_auth.exists()

    login = Login()
    codex_auth.parent.mkdir(parents=True)
    codex_auth.write_text(json.dumps(login.codex_json()))
    codex_auth.chmod(0o600)
    second = run_cli("setup", "--binary", str(machine["proxy"]), "--offline", "--json", env=machine["env"])
    assert second.returncode == 0, second.stdout + second.stderr
    steps = {s["step"]: s for s in json.loads(second.stdout)["steps"]}
    assert steps["bootstrap"]["status"] == "ok"  # everything kept: the walk resumed
    assert steps["login"]["status"] == "ok" and steps["sync-auth"]["status"] == "done"
    assert steps["start"]["status"] == "done" and steps["probe"]["status"] == "ok"
    assert any("claudex" in line for line in steps["next"]["lines"])
    for secret in login.secrets:
        assert secret not in second.stdout + second.stderr
    third = run_cli("setup", "--binary", str(machine["proxy"]), "--offline", "--json", env=machine["env"])
    steps = {s["step"]: s for s in json.loads(third.stdout)["steps"]}
    assert third.returncode == 0 and steps["sync-auth"]["status"] == "ok" and steps["start"]["status"] == "ok"


def test_a_failed_go_build_shows_the_builds_own_output(machine):
    _config(machine)
    executable(machine["bin"] / "go", "#!/bin/sh\ncase \"$1\" in version) echo 'go version go1.26.8 linux/amd64'; "
               "exit 0;; esac\necho 'go: example.com/x@v1: reading https://proxy.example/x: 403 Forbidden' >&2\n"
               "echo 'build step exploded here' >&2\nexit 1\n")
    out = run_cli("setup", env=machine["env"])
    assert out.returncode == 1, out.stdout + out.stderr
    assert "[2] bootstrap     FAILED" in out.stderr and "the build's output:" in out.stderr
    assert "build step exploded here" in out.stderr and "setup --binary" not in out.stdout


def test_the_last_step_asks_no_service_manager_when_the_service_is_installed(tmp_path, monkeypatch):
    import argparse

    from claudex_doctor.base.paths import resolve
    from claudex_doctor.base.platform import ServiceManager
    from claudex_doctor.commands import setup
    from claudex_doctor.service import supervisor

    def asked(*a, **k):
        raise AssertionError("the service manager was asked")

    monkeypatch.setattr(supervisor, "installed_file", lambda paths, env=None: (ServiceManager.SYSTEMD, tmp_path))
    monkeypatch.setattr(supervisor, "detect", asked)
    walk = setup.Walk(argparse.Namespace(json=True))
    assert setup._next(walk, resolve(home_option=str(tmp_path / "gw")))
    assert not any("service install" in line or "AUTOSTART" in line for line in walk.steps[-1].lines)
