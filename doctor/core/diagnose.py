"""One code path from options to findings: every command that needs findings calls `diagnose`."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from claudex_doctor import __version__
from claudex_doctor.base.paths import Paths, display
from claudex_doctor.core.context import Context, Options
from claudex_doctor.core.graph import Graph, Observer, run
from claudex_doctor.core.model import RunResult


def diagnose(paths: Paths, options: Options, graph: Graph, observer: Observer | None = None,
             env: Mapping[str, str] | None = None, only: Sequence[str] | None = None,
             context: Context | None = None) -> tuple[RunResult, Context]:
    """Run `graph` (the catalog) once under the options' deadline; the context the checks shared
    comes back with the result, for commands that report more of what it read."""
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.monotonic()
    ctx = context or graph.context(paths, options, env=env)
    try:
        findings = run(graph, ctx, only=options.only if only is None else only, skip=options.skip,
                       observer=observer)
    finally:
        ctx.close()
    result = RunResult(
        findings=findings,
        home=display(paths.home, paths.user_home),
        started_at=started_at,
        duration_ms=int((time.monotonic() - start) * 1000),
        tool_version=__version__,
        strict=options.strict,
        blocks=tuple(sorted(ctx.reported().items())),
    )
    return result, ctx
