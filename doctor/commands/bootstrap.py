"""`claudex-doctor bootstrap`: create the runtime home, proxy binary, config, env file and wrapper.

Reports like every other primitive (see `_common.report_primitive`); a spinner on a terminal covers the
long step, building the proxy.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import apply_primitive, id_list

HELP = "create the runtime home, proxy binary, config, env file and wrapper"


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--binary", metavar="PATH", help="copy this cli-proxy-api binary")
    source.add_argument("--source", metavar="DIR", help="build from a CLIProxyAPI checkout (go build ./cmd/server)")
    parser.add_argument("--force", action="store_true", help="rewrite existing files (backups are kept)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    parser.add_argument("--plan", metavar="PLAN", help="ChatGPT plan for the model mapping (default: from the Codex login)")
    parser.add_argument("--only", dest="parts", type=id_list, default=(), metavar="PART[,PART]",
                        help="only these parts: home, auth, config, env, launcher, binary, wrapper")


def main(args: argparse.Namespace) -> int:
    from claudex_doctor.console import Spinner

    parts = tuple(args.parts or ()) or None

    def next_step(result) -> str | None:
        created = any(f["action"] == "create" and f["part"] == "config" for f in result.details.get("files", []))
        return "next: claudex-doctor sync-auth (copies your Codex login), then claudex start" if created else None

    with Spinner("bootstrap…") as spinner:
        return apply_primitive("bootstrap", args, hint=next_step, force=args.force, binary=args.binary,
                               source=args.source, plan=args.plan, only=parts,
                               status=spinner.update if spinner.active else None)
