"""The command line as a user meets it: real subprocesses, throwaway homes."""

from __future__ import annotations

import json

import jsonschema


def test_empty_home_gives_a_grouped_report_and_exit_1(cli, user_home):
    proc = cli(env={"NO_COLOR": "1"})
    assert proc.returncode == 1, proc.stderr
    assert "no runtime home" in proc.stdout
    assert "Runtime home" in proc.stdout and "Programs" in proc.stdout
    assert "claudex-doctor bootstrap" in proc.stdout
    assert "\x1b[" not in proc.stdout
    assert "Traceback" not in proc.stderr


def test_json_is_the_only_thing_on_stdout_and_validates(cli, user_home):
    schema = json.loads(cli("schema").stdout)
    proc = cli("--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    jsonschema.validate(data, schema)
    ids = [c["id"] for c in data["checks"]]
    assert ids[0] == "paths.home" and len(ids) == len(set(ids))
    home = next(c for c in data["checks"] if c["id"] == "paths.home")
    assert home["status"] == "fail" and home["fix"]["primitive"] == "bootstrap"


def test_exit_0_when_nothing_fails(cli, gateway_home):
    gateway_home.mkdir(parents=True)
    proc = cli("--only", "paths.home", "--json")
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["status"] == "pass"


def test_bad_usage_exits_2_with_usage(cli):
    proc = cli("--no-such-flag")
    assert proc.returncode == 2
    assert "usage:" in proc.stderr
    proc = cli("--only", "no.such_check")
    assert proc.returncode == 2 and "unknown check id" in proc.stderr
    proc = cli("--deadline", "0")
    assert proc.returncode == 2


def test_home_option_and_env_are_honoured(cli, tmp_path):
    custom = tmp_path / "custom-home"
    custom.mkdir()
    data = json.loads(cli("--only", "paths.home", "--json", "--home", str(custom)).stdout)
    assert data["checks"][0]["evidence"]["reason"] == "option"
    data = json.loads(cli("--only", "paths.home", "--json", env={"CLAUDEX_GATEWAY_HOME": str(custom)}).stdout)
    assert data["checks"][0]["evidence"]["reason"] == "env" and data["status"] == "pass"


def test_checks_lists_every_check_with_dependencies(cli):
    proc = cli("checks")
    assert proc.returncode == 0
    assert "probe.stream" in proc.stdout and "probe.messages" in proc.stdout
    rows = json.loads(cli("checks", "--json").stdout)
    assert {r["id"] for r in rows} >= {"port.owner", "logs.errors", "route.litellm"}
    assert next(r for r in rows if r["id"] == "proxy.health")["needs"] == ["port.owner"]


def test_version_and_help(cli):
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("claudex-doctor ")
    proc = cli("--help")
    assert proc.returncode == 0 and "Exit codes" in proc.stdout


def test_strict_turns_warnings_into_exit_1(cli, gateway_home):
    # A port other than 8327 that the env file agrees with is a warning, never a failure.
    gateway_home.mkdir(parents=True)
    (gateway_home / "config.yaml").write_text('host: "127.0.0.1"\nport: 8328\nauth-dir: "./auth"\n'
                                              'api-keys:\n  - "local-key-for-strict-test-0123"\n')
    (gateway_home / "run.sh").write_text('#!/bin/sh\ncd "$(dirname "$0")" && exec ./cli-proxy-api -config config.yaml\n')
    (gateway_home / "auth").mkdir(mode=0o700)
    (gateway_home / "claude-code-gpt54.env").write_text("export ANTHROPIC_BASE_URL=http://127.0.0.1:8328\n")
    proc = cli("--only", "config.valid", "--json")
    data = json.loads(proc.stdout)
    assert data["checks"][-1]["id"] == "config.valid" and data["checks"][-1]["status"] == "warn", data
    assert proc.returncode == 0 and data["status"] == "warn"
    proc = cli("--only", "config.valid", "--json", "--strict")
    assert proc.returncode == 1 and json.loads(proc.stdout)["status"] == "fail"


def test_options_mean_the_same_before_and_after_a_command():
    from claudex_doctor.cli import parse

    assert parse(["--deadline", "3", "probe"]).deadline == 3
    assert parse(["probe", "--deadline", "4"]).deadline == 4
    assert parse(["probe"]).deadline == 20 and parse([]).deadline == 10
    assert parse(["--offline", "report"]).offline is True
    assert parse(["report", "--offline"]).offline is True
    assert parse(["report"]).offline is False


def test_expected_errors_are_one_line_and_exit_2_under_python_m(cli, tmp_path):
    # A command raising DoctorError must not look like an internal error when run as `python -m`.
    proc = cli("--deadline", "-1")
    assert proc.returncode == 2 and "internal error" not in proc.stderr and "--deadline" in proc.stderr
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "claudex_doctor", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("claudex-doctor ")


def test_the_command_exits_with_mains_code_and_a_reader_that_leaves_early_is_no_error(user_home):
    """The command (`entry()`, which leaves through os._exit): the exit code is main()'s, stdout is
    complete, and a pipe the reader has closed gives neither a traceback nor an "Exception ignored"."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HOME": str(user_home), "NO_COLOR": "1"}
    full = subprocess.run([sys.executable, "-m", "claudex_doctor", "--json", "--offline"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert full.returncode == 1 and json.loads(full.stdout)["status"] == "fail"
    # `true` reads nothing and exits at once: the doctor's write meets a closed pipe.
    piped = subprocess.run(f'"{sys.executable}" -m claudex_doctor --offline | true; exit "${{PIPESTATUS[0]}}"',
                           shell=True, executable="/bin/bash", env=env, capture_output=True, text=True, timeout=60)
    assert piped.stderr == "" and piped.returncode in (0, 1), piped.stderr


def test_an_output_that_cannot_be_written_is_a_clear_exit_2_not_a_bug_report(user_home):
    import os
    import subprocess
    import sys

    import pytest

    env = {**os.environ, "HOME": str(user_home), "NO_COLOR": "1"}
    closed = subprocess.run(f'"{sys.executable}" -m claudex_doctor --json >&-', shell=True, env=env,
                            capture_output=True, text=True, timeout=60)
    assert closed.returncode == 2 and closed.stderr == "claudex-doctor: standard output is closed; nothing was done\n"
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    full = subprocess.run(f'"{sys.executable}" -m claudex_doctor --json --offline > /dev/full', shell=True, env=env,
                          capture_output=True, text=True, timeout=60)
    assert full.returncode == 2, full.stderr
    assert full.stderr.strip() == "claudex-doctor: a write failed: No space left on device (standard output)"
