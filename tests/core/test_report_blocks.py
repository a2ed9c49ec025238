"""A check may add a top-level block to the run's report (e.g. `knowledge`); the findings' keys win."""

from __future__ import annotations

from claudex_doctor.base.paths import resolve
from claudex_doctor.core.context import Context, Options
from claudex_doctor.core.diagnose import diagnose
from claudex_doctor.core.graph import Graph, check
from claudex_doctor.core.model import RunResult, passed


@check("demo.block", "Demo")
def demo_block(ctx):
    ctx.report("knowledge", {"snapshot": "2026-11-30", "sources": []})
    ctx.report("status", "overwritten?")
    return passed("ok")


def test_a_block_reported_by_a_check_reaches_the_report(tmp_path):
    paths = resolve({"HOME": str(tmp_path)}, cwd=tmp_path)
    result, _ = diagnose(paths, Options(), Graph((demo_block,), context=Context), env={"HOME": str(tmp_path)})
    data = result.to_dict()
    assert data["knowledge"] == {"snapshot": "2026-11-30", "sources": []}
    assert data["status"] == "pass"  # a block never replaces a field of the contract


def test_without_blocks_the_report_is_unchanged():
    data = RunResult((), "~/x", "2026-11-30T00:00:00+00:00", 1, "0.1.0").to_dict()
    assert "knowledge" not in data
