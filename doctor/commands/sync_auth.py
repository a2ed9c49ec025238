"""`claudex-doctor sync-auth`: copy the newest ChatGPT tokens to the side that holds older ones.

Exit 0: copied, or already in sync (also for --dry-run). Exit 1: refused, the user must act
(the message says how). Exit 2: the doctor could not do its job. Output names tokens only by
fingerprint; everything printed passes through the redaction layer as well.
"""

from __future__ import annotations

from claudex_doctor.cli import paths_for


def main(args) -> int:
    from claudex_doctor.auth.sync import apply
    from claudex_doctor.commands._primitive import report

    paths = paths_for(args)

    def confirm_hint(result) -> str | None:
        if result.changes and "copied" in result.message:
            return "Run `claudex-doctor --only auth.sync` to confirm both sides agree."
        return None

    return report("sync-auth", args, lambda: apply(paths, dry_run=bool(getattr(args, "dry_run", False)),
                                                   reverse=bool(args.reverse), yes=bool(args.yes),
                                                   force=bool(args.force)), hint=confirm_hint)
