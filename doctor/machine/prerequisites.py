"""The programs the stack needs, found on PATH, with the exact command that installs a missing one.

    node, npm   Claude Code and the Codex CLI are npm packages (Node 16 or newer; 22 or newer advised)
    claude      Claude Code: `npm install -g @anthropic-ai/claude-code`
    codex       the Codex CLI, which owns the ChatGPT login: `npm install -g @openai/codex`
    go          builds CLIProxyAPI (Go 1.26 or newer: the pinned version's go.mod); not needed with `--binary PATH`, or while the
                home's binary works
    git         only for `--source` checkouts and the clone-and-build fallback

Install hints follow the platform (`base.platform`): Homebrew on macOS, the Debian/Ubuntu packages or
the upstream download on Linux. Finding is a PATH lookup and, for node and go, one bounded version
query; nothing is installed here.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from claudex_doctor.base import platform
from claudex_doctor.base.platform import System
from claudex_doctor.base.proc import run_bounded

# Where each minimum comes from (tests/e2e/test_knowledge_pins.py reads them from the pinned components):
# NODE_MIN: the pinned Codex CLI 0.171.0's package.json `engines` (node >=16, as of 2026-11-30): its `codex`
#   command is a Node script, so an older Node cannot run it.
# NODE_ADVISED: the pinned Claude Code 2.1.332's `engines` (node >=22.0.0, as of 2026-11-30). Claude Code is a
#   native binary; Node runs only its npm postinstall, which works on Node 20 (npm warns EBADENGINE). So an
#   older Node is a note, not a stop: a working install is not called broken.
# GO_MIN: the pinned CLIProxyAPI v7.2.140's go.mod `go 1.26.0` directive (as of 2026-11-30).
NODE_MIN = (16, 0)
NODE_ADVISED = (22, 0)
GO_MIN = (1, 26)


@dataclass(frozen=True)
class Tool:
    name: str
    why: str
    path: str | None
    version: str | None
    ok: bool
    problem: str | None
    hint: str
    required: bool
    note: str | None = None  # worth knowing, not a stop (a version below the advised one)

    def to_dict(self) -> dict:
        return {"name": self.name, "why": self.why, "path": self.path, "version": self.version, "ok": self.ok,
                "problem": self.problem, "hint": self.hint, "required": self.required, "note": self.note}


def hints(system: System) -> dict[str, str]:
    """The install command of each program, for this system."""
    if system is System.DARWIN:
        node, go, git = "brew install node", "brew install go", "xcode-select --install  # or: brew install git"
    else:
        node = "sudo apt-get install -y nodejs npm  # Debian/Ubuntu; Node 22+ advised, else https://nodejs.org"
        go = "install Go 1.26+ from https://go.dev/dl/ (distribution packages are often older)"
        git = "sudo apt-get install -y git  # Debian/Ubuntu"
    return {
        "node": node, "npm": node, "go": go, "git": git,
        "claude": "npm install -g @anthropic-ai/claude-code",
        "codex": "npm install -g @openai/codex",
    }


def _version(argv: list[str], pattern: str, env: Mapping[str, str]) -> str | None:
    proc = run_bounded(argv, 10.0, env={**env, "GOTELEMETRY": "off"})
    match = re.search(pattern, proc.output) if proc.ok else None
    return match.group(1) if match else None


def _tuple(version: str | None) -> tuple[int, ...] | None:
    if not version:
        return None
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3]) or None


def find(*, need_go: bool, need_git: bool = False, env: Mapping[str, str] | None = None) -> list[Tool]:
    """Every program setup needs, found or not, in the order to install them."""
    env = dict(os.environ if env is None else env)
    system = platform.system(env)
    hint = hints(system)
    path = env.get("PATH", os.defpath)
    tools: list[Tool] = []

    def add(name: str, why: str, required: bool, version_argv: list[str] | None = None, pattern: str = "",
            minimum: tuple[int, ...] | None = None, advised: tuple[int, ...] | None = None,
            advised_by: str = "") -> None:
        found = shutil.which(name, path=path)
        version = _version([found, *version_argv], pattern, env) if found and version_argv else None
        problem = None if found else f"{name} is not on PATH"
        note = None
        have = _tuple(version) if found else None
        if have is not None and minimum and have < minimum:
            problem = f"{name} {version} is older than {'.'.join(map(str, minimum))}"
        elif have is not None and advised and have < advised:
            note = f"{name} {version} is older than the {'.'.join(map(str, advised))} {advised_by}; it works, but " \
                   "npm warns (EBADENGINE) and a later release may need it"
        tools.append(Tool(name, why, found, version, problem is None, problem, hint[name], required, note))

    add("node", "runs the Codex CLI and Claude Code's install", True, ["--version"], r"v?(\d+\.\d+\.\d+)", NODE_MIN,
        NODE_ADVISED, "Claude Code's package asks for")
    add("npm", "installs Claude Code and the Codex CLI", False)
    add("claude", "Claude Code, which claudex starts", True)
    add("codex", "the Codex CLI: `codex login` gives the ChatGPT login the proxy uses", True)
    add("go", "builds CLIProxyAPI (not needed with --binary PATH)", need_go, ["version"], r"go(\d+\.\d+(?:\.\d+)?)",
        GO_MIN)
    if need_git:
        add("git", "clones CLIProxyAPI for --source", True)
    return tools


def on_path(directory: Path, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    wanted = os.path.realpath(directory)
    return any(os.path.realpath(p) == wanted for p in env.get("PATH", "").split(os.pathsep) if p)
