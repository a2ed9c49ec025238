"""What the primitive commands share: run the primitive, print its result, map it to an exit code.

Used by start, stop, restart, sync-auth, set-env and set-config. Exit codes: 0 done (or nothing
to do, or --dry-run), 1 the primitive refused or failed (the message says why and what to do
next), 2 bad usage. With --json, stdout holds one object and nothing else. Everything printed
passes through the redaction layer.
"""

from __future__ import annotations

import json
import sys
from typing import Callable


def report(name: str, args, call: Callable[[], object], hint: Callable[[object], str | None] | None = None) -> int:
    """Run `call()` (a primitive applied with the command's arguments) and report it."""
    from claudex_doctor.primitives import PrimitiveError
    from claudex_doctor.base.redact import redact, redact_text

    dry_run = bool(getattr(args, "dry_run", False))
    try:
        result = call()
    except PrimitiveError as exc:
        message = redact_text(str(exc))
        reference = getattr(exc, "reference", None)
        if args.json:
            _emit(redact({"primitive": name, "ok": False, "refused": True, "dry_run": dry_run, "message": message,
                          "changes": [], "backups": [], "details": dict(getattr(exc, "details", {}) or {}),
                          "reference": reference}))
        else:
            print(f"claudex-doctor {name}: {message}", file=sys.stderr)
            if reference:
                print(f"see: {reference}", file=sys.stderr)
        return 1
    data = redact({"primitive": name, "ok": result.ok, "refused": False, "dry_run": dry_run,
                   "message": result.message, "changes": list(result.changes), "backups": list(result.backups),
                   "details": dict(result.details), "reference": result.details.get("reference")})
    if args.json:
        _emit(data)
    else:
        _human(data, hint(result) if hint and result.ok and not dry_run else None)
    return 0 if result.ok else 1


def _emit(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _human(data: dict, hint: str | None) -> None:
    from claudex_doctor.base.redact import redact_text

    out = sys.stdout if data["ok"] else sys.stderr
    lines = [data["message"]]
    lines += [f"  - {line}" for line in data["changes"]]
    lines += [f"  backup: {path}" for path in data["backups"]]
    details = data["details"]
    tail = details.get("log_tail") or []
    if tail and not data["ok"]:
        lines.append(f"last lines of {details.get('log', 'the log')}:")
        lines += [f"  | {line}" for line in tail[-12:]]
    if data.get("reference") and not data["ok"]:
        lines.append(f"see: {data['reference']}")
    if hint:
        lines.append(hint)
    print(redact_text("\n".join(lines)), file=out)


def service(name: str, args) -> int:
    """start, stop and restart: the service primitive with the command's --timeout and --dry-run."""
    from claudex_doctor.cli import DoctorError, paths_for
    from claudex_doctor.primitives import apply

    timeout = getattr(args, "timeout", None)
    if timeout is not None and timeout <= 0:
        raise DoctorError("--timeout must be a positive number of seconds")
    kwargs = {"timeout": timeout} if timeout is not None else {}
    paths = paths_for(args)
    return report(name, args, lambda: apply(name, paths, dry_run=bool(getattr(args, "dry_run", False)), **kwargs))
