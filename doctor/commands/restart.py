"""`claudex-doctor restart`: the `restart` primitive from the command line (see references/service.md)."""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import positive_seconds, service

HELP = "stop, then start"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=positive_seconds, default=15.0, metavar="SECONDS",
                        help="how long to wait for /healthz")
    parser.add_argument("--dry-run", action="store_true", help="say what would happen, do nothing")


def main(args: argparse.Namespace) -> int:
    return service("restart", args)
