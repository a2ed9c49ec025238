"""A whole claudex stack built the way a user builds it: with claudex-doctor's own commands.

Real CLIProxyAPI, real Claude Code, real Codex CLI; only chatgpt.com and auth.openai.com are
the fake upstream. Everything lives in a temporary directory (HOME, CODEX_HOME, the runtime
home, the wrapper) and listens on a random loopback port.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.fakes.upstream import FakeUpstream, TokenSet, make_codex_auth_json, write_json

QUIET = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1"}


class Stack:
    def __init__(self, root: Path, upstream: FakeUpstream, proxy_bin: Path, claude_bin: Path, codex_bin: Path):
        self.root = root
        self.upstream = upstream
        self.proxy_bin = proxy_bin
        self.port = free_port()
        self.user_home = root / "home"
        self.codex_home = self.user_home / ".codex"
        self.codex_home.mkdir(parents=True)
        self.bin = root / "bin"
        self.bin.mkdir()
        for name, target in (("claude", claude_bin), ("codex", codex_bin)):
            os.symlink(target, self.bin / name)
        self.home = root / "gateway"
        self.wrapper = self.bin / "claudex"
        self.env = {
            "HOME": str(self.user_home), "CODEX_HOME": str(self.codex_home),
            "CLAUDEX_GATEWAY_HOME": str(self.home), "CLAUDEX_WRAPPER": str(self.wrapper),
            "PATH": os.pathsep.join([str(self.bin), str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                                     "/bin"]),
            "LANG": "C.UTF-8", "NO_COLOR": "1", "GOPROXY": "off",
            # The proxy's own start-up calls and anything else outbound go to the fake, which refuses them.
            **upstream.proxy_env(),
        }
        self.tokens: TokenSet | None = None

    # -- commands -------------------------------------------------------------------------
    def doctor(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "claudex_doctor", *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def must(self, *args: str) -> subprocess.CompletedProcess:
        proc = self.doctor(*args)
        assert proc.returncode == 0, f"claudex-doctor {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def findings(self, *args: str) -> tuple[int, dict[str, dict], dict]:
        """Run the doctor with --json; (exit code, {id: check}, whole document)."""
        proc = self.doctor("--json", "--deadline", "40", *args)
        assert proc.returncode in (0, 1), f"doctor exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr}"
        data = json.loads(proc.stdout)
        return proc.returncode, {c["id"]: c for c in data["checks"]}, data

    def fix(self, *extra: str) -> tuple[int, dict[str, dict], dict]:
        """--fix --yes, and the proof that each applied fix repaired what it was applied for: the re-check
        of every check it was planned for passes (or warns) afterwards."""
        proc = self.doctor("--fix", "--yes", "--json", "--deadline", "40", *extra)
        assert proc.returncode in (0, 1), f"--fix exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr}"
        data = json.loads(proc.stdout)
        for step in data.get("fixes") or []:
            if step["status"] == "applied":
                broken = {cid: status for cid, status in step.get("after", {}).items() if status in ("fail", "error")}
                assert not broken, f"{step['primitive']} was applied but did not repair {broken}: {step}"
        return proc.returncode, {c["id"]: c for c in data["checks"]}, data

    def claudex(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.wrapper), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    # -- building and breaking -------------------------------------------------------------
    def login(self) -> TokenSet:
        """What `codex login` leaves behind: a nested auth.json with fresh ChatGPT tokens."""
        self.tokens = self.upstream.issue_tokens()
        write_json(self.codex_home / "auth.json", make_codex_auth_json(self.tokens))
        return self.tokens

    def codex_refreshed(self) -> TokenSet:
        """The Codex CLI refreshed on its own: the shared refresh token is used up, auth.json is newer."""
        codex = json.loads((self.codex_home / "auth.json").read_text())
        fresh = self.upstream.rotate(codex["tokens"]["refresh_token"])
        time.sleep(1.1)  # last_refresh has one-second resolution; "newer" must be visible
        write_json(self.codex_home / "auth.json", make_codex_auth_json(fresh))
        self.tokens = fresh
        return fresh

    def build(self) -> None:
        self.login()
        self.must("bootstrap", "--binary", str(self.proxy_bin))
        self.must("set-config", f"port={self.port}", f"proxy-url={self.upstream.proxy_url}")
        self.must("set-env", f"ANTHROPIC_BASE_URL=http://127.0.0.1:{self.port}", *(f"{k}={v}" for k, v in QUIET.items()))
        self.must("sync-auth")
        self.must("start")

    def env_file_values(self) -> dict[str, str]:
        import shlex

        values = {}
        for line in (self.home / "claude-code-gpt54.env").read_text().splitlines():
            line = line.strip().removeprefix("export ").strip()
            if "=" in line and not line.startswith("#"):
                key, _, raw = line.partition("=")
                values[key.strip()] = " ".join(shlex.split(raw)) if raw.strip() else ""
        return values

    def probed_model(self) -> str:
        """The base name of the model the doctor's probes use (the haiku mapping)."""
        return self.env_file_values()["ANTHROPIC_DEFAULT_HAIKU_MODEL"].split("(")[0]

    def request(self, model: str | None = None) -> httpx.Response:
        """What Claude Code sends through the wrapper: one small /v1/messages request with the env file's key."""
        values = self.env_file_values()
        body = {"model": model or values["ANTHROPIC_DEFAULT_HAIKU_MODEL"], "max_tokens": 16,
                "messages": [{"role": "user", "content": "say pong"}]}
        return httpx.post(f"http://127.0.0.1:{self.port}/v1/messages", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {values['ANTHROPIC_AUTH_TOKEN']}",
                                   "anthropic-version": "2023-06-01"})

    def pid(self) -> int:
        return int(json.loads((self.home / "cli-proxy-api.pid").read_text())["pid"])

    def kill_proxy(self) -> None:
        pid = self.pid()
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def teardown(self) -> None:
        self.doctor("stop")


def failing(checks: dict[str, dict]) -> dict[str, str]:
    """Failed checks with their details, so that a red run in CI says why without a rerun."""
    return {cid: " | ".join([f"{c['status']}: {c['summary']}", *c.get("details", [])])
            for cid, c in checks.items() if c["status"] in ("fail", "error")}
