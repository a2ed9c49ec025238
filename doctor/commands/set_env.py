"""`claudex-doctor set-env KEY=VALUE ...`: set variables in the env file the wrapper sources.

Exit 0: written (or nothing to change, or --dry-run). Exit 1: refused, nothing was written
(the message says why and what to do). Exit 2: bad usage. Secret values are shown only as
fingerprints; everything printed passes through the redaction layer as well.
"""

from __future__ import annotations

import json
import sys

from ..cli import paths_for


def run(args, name: str, primitive) -> int:
    """Shared by set-env and set-config: parse KEY=VALUE words, apply, report."""
    from ..edit import parse_assignments
    from ..primitives import PrimitiveError
    from ..redact import redact, redact_text

    dry_run = bool(getattr(args, "dry_run", False))
    try:
        assignments = parse_assignments(list(args.assignments))
    except PrimitiveError as exc:  # bad usage: exit 2, like any other usage error
        print(f"claudex-doctor {name}: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    paths = paths_for(args)
    try:
        result = primitive(paths, dry_run=dry_run, assignments=assignments)
    except PrimitiveError as exc:
        if args.json:
            sys.stdout.write(json.dumps(redact({"ok": False, "refused": True, "message": str(exc)}), indent=2) + "\n")
        else:
            print(f"claudex-doctor {name}: {redact_text(str(exc))}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(json.dumps(redact({
            "ok": result.ok, "refused": False, "dry_run": dry_run, "message": result.message,
            "changes": result.changes, "backups": result.backups, "details": result.details}),
            indent=2, ensure_ascii=False) + "\n")
        return 0 if result.ok else 1
    lines = [result.message] + [f"  - {change}" for change in result.changes]
    lines += [f"  backup: {path}" for path in result.backups]
    sys.stdout.write(redact_text("\n".join(lines)) + "\n")
    return 0 if result.ok else 1


def main(args) -> int:
    from ..edit import set_env
    return run(args, "set-env", set_env)
