"""`claudex-doctor probe`: the live checks (proxy.* and probe.*) and what they need, as a report.

Same findings, rendering and exit codes as the main report, restricted to the path a request
takes. `--offline` keeps the model requests out (health, models and count_tokens still run);
`--deadline` (default 20 s) bounds the whole run, a hanging proxy included.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import diagnose, emit, paths_for, positive_seconds, run_options

HELP = "probe the running proxy: health, models, messages, streaming, tool use, count_tokens"
DEFAULT_DEADLINE = 20.0
PROBE_CHECKS = ("proxy.health", "proxy.models", "probe.messages", "probe.stream", "probe.tool_use",
                "probe.count_tokens")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                        help="health and models only, no model request")
    parser.add_argument("--deadline", type=positive_seconds, default=argparse.SUPPRESS, metavar="SECONDS",
                        help="default 20")


def main(args: argparse.Namespace) -> int:
    paths = paths_for(args)
    result = diagnose(paths, run_options(args, only=PROBE_CHECKS))
    emit(result, args)
    return result.exit_code
