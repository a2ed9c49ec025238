"""`claudex-doctor sync-auth`: copy the newest ChatGPT tokens to the side that holds older ones.

Exit 0: copied, or already in sync (also for --dry-run). Exit 1: refused, the user must act
(the message says how). Exit 2: the doctor could not do its job. Output names tokens only by
fingerprint; everything printed passes through the redaction layer as well.
"""

from __future__ import annotations

import json
import sys

from ..cli import paths_for


def main(args) -> int:
    from ..primitives import PrimitiveError
    from ..redact import redact, redact_text
    from ..syncauth import apply

    paths = paths_for(args)
    try:
        result = apply(paths, dry_run=bool(getattr(args, "dry_run", False)), reverse=bool(args.reverse),
                       yes=bool(args.yes), force=bool(args.force))
    except PrimitiveError as exc:
        if args.json:
            sys.stdout.write(json.dumps(redact({"ok": False, "refused": True, "message": str(exc)}), indent=2) + "\n")
        else:
            print(f"claudex-doctor sync-auth: {redact_text(str(exc))}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(json.dumps(redact({
            "ok": result.ok, "refused": False, "dry_run": bool(getattr(args, "dry_run", False)),
            "message": result.message, "changes": result.changes, "backups": result.backups,
            "details": result.details}), indent=2, ensure_ascii=False) + "\n")
        return 0 if result.ok else 1
    lines = [result.message]
    lines += [f"  - {change}" for change in result.changes]
    lines += [f"  backup: {path}" for path in result.backups]
    if result.ok and result.changes and not getattr(args, "dry_run", False) and "copied" in result.message:
        lines.append("Run `claudex-doctor --only auth.sync` to confirm both sides agree.")
    sys.stdout.write(redact_text("\n".join(lines)) + "\n")
    return 0 if result.ok else 1
