"""`claudex-doctor probe`: the live checks (proxy.* and probe.*) and what they need, as a report.

Same findings, rendering and exit codes as the main report, restricted to the path a request
takes. `--offline` keeps the model requests out (health, models and count_tokens still run);
`--deadline` (default 20 s) bounds the whole run, a hanging proxy included.
"""

from __future__ import annotations

from claudex_doctor.cli import DoctorError, paths_for
from claudex_doctor.core.context import Options

PROBE_CHECKS = ("proxy.health", "proxy.models", "probe.messages", "probe.stream", "probe.tool_use",
                "probe.count_tokens")


def main(args) -> int:
    from claudex_doctor.proxy import client as probe
    from claudex_doctor.console import Progress
    from claudex_doctor.core.diagnose import diagnose
    from claudex_doctor.core.graph import GraphError
    from claudex_doctor.commands.doctor import emit

    if args.deadline is None or args.deadline <= 0:
        raise DoctorError("--deadline must be a positive number of seconds")
    paths = paths_for(args)
    options = Options(deadline=args.deadline, offline=bool(args.offline), strict=bool(getattr(args, "strict", False)),
                      only=PROBE_CHECKS)
    try:
        with Progress(len(PROBE_CHECKS)) as progress:
            result, ctx = diagnose(paths, options, observer=progress)
    except GraphError as exc:
        raise DoctorError(str(exc)) from None
    probe.close(ctx)
    emit(result, args)
    return result.exit_code
