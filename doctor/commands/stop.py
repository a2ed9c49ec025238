"""`claudex-doctor stop`: the `stop` primitive from the command line (see references/service.md)."""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import positive_seconds, service

HELP = "stop the proxy this home started (never another process)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=positive_seconds, default=5.0, metavar="SECONDS",
                        help="grace period before SIGKILL")
    parser.add_argument("--dry-run", action="store_true", help="say what would happen, do nothing")


def main(args: argparse.Namespace) -> int:
    return service("stop", args)
