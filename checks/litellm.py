"""Is a LiteLLM hop in the path? It cannot carry ChatGPT Codex OAuth (see `explain litellm`).

route.litellm
    What it checks: ANTHROPIC_BASE_URL (env file and the shell) on LiteLLM's
    default port 4000, or on a port a process named litellm listens on (looked
    at with psutil, never touched); a LiteLLM config (litellm_config.yaml, or a
    config with `model_list:`) in the home or the current directory; LITELLM_*
    variables in the shell or the env file.
    Why it matters: a ChatGPT login token is not an API key, and LiteLLM's route
    (messages -> chat completions -> responses) breaks tool calls and thinking;
    Claude Code should talk to CLIProxyAPI directly.
    Fix safety: manual: the doctor does not stop or reconfigure another program.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from claudex_doctor.base.files import read_text
from claudex_doctor.base.net import is_loopback, split_url
from claudex_doctor.base.paths import display
from claudex_doctor.checks._findings import Problems
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/litellm.md#litellm-in-the-path"
LITELLM_PORT = 4000
CONFIG_NAMES = ("litellm_config.yaml", "litellm_config.yml", "litellm.yaml", "litellm.yml")
GENERIC_NAMES = ("config.yaml", "config.yml")
EXPLAIN = "Run `claudex-doctor explain litellm` for why LiteLLM cannot carry a ChatGPT Codex login."
_MODEL_LIST = re.compile(r"^model_list\s*:", re.MULTILINE)


def _fix() -> Fix:
    return Fix.manual("Point ANTHROPIC_BASE_URL at CLIProxyAPI (http://127.0.0.1:8327), not at LiteLLM",
                      "claudex-doctor explain litellm")


def _is_litellm(name: str, cmdline: list[str]) -> bool:
    words = [name] + [os.path.basename(arg) for arg in cmdline[:3]]
    if any(w.lower().startswith("litellm") for w in words if w):
        return True
    # python -m litellm ...
    return any(a == "-m" and b.split(".")[0] == "litellm" for a, b in zip(cmdline, cmdline[1:], strict=False))


def listeners(ctx: StackContext, port: int) -> list[int]:
    """The pids listening on TCP `port`, from the run's one socket table (empty when it is not visible)."""
    from claudex_doctor.checks.port import listen_table

    table = listen_table(ctx)
    return [pid for _address, pid in table.on(port)] if table is not None else []


def _process(pid: int) -> tuple[str, list[str]] | None:
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.name(), proc.cmdline()
    except (psutil.Error, OSError):
        return None


# A process can only be LiteLLM if it is named so (a script run through its shebang) or is an
# interpreter or launcher that runs it; only those have their command line read.
_MAYBE_LITELLM = ("litellm", "python", "pypy", "uv", "pipx", "uvicorn", "gunicorn")


def _names() -> list[tuple[int, str]] | None:
    """(pid, name) of every process from /proc/<pid>/comm, a quarter of what psutil.process_iter costs
    (it also reads each process's start time); None without /proc."""
    from claudex_doctor.service.sockets import all_pids

    pids = all_pids()
    if pids is None:
        return None
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm", "rb") as handle:
                found.append((pid, handle.read().strip().decode("utf-8", "replace")))
        except OSError:
            continue  # gone meanwhile
    return found


def _litellm_processes() -> list[int]:
    import psutil

    found = []
    try:
        names = _names()
        if names is None:
            names = [(proc.pid, proc.info.get("name") or "") for proc in psutil.process_iter(["name"])]
        for pid, name in names:
            if not name.lower().startswith(_MAYBE_LITELLM):
                continue
            try:
                proc = psutil.Process(pid)
                if _is_litellm(proc.name(), proc.cmdline()):
                    found.append(pid)
            except (psutil.Error, OSError):
                continue
    except (psutil.Error, OSError):
        return []
    return found


def _check_url(ctx: StackContext, source: str, url: str, problems: Problems, evidence: dict) -> bool:
    parts = split_url(url)
    if parts is None:
        return False
    _scheme, host, port, _path = parts
    evidence.setdefault("base_urls", {})[source] = url
    if port == LITELLM_PORT:
        problems.fail(f"ANTHROPIC_BASE_URL ({source}) goes to port {LITELLM_PORT}, LiteLLM's default",
                      [f"{url} is where a LiteLLM proxy usually listens; Claude Code should talk to CLIProxyAPI.",
                       EXPLAIN], REF, _fix())
        return True
    if port is None or not (is_loopback(host) or host in ("0.0.0.0", "::")):
        return False
    for pid in listeners(ctx, port):
        info = _process(pid) if pid else None
        if info and _is_litellm(*info):
            evidence["owner"] = {"pid": pid, "name": info[0]}
            problems.fail(f"ANTHROPIC_BASE_URL ({source}) goes to a litellm process (pid {pid}) on port {port}",
                          ["LiteLLM sits between Claude Code and the Codex backend.", EXPLAIN], REF, _fix())
            return True
    return False


def _check_configs(ctx: StackContext, problems: Problems, evidence: dict) -> None:
    p = ctx.paths
    places = [p.home, p.cwd] if p.cwd != p.home else [p.home]
    for folder in places:
        for name in CONFIG_NAMES + GENERIC_NAMES:
            path = folder / name
            loaded = read_text(path)
            if not loaded.ok:
                continue
            shown = display(path, p.user_home)
            generic = name in GENERIC_NAMES
            if generic and not _MODEL_LIST.search(loaded.text or ""):
                continue
            evidence.setdefault("configs", []).append(shown)
            if path == p.config:
                problems.fail(f"{shown} is a LiteLLM config (it has model_list:), not CLIProxyAPI's",
                              ["The proxy reads this file; a LiteLLM config gives it no port, keys or auth-dir.",
                               EXPLAIN], REF, _fix())
            else:
                problems.warn(f"a LiteLLM config is here: {shown}",
                              ["It is not in the path by itself; make sure nothing points Claude Code at it.",
                               EXPLAIN], REF, _fix())


@check("route.litellm", "LiteLLM in the path", after=("env.consistency",),
       reference=REF, fixes=("manual",))
def route_litellm(ctx: StackContext):
    problems = Problems()
    evidence: dict = {}
    in_path = False
    if ctx.env_file.ok:
        url = ctx.env_file.data.get("ANTHROPIC_BASE_URL")
        if url:
            in_path |= _check_url(ctx, "env file", url, problems, evidence)
    shell_url = ctx.env.get("ANTHROPIC_BASE_URL")
    if shell_url:
        in_path |= _check_url(ctx, "shell", shell_url, problems, evidence)
    _check_configs(ctx, problems, evidence)
    names = sorted(n for n in ctx.env if n.startswith("LITELLM_"))
    if ctx.env_file.ok:
        names += sorted(f"{n} (env file)" for n in ctx.env_file.data.values if n.startswith("LITELLM_"))
    if names:
        evidence["variables"] = names
        problems.warn(f"LiteLLM variables are set: {', '.join(names[:5])}",
                      ["Something here is configured for LiteLLM.", EXPLAIN], REF, _fix())
    if not in_path:
        pids = _litellm_processes()
        if pids:
            evidence["litellm_pids"] = pids[:5]
            problems.note(f"A litellm process runs (pid {', '.join(map(str, pids[:5]))}) but Claude Code's base URL "
                          "does not go through it.")
    target = evidence.get("base_urls", {}).get("env file") or "the proxy"
    return problems.outcome(f"no LiteLLM hop: Claude Code goes straight to {target}", evidence)
