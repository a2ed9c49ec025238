"""README.md's first run, followed command by command in a temporary HOME, up to a green doctor with the
real CLIProxyAPI, Claude Code and Codex CLI (only chatgpt.com is the fake upstream).

The commands come from the README itself (the fenced block after the `user-path` marker), so the two
cannot drift: a command added there that this test does not know fails it. Three steps cannot run here
as written and are done the same way by other means, each said below:

- `npm install -g ...`: the same pinned versions `.ci/install-e2e` installed with npm are put on PATH;
- `pipx install ./claudex-doctor`: this checkout is built into a wheel and installed into a fresh venv
  (what pipx does), offline: the dependencies come from this environment through a .pth file;
- `codex login`: the login `codex login` leaves behind is written (from the fake auth.openai.com).

Before `claudex-doctor setup` the test writes one file a user never writes: a config.yaml that puts the
proxy on a random port with a random local key and sends its chatgpt.com traffic to the fake (`proxy-url`); setup keeps it, as
it keeps every file that exists. `claudex-doctor setup` gets `--binary` with the cached CLIProxyAPI
build, unless CLAUDEX_TEST_GO_BUILD=1 (then it builds the pinned version with Go itself).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.fakes.upstream import make_codex_auth_json, write_json

from .harness import ENV_AT_IMPORT

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- user-path:"
QUIET = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1"}


def user_path_commands(readme: str) -> list[str]:
    """The commands of the first ```sh block after the marker, one per line (comments dropped)."""
    at = readme.index(MARKER)
    block = re.search(r"```sh\n(.*?)```", readme[at:], re.S)
    assert block, "no ```sh block after the user-path marker"
    return [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_block_is_found():
    commands = user_path_commands((REPO / "README.md").read_text())
    assert commands[0].startswith("npm install -g") and "claudex-doctor setup" in commands


def _install_checkout(venv: Path) -> Path:
    """`pipx install ./claudex-doctor`, offline: a wheel of this checkout in a venv of its own."""
    wheels = venv.parent / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w",
                    str(wheels), str(REPO)], check=True, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = wheels.glob("claudex_doctor-*.whl")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    return venv / "bin" / "claudex-doctor"


def test_the_readme_first_run_reaches_a_green_doctor(proxy_bin, claude_bin, codex_bin, upstream, tmp_path):
    commands = user_path_commands((REPO / "README.md").read_text())
    home = tmp_path / "home"
    tools = tmp_path / "tools"  # where `npm install -g` and pipx would put their commands
    for folder in (home / ".codex", tools):
        folder.mkdir(parents=True)
    port = free_port()
    env = {"HOME": str(home), "LANG": "C.UTF-8", "NO_COLOR": "1", "GOPROXY": "off", **QUIET,
           "PATH": os.pathsep.join([str(home / ".local" / "bin"), str(tools), "/usr/local/bin", "/usr/bin", "/bin"]),
           **upstream.proxy_env()}
    gateway = home / ".local" / "share" / "claudex-gateway"

    def run(argv: list[str], timeout: float = 300, extra: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env={**env, **(extra or {})}, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=tmp_path)

    for command in commands:
        words = shlex.split(command)
        if words[:3] == ["npm", "install", "-g"]:
            assert set(words[3:]) == {"@anthropic-ai/claude-code", "@openai/codex"}
            os.symlink(claude_bin, tools / "claude")
            os.symlink(codex_bin, tools / "codex")
        elif words[:2] in (["pipx", "install"], ["uv", "tool"], ["pip", "install"]):
            assert words[-1] == "./claudex-doctor", command
            os.symlink(_install_checkout(tmp_path / "venv"), tools / "claudex-doctor")
        elif words == ["codex", "login"]:
            write_json(home / ".codex" / "auth.json", make_codex_auth_json(upstream.issue_tokens()))
        elif words[:2] == ["claudex-doctor", "setup"]:
            gateway.mkdir(parents=True)
            (gateway / "config.yaml").write_text(
                f'host: "127.0.0.1"\nport: {port}\nauth-dir: "./auth"\napi-keys:\n  - "{secrets.token_urlsafe(24)}"\n'
                f'proxy-url: "{upstream.proxy_url}"\n')
            extra = {}
            if os.environ.get("CLAUDEX_TEST_GO_BUILD") == "1":
                import pwd
                real_home = Path(pwd.getpwuid(os.getuid()).pw_dir)
                extra = {"GOPROXY": ENV_AT_IMPORT.get("GOPROXY") or "https://proxy.golang.org,direct",
                         "GOMODCACHE": ENV_AT_IMPORT.get("GOMODCACHE") or str(real_home / "go" / "pkg" / "mod"),
                         "GOCACHE": ENV_AT_IMPORT.get("GOCACHE") or str(real_home / ".cache" / "go-build")}
                argv = words
            else:
                argv = [*words, "--binary", str(proxy_bin)]
            done = run(argv, timeout=1800, extra=extra)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "[7] next" in done.stdout and "claudex " in done.stdout, done.stdout
            assert "probe.messages" in done.stdout, done.stdout  # the live probe ran, through the fake
        elif words[0] == "claudex":
            answered = run(words, timeout=180)
            assert answered.returncode == 0, answered.stdout + answered.stderr
            assert answered.stdout.strip(), "claude printed no answer"
            assert any(r.path.endswith("/backend-api/codex/responses") for r in upstream.requests)
        elif words == ["claudex-doctor"]:
            final = run(["claudex-doctor", "--deadline", "60"], timeout=300)
            assert final.returncode == 0, final.stdout + final.stderr
        else:
            pytest.fail(f"README's first run has a command this test does not know: {command!r}")
    run(["claudex-doctor", "stop"])
