"""`claudex-doctor secure-auth`: make ~/.codex/auth.json and the proxy credential readable by their owner only.

Exit 0: changed, already private, or --dry-run. Exit 1: refused (without --yes, or a path that is a
symlink or someone else's). Only permissions change, never a file's content.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import apply_primitive

HELP = "make both credential files private (0600; the proxy's auth/ 0700)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", "-y", action="store_true", help="confirm changing the Codex CLI's own file's mode")
    parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")


def main(args: argparse.Namespace) -> int:
    return apply_primitive("secure-auth", args, yes=bool(args.yes))
