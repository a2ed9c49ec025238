"""The wrapper's opt-in auto-start (CLAUDEX_AUTOSTART=1 in the env file), for real: a home with the fake
CLIProxyAPI, the proxy killed behind the doctor's back, then `claudex` run with a recording stand-in for
claude. The proxy comes back (this home's, proven by the pidfile start writes), the arguments reach claude
byte for byte, and with the proxy up the wrapper starts no other program (the doctor is a stub that
records every call, in front of the real one)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from claudex_doctor.service import control
from claudex_doctor.service.owner import OwnerState, identify
from claudex_doctor.wrapper.script import render
from tests.conftest import free_port
from tests.homekit import executable
from tests.service_home import leftover_children, made_home, paths_of

SHELLS = [s for s in dict.fromkeys(["/bin/sh", shutil.which("dash"), shutil.which("bash")]) if s]
ARGS = ("-p", "two words", "", "it's \"quoted\"", "*", "$HOME", "line1\nline2", "ünïcødé ✓", "--", "status")

RECORDER = """#!/bin/sh
printf '%s\\0' "$#" "$@" > "$RECORD_DIR/argv"
exit 7
"""


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    yield
    assert not leftover_children(), leftover_children()


@pytest.fixture
def stack(tmp_path):
    gen = made_home(tmp_path, free_port())
    home = next(gen)
    record = tmp_path / "record"
    record.mkdir()
    claude = executable(tmp_path / "bin" / "claude", RECORDER)
    # The doctor the wrapper calls: a stub that notes each call, then runs the real claudex-doctor.
    doctor = executable(tmp_path / "bin" / "claudex-doctor",
                        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "$RECORD_DIR/doctor-calls"\n'
                        f'exec "{sys.executable}" -m claudex_doctor "$@"\n')
    env_file = home / "claude-code-gpt54.env"
    with env_file.open("a") as handle:
        handle.write(f"export CLAUDE_BIN='{claude}'\nexport CLAUDEX_AUTOSTART=1\n")
    wrapper = executable(tmp_path / "bin" / "claudex", render(home, env_file, [str(doctor)]))
    yield {"home": home, "record": record, "wrapper": wrapper, "env_file": env_file}
    try:
        next(gen)
    except StopIteration:
        pass


def _run(stack, argv, shell="/bin/sh", timeout=60):
    env = {**os.environ, "RECORD_DIR": str(stack["record"])}
    return subprocess.run([shell, str(stack["wrapper"]), *argv], env=env, capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _argv(stack) -> list[str]:
    raw = (stack["record"] / "argv").read_bytes().split(b"\0")[:-1]
    return [os.fsdecode(part) for part in raw[1:]]


def _calls(stack) -> list[str]:
    path = stack["record"] / "doctor-calls"
    return path.read_text().splitlines() if path.exists() else []


def _kill_behind_the_doctors_back(paths) -> int:
    owner = identify(paths, control.endpoint(control._ctx(paths))[1])
    assert owner.state is OwnerState.OURS, owner
    pid = owner.process.pid
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    control.CHILDREN.pop(pid, None)
    return pid


@pytest.mark.parametrize("shell", SHELLS)
def test_a_dead_proxy_is_started_again_and_claude_gets_its_arguments(stack, shell):
    paths = paths_of(stack["home"])
    assert control.start(paths, timeout=10).ok
    dead = _kill_behind_the_doctors_back(paths)
    assert paths.pidfile.exists()  # the pidfile still names the dead process

    proc = _run(stack, ARGS, shell)
    assert proc.returncode == 7, proc.stderr.decode(errors="replace")  # claude's own exit code
    assert _argv(stack) == list(ARGS)
    assert len(_calls(stack)) == 1 and _calls(stack)[0].startswith("start --home ")
    owner = identify(paths, control.endpoint(control._ctx(paths))[1])
    assert owner.state is OwnerState.OURS and owner.process.pid != dead
    assert control.health("127.0.0.1", owner.port)["ok"]

    # Up now: the next claudex reads the pidfile and starts nothing else.
    proc = _run(stack, ("--resume", "a b"), shell)
    assert proc.returncode == 7 and _argv(stack) == ["--resume", "a b"]
    assert len(_calls(stack)) == 1, _calls(stack)
    control.stop(paths)


def test_without_a_pidfile_it_starts_and_without_the_setting_it_does_not(stack):
    paths = paths_of(stack["home"])
    assert not paths.pidfile.exists()
    text = stack["env_file"].read_text()
    stack["env_file"].write_text(text.replace("export CLAUDEX_AUTOSTART=1\n", ""))
    proc = _run(stack, ("x",))
    assert proc.returncode == 7 and not _calls(stack)
    assert identify(paths, control.endpoint(control._ctx(paths))[1]).state is OwnerState.NONE

    stack["env_file"].write_text(text)
    proc = _run(stack, ("x",))
    assert proc.returncode == 7 and _calls(stack) == [_calls(stack)[0]] and _argv(stack) == ["x"]
    assert identify(paths, control.endpoint(control._ctx(paths))[1]).state is OwnerState.OURS
    control.stop(paths)


@pytest.mark.parametrize("content", [b"", b"not json\n", b'{\n  "pid": "12"\n}\n', b'{"pid":999999999}',
                                     b'{\n  "pid": 1x,\n}\n'])
def test_a_pidfile_that_names_no_live_process_means_start(stack, content):
    paths = paths_of(stack["home"])
    paths.pidfile.write_bytes(content)
    proc = _run(stack, ("y",))
    assert proc.returncode == 7 and _argv(stack) == ["y"], proc.stderr
    assert _calls(stack), "the wrapper should have asked the doctor to start the proxy"
    control.stop(paths)


def test_a_fifo_in_the_pidfiles_place_does_not_hang_the_wrapper(stack):
    paths = paths_of(stack["home"])
    os.mkfifo(paths.pidfile)
    proc = _run(stack, ("z",), timeout=60)
    assert proc.returncode == 7 and _argv(stack) == ["z"]


def test_when_the_proxy_cannot_start_claude_still_runs(stack):
    paths = paths_of(stack["home"])
    paths.binary.write_text("#!/bin/sh\necho 'broken proxy' >&2\nexit 3\n")
    proc = _run(stack, ("w",))
    assert proc.returncode == 7 and _argv(stack) == ["w"]
    assert b"the proxy did not start" in proc.stderr


def test_a_proxy_the_service_manager_runs_costs_no_python(stack, tmp_path):
    """`claudex-doctor service install` leaves no pidfile: the manager starts the proxy. The wrapper tests
    for the unit (agent) file with a shell builtin and runs no doctor while it is there; without it the
    same wrapper falls back to the pidfile and starts the proxy itself."""
    paths = paths_of(stack["home"])
    unit = tmp_path / "it's a $HOME" / "systemd user" / "claudex-gateway-abcdef.service"
    doctor = stack["wrapper"].parent / "claudex-doctor"
    stack["wrapper"].write_text(render(stack["home"], stack["env_file"], [str(doctor)], unit))
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\n")
    assert not paths.pidfile.exists()
    for shell in SHELLS:
        proc = _run(stack, ("--resume", "a b"), shell)
        assert proc.returncode == 7 and _argv(stack) == ["--resume", "a b"], proc.stderr
        assert not _calls(stack), _calls(stack)
    assert identify(paths, control.endpoint(control._ctx(paths))[1]).state is OwnerState.NONE

    unit.unlink()
    proc = _run(stack, ("x",))
    assert proc.returncode == 7 and _argv(stack) == ["x"]
    assert len(_calls(stack)) == 1 and _calls(stack)[0].startswith("start --home ")
    control.stop(paths)
