"""`claudex-doctor sync-auth`: copy the newest ChatGPT tokens to the side that holds older ones.

Exit 0: copied, or already in sync (also for --dry-run). Exit 1: refused, the user must act
(the message says how). Exit 2: the doctor could not do its job. Output names tokens only by
fingerprint; everything printed passes through the redaction layer as well.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import apply_primitive

HELP = "copy the newest Codex tokens into the proxy credential (or back, with --reverse)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reverse", action="store_true", help="copy the proxy's newer tokens back into ~/.codex/auth.json")
    parser.add_argument("--yes", "-y", action="store_true", help="confirm writing ~/.codex/auth.json (with --reverse)")
    parser.add_argument("--force", action="store_true", help="write even if the target looks newer (a backup is kept)")
    parser.add_argument("--keychain", action="store_true",
                        help="macOS: read a Codex login kept in the Keychain with `security` (you allow it)")
    parser.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")


def main(args: argparse.Namespace) -> int:
    def confirm_hint(result) -> str | None:
        if result.changes and "copied" in result.message:
            return "Run `claudex-doctor --only auth.sync` to confirm both sides agree."
        return None

    return apply_primitive("sync-auth", args, hint=confirm_hint, reverse=bool(args.reverse), yes=bool(args.yes),
                           force=bool(args.force), **({"keychain": True} if args.keychain else {}))
