"""`claudex-doctor report [-o FILE] [--format md|json]`: write the redacted support report.

Runs the checks once, then writes one file (atomically, mode 0600):
`./claudex-report-<id>.md` by default, `-o FILE` elsewhere, `-o -` to stdout.
The report id and the path go to stderr. Exit 0 whenever the report was written,
whatever the findings say: here the report is the product. `--json` is the same
as `--format json`.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(args) -> int:
    from claudex_doctor.base.atomic import write_atomic
    from claudex_doctor.cli import DoctorError, paths_for
    from claudex_doctor.console import Progress
    from claudex_doctor.core.context import Options
    from claudex_doctor.core.graph import GraphError
    from claudex_doctor.base.paths import display
    from claudex_doctor.help.report import ReportError, collect, new_id, to_json, to_markdown

    fmt = "json" if getattr(args, "json", False) else (getattr(args, "format", None) or "md")
    deadline = getattr(args, "deadline", 10.0)
    if deadline is None or deadline <= 0:
        raise DoctorError("--deadline must be a positive number of seconds")
    paths = paths_for(args)
    report_id = new_id()
    output = getattr(args, "output", None)
    target = None if output == "-" else (Path(output).expanduser() if output else
                                         Path.cwd() / f"claudex-report-{report_id}.{fmt}")
    if target is not None and target.is_dir():
        raise DoctorError(f"{display(target)} is a directory; give a file name with -o")

    from claudex_doctor.checks import CHECKS
    try:
        with Progress(len(CHECKS)) as progress:
            report = collect(paths, Options(deadline=deadline, offline=bool(getattr(args, "offline", False))),
                             observer=progress, report_id=report_id)
    except GraphError as exc:
        raise DoctorError(str(exc)) from None
    try:
        text = to_json(report) if fmt == "json" else to_markdown(report)
    except ReportError as exc:
        raise DoctorError(str(exc)) from None

    print(f"report id: {report_id}", file=sys.stderr)
    if target is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        write_atomic(target, text, mode=0o600, keep_backup=False)
    except OSError as exc:
        raise DoctorError(f"cannot write the report to {display(target)}: {exc.strerror or exc}") from None
    shown = display(target)
    try:
        relative = target.resolve().relative_to(Path.cwd().resolve())
        shown = f"./{relative}"
    except ValueError:
        pass
    status = report.result.status.value
    print(f"report written: {shown} (status {status}; review it before you share it)", file=sys.stderr)
    return 0
