"""Faults and concurrency: what the promises mean when the machine or another process works against them.

- concurrent primitives lose no acknowledged change (one lock per home);
- Ctrl-C at any moment: one line, exit 130, no traceback, no child left;
- a program the doctor starts that hangs or floods is stopped, and none outlives the doctor;
- a forged pidfile never makes stop kill another process; a frozen proxy is restarted;
- a gateway that drips or streams forever does not hold status or --fix past their bounds;
- a full disk leaves no empty backup, no half change, no proxy running unrecorded, and names the file;
- secrets typed into the wrong place, in request dumps or custom headers never reach any output;
- files holding secrets and their backups are 0600 in 0700 folders after any write;
- a diagnosis writes nothing anywhere under HOME.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import wait_listening
from tests.fakes.trickle import serving
from tests.homekit import snapshot
from tests.hostile.kit import HANG, KEY, HostileHome


@pytest.fixture
def home(tmp_path):
    made = HostileHome(tmp_path)
    yield made
    made.cleanup()


def _env_values(home: HostileHome) -> str:
    return home.path("env").read_text()


# -- concurrency -----------------------------------------------------------------------------------------

def _parallel(home: HostileHome, argvs: list[tuple[str, ...]]) -> list[int]:
    procs = [subprocess.Popen([sys.executable, "-m", "claudex_doctor", *argv], env=home.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
             for argv in argvs]
    codes = []
    for proc in procs:
        _, err = proc.communicate(timeout=HANG)
        assert b"Traceback" not in err, err
        codes.append(proc.returncode)
    return codes


def test_concurrent_set_env_loses_no_acknowledged_change(home):
    keys = [f"X_PARALLEL_{i}" for i in range(6)]
    codes = _parallel(home, [("set-env", f"{key}=v{i}") for i, key in enumerate(keys)])
    text = _env_values(home)
    for key, code in zip(keys, codes, strict=True):
        assert code == 0 and f"{key}=" in text, (key, code)


def test_concurrent_set_config_loses_no_acknowledged_change(home):
    settings = ["debug=true", "request-retry=5", "logging-to-file=false", "proxy-url=", "usage-statistics-enabled=false"]
    codes = _parallel(home, [("set-config", s) for s in settings])
    text = home.path("config").read_text()
    assert codes == [0] * len(settings)
    for setting in settings:
        assert setting.split("=")[0] + ":" in text, setting


def test_concurrent_starts_yield_one_proxy(home):
    codes = _parallel(home, [("start", "--timeout", "10")] * 3)
    assert all(code in (0, 1) for code in codes)
    listeners = [c for c in psutil.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == home.port]
    assert len({c.pid for c in listeners}) == 1


# -- Ctrl-C and children ---------------------------------------------------------------------------------

@pytest.mark.parametrize("after", [0.0, 0.03, 0.08, 0.2, 0.5])
def test_ctrl_c_at_any_moment_is_one_line_and_exit_130(home, after):
    proc = subprocess.Popen([sys.executable, "-m", "claudex_doctor", "--offline"], env=home.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=HANG)
    if proc.returncode in (0, 1):  # it finished before the signal arrived: nothing to judge
        return
    assert b"Traceback" not in err, err
    if proc.returncode == -signal.SIGINT:  # before the interpreter ran any of our code: killed silently (130)
        assert err == b""
        return
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.strip().splitlines()[-1:] == [b"claudex-doctor: interrupted"], err


def _stand_in(home: HostileHome, name: str, body: str) -> Path:
    path = home.root / "bin" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def _alive_with(marker: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and marker in " ".join(proc.info["cmdline"] or []):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def test_a_hanging_program_does_not_outlive_the_doctor(home):
    marker = f"hangs-forever-{home.port}"
    claude = _stand_in(home, "claude", f"exec sleep 600 # {marker}")
    env_text = _env_values(home).replace(f"CLAUDE_BIN='{shutil.which('true')}'", f"CLAUDE_BIN='{claude}'")
    home.path("env").write_text(env_text)
    ran = home.run("--json", "--offline", "--only", "bin.claude", "--deadline", "2")
    assert ran.code is not None and ran.code in (1, 2)
    time.sleep(0.2)
    assert _alive_with(marker) == []


def test_a_flooding_program_is_stopped_at_its_cap(home):
    claude = _stand_in(home, "claude", "exec yes claude-version-flood")
    home.path("env").write_text(_env_values(home).replace(f"CLAUDE_BIN='{shutil.which('true')}'",
                                                          f"CLAUDE_BIN='{claude}'"))
    ran = home.run("--json", "--offline", "--only", "bin.claude")
    ran.assert_named()
    assert len(ran.stdout) < 1_000_000


# -- who may be stopped ----------------------------------------------------------------------------------

def test_a_forged_pidfile_never_makes_stop_kill_another_process(home):
    victim = subprocess.Popen(["sleep", "600"], cwd=home.home, start_new_session=True)
    try:
        info = psutil.Process(victim.pid)
        home.path("pidfile").write_text(json.dumps({
            "pid": victim.pid, "create_time": info.create_time(), "cmdline": ["./run.sh"], "home": str(home.home),
            "port": home.port, "pgid": victim.pid}))
        ran = home.run("stop", "--timeout", "2")
        ran.assert_named()
        assert victim.poll() is None, "stop killed a process it did not start"
    finally:
        victim.kill()
        victim.wait()


def test_restart_of_a_frozen_proxy_ends_with_a_running_proxy(home):
    assert home.run("start", "--timeout", "10").code == 0
    pid = json.loads(home.path("pidfile").read_text())["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        ran = home.run("restart", "--timeout", "10")
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    ran.assert_named()
    status = home.run("status", "--json")
    assert status.code == 0 and json.loads(status.stdout)["healthy"], (ran.stdout, ran.stderr, status.stdout)


# -- gateways that never finish ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["drip-body", "events"])
@pytest.mark.parametrize("argv", [("status", "--json"), ("--fix", "--yes", "--offline", "--deadline", "4"),
                                  ("--json", "--offline", "--deadline", "4")])
def test_a_gateway_that_never_finishes_does_not_hold_the_doctor(home, mode, argv):
    with serving(mode, home.port):
        wait_listening(home.port)
        ran = home.run(*argv, timeout=HANG)
    assert ran.code is not None, f"{argv} hung on a gateway that answers with {mode}"
    assert "Traceback" not in ran.text and "internal error" not in ran.text


# -- a full disk -----------------------------------------------------------------------------------------

def _tmpfs_available() -> str | None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare to mount a private, tiny file system"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
                           capture_output=True)
    return None if probe.returncode == 0 else f"cannot mount a private tmpfs here: {probe.stderr.decode()[:100]}"


def _on_full_disk(home: HostileHome, script: str) -> subprocess.CompletedProcess:
    """Run `script` (sh) with the runtime home on a 64 KiB tmpfs that is full, in a private mount namespace:
    the home is copied there, the free space filled, then the script runs with $HOME_DIR and $DOCTOR."""
    doctor = f"{sys.executable} -m claudex_doctor"
    setup = (f"mount -t tmpfs -o size=64k tmpfs '{home.home}.full' && cp -a '{home.home}/.' '{home.home}.full/' && "
             f"mount --bind '{home.home}.full' '{home.home}' && "
             f"(dd if=/dev/zero of='{home.home}/filler' bs=1k count=1000 2>/dev/null; true) && ")
    Path(f"{home.home}.full").mkdir(exist_ok=True)
    env = dict(home.env, DOCTOR=doctor, HOME_DIR=str(home.home))
    return subprocess.run(["unshare", "-m", "sh", "-c", setup + script], env=env, capture_output=True, text=True,
                          timeout=HANG)


def test_a_full_disk_leaves_no_empty_backup_and_no_half_change(home):
    reason = _tmpfs_available()
    if reason:
        pytest.skip(reason)
    script = ('$DOCTOR set-env X_FULL=1; echo "exit=$?"; '
              'ls -la "$HOME_DIR/backups" 2>/dev/null; find "$HOME_DIR" -size 0 -name "*.bak-*"; '
              'grep -c X_FULL "$HOME_DIR/claude-code-gpt54.env"; true')
    proc = _on_full_disk(home, script)
    out = proc.stdout + proc.stderr
    assert "exit=1" in out, out
    assert "Traceback" not in out and "internal error" not in out
    assert "No space left on device" in out and "claude-code-gpt54.env" in out or ".bak-" in out, out
    assert not [line for line in proc.stdout.splitlines() if line.endswith(".bak-") or ".bak-" in line
                and line.split()[-1].startswith(str(home.home)) and " 0 " in line]
    assert proc.stdout.strip().splitlines()[-1] == "0", "the env file changed on a full disk"


def test_start_on_a_full_disk_leaves_no_proxy_running_unrecorded(home):
    reason = _tmpfs_available()
    if reason:
        pytest.skip(reason)
    marker = str(home.home)
    proc = _on_full_disk(home, '$DOCTOR start --timeout 5; echo "exit=$?"; true')
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "internal error" not in out
    assert "exit=1" in out or "exit=0" not in out, out
    time.sleep(0.3)
    assert not [p for p in _alive_with("gateway.py") if _cwd_of(p) == marker], "a proxy runs that nothing recorded"


def _cwd_of(pid: int) -> str | None:
    try:
        return psutil.Process(pid).cwd()
    except psutil.Error:
        return None


# -- secrets ---------------------------------------------------------------------------------------------

def test_a_key_typed_into_the_wrong_place_is_never_echoed(home):
    for argv in (("set-config", f"port={KEY}"), ("explain", KEY), ("--deadline", KEY), ("set-env", f"1BAD={KEY}")):
        ran = home.run(*argv)
        assert ran.code is not None and KEY not in ran.text, (argv, ran.text)


def test_the_report_scrubs_headers_cookies_custom_headers_and_rotated_keys(home):
    rotated = "claudex-0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
    home.path("log").write_text(
        "[2026-11-20 10:00:00] [info] request headers: Cookie: session=abcDEF1234567890xyz; other=abcdef\n"
        "Set-Cookie: __Secure-next-auth.session-token=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..abc\n"
        "Authorization: Bearer oldkeyoldkeyoldkey1234\n"
        "X-Custom-Auth: short-custom-77\n"
        f"[2026-11-20 10:00:01] [warn] api key {rotated} is not configured any more\n")
    env = dict(home.env, ANTHROPIC_CUSTOM_HEADERS="X-Team-Token: teamsecret-7777777")
    ran = home.run("report", "-o", "-", "--offline", env=env)
    assert ran.code == 0
    for secret in ("abcDEF1234567890xyz", "oldkeyoldkeyoldkey1234", "short-custom-77", "teamsecret-7777777",
                   rotated, "eyJhbGciOiJkaXIi", KEY):
        assert secret not in ran.text, secret


def test_secret_files_and_their_backups_are_private_after_any_write(home):
    for name in ("config", "env", "proxy_auth"):
        os.chmod(home.path(name), 0o644)
    os.chmod(home.home, 0o755)
    assert home.run("set-env", "X_PRIVATE=1").code == 0
    assert home.run("set-config", "debug=true").code == 0
    for name in ("config", "env"):
        assert stat.S_IMODE(home.path(name).stat().st_mode) == 0o600, name
    backups = home.path("backups")
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    assert [oct(stat.S_IMODE(p.stat().st_mode)) for p in backups.iterdir()] == ["0o600"] * len(list(backups.iterdir()))
    assert stat.S_IMODE(home.home.stat().st_mode) == 0o700


# -- a diagnosis writes nothing --------------------------------------------------------------------------

def test_a_diagnosis_writes_nothing_under_home(home):
    assert home.run("start", "--timeout", "10").code == 0
    before = {k: v for k, v in snapshot(home.user).items() if not k.endswith("cli-proxy-api.log")}
    for argv in (("--json", "--offline"), ("--json",), ("status", "--json"), ("report", "-o", "-"), ("probe",),
                 ("checks",), ("explain", "stack")):
        home.run(*argv)
    after = {k: v for k, v in snapshot(home.user).items() if not k.endswith("cli-proxy-api.log")}
    assert after == before


def test_a_proxy_that_cannot_be_recorded_is_stopped_again(home, monkeypatch):
    """The pidfile write fails after the launch (a full disk at that moment): the proxy is ended, the
    refusal names the file, and nothing runs unrecorded."""
    import errno

    from claudex_doctor.errors import PrimitiveError
    from claudex_doctor.primitives import apply
    from claudex_doctor.service import control
    from tests.service_home import paths_of, proxies_of

    def full(paths, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(paths.pidfile))

    monkeypatch.setattr(control, "write_pidfile", full)
    with pytest.raises(PrimitiveError, match="could not record it in .*cli-proxy-api.pid.*No space left"):
        apply("start", paths_of(home.home), timeout=5)
    time.sleep(0.3)
    assert proxies_of(home.home) == []
