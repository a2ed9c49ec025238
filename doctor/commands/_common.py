"""What the commands share: option types, path resolution, running the checks, reporting a primitive.

Every primitive command (bootstrap, sync-auth, start, stop, restart, set-env, set-config) reports through
`report_primitive`, so they all print the same way and share one JSON shape:

    {"primitive", "ok", "refused", "dry_run", "message", "changes", "backups", "details", "reference"}

Exit codes: 0 done (or nothing to do, or --dry-run), 1 the primitive refused or failed (the message says
why and what to do next), 2 bad usage.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths
    from claudex_doctor.base.result import PrimitiveResult
    from claudex_doctor.core.context import Options
    from claudex_doctor.core.model import RunResult


def positive_seconds(text: str) -> float:
    """argparse type for --deadline and --timeout: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def id_list(text: str) -> tuple[str, ...]:
    """argparse type for comma-separated ids (--only, --skip, bootstrap --only)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def paths_for(args: argparse.Namespace) -> Paths:
    from claudex_doctor.base.paths import resolve
    return resolve(home_option=getattr(args, "home", None), wrapper_option=getattr(args, "wrapper", None))


def register_stack_secrets(home: str | None = None, wrapper: str | None = None) -> None:
    """Learn the stack's secrets (keys, tokens) before a message that may echo what the user typed: a key
    pasted into the wrong argument (`explain <key>`, `set-config port=<key>`) is then shown as a
    fingerprint. Reads the files through the bounded readers; never fails."""
    try:
        from claudex_doctor.base.paths import resolve
        from claudex_doctor.config.facts import StackFiles

        files = StackFiles(resolve(home_option=home, wrapper_option=wrapper))
        for loaded in (files.config, files.env_file, files.codex_auth, files.proxy_auth):
            _ = loaded
    except Exception:
        pass


def run_options(args: argparse.Namespace, *, only: tuple[str, ...] | None = None) -> Options:
    from claudex_doctor.core.context import Options
    return Options(deadline=args.deadline, offline=bool(getattr(args, "offline", False)),
                   strict=bool(getattr(args, "strict", False)),
                   only=tuple(getattr(args, "only", ()) or ()) if only is None else only,
                   skip=tuple(getattr(args, "skip", ()) or ()))


def diagnose(paths: Paths, options: Options, *, progress: bool = True) -> RunResult:
    """Run the catalog once under the options' deadline, with a spinner on a terminal."""
    from claudex_doctor.checks import graph as catalog
    from claudex_doctor.console import Progress
    from claudex_doctor.core.diagnose import diagnose as run

    graph = catalog()
    if not progress:
        return run(paths, options, graph)[0]
    with Progress(len(graph)) as observer:
        return run(paths, options, graph, observer=observer)[0]


def emit(result: RunResult, args: argparse.Namespace) -> None:
    """A run's findings (and fixes) on stdout: JSON with --json, else the terminal rendering."""
    from claudex_doctor import console
    from claudex_doctor.render import Format

    if getattr(args, "json", False):
        console.out(Format.JSON.renderer()(result), redact=False)
    else:
        console.out(Format.TERMINAL.renderer()(
            result, color=console.wants_color(), unicode=console.wants_unicode(),
            verbose=getattr(args, "verbose", False), width=console.width()), redact=False)


def primitive_data(name: str, *, ok: bool, refused: bool, dry_run: bool, message: str, changes: list[str],
                   backups: list[str], details: dict[str, Any], reference: str | None) -> dict[str, Any]:
    """The one JSON shape of a primitive's outcome."""
    return {"primitive": name, "ok": ok, "refused": refused, "dry_run": dry_run, "message": message,
            "changes": list(changes), "backups": list(backups), "details": dict(details), "reference": reference}


def report_primitive(name: str, args: argparse.Namespace, call: Callable[[], PrimitiveResult],
                     hint: Callable[[PrimitiveResult], str | None] | None = None) -> int:
    """Run `call()` (a primitive applied with the command's arguments) and report it."""
    from claudex_doctor import console
    from claudex_doctor.errors import PrimitiveError

    dry_run = bool(getattr(args, "dry_run", False))
    try:
        result = call()
    except PrimitiveError as exc:
        register_stack_secrets(getattr(args, "home", None), getattr(args, "wrapper", None))
        if getattr(args, "json", False):
            console.out_json(primitive_data(name, ok=False, refused=True, dry_run=dry_run, message=str(exc),
                                            changes=[], backups=[], details=exc.details, reference=exc.reference))
        else:
            console.error(f"claudex-doctor {name}: {exc}")
            if exc.reference:
                console.error(f"see: {exc.reference}")
        return exc.exit_code
    data = primitive_data(name, ok=result.ok, refused=False, dry_run=dry_run, message=result.message,
                          changes=result.changes, backups=result.backups, details=result.details,
                          reference=result.details.get("reference"))
    if getattr(args, "json", False):
        console.out_json(data)
    else:
        _human(data, hint(result) if hint and result.ok and not dry_run else None)
    return 0 if result.ok else 1


def _human(data: dict[str, Any], hint: str | None) -> None:
    from claudex_doctor import console

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
    text = "\n".join(lines)
    if data["ok"]:
        console.line(text)
    else:
        console.error(text)


def service(name: str, args: argparse.Namespace) -> int:
    """start, stop and restart: the service primitive with the command's --timeout and --dry-run."""
    kwargs = {"timeout": args.timeout} if getattr(args, "timeout", None) is not None else {}
    return apply_primitive(name, args, **kwargs)


def apply_primitive(name: str, args: argparse.Namespace,
                    hint: Callable[[PrimitiveResult], str | None] | None = None, **kwargs: Any) -> int:
    """Run primitive `name` for this home (under its lock: primitives.apply) and report it."""
    from claudex_doctor.primitives import apply

    paths = paths_for(args)
    return report_primitive(name, args, lambda: apply(name, paths, dry_run=bool(getattr(args, "dry_run", False)),
                                                      **kwargs), hint=hint)


def assignments_command(name: str, args: argparse.Namespace) -> int:
    """set-env and set-config: parse KEY=VALUE words, apply, report."""
    from claudex_doctor.config.edit import parse_assignments
    from claudex_doctor.errors import PrimitiveError, UsageError

    try:
        assignments = parse_assignments(list(args.assignments))
    except PrimitiveError as exc:  # bad usage: exit 2, like any other usage error
        raise UsageError(f"{name}: {exc}") from None
    return apply_primitive(name, args, assignments=assignments)
