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
