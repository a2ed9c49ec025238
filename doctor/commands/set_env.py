"""`claudex-doctor set-env KEY=VALUE ...`: set variables in the env file the wrapper sources.

Exit 0: written (or nothing to change, or --dry-run). Exit 1: refused, nothing was written
(the message says why and what to do). Exit 2: bad usage. Secret values are shown only as
fingerprints; everything printed passes through the redaction layer as well.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import assignments_command

HELP = "set variables in the env file (KEY=VALUE ...), atomically with a backup"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    parser.add_argument("--dry-run", action="store_true", help="show the change, write nothing")


def main(args: argparse.Namespace) -> int:
    return assignments_command("set-env", args)
