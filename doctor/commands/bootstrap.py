"""`claudex-doctor bootstrap`: create the runtime home, proxy binary, config, env file and wrapper."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager


@contextmanager
def _progress():
    """A rich spinner on stderr for the long steps (building the proxy); only on a TTY."""
    from claudex_doctor.console import _isatty, wants_color

    if not _isatty(sys.stderr) or os.environ.get("CI"):
        yield None
        return
    from rich.console import Console

    status = Console(file=sys.stderr, no_color=not wants_color(sys.stderr)).status("bootstrap…", spinner="dots")
    status.start()
    try:
        yield status.update
    finally:
        status.stop()


def main(args) -> int:
    from claudex_doctor.bootstrap import apply
    from claudex_doctor.cli import paths_for
    from claudex_doctor.primitives import PrimitiveError
    from claudex_doctor.base.redact import redact, redact_text

    paths = paths_for(args)
    parts = tuple(getattr(args, "parts", ()) or ()) or None
    try:
        with _progress() as status:
            result = apply(paths, dry_run=args.dry_run, force=args.force, binary=args.binary, source=args.source,
                           plan=args.plan, only=parts, status=status)
    except PrimitiveError as exc:
        # Reported here rather than raised as DoctorError: under `python -m claudex_doctor.cli`
        # the cli module runs as __main__ and would not recognise the class.
        sys.stderr.write(f"claudex-doctor: bootstrap: {redact_text(str(exc))}\n")
        return 1
    if args.json:
        data = {"ok": result.ok, "message": result.message, "changes": result.changes, "backups": result.backups,
                "details": result.details, "dry_run": bool(args.dry_run)}
        sys.stdout.write(json.dumps(redact(data), indent=2) + "\n")
        return 0 if result.ok else 1
    out = [f"bootstrap: {result.message}"]
    out += [f"  {line}" for line in result.changes]
    if not args.dry_run and any(f["action"] == "create" and f["part"] == "config" for f in result.details["files"]):
        out.append("next: claudex-doctor sync-auth (copies your Codex login), then claudex start")
    sys.stdout.write(redact_text("\n".join(out)) + "\n")
    return 0 if result.ok else 1
