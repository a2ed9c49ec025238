"""`claudex-doctor upgrade [--version vX.Y.Z | --binary PATH] [--dry-run]`: change the CLIProxyAPI binary
with a way back (primitive `upgrade`, see claudex_doctor.proxy.upgrade).

Without an option it installs the known-good pinned version. The new binary is built (or copied) beside
the current one, swapped in with one rename, started and probed; a failed probe puts the previous binary
back by itself. Exit 0 upgraded (or nothing to do, or --dry-run), 1 refused or rolled back, 2 bad usage.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import apply_primitive, positive_seconds

HELP = "replace the CLIProxyAPI binary (a version built with Go, or a binary), probe it, roll back on failure"


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--version", dest="proxy_version", metavar="vX.Y.Z",
                        help="build this CLIProxyAPI tag with Go (default: the known-good pin)")
    source.add_argument("--binary", metavar="PATH", help="install this cli-proxy-api binary")
    parser.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    parser.add_argument("--timeout", type=positive_seconds, default=20.0, metavar="SECONDS",
                        help="how long the probe waits for the new proxy to answer")


def main(args: argparse.Namespace) -> int:
    from claudex_doctor.console import Spinner

    def next_step(result) -> str | None:
        return "check it: claudex-doctor --only bin.proxy,bin.proxy_version,probe.messages" \
            if result.changes and not result.details.get("rolled_back") else None

    with Spinner("upgrade…") as spinner:
        return apply_primitive("upgrade", args, hint=next_step, version=args.proxy_version, binary=args.binary,
                               timeout=args.timeout, status=spinner.update if spinner.active else None)
