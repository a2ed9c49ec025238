"""One code path from options to findings: every command that needs findings calls `diagnose`."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Sequence

from claudex_doctor import __version__
from claudex_doctor.core.context import Context, Options
from claudex_doctor.core.model import RunResult
from claudex_doctor.base.paths import Paths, display


def diagnose(paths: Paths, options: Options, observer=None, env=None, only: Sequence[str] | None = None,
             context: Context | None = None) -> tuple[RunResult, Context]:
    from claudex_doctor.core.graph import run
    from claudex_doctor.checks import graph

    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.monotonic()
    ctx = context or Context(paths, options, env=env)
    findings = run(graph(), ctx, only=options.only if only is None else only, skip=options.skip, observer=observer)
    result = RunResult(
        findings=findings,
        home=display(paths.home, paths.user_home),
        started_at=started_at,
        duration_ms=int((time.monotonic() - start) * 1000),
        tool_version=__version__,
        strict=options.strict,
    )
    return result, ctx
