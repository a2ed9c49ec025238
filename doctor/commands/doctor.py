"""`claudex-doctor` with no command: run the checks, render them, exit 0/1/2."""

from __future__ import annotations

import sys

from claudex_doctor.cli import DoctorError, paths_for
from claudex_doctor.core.context import Options


def options_from(args) -> Options:
    if args.deadline is not None and args.deadline <= 0:
        raise DoctorError("--deadline must be a positive number of seconds")
    return Options(deadline=args.deadline, offline=args.offline, strict=args.strict, only=tuple(args.only),
                   skip=tuple(args.skip))


def main(args) -> int:
    from claudex_doctor.console import Progress
    from claudex_doctor.core.diagnose import diagnose
    from claudex_doctor.core.graph import GraphError

    paths = paths_for(args)
    options = options_from(args)
    if args.fix:
        from claudex_doctor.core.fix import run_fix
        return run_fix(args, paths, options)
    from claudex_doctor.checks import CHECKS
    try:
        with Progress(len(CHECKS)) as progress:
            result, _ = diagnose(paths, options, observer=progress)
    except GraphError as exc:
        raise DoctorError(str(exc)) from None
    emit(result, args)
    return result.exit_code


def emit(result, args) -> None:
    from claudex_doctor.console import wants_color, wants_unicode, width
    from claudex_doctor.render import Format

    if args.json:
        sys.stdout.write(Format.JSON.renderer()(result))
    else:
        sys.stdout.write(Format.TERMINAL.renderer()(
            result, color=wants_color(sys.stdout), unicode=wants_unicode(sys.stdout),
            verbose=getattr(args, "verbose", False), width=width(sys.stdout)))
    sys.stdout.flush()
