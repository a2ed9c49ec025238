"""`claudex-doctor probe`: the live checks (proxy.* and probe.*) and what they need, as a report.

Same findings, rendering and exit codes as the main report, restricted to the path a request
takes. `--offline` keeps the model requests out (health, models and count_tokens still run);
`--deadline` (default 20 s) bounds the whole run, a hanging proxy included.
"""

from __future__ import annotations

from ..cli import DoctorError, paths_for
from ..context import Options

PROBE_CHECKS = ("proxy.health", "proxy.models", "probe.messages", "probe.stream", "probe.tool_use",
                "probe.count_tokens")


def main(args) -> int:
    from .. import probe
    from ..console import Progress
    from ..diagnose import diagnose
    from ..graph import GraphError
    from .doctor import emit

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
