"""route.litellm: a LiteLLM hop by port, by owner process, by config, by variables."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.cfgkit import Home, text_of
from tests.conftest import free_port, wait_listening

REF = "references/litellm.md#litellm-in-the-path"


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path)


def test_direct_route_passes(home):
    finding = home.one("route.litellm")
    assert finding.status.value == "pass" and "http://127.0.0.1:8327" in finding.summary


def test_base_url_on_port_4000_in_the_env_file(home):
    home.env_values(ANTHROPIC_BASE_URL="http://127.0.0.1:4000")
    finding = home.one("route.litellm")
    assert finding.status.value == "fail" and "port 4000" in finding.summary and "env file" in finding.summary
    assert finding.reference == REF
    assert any("claudex-doctor explain litellm" in d for d in finding.details)
    assert finding.fix.safety.value == "manual" and finding.fix.command == "claudex-doctor explain litellm"


def test_base_url_on_port_4000_in_the_shell(home):
    finding = home.one("route.litellm", env={"ANTHROPIC_BASE_URL": "http://localhost:4000"})
    assert finding.status.value == "fail" and "(shell)" in finding.summary


@pytest.fixture
def litellm_process(tmp_path):
    """A stand-in program named `litellm` listening on a random loopback port (ours to stop)."""
    port = free_port()
    script = tmp_path / "bin" / "litellm"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\n"
                      "import socket, time\n"
                      "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                      f"s.bind(('127.0.0.1', {port})); s.listen(1)\n"
                      "time.sleep(60)\n")
    os.chmod(script, 0o755)
    proc = subprocess.Popen([str(script), "--port", str(port)])
    wait_listening(port)
    yield proc, port
    proc.kill()
    proc.wait(timeout=5)


def test_base_url_owned_by_a_litellm_process(home, litellm_process):
    proc, port = litellm_process
    home.env_values(ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}")
    finding = home.one("route.litellm")
    assert finding.status.value == "fail" and "litellm process" in finding.summary, finding
    assert finding.evidence["owner"]["pid"] == proc.pid
    assert proc.poll() is None  # only looked at, never touched


def test_a_litellm_process_off_the_path_is_only_noted(home, litellm_process):
    proc, _port = litellm_process
    finding = home.one("route.litellm")
    assert finding.status.value == "pass"
    assert proc.pid in finding.evidence.get("litellm_pids", [])


def test_without_proc_psutil_lists_the_processes(home, litellm_process, monkeypatch):
    from claudex_doctor.checks import litellm as litellm_check

    proc, _port = litellm_process
    monkeypatch.setattr(litellm_check, "_names", lambda: None)
    assert proc.pid in home.one("route.litellm").evidence.get("litellm_pids", [])


def test_a_litellm_run_as_a_python_module_is_noted(home, tmp_path):
    package = tmp_path / "modules" / "litellm"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text("import time\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-m", "litellm", "--port", "4000"], cwd=package.parent)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "litellm" not in " ".join(psutil_cmdline(proc.pid)):
            time.sleep(0.02)
        finding = home.one("route.litellm")
        assert finding.status.value == "pass" and proc.pid in finding.evidence.get("litellm_pids", [])
    finally:
        proc.kill()
        proc.wait(timeout=5)


def psutil_cmdline(pid: int) -> list[str]:
    import psutil
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def test_litellm_config_in_the_project(home):
    (home.project / "litellm_config.yaml").write_text("model_list:\n  - model_name: gpt\n")
    finding = home.one("route.litellm")
    assert finding.status.value == "warn" and "litellm_config.yaml" in finding.summary


def test_generic_config_with_model_list_in_the_project(home):
    (home.project / "config.yaml").write_text("general_settings: {}\nmodel_list:\n  - model_name: x\n")
    assert home.one("route.litellm").status.value == "warn"
    (home.project / "config.yaml").write_text("host: 127.0.0.1\n")
    assert home.one("route.litellm").status.value == "pass"


def test_the_home_config_replaced_by_a_litellm_config(home):
    home.write_config("model_list:\n  - model_name: gpt-5\n    litellm_params: {model: chatgpt/gpt-5}\n")
    finding = home.one("route.litellm")
    assert finding.status.value == "fail" and "is a LiteLLM config" in finding.summary


def test_litellm_variables(home):
    secret = "sk-CANARYLITELLMMASTER1234567890"
    finding = home.one("route.litellm", env={"LITELLM_MASTER_KEY": secret})
    assert finding.status.value == "warn" and "LITELLM_MASTER_KEY" in finding.summary
    assert secret not in text_of(finding)


def test_cli_points_to_explain(home, cli):
    home.env_values(ANTHROPIC_BASE_URL="http://127.0.0.1:4000")
    proc = cli("--only", "route.litellm", env=home.cli_env(NO_COLOR="1"), cwd=home.project)
    assert proc.returncode == 1 and "claudex-doctor explain litellm" in proc.stdout


def test_port_owner_and_route_litellm_share_one_socket_scan(tmp_path, monkeypatch):
    from claudex_doctor.base.paths import resolve
    from claudex_doctor.checks import StackContext
    from claudex_doctor.checks import litellm as litellm_check
    from claudex_doctor.checks import port as port_check
    from claudex_doctor.core.context import Options
    from claudex_doctor.service import sockets

    calls = []
    real = sockets.read_listening
    monkeypatch.setattr(sockets, "read_listening", lambda: calls.append(1) or real())
    env = {"HOME": str(tmp_path)}
    ctx = StackContext(resolve(env=env), Options(), env=env)
    port_check.listener(ctx)
    litellm_check.listeners(ctx, 8327)
    assert len(calls) == 1
