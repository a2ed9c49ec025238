"""The run's model facts (knowledge.models.Knowledge), gathered once: the running proxy's lists (published
by proxy.models), Codex's models_cache.json, the installed proxy's and Codex CLI's versions, the snapshot.

Only checks ordered after proxy.models may ask for it (env.mapping, env.context_window,
knowledge.freshness): the facts are gathered at the first call and kept for the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claudex_doctor.checks.binaries import codex_version, proxy_binary_state
from claudex_doctor.config import facts as stack
from claudex_doctor.knowledge import models

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

CACHE_NAME = "models_cache.json"
LIVE_KEY = "live_models"  # published by proxy.models: a models.LiveList


def installed_proxy_version(ctx: StackContext) -> str | None:
    """The version `cli-proxy-api -h` printed (bin.proxy's evidence), None when unknown."""
    if not ctx.paths.home.is_dir():
        return None
    state, _, evidence = proxy_binary_state(ctx)
    version = evidence.get("version") if state == "ok" else None
    return version if version and version != "unknown" else None


def gather(ctx: StackContext) -> models.Knowledge:
    def compute() -> models.Knowledge:
        raw_plan, _ = stack.plan(ctx)
        live = ctx.published(LIVE_KEY)
        cache, problem = models.read_codex_cache(ctx.paths.codex_home / CACHE_NAME)
        return models.gather(plan=models.normal_plan(raw_plan), proxy_version=installed_proxy_version(ctx),
                             live=live if isinstance(live, models.LiveList) else None, cache=cache,
                             cache_problem=problem, codex_version=codex_version(ctx)[0])
    return ctx.memo("model_knowledge", compute)
