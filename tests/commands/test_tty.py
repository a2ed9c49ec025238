"""On a real terminal the report is colored (unless NO_COLOR) and progress is shown; on a pipe, neither."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time


def run_in_pty(args, env_extra=None, timeout=30.0, answers=None) -> str:
    """Run the CLI on a pseudo-terminal; `answers` maps a prompt's bytes to the reply typed once."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", **(env_extra or {}))
    env.pop("CI", None)
    proc = subprocess.Popen([sys.executable, "-m", "claudex_doctor", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    pending = dict(answers or {})
    seen = b""
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
            seen += data
            for prompt in [p for p in pending if p in seen]:
                os.write(master, pending.pop(prompt))
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return seen.decode("utf-8", "replace")


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
    env = {"HOME": str(tmp_path), "CLAUDEX_GATEWAY_HOME": str(home), "CLAUDEX_WRAPPER": str(wrapper), "NO_COLOR": "1"}
    text = run_in_pty(["--fix", "--offline", "--only", "wrapper.installed"], env, timeout=60, answers={b"[y/N]": b"y\n"})
    assert "Apply 'claudex-doctor bootstrap --only wrapper'?" in text, text
    assert wrapper.exists() and os.access(wrapper, os.X_OK)
    assert "wrapper.installed: fail -> warn" in text  # written; warn: its folder is not on this PATH
