"""`claudex-doctor set-env KEY=VALUE ...`: set variables in the env file the wrapper sources.

Exit 0: written (or nothing to change, or --dry-run). Exit 1: refused, nothing was written
(the message says why and what to do). Exit 2: bad usage. Secret values are shown only as
fingerprints; everything printed passes through the redaction layer as well.
"""

from __future__ import annotations

import sys

from claudex_doctor.cli import paths_for


def run(args, name: str, primitive) -> int:
    """Shared by set-env and set-config: parse KEY=VALUE words, apply, report."""
    from claudex_doctor.config.edit import parse_assignments
    from claudex_doctor.primitives import PrimitiveError
    from claudex_doctor.base.redact import redact_text
    from claudex_doctor.commands._primitive import report

    try:
        assignments = parse_assignments(list(args.assignments))
    except PrimitiveError as exc:  # bad usage: exit 2, like any other usage error
        print(f"claudex-doctor {name}: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    paths = paths_for(args)
    return report(name, args, lambda: primitive(paths, dry_run=bool(getattr(args, "dry_run", False)),
                                                assignments=assignments))


def main(args) -> int:
    from claudex_doctor.config.edit import set_env
    return run(args, "set-env", set_env)
