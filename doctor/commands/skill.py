"""`claudex-doctor skill install|show`: the Claude Code skill `claudex-gateway`.

install: write <claude config dir>/skills/claudex-gateway/SKILL.md; idempotent; an older
copy we wrote is updated (backup kept); a copy you edited is kept (exit 1) unless --force.
show: print the SKILL.md this version installs (--json: path, state, content).
"""

from __future__ import annotations

import json
import sys


def main(args) -> int:
    from claudex_doctor.cli import paths_for
    from claudex_doctor.base.paths import display
    from claudex_doctor.help.skill import install, read_existing, render, state, target

    paths = paths_for(args)
    path = target(paths)
    shown = display(path, paths.user_home)
    if args.action == "show":
        content = render()
        if args.json:
            sys.stdout.write(json.dumps({"path": shown, "state": state(read_existing(path), content),
                                         "content": content}, indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(content)
        return 0
    try:
        result = install(paths, force=args.force, dry_run=getattr(args, "dry_run", False))
    except OSError as exc:
        from claudex_doctor.cli import DoctorError
        raise DoctorError(f"cannot write {shown}: {exc.strerror or exc}") from None
    backup = display(result.backup, paths.user_home) if result.backup else None
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(shown, backup), indent=2) + "\n")
        return 0 if result.ok else 1
    messages = {
        "installed": f"installed the claudex-gateway skill: {shown}",
        "updated": f"updated the claudex-gateway skill: {shown}",
        "replaced": f"replaced your edited skill: {shown}",
        "unchanged": f"the claudex-gateway skill is up to date: {shown}",
        "kept": f"kept {shown}: it was edited (or not written by claudex-doctor); "
                "`claudex-doctor skill install --force` replaces it and keeps a backup",
        "would-install": f"would install the claudex-gateway skill: {shown}",
        "would-update": f"would update {shown} (a backup is kept)",
        "would-replace": f"would replace your edited {shown} (a backup is kept)",
    }
    print(messages[result.action], file=sys.stdout if result.ok else sys.stderr)
    if backup:
        print(f"backup of the previous file: {backup}")
    return 0 if result.ok else 1
