"""On a real terminal the report is colored (unless NO_COLOR) and progress is shown; on a pipe, neither."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time


def run_in_pty(args, env_extra=None, timeout=30.0) -> str:
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", **(env_extra or {}))
    env.pop("CI", None)
    proc = subprocess.Popen([sys.executable, "-m", "claudex_doctor.cli", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=5)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_color_on_a_terminal():
    out = run_in_pty(["--only", "paths.home"])
    assert "\x1b[" in out and "paths.home" in out


def test_no_color_on_a_terminal_when_asked():
    out = run_in_pty(["--only", "paths.home"], {"NO_COLOR": "1"})
    assert "paths.home" in out
    # The spinner may move the cursor; no SGR color codes (ESC [ ... m with a color) may appear.
    assert "\x1b[31m" not in out and "\x1b[1;31m" not in out and "\x1b[32m" not in out


def test_fix_on_a_terminal_asks_before_a_confirm_fix_and_applies_it_on_yes(tmp_path):
    """A home without its wrapper: bootstrap --only wrapper is a confirm-class fix; answer y at the prompt."""
    home = tmp_path / "gateway"
    home.mkdir()
    wrapper = tmp_path / "bin" / "claudex"
    env = {"HOME": str(tmp_path), "CLAUDEX_GATEWAY_HOME": str(home), "CLAUDEX_WRAPPER": str(wrapper),
           "NO_COLOR": "1"}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "claudex_doctor.cli", "--fix", "--offline", "--only",
                             "wrapper.installed"], stdin=slave, stdout=slave, stderr=slave,
                            env=dict(os.environ, TERM="xterm", **env), close_fds=True)
    os.close(slave)
    seen, answered = b"", False
    end = time.monotonic() + 60
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            seen += data
            if not answered and b"[y/N]" in seen:
                os.write(master, b"y\n")
                answered = True
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    text = seen.decode("utf-8", "replace")
    assert answered, text
    assert wrapper.exists() and os.access(wrapper, os.X_OK)
    assert "wrapper.installed: fail -> warn" in text  # written; warn: its folder is not on this PATH
