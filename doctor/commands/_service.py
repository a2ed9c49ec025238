"""What `start`, `stop` and `restart` share: run the primitive, print its result, map it to an exit code.

Exit codes: 0 done (or nothing to do), 1 the primitive refused or failed (the message says why and
what to do next), 2 bad usage. With --json, stdout holds one object and nothing else.
"""

from __future__ import annotations

import json
import sys

from ..cli import DoctorError, paths_for


def run(name: str, args) -> int:
    from ..primitives import PrimitiveError, apply
    from ..redact import redact, redact_text

    timeout = getattr(args, "timeout", None)
    if timeout is not None and timeout <= 0:
        raise DoctorError("--timeout must be a positive number of seconds")
    dry_run = bool(getattr(args, "dry_run", False))
    paths = paths_for(args)
    kwargs = {"timeout": timeout} if timeout is not None else {}
    try:
        result = apply(name, paths, dry_run=dry_run, **kwargs)
    except PrimitiveError as exc:
        message = redact_text(str(exc))
        reference = getattr(exc, "reference", None)
        if args.json:
            _emit(redact({"primitive": name, "ok": False, "refused": True, "dry_run": dry_run, "message": message,
                          "changes": [], "details": dict(getattr(exc, "details", {}) or {}),
                          "reference": reference}))
        else:
            print(f"claudex-doctor {name}: {message}", file=sys.stderr)
            if reference:
                print(f"see: {reference}", file=sys.stderr)
        return 1
    data = redact({"primitive": name, "ok": result.ok, "refused": False, "dry_run": dry_run,
                   "message": result.message, "changes": list(result.changes), "details": dict(result.details),
                   "reference": result.details.get("reference")})
    if args.json:
        _emit(data)
    else:
        _human(data)
    return 0 if result.ok else 1


def _emit(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _human(data: dict) -> None:
    out = sys.stdout if data["ok"] else sys.stderr
    print(data["message"], file=out)
    prefix = "would " if data["dry_run"] else "- "
    for line in data["changes"]:
        print(f"  {prefix}{line}", file=out)
    details = data["details"]
    tail = details.get("log_tail") or []
    if tail and not data["ok"]:
        print(f"last lines of {details.get('log', 'the log')}:", file=out)
        for line in tail[-12:]:
            print(f"  | {line}", file=out)
    if data.get("reference") and not data["ok"]:
        print(f"see: {data['reference']}", file=out)
