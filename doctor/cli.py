"""Command line: parse, dispatch to one function per command, map failures to exit codes.

Exit codes: 0 nothing failing, 1 problems found, 2 the doctor could not do its job
(bad usage, a crashed check, an internal error), 130 interrupted.
Imports stay lazy: `--version` and `--help` load nothing but argparse.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from typing import Sequence

from claudex_doctor import __version__

COMMANDS = {
    "checks": "list the checks: id, title, dependencies, fix",
    "schema": "print the JSON Schema of the --json output",
    "explain": "list topics, or explain one (litellm, stack, auth, models, context-window, ...)",
    "report": "write a redacted support handoff report",
    "bootstrap": "create the runtime home, proxy binary, config, env file and wrapper",
    "sync-auth": "copy the newest Codex tokens into the proxy credential (or back, with --reverse)",
    "probe": "probe the running proxy: health, models, messages, streaming, tool use, count_tokens",
    "status": "show layout, env mapping, port owner and health",
    "start": "start the proxy in the background and wait until it is healthy",
    "stop": "stop the proxy this home started (never another process)",
    "restart": "stop, then start",
    "set-env": "set variables in the env file (KEY=VALUE ...), atomically with a backup",
    "set-config": "set keys in config.yaml (KEY=VALUE ...), keeping its comments, with a backup",
    "skill": "install the Claude Code skill that teaches an agent to use this tool",
}


class DoctorError(Exception):
    """An expected problem that stops a command: one line for the user, exit 2 unless `code` says otherwise."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--home", metavar="PATH", default=default,
                        help="runtime home (overrides CLAUDEX_GATEWAY_HOME)")
    parser.add_argument("--wrapper", metavar="PATH", default=default,
                        help="claudex wrapper path (overrides CLAUDEX_WRAPPER)")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="machine-readable output on stdout")


def _ids(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claudex-doctor",
        description="Diagnose and repair the local claudex stack: "
                    "Claude Code -> claudex wrapper -> CLIProxyAPI -> ChatGPT Codex.",
        epilog="Exit codes: 0 nothing failing, 1 problems found, 2 the doctor could not do its job.",
    )
    parser.add_argument("--version", action="version", version=f"claudex-doctor {__version__}")
    _common(parser, suppress=False)
    run = parser.add_argument_group("running checks")
    run.add_argument("--only", type=_ids, default=(), metavar="ID[,ID]", help="run only these checks (and what they need)")
    run.add_argument("--skip", type=_ids, default=(), metavar="ID[,ID]", help="do not run these checks")
    run.add_argument("--offline", action="store_true", help="send no model request (no Codex quota spent)")
    run.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                     help="overall bound for the run (default 10; 20 for probe)")
    run.add_argument("--strict", action="store_true", help="warnings count as problems for the exit code")
    run.add_argument("-v", "--verbose", action="store_true", help="show details and evidence for every check")
    fix = parser.add_argument_group("repairing")
    fix.add_argument("--fix", action="store_true", help="plan and apply fixes, then re-check")
    fix.add_argument("--dry-run", action="store_true", help="with --fix: show the plan and exact changes, touch nothing")
    fix.add_argument("--yes", "-y", action="store_true", help="with --fix: also apply fixes that need confirmation")
    fix.add_argument("--unsafe", action="store_true", help="with --fix: same as --yes (confirm-class fixes)")

    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, text in COMMANDS.items():
        cmd = sub.add_parser(name, help=text, description=text)
        _common(cmd, suppress=True)
        _command_options(name, cmd)
    return parser


def _command_options(name: str, cmd: argparse.ArgumentParser) -> None:
    if name == "explain":
        cmd.add_argument("topic", nargs="?", help="topic name; none lists them")
    elif name == "report":
        cmd.add_argument("-o", "--output", metavar="FILE", help="write here (default: claudex-report-<id>.<ext>)")
        cmd.add_argument("--format", choices=("md", "json"), default="md")
        cmd.add_argument("--offline", action="store_true", default=argparse.SUPPRESS, help="send no model request")
        cmd.add_argument("--deadline", type=float, default=argparse.SUPPRESS, metavar="SECONDS")
    elif name == "bootstrap":
        source = cmd.add_mutually_exclusive_group()
        source.add_argument("--binary", metavar="PATH", help="copy this cli-proxy-api binary")
        source.add_argument("--source", metavar="DIR", help="build from a CLIProxyAPI checkout (go build ./cmd/server)")
        cmd.add_argument("--force", action="store_true", help="rewrite existing files (backups are kept)")
        cmd.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
        cmd.add_argument("--plan", metavar="PLAN", help="ChatGPT plan for the model mapping (default: from the Codex login)")
        cmd.add_argument("--only", dest="parts", type=_ids, default=(), metavar="PART[,PART]",
                         help="only these parts: home, auth, config, env, launcher, binary, wrapper")
    elif name == "sync-auth":
        cmd.add_argument("--reverse", action="store_true", help="copy the proxy's newer tokens back into ~/.codex/auth.json")
        cmd.add_argument("--yes", "-y", action="store_true", help="confirm writing ~/.codex/auth.json (with --reverse)")
        cmd.add_argument("--force", action="store_true", help="write even if the target looks newer (a backup is kept)")
        cmd.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    elif name == "probe":
        cmd.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                         help="health and models only, no model request")
        cmd.add_argument("--deadline", type=float, default=argparse.SUPPRESS, metavar="SECONDS", help="default 20")
    elif name in ("start", "restart"):
        cmd.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS", help="how long to wait for /healthz")
        cmd.add_argument("--dry-run", action="store_true", help="say what would happen, do nothing")
    elif name == "stop":
        cmd.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="grace period before SIGKILL")
        cmd.add_argument("--dry-run", action="store_true", help="say what would happen, do nothing")
    elif name == "skill":
        cmd.add_argument("action", choices=("install", "show"), help="install: write ~/.claude/skills/claudex-gateway/SKILL.md")
        cmd.add_argument("--force", action="store_true", help="replace a SKILL.md you edited (a backup is kept)")
        cmd.add_argument("--dry-run", action="store_true", help="say what install would do, write nothing")
    elif name in ("set-env", "set-config"):
        cmd.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
        cmd.add_argument("--dry-run", action="store_true", help="show the change, write nothing")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    for name, default in (("home", None), ("wrapper", None), ("json", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    # Options given before or after a command mean the same; a command only changes the default.
    if args.deadline is None:
        args.deadline = 20.0 if args.command == "probe" else 10.0
    if getattr(args, "dry_run", False) and not args.command and not args.fix:
        build_parser().error("--dry-run goes with --fix")
    return args


def paths_for(args: argparse.Namespace):
    from claudex_doctor.base.paths import resolve
    return resolve(home_option=args.home, wrapper_option=args.wrapper)


# A full disk or quota, a read-only file system, a device error, a closed descriptor.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EBADF}


def _say(message: str) -> None:
    """One line on stderr, if there is a stderr to write to (print(file=None) would pick stdout)."""
    if sys.stderr is None:
        return
    try:
        print(message, file=sys.stderr)
    except (AttributeError, OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to put the answer
        _say("claudex-doctor: standard output is closed; nothing was done")
        return 2
    args = parse(argv)
    try:
        if args.command is None:
            from claudex_doctor.commands import doctor
            return doctor.main(args)
        import importlib
        module = importlib.import_module(f".commands.{args.command.replace('-', '_')}", __package__)
        return module.main(args)
    except DoctorError as exc:
        from claudex_doctor.base.redact import redact_text
        _say(f"claudex-doctor: {redact_text(str(exc))}")
        return exc.code
    except KeyboardInterrupt:
        _say("claudex-doctor: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: a message, never a traceback with secrets
        from claudex_doctor.base.redact import redact_text
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:  # the machine, not a bug
            where = f" ({redact_text(str(exc.filename))})" if exc.filename else " (standard output)"
            _say(f"claudex-doctor: a write failed: {exc.strerror or exc}{where}")
            return 2
        import traceback
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
        _say(f"claudex-doctor: internal error: {type(exc).__name__}{where}: {redact_text(str(exc))[:300]}")
        _say("This is a bug in claudex-doctor. Please report it with the output of `claudex-doctor report`.")
        return 2


def entry() -> None:
    """The `claudex-doctor` command: main(), then leave without the interpreter's module-by-module
    teardown, which costs about 12 ms once httpx, ruamel.yaml and psutil are loaded.

    Nothing is lost by it: every file the doctor writes is fsynced and closed before its primitive
    returns, and clients are closed by the commands; what remains are daemon threads of checks that
    ran out of time, which a normal exit abandons as well. Tests call main(), which returns."""
    try:
        code = int(main() or 0)
    except SystemExit as exc:  # argparse's --help, --version and usage errors end this way
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        pass  # a reader that went away (head, a closed pipe) is not an error
    except (OSError, ValueError) as exc:  # the answer did not get out (a full disk, say)
        _say(f"claudex-doctor: a write failed: {getattr(exc, 'strerror', None) or exc} (standard output)")
        code = max(code, 2)
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    # Run the imported module's entry, not this __main__ copy's: command modules import
    # claudex_doctor.cli, and its DoctorError must be the class main() catches.
    from claudex_doctor.cli import entry as _entry

    _entry()
