"""`claudex-doctor skill install|show`: the skill `claudex-gateway`, for Claude Code and the Codex CLI.

install: write <claude config dir>/skills/claudex-gateway/SKILL.md and
$CODEX_HOME/skills/claudex-gateway/SKILL.md (`--agent` picks one); idempotent; an older
copy we wrote is updated (backup kept); a copy you edited is kept (exit 1) unless --force.
--json: the Claude Code result's fields as before, and `codex` with the Codex CLI's.
show: print the SKILL.md this version installs (--json: path, state, content).
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import paths_for

HELP = "install the skill that teaches Claude Code and the Codex CLI to use this tool"

MESSAGES = {  # SkillAction -> words
    "installed": "installed the claudex-gateway skill: {shown}",
    "updated": "updated the claudex-gateway skill: {shown}",
    "replaced": "replaced your edited skill: {shown}",
    "unchanged": "the claudex-gateway skill is up to date: {shown}",
    "kept": "kept {shown}: it was edited (or not written by claudex-doctor); "
            "`claudex-doctor skill install --force` replaces it and keeps a backup",
    "would-install": "would install the claudex-gateway skill: {shown}",
    "would-update": "would update {shown} (a backup is kept)",
    "would-replace": "would replace your edited {shown} (a backup is kept)",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("install", "show"), help="install: write ~/.claude/skills/claudex-gateway/SKILL.md")
    parser.add_argument("--force", action="store_true", help="replace a SKILL.md you edited (a backup is kept)")
    parser.add_argument("--dry-run", action="store_true", help="say what install would do, write nothing")
    parser.add_argument("--agent", choices=("all", "claude", "codex"), default="all",
                        help="which agent's skills folder: Claude Code, the Codex CLI, or both (default)")


def main(args: argparse.Namespace) -> int:
    from claudex_doctor import console
    from claudex_doctor.base.paths import display
    from claudex_doctor.errors import DoctorError
    from claudex_doctor.help.skill import install, read_existing, render, state, target

    paths = paths_for(args)
    path = target(paths)
    shown = display(path, paths.user_home)
    if args.action == "show":
        content = render()
        if args.json:
            console.out_json({"path": shown, "state": state(read_existing(path), content), "content": content},
                             redact=False)  # a path under the user's home and shipped text
        else:
            console.out(content, redact=False)  # shipped text, not the user's
        return 0
    agents = ("claude", "codex") if args.agent == "all" else (args.agent,)
    results = {}
    for agent in agents:
        where = display(target(paths, agent), paths.user_home)
        try:
            results[agent] = (install(paths, force=args.force, dry_run=args.dry_run, agent=agent), where)
        except OSError as exc:
            raise DoctorError(f"cannot write {where}: {exc.strerror or exc}") from None
    ok = all(result.ok for result, _ in results.values())
    if args.json:
        data: dict = {}
        for agent, (result, where) in results.items():
            backup = display(result.backup, paths.user_home) if result.backup else None
            entry = {**result.to_dict(where, backup), "agent": agent}
            if agent == agents[0]:
                data.update(entry)
            if agent != "claude":
                data[agent] = entry
        console.out_json(data)
        return 0 if ok else 1
    for agent, (result, where) in results.items():
        name = {"claude": "Claude Code", "codex": "Codex CLI"}[agent]
        message = f"{name}: " + MESSAGES[result.action].format(shown=where)
        if result.ok:
            console.line(message)
        else:
            console.error(message)
        if result.backup:
            console.line(f"backup of the previous file: {display(result.backup, paths.user_home)}")
    return 0 if ok else 1
