"""`claudex-doctor skill install|show`: the Claude Code skill `claudex-gateway`.

install: write <claude config dir>/skills/claudex-gateway/SKILL.md; idempotent; an older
copy we wrote is updated (backup kept); a copy you edited is kept (exit 1) unless --force.
show: print the SKILL.md this version installs (--json: path, state, content).
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import paths_for

HELP = "install the Claude Code skill that teaches an agent to use this tool"

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
    try:
        result = install(paths, force=args.force, dry_run=args.dry_run)
    except OSError as exc:
        raise DoctorError(f"cannot write {shown}: {exc.strerror or exc}") from None
    backup = display(result.backup, paths.user_home) if result.backup else None
    if args.json:
        console.out_json(result.to_dict(shown, backup))
        return 0 if result.ok else 1
    message = MESSAGES[result.action].format(shown=shown)
    if result.ok:
        console.line(message)
    else:
        console.error(message)
    if backup:
        console.line(f"backup of the previous file: {backup}")
    return 0 if result.ok else 1
