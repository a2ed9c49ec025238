"""`claudex-doctor set-config KEY=VALUE ...`: set keys in config.yaml, keeping comments and order.

Dotted keys reach nested settings (`remote-management.allow-remote=false`); `api-keys` takes a
comma-separated list, or `@random` for one new key that is also written to the env file.
Exit codes as for set-env: 0 written or nothing to do, 1 refused, 2 bad usage.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import assignments_command

HELP = "set keys in config.yaml (KEY=VALUE ...), keeping its comments, with a backup"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    parser.add_argument("--dry-run", action="store_true", help="show the change, write nothing")


def main(args: argparse.Namespace) -> int:
    return assignments_command("set-config", args)
