"""The runner: order, concurrency, timeouts, deadline, crash isolation, skip propagation, cycles."""

from __future__ import annotations

import threading
import time

import pytest

from claudex_doctor.base.paths import resolve
from claudex_doctor.core.context import Context, Options
from claudex_doctor.core.graph import Check, Graph, check, run
from claudex_doctor.core.model import Status, failed, passed, warned
from claudex_doctor.errors import CatalogError


def ctx_for(tmp_path, **options) -> Context:
    return Context(resolve(env={"HOME": str(tmp_path)}), Options(**options))


def ok(ctx):
    return passed("fine")


def make(cid, needs=(), run_fn=ok, **kw) -> Check:
    return check(cid, cid.title(), needs=needs, **kw)(run_fn)


def sleeper(seconds, result=None):
    def body(ctx):
        time.sleep(seconds)
        return result or passed(f"slept {seconds}")
    return body


def test_dependencies_run_before_dependents(tmp_path):
    order = []
    lock = threading.Lock()

    def rec(name):
        def body(ctx):
            with lock:
                order.append(name)
            return passed(name)
        return body

    graph = Graph([make("c.c", ("b.b",), rec("c")), make("b.b", ("a.a",), rec("b")), make("a.a", (), rec("a"))])
    findings = run(graph, ctx_for(tmp_path))
    assert order == ["a", "b", "c"]
    # Report order is declaration order, not execution order.
    assert [f.id for f in findings] == ["c.c", "b.b", "a.a"]


def test_independent_checks_run_concurrently(tmp_path):
    """Each check waits for the other to begin: run one after the other, neither would pass."""
    both = threading.Barrier(2, timeout=5)

    def meet(ctx):
        both.wait()
        return passed("met")

    graph = Graph([make("s.one", run_fn=meet), make("s.two", run_fn=meet)])
    findings = run(graph, ctx_for(tmp_path, deadline=10))
    assert [f.status for f in findings] == [Status.PASS, Status.PASS], findings


def test_per_check_timeout_becomes_error_and_the_rest_go_on(tmp_path):
    graph = Graph([make("slow.one", run_fn=sleeper(5), timeout=0.3), make("fast.one")])
    start = time.monotonic()
    findings = {f.id: f for f in run(graph, ctx_for(tmp_path, deadline=10))}
    assert time.monotonic() - start < 4  # not the 5 s the check sleeps
    assert findings["slow.one"].status is Status.ERROR
    assert "timeout" in findings["slow.one"].summary
    assert findings["fast.one"].status is Status.PASS


def test_overall_deadline_bounds_the_run(tmp_path):
    graph = Graph([
        make("hang.one", run_fn=sleeper(30), timeout=None),
        make("after.hang", ("hang.one",)),
        make("quick.one"),
    ])
    start = time.monotonic()
    findings = {f.id: f for f in run(graph, ctx_for(tmp_path, deadline=0.5))}
    elapsed = time.monotonic() - start
    assert elapsed < 10  # not the 30 s the check sleeps
    assert findings["hang.one"].status is Status.ERROR
    assert "deadline" in findings["hang.one"].summary
    assert findings["after.hang"].status is Status.SKIP
    assert findings["after.hang"].blocked_by == ("hang.one",)
    assert findings["quick.one"].status is Status.PASS


def test_a_crashing_check_is_an_error_and_others_still_run(tmp_path):
    def boom(ctx):
        raise RuntimeError("kaboom")

    graph = Graph([make("crash.one", run_fn=boom), make("fine.one"), make("dep.one", ("crash.one",))])
    findings = {f.id: f for f in run(graph, ctx_for(tmp_path))}
    assert findings["crash.one"].status is Status.ERROR
    assert "RuntimeError" in findings["crash.one"].summary
    assert findings["fine.one"].status is Status.PASS
    assert findings["dep.one"].status is Status.SKIP and findings["dep.one"].blocked_by == ("crash.one",)


def test_a_check_returning_garbage_is_an_error(tmp_path):
    graph = Graph([make("bad.one", run_fn=lambda ctx: "not an outcome")])
    (finding,) = run(graph, ctx_for(tmp_path))
    assert finding.status is Status.ERROR


def test_skip_propagates_with_blocked_by_and_warn_does_not_block(tmp_path):
    graph = Graph([
        make("root.fail", run_fn=lambda ctx: failed("broken")),
        make("root.warn", run_fn=lambda ctx: warned("meh")),
        make("mid.one", ("root.fail",)),
        make("leaf.one", ("mid.one",)),
        make("after.warn", ("root.warn",)),
    ])
    findings = {f.id: f for f in run(graph, ctx_for(tmp_path))}
    assert findings["mid.one"].status is Status.SKIP and findings["mid.one"].blocked_by == ("root.fail",)
    assert findings["leaf.one"].status is Status.SKIP and findings["leaf.one"].blocked_by == ("mid.one",)
    assert findings["after.warn"].status is Status.PASS
    assert findings["mid.one"].summary == "not run: root.fail did not pass"
    assert findings["leaf.one"].summary == "not run: mid.one was not run (root.fail did not pass)"


def test_a_skip_names_the_root_cause_not_an_intermediate_skip(tmp_path):
    graph = Graph([make("live.one", live=True), make("next.one", ("live.one",)), make("last.one", ("next.one",)),
                   make("bad.one", run_fn=lambda ctx: failed("broken")), make("both.one", ("bad.one", "next.one"))])
    findings = {f.id: f for f in run(graph, ctx_for(tmp_path, offline=True))}
    assert findings["next.one"].summary == "not run: live.one was not run (--offline)"
    assert findings["last.one"].summary == "not run: next.one was not run (--offline)"
    assert findings["both.one"].summary == "not run: bad.one did not pass; next.one was not run (--offline)"
    assert findings["both.one"].blocked_by == ("bad.one", "next.one")


def test_cycle_is_an_error_at_registration():
    with pytest.raises(CatalogError, match="cycle"):
        Graph([make("a.a", ("b.b",)), make("b.b", ("c.c",)), make("c.c", ("a.a",))])


def test_unknown_dependency_and_duplicates_are_errors_at_registration():
    with pytest.raises(CatalogError, match="unknown"):
        Graph([make("a.a", ("nope.nope",))])
    with pytest.raises(CatalogError, match="duplicate"):
        Graph([make("a.a"), make("a.a")])


def test_only_pulls_in_dependencies_and_skip_blocks_dependents(tmp_path):
    graph = Graph([make("a.a"), make("b.b", ("a.a",)), make("c.c")])
    ids = [f.id for f in run(graph, ctx_for(tmp_path), only=("b.b",))]
    assert ids == ["a.a", "b.b"]
    findings = {f.id: f for f in run(graph, ctx_for(tmp_path), skip=("a.a",))}
    assert findings["a.a"].status is Status.SKIP and "--skip" in findings["a.a"].summary
    assert findings["b.b"].blocked_by == ("a.a",)
    with pytest.raises(CatalogError, match="unknown check id"):
        run(graph, ctx_for(tmp_path), only=("zzz.z",))


def test_offline_skips_live_checks(tmp_path):
    graph = Graph([make("live.one", live=True), make("local.one")])
    findings = {f.id: f for f in run(graph, ctx_for(tmp_path, offline=True))}
    assert findings["live.one"].status is Status.SKIP and "offline" in findings["live.one"].summary
    assert findings["local.one"].status is Status.PASS


def test_after_orders_without_blocking(tmp_path):
    seen = []
    graph = Graph([
        make("late.one", after=("early.one",), run_fn=lambda ctx: (seen.append("late"), passed("x"))[1]),
        make("early.one", run_fn=lambda ctx: (time.sleep(0.2), seen.append("early"), failed("no"))[2]),
    ])
    findings = {f.id: f for f in run(graph, ctx_for(tmp_path))}
    assert seen == ["early", "late"]
    assert findings["late.one"].status is Status.PASS


def test_the_real_catalog_is_a_valid_graph_with_every_design_id():
    from claudex_doctor.checks import CHECKS, graph

    design_ids = """paths.home bin.claude bin.codex bin.proxy bin.go bin.git home.layout config.valid config.exposure
        env.consistency env.mapping env.context_window claude.settings auth.codex auth.proxy auth.sync port.owner
        proxy.health proxy.models probe.messages probe.stream probe.tool_use probe.count_tokens wrapper.installed
        wrapper.passthrough route.litellm logs.errors""".split()
    assert set(design_ids) <= {c.id for c in CHECKS}
    assert len(graph()) == len(CHECKS)
    for c in CHECKS:
        assert c.reference.startswith("references/") and "#" in c.reference, c.id
