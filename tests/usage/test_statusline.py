"""The status line: what it says for each state of the stack, that it never fails and never waits, that
it keeps the heavy libraries off its path, and that many renders at once start ONE background refresh."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.usage import cache
from claudex_doctor.usage.model import parse_usage
from claudex_doctor.usage.statusline import Style, line, maybe_refresh, model_words
from tests.conftest import free_port
from tests.fakes.upstream import FakeUpstream, make_codex_auth_json, write_json
from tests.fakes.usage import usage_payload

EXAMPLES = Path(__file__).parent / "examples"
STATUS = json.loads((EXAMPLES / "statusline-input.json").read_text())
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PLAIN = Style(color=False, unicode=True)


@pytest.fixture
def home(tmp_path, monkeypatch):
    gateway = tmp_path / "gateway"
    gateway.mkdir()
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(gateway))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    port = free_port()
    (gateway / "claude-code-gpt54.env").write_text(
        f"export ANTHROPIC_BASE_URL=http://127.0.0.1:{port}\n"
        "export ANTHROPIC_DEFAULT_OPUS_MODEL='gpt-5.6-sol(xhigh)'\n"
        "export ANTHROPIC_DEFAULT_SONNET_MODEL=gpt-5.5\n"
        "export ANTHROPIC_DEFAULT_HAIKU_MODEL='gpt-5.6-luna(low)'\n")
    return resolve(), port


def cached(paths, kind: str = "room", age: float = 0.0):
    reading = parse_usage(usage_payload(kind), time.time() - age)
    cache.store(paths, reading, attempted_at=time.time() - age)
    return reading


def test_everything_on_one_line(home):
    paths, port = home
    cached(paths, "room")
    text = line(paths, STATUS, PLAIN)
    assert "\n" not in text and not ANSI.search(text)
    assert "○ claudex down" in text
    assert "opus→gpt-5.6-sol xhigh" in text
    assert re.search(r"5h 23% ↺2h3\dm · wk 41% ↺4d1?\dh", text), text
    assert text.endswith("ctx 8%")


def test_colors_and_ascii(home):
    paths, _ = home
    cached(paths, "exhausted")
    colored = line(paths, STATUS, Style(color=True, unicode=True))
    assert "\x1b[31mfull\x1b[0m" in colored  # the exhausted 5h window, red
    ascii_only = line(paths, STATUS, Style(color=False, unicode=False))
    assert ascii_only.isascii() and " | " in ascii_only and "5h full @1h" in ascii_only


def test_weekly_only_and_an_exhausted_model_bucket(home):
    paths, _ = home
    cached(paths, "weekly")
    text = line(paths, STATUS, PLAIN)
    assert "wk 14%" in text and "5h" not in text
    cached(paths, "model")
    assert "GPT-5.3-Codex-Spark full" in line(paths, STATUS, PLAIN)


def test_an_old_reading_says_its_age_and_an_expired_token_says_so(home):
    paths, _ = home
    cached(paths, "room", age=3600)
    assert "(1h00m old)" in line(paths, STATUS, PLAIN) or "(59m old)" in line(paths, STATUS, PLAIN)
    cache.store(paths, None, problem="expired", message="expired")
    assert "token expired" in line(paths, STATUS, PLAIN)


def test_without_any_reading(home):
    paths, _ = home
    assert "quota …" in line(paths, STATUS, PLAIN)
    cache.store(paths, None, problem="no_login")
    assert "quota: no ChatGPT login" in line(paths, STATUS, PLAIN)


@pytest.mark.parametrize("model, words", [
    ({"id": "claude-opus-4-8", "display_name": "Opus"}, "opus→gpt-5.6-sol xhigh"),
    ({"id": "gpt-5.6-luna(low)", "display_name": "gpt-5.6-luna(low)"}, "haiku→gpt-5.6-luna low"),
    ({"id": "claude-sonnet-4-5", "display_name": "Sonnet"}, "sonnet→gpt-5.5 high"),  # effort from Claude Code
    ({"id": "gpt-9", "display_name": "Custom"}, "Custom"),
    ({}, None), ("junk", None)])
def test_which_codex_model_the_claude_model_maps_to(home, model, words):
    paths, _ = home
    env = {"ANTHROPIC_DEFAULT_OPUS_MODEL": "gpt-5.6-sol(xhigh)", "ANTHROPIC_DEFAULT_SONNET_MODEL": "gpt-5.5",
           "ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-5.6-luna(low)"}
    assert model_words({"model": model, "effort": {"level": "high"}}, env) == words


def test_gateway_states(home):
    paths, port = home
    assert "claudex down" in line(paths, {}, PLAIN)
    with socket.socket() as server:  # something listens on the port, not the process our pidfile names
        server.bind(("127.0.0.1", port))
        server.listen()
        assert f"claudex :{port} held by another process" in line(paths, {}, PLAIN)
        me = psutil.Process()
        write_json(paths.pidfile, {"pid": me.pid, "create_time": me.create_time(), "cmdline": [], "port": port,
                                   "home": str(paths.home)})
        assert f"● claudex :{port}" in line(paths, {}, PLAIN)
    assert f"claudex :{port} starting" in line(paths, {}, PLAIN)  # ours runs, nothing listens
    write_json(paths.pidfile, {"pid": me.pid, "create_time": me.create_time() - 1000, "port": port})
    assert "claudex down" in line(paths, {}, PLAIN)  # the pid was reused by another program


def test_no_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(tmp_path / "none"))
    assert line(resolve(), STATUS, PLAIN) == "claudex: no gateway home (claudex-doctor bootstrap) │ ctx 8%"
    assert line(None, {}, PLAIN) == "claudex: no gateway home (claudex-doctor bootstrap)"


# -- the command, as Claude Code runs it --------------------------------------------------------

def run(args=(), *, stdin=None, env=None, input=None, timeout=60):
    full = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "claudex_doctor", "statusline", *args], input=input, stdin=stdin,
                          capture_output=True, env=full, timeout=timeout)


@pytest.mark.parametrize("stdin", [b"", b"garbage", b"\x00\xff\xfe", b"[1, 2]", b"{" * 5000, b'{"model": 5}',
                                   json.dumps(STATUS).encode(), b"x" * (3 << 20)])
def test_any_stdin_still_prints_one_line_and_exits_0(home, stdin):
    proc = run(input=stdin)
    assert proc.returncode == 0 and proc.stderr == b""
    out = proc.stdout.decode()
    assert out.count("\n") == 1 and "claudex" in out


def test_closed_stdin_no_home_and_no_color(tmp_path):
    proc = subprocess.run(f'"{sys.executable}" -m claudex_doctor statusline <&-', shell=True, capture_output=True,
                          env={**os.environ, "NO_COLOR": "1", "CLAUDEX_GATEWAY_HOME": str(tmp_path / "none")},
                          timeout=60)
    assert proc.returncode == 0
    assert proc.stdout == b"claudex: no gateway home (claudex-doctor bootstrap)\n"


def test_colors_are_on_for_claude_code_even_through_a_pipe(home):
    proc = run(input=json.dumps(STATUS).encode())
    assert b"\x1b[" in proc.stdout
    assert b"\x1b[" not in run(input=b"{}", env={"NO_COLOR": "1"}).stdout


def test_the_status_line_path_keeps_httpx_rich_and_ruamel_off(home):
    paths, _ = home
    cached(paths, "room")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "claudex_doctor", "statusline"],
                          input=json.dumps(STATUS).encode(), capture_output=True, env=dict(os.environ), timeout=60)
    assert proc.returncode == 0 and "5h 23%" in ANSI.sub("", proc.stdout.decode())
    imported = {m.group(1).strip() for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)",
                                                        proc.stderr.decode(), re.MULTILINE)}
    assert "claudex_doctor.usage.statusline" in imported  # the parse sees the modules
    heavy = sorted(m for m in imported if m.split(".")[0] in ("httpx", "httpcore", "rich", "ruamel", "jsonschema")
                   or m in ("claudex_doctor.usage.fetch", "claudex_doctor.core.graph"))
    assert not heavy, heavy


# -- the background refresh -------------------------------------------------------------------

@pytest.fixture
def upstream(tmp_path):
    with FakeUpstream(workdir=tmp_path / "upstream") as fake:
        yield fake
        assert fake.token_requests() == []


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_many_renders_at_once_start_one_refresh(home, upstream, monkeypatch):
    paths, _ = home
    tokens = upstream.issue_tokens()
    write_json(paths.codex_auth, make_codex_auth_json(tokens))
    cached(paths, "room", age=3600)  # stale
    upstream.usage = usage_payload("near")
    upstream.usage_mode, upstream.usage_delay = "slow", 4.0  # the refresh is still running while the others render
    env = {**dict(os.environ), **upstream.proxy_env()}
    procs = [subprocess.Popen([sys.executable, "-m", "claudex_doctor", "statusline"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(6)]
    outs = [p.communicate(json.dumps(STATUS).encode(), timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert all("5h 23%" in ANSI.sub("", out.decode()) for out, _ in outs)  # each printed what it had, at once
    assert wait_for(lambda: cache.load(paths).reading is not None and cache.load(paths).age() < 600)
    assert wait_for(lambda: not cache.refreshing(paths))
    assert len(upstream.usage_requests()) == 1
    assert "5h 85%" in line(paths, STATUS, PLAIN)
    # Fresh now: the next render starts nothing.
    assert maybe_refresh(paths) is False
    assert len(upstream.usage_requests()) == 1


def test_a_failed_refresh_is_not_retried_at_every_render(home, upstream):
    paths, _ = home
    write_json(paths.codex_auth, make_codex_auth_json(upstream.issue_tokens()))
    upstream.usage_mode = 500
    env = {**dict(os.environ), **upstream.proxy_env()}
    assert run(input=b"{}", env=env).returncode == 0
    assert wait_for(lambda: cache.load(paths).last_problem == "http") and wait_for(lambda: not cache.refreshing(paths))
    for _ in range(3):
        run(input=b"{}", env=env)
    assert len(upstream.usage_requests()) == 1
    assert "quota: not read" in line(paths, {}, PLAIN)


def test_no_refresh_without_a_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDEX_GATEWAY_HOME", str(tmp_path / "none"))
    assert maybe_refresh(resolve()) is False
    assert not (tmp_path / "none").exists()


def lock_free(paths) -> bool:
    fd = cache.refresh_lock(paths)
    if fd is None:
        return False
    os.close(fd)
    return True


@pytest.mark.parametrize("blocked", ["directory", "link out of the home"])
def test_a_cache_that_cannot_be_written_starts_one_refresh_per_period(home, upstream, tmp_path, blocked):
    paths, _ = home
    write_json(paths.codex_auth, make_codex_auth_json(upstream.issue_tokens()))
    target = cache.cache_path(paths)
    if blocked == "directory":
        target.mkdir()
    else:
        target.symlink_to(tmp_path / "elsewhere.json")
    env = {**dict(os.environ), **upstream.proxy_env()}
    for _ in range(4):
        assert run(input=b"{}", env=env).returncode == 0
        assert wait_for(lambda: lock_free(paths))  # the refresh it may have started has ended
    assert len(upstream.usage_requests()) == 1
    assert cache.load(paths).reading is None and not (tmp_path / "elsewhere.json").exists()
    # A period later, one more.
    os.utime(cache.lock_path(paths), (time.time() - 120, time.time() - 120))
    assert run(input=b"{}", env=env).returncode == 0
    assert wait_for(lambda: len(upstream.usage_requests()) == 2) and wait_for(lambda: lock_free(paths))
    assert len(upstream.usage_requests()) == 2


def test_one_render_loads_the_cache_once(home, monkeypatch):
    """The command reads the cache once and hands it to both the refresh decision and the line."""
    import argparse

    from claudex_doctor.commands import statusline as command

    loads = []
    real = cache.load
    monkeypatch.setattr(cache, "load", lambda paths: loads.append(1) or real(paths))
    monkeypatch.setattr(command, "read_status", lambda: {})
    monkeypatch.setattr(os, "posix_spawn", lambda *a, **k: 0)  # the stale cache's refresh: not started here
    assert command.show(argparse.Namespace(home=None, wrapper=None)) == 0
    assert len(loads) == 1
