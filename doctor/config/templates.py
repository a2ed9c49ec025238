"""The files `bootstrap` writes into the runtime home, as text, and the facts they are made from.

Deterministic: the same settings give the same bytes (no timestamps), which is what
makes a second bootstrap (or `--force` with nothing to change) leave files alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from claudex_doctor.config.envfile import render_line
from claudex_doctor.primitives import PrimitiveError

ALIAS_VARS = (("opus", "ANTHROPIC_DEFAULT_OPUS_MODEL"), ("sonnet", "ANTHROPIC_DEFAULT_SONNET_MODEL"),
              ("haiku", "ANTHROPIC_DEFAULT_HAIKU_MODEL"))


@dataclass
class Settings:
    home: Path
    port: int
    key: str
    new_key: bool
    plan: str
    plan_source: str
    mapping: dict[str, str]  # opus/sonnet/haiku -> model(effort)
    window: int | None
    claude_bin: str
    plan_known: bool = True
    notes: list[str] = field(default_factory=list)


def _catalog() -> dict:
    from claudex_doctor.knowledge import load
    return load("models")


def resolve_plan(paths, plan: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """(plan, where it came from): --plan, else the Codex login's id_token, else the catalog's default."""
    from claudex_doctor.core.context import Context
    from claudex_doctor.config.facts import plan as login_plan

    catalog = _catalog()
    aliases = catalog.get("plan_aliases", {})
    known = catalog["recommended_mapping"]
    default = catalog.get("default_plan", "pro")
    if plan:
        name = aliases.get(plan.strip().lower(), plan.strip().lower())
        if name not in known:
            raise PrimitiveError(f"unknown plan {plan!r}: choose one of {', '.join(sorted(known))} "
                                 f"(or {', '.join(sorted(aliases))})")
        return name, "--plan"
    found, source = login_plan(Context(paths, env=env))
    if found:
        name = aliases.get(found.lower(), found.lower())
        if name in known:
            return name, f"from {source}"
        return default, f"default: plan {found!r} from {source} has no recommended mapping"
    return default, "default: no Codex login to read the plan from"


def catalog_mapping(plan: str, plan_known: bool = True) -> tuple[dict[str, str], int | None]:
    """The recommended opus/sonnet/haiku mapping for a plan, and the smallest context window among them.

    When the plan is only the catalog's default (no login to read it from), the window is the
    smallest any plan gets for those models: compacting early is harmless, too late fails."""
    from claudex_doctor.config.facts import split_model

    catalog = _catalog()
    mapping = dict(catalog["recommended_mapping"][plan])
    models = {m["id"]: m for m in catalog.get("models", [])}
    windows = []
    for alias, _ in ALIAS_VARS:
        entry = models.get(split_model(mapping.get(alias, ""))[0])
        if entry:
            by_plan = entry.get("context_window_by_plan", {})
            if plan_known:
                windows.append(by_plan.get(plan, entry["context_window"]))
            else:
                windows.append(min([entry["context_window"], *by_plan.values()]))
    return {alias: mapping[alias] for alias, _ in ALIAS_VARS if alias in mapping}, (min(windows) if windows else None)


def find_claude(env: Mapping[str, str], wrapper: Path) -> Path | None:
    """The first `claude` on PATH that is not the claudex wrapper itself; absolute, symlinks kept."""
    for entry in (env.get("PATH") or os.defpath).split(os.pathsep):
        candidate = Path(os.path.abspath(entry or ".")) / "claude"
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        try:
            if wrapper.exists() and os.path.samefile(candidate, wrapper):
                continue
        except OSError:
            pass
        return candidate
    return None


def render_config(s: Settings) -> str:
    return f"""# CLIProxyAPI configuration for the claudex gateway (written by claudex-doctor bootstrap).
# Loopback only: any other host exposes your ChatGPT subscription to the network.
host: "127.0.0.1"
port: {s.port}
# Relative to the working directory: run.sh changes into this home before starting the proxy.
auth-dir: "./auth"
# The local key Claude Code sends (ANTHROPIC_AUTH_TOKEN in the env file). An empty list means no auth at all.
api-keys:
  - {json.dumps(s.key)}
debug: false
logging-to-file: false
request-retry: 3
# Management API closed: no remote access, no key (every /v0/management route answers 404), no web panel.
remote-management:
  allow-remote: false
  secret-key: ""
  disable-control-panel: true
# Outbound proxy for the calls to chatgpt.com (http://, https:// or socks5:// URL); empty means direct.
proxy-url: ""
"""


def render_env(s: Settings) -> str:
    lines = [
        "# claude-code-gpt54.env: how Claude Code reaches the local CLIProxyAPI gateway.",
        "# Generated by `claudex-doctor bootstrap`; safe to edit. The claudex wrapper sources it with",
        "# /bin/sh (set -a; . this-file), so keep to plain `export KEY=value` lines;",
        "# `claudex-doctor set-env KEY=VALUE` edits it atomically with a backup.",
        "",
        "# The gateway: no /v1 at the end (Claude Code appends /v1/messages itself).",
        "# The token is one of the api-keys in config.yaml.",
        render_line("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{s.port}"),
        render_line("ANTHROPIC_AUTH_TOKEN", s.key),
        "",
        f"# Model mapping for the ChatGPT plan {s.plan!r} ({s.plan_source}); syntax model(effort).",
    ]
    lines += [render_line(var, s.mapping[alias]) for alias, var in ALIAS_VARS if alias in s.mapping]
    if "sonnet" in s.mapping:
        lines.append(render_line("CLAUDE_CODE_SUBAGENT_MODEL", s.mapping["sonnet"]))
    if s.window:
        lines += ["",
                  "# Claude Code does not know these models: tell it the real context window (the smallest",
                  "# of the mapped models) so it compacts before the upstream rejects a long session."
                  + ("" if s.plan_known else "\n# The plan is not known yet: this is the smallest window any plan gets."),
                  render_line("CLAUDE_CODE_AUTO_COMPACT_WINDOW", str(s.window))]
    lines += ["", "# The real Claude Code, which the wrapper execs."]
    if s.claude_bin == "claude":
        lines.append("# claude was not on PATH when this file was written: put its full path here.")
    lines += [render_line("CLAUDE_BIN", s.claude_bin), "",
              "# Uncomment to turn off Claude Code's telemetry, error reports and update checks",
              "# (any value turns it on, even 0: delete the line to turn it off again).",
              "# export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", ""]
    return "\n".join(lines)


def sh_quote(text: str) -> str:
    """Always single-quoted (shlex.quote leaves plain words bare), so the intent is visible."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def render_launcher(s: Settings) -> str:
    return f"""#!/bin/sh
# Start CLIProxyAPI from its runtime home (written by claudex-doctor bootstrap).
# It changes directory first: config.yaml's auth-dir ./auth is relative to the working directory.
cd {sh_quote(str(s.home))} || exit 1
exec ./cli-proxy-api -config config.yaml "$@"
"""
