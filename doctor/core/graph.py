"""The check graph: declaration, validation at registration, and the concurrent runner.

The runner owns everything a check should not have to think about: ordering by
dependencies, running independent checks at once, each check's timeout, the
run's one deadline, turning a crash into `error` while the rest go on, and
turning an unmet dependency into `skip` with `blocked_by`.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from claudex_doctor.core.context import Context
from claudex_doctor.core.model import Finding, Outcome, Status
from claudex_doctor.errors import CatalogError


@dataclass(frozen=True)
class Check:
    """One diagnosis. `run(ctx)` returns an `Outcome` and must not write anything."""

    id: str
    title: str
    run: Callable[..., Outcome]
    needs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # soft order: wait for these when selected, never blocked by them
    timeout: float | None = 5.0  # None: bounded only by the run's deadline
    live: bool = False  # spends a model request: skipped by --offline
    reference: str = ""  # default reference (references/<page>.md#<anchor>)
    fixes: tuple[str, ...] = ()  # primitives that can repair it ("manual" = printed only)
    doc: str = field(default="", compare=False)

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]


def check(id: str, title: str, *, needs: Sequence[str] = (), after: Sequence[str] = (), timeout: float | None = 5.0,
          live: bool = False, reference: str = "", fixes: Sequence[str] = ()) -> Callable[[Callable[..., Outcome]], Check]:
    """Declare a check: decorate a function `run(ctx) -> Outcome`."""
    def wrap(func: Callable[..., Outcome]) -> Check:
        return Check(id=id, title=title, run=func, needs=tuple(needs), after=tuple(after), timeout=timeout,
                     live=live, reference=reference, fixes=tuple(fixes), doc=(func.__doc__ or "").strip())
    return wrap


class Graph:
    """An ordered, validated catalog. Order is topological, ties kept in declaration order.

    `context` makes what the catalog's checks get: `context(paths, options, env=...)`; the catalog
    decides what its checks know of the stack, the engine does not."""

    def __init__(self, checks: Iterable[Check], context: Callable[..., Context] = Context) -> None:
        self.context = context
        checks = list(checks)
        self.by_id: dict[str, Check] = {}
        for item in checks:
            if item.id in self.by_id:
                raise CatalogError(f"duplicate check id {item.id!r}")
            self.by_id[item.id] = item
        for item in checks:
            for dep in (*item.needs, *item.after):
                if dep not in self.by_id:
                    raise CatalogError(f"check {item.id!r} depends on unknown check {dep!r}")
                if dep == item.id:
                    raise CatalogError(f"check {item.id!r} depends on itself")
        self.declared: tuple[Check, ...] = tuple(checks)  # report order
        self.order: tuple[Check, ...] = tuple(self._toposort(checks))  # execution order

    def _toposort(self, checks: list[Check]) -> list[Check]:
        done: set[str] = set()
        visiting: list[str] = []
        ordered: list[Check] = []

        def visit(item: Check) -> None:
            if item.id in done:
                return
            if item.id in visiting:
                cycle = visiting[visiting.index(item.id):] + [item.id]
                raise CatalogError("dependency cycle: " + " -> ".join(cycle))
            visiting.append(item.id)
            for dep in (*item.needs, *item.after):
                visit(self.by_id[dep])
            visiting.pop()
            done.add(item.id)
            ordered.append(item)

        for item in checks:
            visit(item)
        return ordered

    def __iter__(self) -> Iterator[Check]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def closure(self, ids: Iterable[str]) -> set[str]:
        """The ids and everything they need, transitively."""
        out: set[str] = set()
        stack = list(ids)
        while stack:
            cid = stack.pop()
            if cid in out:
                continue
            out.add(cid)
            stack.extend(self.by_id[cid].needs)
        return out


class Observer(Protocol):
    def started(self, check: Check) -> None: ...
    def finished(self, finding: Finding) -> None: ...


class _Silent:
    def started(self, check: Check) -> None:
        pass

    def finished(self, finding: Finding) -> None:
        pass


def _finding(item: Check, outcome: Outcome, duration_ms: int) -> Finding:
    return Finding(
        id=item.id,
        title=item.title,
        status=outcome.status,
        summary=outcome.summary,
        details=tuple(outcome.details),
        evidence=dict(outcome.evidence),
        blocked_by=tuple(outcome.blocked_by),
        duration_ms=duration_ms,
        reference=outcome.reference or item.reference or None,
        fix=outcome.fix,
    )


def crashed(item: Check, exc: BaseException, duration_ms: int) -> Finding:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
    return Finding(
        id=item.id, title=item.title, status=Status.ERROR,
        summary=f"the check itself crashed ({type(exc).__name__} at {where})",
        details=(f"{type(exc).__name__}: {exc}"[:500],
                 "This is a bug in claudex-doctor, not in your stack. The other checks still ran; "
                 "`claudex-doctor report` writes a file to attach to a bug report."),
        evidence={"exception": type(exc).__name__, "where": where},
        duration_ms=duration_ms, reference=item.reference or None,
    )


def select(graph: Graph, only: Sequence[str] = (), skip: Sequence[str] = ()) -> tuple[list[Check], set[str]]:
    """The checks to report, and the ids skipped on request. Unknown ids raise CatalogError."""
    unknown = [cid for cid in (*only, *skip) if cid not in graph.by_id]
    if unknown:
        raise CatalogError("unknown check id: " + ", ".join(unknown))
    wanted = graph.closure(only) if only else set(graph.by_id)
    return [item for item in graph.order if item.id in wanted], set(skip)


def _blocked_reason(blocked: Sequence[str], results: dict[str, Finding]) -> str:
    """Why a check did not run, down to the root: "probe.messages was not run (--offline)" rather
    than a dependency that merely "did not pass" because it was itself skipped."""
    failed = [dep for dep in blocked if results[dep].status is not Status.SKIP]
    parts = [", ".join(failed) + " did not pass"] if failed else []
    parts += [f"{dep} was not run ({_root_cause(dep, results)})" for dep in blocked if dep not in failed]
    return "; ".join(parts)


def _root_cause(cid: str, results: dict[str, Finding]) -> str:
    """What stopped `cid`, following blocked_by to the checks that failed or were skipped for a reason
    of their own ("--offline (this check sends...)" -> "--offline")."""
    finding = results[cid]
    if finding.status is not Status.SKIP:
        return f"{cid} did not pass"
    if finding.blocked_by:
        return "; ".join(dict.fromkeys(_root_cause(dep, results) for dep in finding.blocked_by))
    return finding.summary.removeprefix("not run: ").split(" (", 1)[0]


def run(graph: Graph, ctx: Context, only: Sequence[str] = (), skip: Sequence[str] = (),
        observer: Observer | None = None, max_workers: int = 16) -> tuple[Finding, ...]:
    """Run the selected checks concurrently under the context's deadline."""
    observer = observer or _Silent()
    checks, skip_ids = select(graph, only, skip)
    results: dict[str, Finding] = {}
    pending = list(checks)
    selected = {item.id for item in checks}
    running: dict[str, tuple[Check, float, float]] = {}  # id -> (check, start, expiry)
    inbox: queue.Queue[tuple[str, Outcome | None, BaseException | None, float]] = queue.Queue()
    clock = time.monotonic
    deadline_at = clock() + ctx.remaining()

    def record(finding: Finding) -> None:
        results[finding.id] = finding
        observer.finished(finding)

    def worker(item: Check) -> None:
        start = clock()
        try:
            outcome = item.run(ctx)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"check returned {type(outcome).__name__}, not an Outcome")
            inbox.put((item.id, outcome, None, clock() - start))
        except BaseException as exc:  # crash isolation: anything a check raises becomes `error`
            inbox.put((item.id, None, exc, clock() - start))

    def ready(item: Check) -> bool:
        return all(dep in results or dep not in selected for dep in item.needs) and \
            all(dep in results or dep not in selected for dep in item.after)

    while pending or running:
        for item in list(pending):
            if not ready(item):
                continue
            pending.remove(item)
            if item.id in skip_ids:
                record(Finding(item.id, item.title, Status.SKIP, "not run: skipped on request (--skip)",
                               reference=item.reference or None))
                continue
            blocked = tuple(dep for dep in item.needs if dep in results and not results[dep].status.satisfies)
            if blocked:
                record(Finding(item.id, item.title, Status.SKIP, "not run: " + _blocked_reason(blocked, results),
                               blocked_by=blocked, reference=item.reference or None))
                continue
            if item.live and ctx.options.offline:
                record(Finding(item.id, item.title, Status.SKIP, "not run: --offline (this check sends a model request)",
                               reference=item.reference or None))
                continue
            now = clock()
            if now >= deadline_at:
                record(Finding(item.id, item.title, Status.SKIP, "not run: the run's deadline ran out first",
                               details=(f"Raise it with --deadline (now {ctx.options.deadline:g}s).",),
                               reference=item.reference or None))
                continue
            limit = item.timeout if item.timeout is not None and ctx.options.check_timeout is None \
                else (ctx.options.check_timeout or ctx.options.deadline)
            expiry = min(now + limit, deadline_at)
            running[item.id] = (item, now, expiry)
            observer.started(item)
            threading.Thread(target=worker, args=(item,), name=f"check:{item.id}", daemon=True).start()
            if len(running) >= max_workers:
                break
        if not running:
            if pending and not any(ready(item) for item in pending):  # cannot happen with a validated graph
                raise CatalogError("no check can run: " + ", ".join(item.id for item in pending))
            continue
        wait = max(0.0, min(expiry for _, _, expiry in running.values()) - clock())
        try:
            cid, outcome, exc, seconds = inbox.get(timeout=wait)
        except queue.Empty:
            now = clock()
            for cid, (item, start, expiry) in list(running.items()):
                if now >= expiry:
                    del running[cid]
                    at_deadline = expiry >= deadline_at - 1e-3
                    limit = expiry - start
                    record(Finding(item.id, item.title, Status.ERROR,
                                   (f"stopped at the run's deadline ({ctx.options.deadline:g}s) before it finished"
                                    if at_deadline else f"did not finish within its {limit:.1f}s timeout"),
                                   details=("The check was abandoned; the other checks still ran.",),
                                   duration_ms=int(limit * 1000), reference=item.reference or None))
            continue
        if cid not in running:
            continue  # a late answer from a check already reported as timed out
        item = running.pop(cid)[0]
        ms = int(seconds * 1000)
        if exc is not None or outcome is None:
            record(crashed(item, exc or RuntimeError("the check returned nothing"), ms))
        else:
            record(_finding(item, outcome, ms))

    return tuple(results[item.id] for item in graph.declared if item.id in results)
