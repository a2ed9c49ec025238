"""env.mapping: which Codex model each Claude Code alias goes to, and whether that can work.

What it checks: opus, sonnet and haiku are mapped (subagent, fable and the
default model too when set); each value reads as `model(effort)` (a `[1m]`
suffix is tolerated); the model is offered to the account's plan; the effort is
one that model supports; the model is not retired from ChatGPT-login Codex.
The running proxy's own model list (published by proxy.models) wins over the
dated catalog snapshot; the evidence says which one was used.
Why it matters: an unmapped alias sends a claude-* name the proxy cannot route
("unknown provider for model"); a model outside the plan, a retired one or an
unsupported effort is rejected upstream (400).
Fix safety: replacing a retired, unoffered or unmapped model with the catalog's
replacement or recommendation is safe (set-env); rewriting a value whose syntax
is wrong needs confirmation, since the doctor has to guess what was meant.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from claudex_doctor.checks._findings import Problems, set_env_fix
from claudex_doctor.config import facts as stack
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import skipped
from claudex_doctor.knowledge import models as _models

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/models.md"


def _offered(ctx: StackContext) -> tuple[set[str] | None, str]:
    """The model ids to judge against: the running proxy's (when it listed any), else None (the catalog)."""
    live = ctx.published("offered_models")
    snapshot = f"catalog snapshot of {_models.catalog()['as_of']}"
    if live is not None:
        ids = {i.lower() for i in live if isinstance(i, str) and i}
        if ids:
            return ids, "live: the running proxy's GET /v1/models"
        # An empty list means the proxy has no usable credential yet (auth.* says why), not that no model exists.
        return None, f"{snapshot} (the running proxy listed no models)"
    return None, snapshot


def _fix(kind: str, var: str, value: str):
    """A set-env fix for one variable; 'guess' when the doctor had to guess what was meant (confirm)."""
    return set_env_fix(f"map {var} to {value}", {var: value}, confirm=kind == "guess")


@check("env.mapping", "Model mapping", needs=("paths.home",), after=("proxy.models",),
       reference=f"{REF}#model-not-offered-to-your-plan", fixes=("set-env",))
def env_mapping(ctx: StackContext):
    if not ctx.env_file.ok:
        return skipped("the env file cannot be read (see env.consistency)", blocked_by=("env.consistency",))
    env = ctx.env_file.data
    knowledge = _models.claude_env()
    raw_plan, plan_source = stack.plan(ctx)
    plan = _models.normal_plan(raw_plan)
    offered, source = _offered(ctx)
    today = ctx.now().date()
    warn_days = _models.catalog().get("retire_warning_days", 30)
    mapping = stack.mapping(ctx)
    evidence: dict[str, Any] = {"source": source, "plan": plan or raw_plan, "plan_source": plan_source,
                                "mapping": dict(mapping)}
    if offered is not None:
        evidence["offered"] = sorted(offered)
    problems = Problems()
    if raw_plan and plan is None:
        problems.note(f"The plan {raw_plan!r} is not in the catalog; plan checks were skipped.")
    elif not raw_plan:
        problems.note("The ChatGPT plan is unknown (no readable id_token); plan checks were skipped.")

    def offered_now(model_id: str) -> bool:
        if offered is not None:
            return model_id.lower() in offered
        item = _models.entry(model_id)
        return item is not None and (plan is None or plan in item["plans"])

    def replacement(alias: str) -> str | None:
        choice = _models.recommended(alias, plan)
        return choice if offered_now(_models.parse(choice).name) else None

    for alias in knowledge["required_aliases"]:
        if alias in mapping:
            continue
        var = stack.ALIASES[alias]
        deprecated = next((d for d in knowledge["deprecated"] if d["replacement"] == var and env.get(d["name"])), None)
        if deprecated:
            value = env.get(deprecated["name"])
            problems.warn(f"{alias} is only mapped through the deprecated {deprecated['name']}",
                          [f"Use {var} ({deprecated['why']})."], f"{REF}#deprecated-model-variable",
                          _fix("safe", var, value))
            continue
        choice = replacement(alias)
        problems.fail(f"{alias} is not mapped ({var} is unset): Claude Code would ask the proxy for a claude-* model",
                      ["The proxy has only the Codex login, so such a request fails with "
                       "\"unknown provider for model\"."], f"{REF}#alias-not-mapped",
                      _fix("safe", var, choice) if choice else None)

    for alias, text in mapping.items():
        var = stack.ALIASES[alias]
        label = f"{alias} ({var}={text})"
        if var in env.dynamic:
            problems.warn(f"{label} uses shell expansion; the doctor cannot check it", [], f"{REF}#model-name-syntax")
            continue
        mapped = _models.parse(text)
        if mapped.error:
            guess = mapped.legacy or replacement(alias)
            problems.fail(f"{label} is not a valid model name: {mapped.error}",
                          ["CLIProxyAPI reads model(effort), e.g. gpt-5.5(high)."], f"{REF}#model-name-syntax",
                          _fix("guess", var, guess) if guess else None)
            continue
        item = _models.entry(mapped.name)
        retired = _models.retirement(item) if item else None
        if retired and today >= retired[0]:
            new = _models.with_effort(retired[1], mapped.level, mapped.one_m)
            problems.fail(f"{label}: {mapped.name} was retired from ChatGPT-login Codex on {retired[0]}",
                          [f"Its replacement is {retired[1]}."], f"{REF}#retired-model",
                          _fix("safe", var, new))
            continue
        if retired and today >= retired[0] - timedelta(days=warn_days):
            new = _models.with_effort(retired[1], mapped.level, mapped.one_m)
            problems.warn(f"{label}: {mapped.name} leaves ChatGPT-login Codex on {retired[0]}",
                          [f"Switch to {retired[1]} before then."], f"{REF}#retired-model",
                          _fix("safe", var, new))
        if not offered_now(mapped.name):
            choice = replacement(alias)
            if offered is not None:
                why = f"The running proxy does not offer {mapped.name} (GET /v1/models)."
            elif item is None:
                if not mapped.name.lower().startswith("claude"):
                    problems.warn(f"{label}: {mapped.name} is not in the catalog snapshot of "
                                  f"{_models.catalog()['as_of']}",
                                  ["It may be newer than the snapshot; `claudex-doctor probe` asks the proxy."],
                                  f"{REF}#model-not-offered-to-your-plan")
                    continue
                why = "Claude model names cannot be served with a ChatGPT Codex login."
            else:
                why = f"{mapped.name} is offered to {', '.join(item['plans'])}; this account is on {plan}."
            problems.fail(f"{label}: {mapped.name} is not offered to this account", [why],
                          f"{REF}#model-not-offered-to-your-plan", _fix("safe", var, choice) if choice else None)
            continue
        if item is None:
            continue  # offered live, unknown to the catalog: nothing more to say about its efforts
        if mapped.effort is not None and mapped.level is None and mapped.effort.strip():
            problems.note(f"{label}: {_models.catalog().get('numeric_budget_note', 'a numeric budget has no effect')}")
        level = mapped.level
        if level and level not in item["efforts"] and level not in ("none", "auto"):
            nearest = _models.nearest_effort(level, item["efforts"])
            new = _models.with_effort(mapped.name, nearest, mapped.one_m)
            problems.fail(f"{label}: {mapped.name} does not support effort {level}",
                          [f"It supports {', '.join(item['efforts'])}; the proxy answers 400 for other levels."],
                          f"{REF}#effort-not-supported", _fix("safe", var, new))
    for item in knowledge["deprecated"]:
        if env.get(item["name"]) and env.get(item["replacement"]):
            problems.note(f"{item['name']} is deprecated and ignored beside {item['replacement']}; it can go.")
    names = ", ".join(f"{a}->{t}" for a, t in mapping.items()) or "nothing"
    return problems.outcome(f"{names} ({source})", evidence)
