"""What every check shares: resolved paths, options, one deadline, facts computed once, and a
bounded way to run programs.

Facts are computed lazily, at most once per run, under a per-fact lock (`base.memo.Memo`), so
concurrent checks that need the same thing compute it once. What the stack's files say is not
known here: the catalog adds that (`claudex_doctor.checks.StackContext`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from claudex_doctor.base import redact
from claudex_doctor.base.memo import Memo
from claudex_doctor.base.paths import Paths
from claudex_doctor.base.proc import Proc, run_bounded


@dataclass(frozen=True)
class Options:
    deadline: float = 10.0
    offline: bool = False
    strict: bool = False
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    check_timeout: float | None = None  # default: each check's own


class Context(Memo):
    """The run's options, clock, deadline and environment; memoised and published facts."""

    def __init__(self, paths: Paths, options: Options | None = None, env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.paths = paths
        self.options = options or Options()
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.clock = clock
        self.started = clock()
        self.deadline_at = self.started + self.options.deadline
        Memo.__init__(self)
        self._published: dict[str, Any] = {}
        self._blocks: dict[str, Any] = {}
        self._closers: list[Callable[[], None]] = []
        for name, value in self.env.items():
            if redact.is_secret_name(name):
                redact.REGISTRY.add(value)

    # -- time -------------------------------------------------------------
    def remaining(self) -> float:
        return max(0.0, self.deadline_at - self.clock())

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    # -- facts shared between checks -----------------------------------------
    def publish(self, key: str, value: Any) -> None:
        """A check shares a live fact with the checks ordered `after` it (e.g. proxy.models -> env.mapping)."""
        with self._guard:
            self._published[key] = value

    def published(self, key: str, default: Any = None) -> Any:
        with self._guard:
            return self._published.get(key, default)

    def report(self, key: str, value: Any) -> None:
        """A check adds a top-level block to the run's report (e.g. `knowledge`: where facts came from).
        The findings' own keys always win; the last value given for a key is the one reported."""
        with self._guard:
            self._blocks[key] = value

    def reported(self) -> dict[str, Any]:
        with self._guard:
            return dict(self._blocks)

    def closing(self, close: Callable[[], None]) -> None:
        """Register something to release when the run is over (an HTTP client)."""
        with self._guard:
            self._closers.append(close)

    def close(self) -> None:
        with self._guard:
            closers, self._closers = self._closers, []
        for close in closers:
            try:
                close()
            except Exception:  # releasing is best effort: an abandoned check may still hold it
                pass

    # -- processes --------------------------------------------------------
    def which(self, name: str) -> Path | None:
        found = shutil.which(name, path=self.env.get("PATH", os.defpath))
        return Path(found) if found else None

    def run(self, argv: Sequence[str], timeout: float = 5.0, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> Proc:
        """Run a program; never raises, never waits past the run's deadline."""
        budget = max(0.05, min(timeout, self.remaining()))
        return run_bounded(argv, budget, env=self.env if env is None else env, cwd=cwd)
