"""`claudex-doctor report [-o FILE] [--format md|json]`: write the redacted support report.

Runs the checks once, then writes one file (atomically, mode 0600):
`./claudex-report-<id>.md` by default, `-o FILE` elsewhere, `-o -` to stdout.
The report id and the path go to stderr. Exit 0 whenever the report was written,
whatever the findings say: here the report is the product. `--json` is the same
as `--format json`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from claudex_doctor.commands._common import paths_for, positive_seconds

HELP = "write a redacted support handoff report"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE", help="write here (default: claudex-report-<id>.<ext>)")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.add_argument("--offline", action="store_true", default=argparse.SUPPRESS, help="send no model request")
    parser.add_argument("--deadline", type=positive_seconds, default=argparse.SUPPRESS, metavar="SECONDS")


def main(args: argparse.Namespace) -> int:
    from claudex_doctor import console
    from claudex_doctor.base.atomic import write_atomic
    from claudex_doctor.base.paths import display
    from claudex_doctor.core.context import Options
    from claudex_doctor.errors import UsageError
    from claudex_doctor.help.report import collect, new_id, to_json, to_markdown

    fmt = "json" if args.json else args.format
    paths = paths_for(args)
    report_id = new_id()
    target = None if args.output == "-" else (Path(args.output).expanduser() if args.output else
                                              Path.cwd() / f"claudex-report-{report_id}.{fmt}")
    if target is not None and target.is_dir():
        raise UsageError(f"{display(target)} is a directory; give a file name with -o")

    from claudex_doctor.checks import graph
    with console.Progress(len(graph())) as progress:
        report = collect(paths, Options(deadline=args.deadline, offline=bool(getattr(args, "offline", False))),
                         observer=progress, report_id=report_id)
    text = to_json(report) if fmt == "json" else to_markdown(report)

    console.error(f"report id: {report_id}")
    if target is None:
        console.out(text, redact=False)  # to_json / to_markdown redacted it whole, and checked
        return 0
    try:
        write_atomic(target, text, mode=0o600, keep_backup=False)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {display(target)}: {exc.strerror or exc}") from None
    shown = display(target)
    try:
        shown = f"./{target.resolve().relative_to(Path.cwd().resolve())}"
    except ValueError:
        pass
    console.error(f"report written: {shown} (status {report.result.status.value}; review it before you share it)")
    return 0
