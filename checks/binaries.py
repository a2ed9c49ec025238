"""The programs the stack runs: claude, codex, cli-proxy-api, and the toolchain to rebuild the proxy.

bin.claude  -- Claude Code found (CLAUDE_BIN in the env file, else PATH), runs, version.
bin.codex   -- Codex CLI present (it owns `codex login` and refreshes ~/.codex/auth.json).
bin.proxy   -- $HOME/cli-proxy-api present, executable, runs, version.
bin.go, bin.git -- only a failure when the proxy binary is missing or broken (a rebuild needs them).

Fix safety: installing claude or codex is manual (npm); a missing or broken proxy
binary is rebuilt by `bootstrap` (confirm), which keeps config, auth and env file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.base import files
from claudex_doctor.base.files import is_executable
from claudex_doctor.base.paths import display
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, passed, warned

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/binaries.md"


def _version(ctx: StackContext, key: str, argv: list[str], timeout: float = 5.0, cwd: Path | None = None):
    """Run `argv` once per run (memoised) and return the Proc."""
    return ctx.memo(f"version:{key}", lambda: ctx.run(argv, timeout=timeout, cwd=cwd))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def claude_binary(ctx: StackContext) -> tuple[Path | None, str]:
    """Where the wrapper would find claude: CLAUDE_BIN from the env file, else PATH."""
    env = ctx.env_file
    if env.ok and env.data.get("CLAUDE_BIN"):
        return Path(env.data.get("CLAUDE_BIN")).expanduser(), "CLAUDE_BIN in the env file"
    found = ctx.which("claude")
    return found, "PATH"


@check("bin.claude", "Claude Code", reference=f"{REF}#claude-not-found", fixes=("manual",))
def bin_claude(ctx: StackContext):
    path, source = claude_binary(ctx)
    install = Fix.manual("Install Claude Code", "npm install -g @anthropic-ai/claude-code")
    if path is None:
        return failed("claude is not on PATH and the env file sets no CLAUDE_BIN", [
            "The claudex wrapper execs $CLAUDE_BIN; without it nothing can start."], {"source": source}, fix=install)
    shown = display(path, ctx.paths.user_home)
    evidence = {"path": shown, "source": source}
    if not path.exists():
        return failed(f"{shown} ({source}) does not exist", [
            "Set CLAUDE_BIN in the env file to the output of `command -v claude`."], evidence, fix=install)
    wrapper = ctx.paths.wrapper
    if wrapper.exists() and files.real_path(path) == files.real_path(wrapper):
        return failed(f"{shown} is the claudex wrapper itself: it would exec itself forever", [], evidence,
                      reference=f"{REF}#claude-bin-is-the-wrapper",
                      fix=Fix.manual("Point CLAUDE_BIN at the real claude", "command -v -a claude"))
    if not is_executable(path):
        return failed(f"{shown} is not executable", [], evidence, fix=Fix.manual("Make it executable", f"chmod +x {shown}"))
    version = npm_version(path, "@anthropic-ai/claude-code", prefix=True)
    if version:  # npm's record of the installed package: a file read where `claude --version` starts it
        evidence.update(version=version, version_from="package.json")
        return passed(f"Claude Code {version} at {shown}", evidence=evidence)
    proc = _version(ctx, "claude", [str(path), "--version"])
    if not proc.ok:
        return failed(f"{shown} does not run: {proc.error or f'exit {proc.returncode}'}",
                      [_first_line(proc.output)] if proc.output else [], evidence, reference=f"{REF}#claude-broken", fix=install)
    match = re.search(r"(\d+\.\d+\.\d+)", proc.stdout)
    evidence["version"] = match.group(1) if match else _first_line(proc.stdout)
    return passed(f"Claude Code {evidence['version']} at {shown}", evidence=evidence)


def npm_version(path: Path, package: str, prefix: bool = False) -> str | None:
    """The version npm recorded for `package` (or, with `prefix`, any package whose name starts so: the
    platform packages that carry a native binary) when `path` is (a link to) that package's program."""
    script = files.real_path(path)
    for folder in (script.parent, script.parent.parent):
        manifest = folder / "package.json"
        loaded = files.read_json(manifest, cap=files.SMALL_CAP)
        if not loaded.ok:
            continue
        data = loaded.data
        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(name, str) and (name == package or prefix and name.startswith(package)) \
                and isinstance(data.get("version"), str):
            return data["version"]
    return None


_CODEX_TRIPLES = {
    ("linux", "x86_64"): ("x86_64-unknown-linux-musl", "linux-x64"),
    ("linux", "aarch64"): ("aarch64-unknown-linux-musl", "linux-arm64"),
    ("darwin", "x86_64"): ("x86_64-apple-darwin", "darwin-x64"),
    ("darwin", "arm64"): ("aarch64-apple-darwin", "darwin-arm64"),
}


def codex_native(path: Path) -> tuple[Path, dict[str, str]] | None:
    """The native binary npm's `codex` launcher would exec, and the variables it would set.

    The launcher (bin/codex.js) is a Node start-up (about 60 ms) in front of a native program that
    answers `login status` in a few: calling the same binary the same way keeps the doctor fast.
    None when this is not the npm package or the layout is not the one the launcher uses."""
    if npm_version(path, "@openai/codex") is None:
        return None
    if not hasattr(os, "uname"):  # Windows: none of the layouts below
        return None
    system = os.uname()  # what platform.system()/machine() read, without importing platform
    key = (system.sysname.lower(), system.machine.lower())
    if key not in _CODEX_TRIPLES:
        return None
    triple, suffix = _CODEX_TRIPLES[key]
    root = files.real_path(path).parent.parent  # <node_modules>/@openai/codex
    for vendor in (root.parent / f"codex-{suffix}" / "vendor",
                   root / "node_modules" / "@openai" / f"codex-{suffix}" / "vendor",
                   root / "vendor"):
        binary = vendor / triple / "bin" / "codex"
        if is_executable(binary):
            return binary, {"CODEX_MANAGED_PACKAGE_ROOT": str(root), "CODEX_MANAGED_BY_NPM": "1"}
    return None


@check("bin.codex", "Codex CLI", reference=f"{REF}#codex-not-found", fixes=("manual",))
def bin_codex(ctx: StackContext):
    """The version comes from npm's package.json when codex is the npm package (a file read, not a
    second Node start-up: auth.codex runs `codex login status`, which proves codex runs); otherwise
    from `codex --version`."""
    path = ctx.which("codex")
    install = Fix.manual("Install the Codex CLI, then log in with ChatGPT", "npm install -g @openai/codex && codex login")
    if path is None:
        has_auth = ctx.paths.codex_auth.exists()
        text = "codex is not on PATH"
        details = ["The Codex CLI owns the ChatGPT login (`codex login`) whose tokens the proxy uses."]
        if has_auth:
            details.append("An auth.json exists, so sync-auth still has a source; you need codex to log in again.")
            return warned(text, details, {}, fix=install)
        return failed(text, details, {}, fix=install)
    shown = display(path, ctx.paths.user_home)
    if not is_executable(path):
        return failed(f"{shown} is not executable", [], {"path": shown}, fix=install)
    version, source, proc = codex_version(ctx)
    if proc is not None and not proc.ok:
        return failed(f"{shown} does not run: {proc.error or f'exit {proc.returncode}'}",
                      [_first_line(proc.output)] if proc.output else [], {"path": shown}, fix=install)
    return passed(f"codex-cli {version} at {shown}", evidence={"path": shown, "version": version,
                                                               "version_from": source})


def codex_version(ctx: StackContext):
    """(version, where it was read, the Proc when `codex --version` ran): npm's package.json when codex is
    the npm package (a file read), else `codex --version`, once per run. (None, '', None) without codex."""
    def compute():
        path = ctx.which("codex")
        if path is None or not is_executable(path):
            return None, "", None
        version = npm_version(path, "@openai/codex")
        if version:
            return version, "package.json", None
        proc = _version(ctx, "codex", [str(path), "--version"])
        if not proc.ok:
            return None, "codex --version", proc
        match = re.search(r"(\d+\.\d+\.\d+)", proc.stdout)
        return (match.group(1) if match else _first_line(proc.stdout)), "codex --version", proc
    return ctx.memo("codex_version", compute)


def proxy_binary_state(ctx: StackContext) -> tuple[str, str, dict]:
    """('ok'|'missing'|'not_executable'|'broken', message, evidence), computed once per run."""
    def compute():
        path = ctx.paths.binary
        shown = display(path, ctx.paths.user_home)
        evidence = {"path": shown}
        if not path.exists():
            return "missing", f"{shown} does not exist", evidence
        if not is_executable(path):
            return "not_executable", f"{shown} is not executable", evidence
        proc = _version(ctx, "proxy", [str(path), "-h"], cwd=ctx.paths.home)
        match = re.search(r"CLIProxyAPI Version:\s*([^,\s]+)(?:, Commit:\s*([^,\s]+))?", proc.output)
        if proc.error and not match:
            return "broken", f"{shown} does not run: {proc.error}", evidence
        if match:
            evidence["version"] = match.group(1)
            if match.group(2) and match.group(2) != "none":
                evidence["commit"] = match.group(2)
            return "ok", f"CLIProxyAPI {match.group(1)} at {shown}", evidence
        if proc.returncode in (0, 2):
            evidence["version"] = "unknown"
            return "ok", f"{shown} runs (it printed no CLIProxyAPI version line)", evidence
        return "broken", f"{shown} does not run: exit {proc.returncode}: {_first_line(proc.output)}", evidence
    return ctx.memo("proxy_binary_state", compute)


@check("bin.proxy", "CLIProxyAPI binary", needs=("paths.home",), reference=f"{REF}#proxy-binary-missing",
       fixes=("bootstrap",))
def bin_proxy(ctx: StackContext):
    state, message, evidence = proxy_binary_state(ctx)
    if state == "ok":
        return passed(message, evidence=evidence)
    fix = Fix.confirm("bootstrap", "Install the pinned CLIProxyAPI build into the home (config, auth and env file are kept)")
    ref = f"{REF}#proxy-binary-missing" if state == "missing" else f"{REF}#proxy-binary-broken"
    return failed(message, ["Without it nothing listens on the gateway port."], evidence, reference=ref, fix=fix)


def _toolchain(ctx: StackContext, name: str, argv: list[str], pattern: str):
    path = ctx.which(name)
    state, _, _ = proxy_binary_state(ctx) if ctx.paths.home.is_dir() else ("missing", "", {})
    needed = state != "ok"
    why = "needed: the proxy binary is missing or broken and a rebuild uses it" if needed else \
        "only needed to rebuild the proxy"
    if path is None:
        text = f"{name} is not on PATH ({why})"
        install = Fix.manual(f"Install {name}", f"apt-get install {'golang-go' if name == 'go' else 'git'}  # or your OS's package")
        if needed:
            return failed(text, [], {"needed": needed}, fix=install)
        return passed(text, evidence={"needed": needed})
    if name == "go":
        version = go_version_file(path)
        if version:
            return passed(f"go {version} ({why})", evidence={"path": display(path, ctx.paths.user_home),
                                                            "version": version, "version_from": "GOROOT/VERSION",
                                                            "needed": needed})
    # `go version` may write telemetry counters under the user's config folder: not with GOTELEMETRY=off.
    env = {**ctx.env, "GOTELEMETRY": "off"} if name == "go" else None
    proc = ctx.memo(f"version:{name}", lambda: ctx.run([str(path), *argv], env=env))
    match = re.search(pattern, proc.output)
    version = match.group(1) if match else _first_line(proc.output) or "unknown"
    if not proc.ok:
        text = f"{display(path, ctx.paths.user_home)} does not run: {proc.error or f'exit {proc.returncode}'}"
        return failed(text, [why], {"needed": needed}) if needed else warned(text, [why], {"needed": needed})
    return passed(f"{name} {version} ({why})", evidence={"path": display(path, ctx.paths.user_home), "version": version,
                                                          "needed": needed})


def go_version_file(go: Path) -> str | None:
    """The toolchain's version from GOROOT/VERSION (the go binary is GOROOT/bin/go): a file read, where
    `go version` would start the toolchain."""
    try:
        root = files.real_path(go).parent.parent
    except (OSError, RuntimeError):
        return None
    loaded = files.read_head(root / "VERSION", 256)
    if not loaded.ok:
        return None
    match = re.match(rb"go(\d+\.\d+(?:\.\d+)?)", loaded.data)
    return match.group(1).decode() if match else None


@check("bin.go", "Go toolchain", after=("bin.proxy",), reference=f"{REF}#toolchain-for-a-rebuild", fixes=("manual",))
def bin_go(ctx: StackContext):
    return _toolchain(ctx, "go", ["version"], r"go(\d+\.\d+(?:\.\d+)?)")


@check("bin.git", "git", after=("bin.proxy",), reference=f"{REF}#toolchain-for-a-rebuild", fixes=("manual",))
def bin_git(ctx: StackContext):
    return _toolchain(ctx, "git", ["--version"], r"(\d+\.\d+(?:\.\d+)?)")


# -- the proxy's version ------------------------------------------------------------------------

def _newest_served(ctx: StackContext, module: str):
    """The newest CLIProxyAPI tag the Go module proxy serves (GOPROXY respected), once per run, bounded
    by the run's deadline; None offline. A network call: the module proxy, not chatgpt.com."""
    from claudex_doctor.proxy import versions

    if ctx.options.offline:
        return None
    return ctx.memo(f"newest_served:{module}",
                    lambda: versions.newest_served(module, ctx.env, timeout=max(0.2, min(4.0, ctx.remaining() - 0.5))))


@check("bin.proxy_version", "CLIProxyAPI version", needs=("bin.proxy",), after=("bin.codex",),
       reference=f"{REF}#proxy-older-than-the-pin", fixes=("upgrade",))
def bin_proxy_version(ctx: StackContext):
    """What it checks: the installed CLIProxyAPI's version against the known-good pin (knowledge/models.json
    `pinned_proxy`) and, online, the newest tag the Go module proxy serves; what that version presents
    upstream (the Codex client it claims to be) against the installed Codex CLI and today's models.
    Why it matters: CLIProxyAPI releases often; an old one meets "please upgrade" or "Unknown parameter"
    after Claude Code or Codex updates, and the backend refuses models newer than the client it presents.
    Fix safety: `upgrade` (confirm): builds the version beside the current binary, swaps, probes, and
    rolls back by itself when the probe fails."""
    from claudex_doctor.knowledge import models as _models
    from claudex_doctor.proxy import build, versions

    _, _, found = proxy_binary_state(ctx)
    installed = found.get("version")
    pinned = _models.pinned_proxy()
    evidence: dict = {"installed": installed, "pinned": pinned}
    details: list[str] = []
    presented = _models.presented_client(installed)
    if presented:
        evidence["presents_codex"] = presented
        codex, _, _ = codex_version(ctx)
        needs = sorted({m.get("minimal_client_version") for m in _models.catalog()["codex"]["models"]
                        if m.get("minimal_client_version")}, key=lambda v: _models.version_tuple(v) or (0,))
        newest_need = needs[-1] if needs else None
        words = f"It presents itself upstream as Codex {presented}"
        if codex:
            words += f"; codex-cli here is {codex}"
            evidence["codex_cli"] = codex
        if newest_need and (_models.version_tuple(newest_need) or (0,)) > (_models.version_tuple(presented) or (0,)):
            words += (f"; today's newest Codex models need {newest_need}, so through this proxy they are refused "
                      "(env.mapping names any mapped one)")
            evidence["newest_models_need"] = newest_need
        details.append(words + ".")
    served = _newest_served(ctx, build.module_for(installed if installed and versions.parse(installed) else pinned))
    newest = None
    if served is not None:
        evidence["module_proxy"] = served.to_dict()
        newest = served.newest
        if served.problem:
            details.append(f"The Go module proxy was asked which versions it serves: {served.problem}.")
    have, pin = versions.parse(installed), versions.parse(pinned)
    if have is None:
        return warned(f"CLIProxyAPI reports no release version ({installed or 'none'}); the known-good pin is "
                      f"{pinned}", details, evidence, reference=f"{REF}#proxy-older-than-the-pin",
                      fix=Fix.confirm("upgrade", f"Install CLIProxyAPI {pinned} (the previous binary is kept)",
                                      command=f"claudex-doctor upgrade --version {pinned}", version=pinned))
    if pin is not None and have < pin:
        return warned(f"CLIProxyAPI {installed} is older than the known-good {pinned}", details, evidence,
                      reference=f"{REF}#proxy-older-than-the-pin",
                      fix=Fix.confirm("upgrade", f"Upgrade to CLIProxyAPI {pinned} (probed; rolled back on failure)",
                                      command=f"claudex-doctor upgrade --version {pinned}", version=pinned))
    if newest and (versions.parse(newest) or (0, 0, 0)) > have:
        details.insert(0, f"The Go module proxy serves {newest}; the doctor's knowledge is of {pinned}. "
                          f"`claudex-doctor upgrade --version {newest}` tries it and rolls back if the probe fails.")
        return passed(f"CLIProxyAPI {installed}; {newest} is served", details, evidence)
    where = "the known-good pin" if installed == pinned else f"newer than the known-good {pinned}"
    return passed(f"CLIProxyAPI {installed} ({where})", details, evidence)
