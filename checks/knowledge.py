"""Where the run's model facts came from, and whether they can still be trusted.

knowledge.freshness
    What it checks: which sources the model facts of this run came from (the running
    proxy's GET /v1/models, Codex's models_cache.json, the dated snapshot) and how old
    each is; with no live source, whether the snapshot is older than 45 days or older
    than the installed Codex CLI. The JSON report gets the same as its `knowledge` block.
    Why it matters: the verdicts on models, plans, efforts and windows are only as good
    as their facts; a stale snapshot misjudges new models (a warning where all is well,
    a wrong window where it is not).
    Fix safety: nothing to repair in the stack: start the proxy (its live list wins over
    the snapshot) or update claudex-doctor; both are the user's call (manual).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claudex_doctor.checks._knowledge import gather
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, passed, warned
from claudex_doctor.knowledge import models

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/models.md#model-facts-are-stale"


@check("knowledge.freshness", "Model facts", needs=("paths.home",), after=("proxy.models", "env.mapping"),
       reference=REF, fixes=("manual",))
def knowledge_freshness(ctx: StackContext):
    facts = gather(ctx)
    now = ctx.now()
    block = facts.report(now)
    ctx.report("knowledge", block)
    evidence = {"snapshot": block["snapshot"], "sources": block["sources"]}
    used = [s for s in (facts.live_source, facts.cache_source) if s is not None]
    details = [f"Not used: {note}." for note in facts.notes]
    reason = facts.stale(now)
    if reason:
        return warned(f"model facts may be stale: {reason}, and no live source could be read",
                      ["Start the proxy (`claudex-doctor start`) so the doctor reads its live model list, "
                       "or update claudex-doctor for a newer snapshot."] + details, evidence, reference=REF,
                      fix=Fix.manual("Start the proxy, then run the doctor again", "claudex-doctor start"))
    if used:
        words = ", ".join(f"{s.words()} ({s.age_days(now)} days old)" if s.age_days(now) else s.words()
                          for s in used)
        return passed(f"live facts from {words}; the snapshot of {block['snapshot']} fills the gaps",
                      details, evidence)
    age = (now.date() - models.snapshot_date()).days
    return passed(f"the snapshot of {block['snapshot']} ({age} days old); no live source was read",
                  details, evidence)
