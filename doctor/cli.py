"""Command line: parse, dispatch to the command's module, leave through the one error boundary.

Each command is a module in `commands/` that owns its help text (`HELP`), its options (`configure`)
and its work (`main(args) -> int`); running the checks with no command is `commands/doctor.py`.
Command modules import only argparse at load time, so `--version` and `--help` stay light.

Exit codes: 0 nothing failing, 1 problems found, 2 the doctor could not do its job (bad usage, a crashed
check, an internal error), 130 interrupted. See `errors.py`.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import typing
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

from claudex_doctor import __version__

# The commands in the order `--help` lists them; each is claudex_doctor.commands.<name with _ for ->.
COMMANDS = ("setup", "checks", "schema", "explain", "report", "bootstrap", "sync-auth", "secure-auth", "probe",
            "status", "start", "stop", "restart", "service", "upgrade", "set-env", "set-config", "skill", "quota",
            "statusline")


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"claudex_doctor.commands.{name.replace('-', '_')}")


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """--home, --wrapper and --json mean the same before or after the command's name."""
    import argparse

    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--home", metavar="PATH", default=default,
                        help="runtime home (overrides CLAUDEX_GATEWAY_HOME)")
    parser.add_argument("--wrapper", metavar="PATH", default=default,
                        help="claudex wrapper path (overrides CLAUDEX_WRAPPER)")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="machine-readable output on stdout")


def _parser_class() -> type[argparse.ArgumentParser]:
    import argparse

    class Parser(argparse.ArgumentParser):
        """argparse, with its usage errors going out through the console, redacted: an argument can be a
        key typed into the wrong place."""

        def error(self, message: str) -> typing.NoReturn:
            from claudex_doctor import console

            _module("_common").register_stack_secrets(os.environ.get("CLAUDEX_GATEWAY_HOME"))
            console.error(self.format_usage().rstrip())
            console.error(f"{self.prog}: error: {message}")
            raise SystemExit(2)

    return Parser


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, the subcommands are just that one (a command named first needs no other:
    building all of them costs a few milliseconds, which the status line, run after every answer, feels)."""
    doctor = _module("doctor")
    parser = _parser_class()(
        prog="claudex-doctor",
        description="Diagnose and repair the local claudex stack: "
                    "Claude Code -> claudex wrapper -> CLIProxyAPI -> ChatGPT Codex.",
        epilog="Exit codes: 0 nothing failing, 1 problems found, 2 the doctor could not do its job.",
    )
    parser.add_argument("--version", action="version", version=f"claudex-doctor {__version__}")
    _common(parser, suppress=False)
    doctor.configure(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMANDS if only is None else (only,):
        module = _module(name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        _common(cmd, suppress=True)
        if hasattr(module, "configure"):
            module.configure(cmd)
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args = parser.parse_args(words)
    for name, default in (("home", None), ("wrapper", None), ("json", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    # Options given before or after a command mean the same; a command only changes the default.
    if args.deadline is None:
        args.deadline = getattr(_module(args.command or "doctor"), "DEFAULT_DEADLINE", 10.0)
    if getattr(args, "dry_run", False) and not args.command and not args.fix:
        parser.error("--dry-run goes with --fix")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from claudex_doctor import console, errors

    if console.stdout_closed():  # started with stdout closed (`>&-`): nowhere to put the answer
        console.error("claudex-doctor: standard output is closed; nothing was done")
        return errors.EXIT_BROKEN
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        console.line(f"claudex-doctor {__version__}")  # the cold start scripts time: no parser to build
        return errors.EXIT_OK
    args = parse(argv)
    module = _module(args.command or "doctor")

    def run() -> int:
        try:
            return int(module.main(args) or 0)
        except errors.DoctorError:
            # The message may echo what the user typed: learn the stack's secrets first, so a key pasted
            # into the wrong place comes out as a fingerprint.
            _module("_common").register_stack_secrets(args.home, args.wrapper)
            raise

    return errors.boundary(run)


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C at any moment: one line, the programs we started stopped, exit 130. Never a traceback."""
    try:
        os.write(2, b"claudex-doctor: interrupted\n")
    except OSError:
        pass
    _stop_children()
    os._exit(130)


def _stop_children() -> None:
    proc = sys.modules.get("claudex_doctor.base.proc")  # nothing to stop if no program was ever started
    if proc is not None:
        try:
            proc.kill_children()
        except Exception:
            pass


def entry() -> None:
    """The `claudex-doctor` command: main(), then leave without the interpreter's module-by-module
    teardown, which costs about 12 ms once httpx, ruamel.yaml and psutil are loaded.

    Ctrl-C is taken over first, before anything heavy is imported. Nothing is lost by leaving through
    os._exit: every file the doctor writes is fsynced and closed before its primitive returns, programs
    it started and that still run (a check that ran out of time) are killed with their groups, and what
    remains are daemon threads, which a normal exit abandons as well. Tests call main(), which returns."""
    signal.signal(signal.SIGINT, _interrupted)
    from claudex_doctor import console

    try:
        code = int(main() or 0)
    except SystemExit as exc:  # argparse's --help, --version and usage errors end this way
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    code = max(code, console.flush())
    _stop_children()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover - wrappers written by 0.1.0 run `python -m claudex_doctor.cli`
    entry()
