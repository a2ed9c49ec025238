"""env.mapping: which Codex model each Claude Code alias goes to, and whether that can work.

What it checks: opus, sonnet and haiku are mapped (subagent, fable and the
default model too when set); each value reads as `model(effort)` (a `[1m]`
suffix is tolerated); the model is offered to the account's plan; the installed
proxy presents a Codex client new enough for it; the effort is one the proxy
reads and the model supports; the model is not retired from ChatGPT-login Codex.
Facts come from the running proxy's model lists (published by proxy.models),
then Codex's models_cache.json on this machine, then the dated snapshot; the
evidence names the source and its age for every model.
Why it matters: an unmapped alias sends a claude-* name the proxy cannot route
("unknown provider for model"); a model outside the plan or a retired one is
rejected upstream (400), so is a model whose minimal Codex version is above the
one the proxy presents ("requires a newer version of Codex"); an effort the
proxy does not read is dropped silently, one the model lacks is lowered.
Fix safety: replacing a retired, unoffered, too-new or unmapped model with the
recommendation, or an effort with the nearest one that works, is safe (set-env);
rewriting a value whose syntax is wrong needs confirmation, since the doctor
has to guess what was meant. A proxy upgrade is the user's call (manual).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from claudex_doctor.checks._findings import Problems, set_env_fix
from claudex_doctor.checks._knowledge import gather
from claudex_doctor.checks._state import SUSPENDED_REF, suspended
from claudex_doctor.config import facts as stack
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import skipped
from claudex_doctor.knowledge import models as _models
from claudex_doctor.knowledge.models import FactSource

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

REF = "references/models.md"


def _fix(kind: str, var: str, value: str):
    """A set-env fix for one variable; 'guess' when the doctor had to guess what was meant (confirm)."""
    return set_env_fix(f"map {var} to {value}", {var: value}, confirm=kind == "guess")


def _newer(version: str, than: str) -> bool:
    """Whether `version` is above `than` (both x.y.z; False when either does not read)."""
    a, b = _models.version_tuple(version), _models.version_tuple(than)
    return a is not None and b is not None and a > b


def _plans_words(plans: tuple[str, ...]) -> str:
    shown = [p for p in ("free", "go", "plus", "pro", "team", "business", "enterprise", "edu") if p in plans]
    rest = len(plans) - len(shown)
    return ", ".join(shown) + (f" and {rest} more plan ids" if rest > 0 else "")


@check("env.mapping", "Model mapping", needs=("paths.home",), after=("proxy.models",),
       reference=f"{REF}#model-not-offered-to-your-plan", fixes=("set-env",))
def env_mapping(ctx: StackContext):
    if not ctx.env_file.ok:
        return skipped("the env file cannot be read (see env.consistency)", blocked_by=("env.consistency",))
    env = ctx.env_file.data
    knowledge = _models.claude_env()
    raw_plan, plan_source = stack.plan(ctx)
    facts = gather(ctx)
    plan = facts.plan
    now = ctx.now()
    today = now.date()
    data = _models.catalog()
    warn_days = data.get("retire_warning_days", 30)
    version = facts.proxy_version
    client = _models.presented_client(version)
    proxy_name = f"CLIProxyAPI {version}" if version else "the installed CLIProxyAPI"
    live_ids = facts.live_ids
    headline = facts.live_source or facts.cache_source or facts.snapshot_source  # the freshest source read
    mapping = stack.mapping(ctx)
    evidence: dict[str, Any] = {**headline.evidence(now), "plan": plan or raw_plan, "plan_source": plan_source,
                                "tier": facts.tier(), "proxy_version": version, "presented_client": client,
                                "mapping": dict(mapping), "models": {}}
    if live_ids is not None:
        evidence["offered"] = sorted(live_ids)
    problems = Problems()
    if raw_plan and plan is None:
        problems.note(f"The plan {raw_plan!r} is in no catalog; plan checks were skipped.")
    elif not raw_plan:
        problems.note("The ChatGPT plan is unknown (no readable id_token); plan checks were skipped.")
    for note in facts.notes:
        problems.note(f"Not used: {note}.")
    use_current = _models.current_mapping_works(live_ids, version, plan)

    def replacement(alias: str) -> str | None:
        for current in ((True, False) if use_current else (False,)):
            choice = _models.recommended(alias, plan, current=current, version=version)
            if facts.offered(choice)[0] is not False:
                return choice
        return None

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

    legacy: list[str] = []
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
                          ["CLIProxyAPI reads model(effort), e.g. gpt-5.6-sol(xhigh)."], f"{REF}#model-name-syntax",
                          _fix("guess", var, guess) if guess else None)
            continue
        retired = _models.retirement(mapped.name)
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
        offered, source = facts.offered(mapped.name)
        model = facts.model(mapped.name)
        if model is not None:
            evidence["models"][mapped.name] = model.evidence(now)
        if offered is None:
            if _models.model_key(mapped.name).startswith("claude"):
                choice = replacement(alias)
                problems.fail(f"{label}: {mapped.name} is not offered to this account",
                              ["Claude model names cannot be served with a ChatGPT Codex login."],
                              f"{REF}#model-not-offered-to-your-plan", _fix("safe", var, choice) if choice else None)
                continue
            looked = ["the running proxy's list" if facts.live is not None else None,
                      "Codex's models_cache.json" if facts.cache is not None else None,
                      f"the snapshot of {data['as_of']}"]
            problems.warn(f"{label}: no source knows {mapped.name} (looked in {', '.join(w for w in looked if w)})",
                          ["It may be newer than every source; `claudex-doctor probe` asks the proxy with a real "
                           "request."], f"{REF}#model-no-source-knows")
            continue
        # The proxy drops a model it suspended from its list: state in the proxy, not the plan (proxy.models).
        bench = suspended(ctx, [mapped.name]) if offered is False and source.kind is FactSource.PROXY else None
        if bench:
            err = bench[0]
            problems.note(f"{label}: the running proxy leaves {mapped.name} out of GET /v1/models because it "
                          f"suspended it after an upstream error ({err.when}: \"{err.quoted}\"); the plan "
                          "includes it, so the mapping stays: see proxy.models for the restart that clears it "
                          f"({SUSPENDED_REF}).")
        elif offered is False:
            choice = replacement(alias)
            if source.kind is FactSource.PROXY:
                why = f"The running proxy does not offer {mapped.name} (GET /v1/models)."
            elif model is not None and model.plans is not None and plan not in model.plans.value:
                why = (f"Per {source.words()}, {mapped.name} is offered to {_plans_words(model.plans.value)}; "
                       f"this account is on {plan}.")
            else:
                why = (f"Per {source.words()}, {mapped.name} is not served on the {facts.tier()} tier this "
                       f"account's plan ({plan}) gets.")
            problems.fail(f"{label}: {mapped.name} is not offered to this account", [why],
                          f"{REF}#model-not-offered-to-your-plan", _fix("safe", var, choice) if choice else None)
            continue
        if model is None:
            continue
        needs = model.minimal_client_version
        if needs is not None and client is not None and _newer(needs.value, client):
            choice = _models.recommended(alias, plan, version=version)
            problems.fail(f"{label}: {mapped.name} needs Codex {needs.value} or newer; {proxy_name} presents "
                          f"itself upstream as Codex {client}",
                          [f"The backend answers 400 \"The '{mapped.name}' model requires a newer version of "
                           f"Codex\" (minimal client version per {needs.source.words()}).",
                           f"Map {alias} to {choice}, which {proxy_name} can serve, or upgrade CLIProxyAPI to a "
                           f"version that presents Codex {needs.value} or newer"
                           + (" (none is pinned yet)." if version == _models.pinned_proxy() else
                              f" (`claudex-doctor bootstrap --force` installs the pinned {_models.pinned_proxy()}, "
                              "if it is new enough).")],
                          f"{REF}#model-needs-a-newer-proxy", _fix("safe", var, choice))
            continue
        pinned_client = _models.presented_client(_models.pinned_proxy())
        if needs is not None and client is None and pinned_client and _newer(needs.value, pinned_client):
            problems.note(f"{mapped.name} needs Codex {needs.value} upstream; the doctor does not know what "
                          f"{proxy_name} presents ({_models.pinned_proxy()} presents {pinned_client}, too old).")
        _check_effort(problems, facts, label, var, mapped, model, version, proxy_name)
        if model.upgrade is not None:
            legacy.append(_legacy_words(facts, mapped, model.upgrade.value, var, version, client))
    installed = _models.version_tuple(facts.codex_version)
    for text in sorted({_models.base_name(t) for t in mapping.values()}):
        needs = (_models.codex_entry(text) or {}).get("minimal_client_version")
        wanted = _models.version_tuple(needs)
        if installed is not None and wanted is not None and installed < wanted:
            problems.note(f"codex-cli {facts.codex_version} is older than {text} needs ({needs}): the Codex CLI "
                          "itself cannot use it (claudex goes through the proxy, which is what counts).")
    if legacy:
        problems.note(" ".join(legacy))
    _discovery(ctx, env, facts, problems)
    for item in knowledge["deprecated"]:
        if env.get(item["name"]) and env.get(item["replacement"]):
            problems.note(f"{item['name']} is deprecated and ignored beside {item['replacement']}; it can go.")
    names = ", ".join(f"{a}->{t}" for a, t in mapping.items()) or "nothing"
    return problems.outcome(f"{names} (per {headline.words()})", evidence)


def _check_effort(problems: Problems, facts, label: str, var: str, mapped, model, version, proxy_name) -> None:
    """An effort the proxy does not read (it drops it), or one the model does not support (lowered)."""
    if mapped.effort is None or not mapped.effort.strip():
        return
    level = mapped.level
    suffixes = _models.catalog()["proxies"][version]["effort_suffixes"] if _models.known_proxy(version) else None
    supported = model.efforts.value if model.efforts is not None else None
    if mapped.budget is not None:
        problems.note(f"{label}: the budget {mapped.budget} becomes effort {level or 'none'} "
                      f"({_models.catalog()['numeric_budget_note']})")
    if level in ("none", "auto") or level is None:
        return
    if suffixes is not None and level not in suffixes["levels"] and level not in suffixes["special"]:
        readable = [e for e in (supported or suffixes["levels"]) if e in suffixes["levels"]]
        nearest = _models.nearest_effort(level, readable) if readable else None
        new = _models.with_effort(mapped.name, nearest, mapped.one_m, supported=readable) if nearest else None
        problems.warn(f"{label}: {proxy_name} does not read the effort {level}: it drops it silently",
                      [f"The request goes upstream with its own effort instead (medium unless Claude Code asks for "
                       f"thinking). {proxy_name} reads {', '.join(suffixes['levels'])}, none, auto and numbers."
                       + (f" {mapped.name} supports {level} only through a newer proxy." if supported and
                          level in supported else "")],
                      f"{REF}#effort-the-proxy-drops", _fix("safe", var, new) if new else None)
        return
    if supported is not None and level not in supported:
        nearest = _models.nearest_effort(level, supported)
        new = _models.with_effort(mapped.name, nearest, mapped.one_m, supported=supported)
        lowers = suffixes["lowers_unsupported"] if suffixes is not None else False
        why = (f"Per {model.efforts.source.words()}, it supports {', '.join(supported)}. "
               + (f"{proxy_name} quietly sends {nearest} instead." if lowers else
                  "The upstream may answer 400 for other levels."))
        problems.warn(f"{label}: {mapped.name} does not support effort {level}", [why],
                      f"{REF}#effort-not-supported", _fix("safe", var, new))


def _legacy_words(facts, mapped, target: str, var: str, version: str | None, client: str | None) -> str:
    """One sentence on a legacy model and whether its successor works here."""
    successor = facts.model(target)
    needs = successor.minimal_client_version.value if successor and successor.minimal_client_version else None
    live_ids = facts.live_ids
    offered = live_ids is not None and _models.model_key(target) in live_ids
    new_enough = needs is None or (client is not None and not _newer(needs, client))
    head = f"{mapped.name} is a legacy model in Codex's catalog (its successor is {target})"
    if offered and new_enough:
        value = _models.with_effort(target, mapped.level, mapped.one_m)
        return f"{head}; the running proxy offers it: claudex-doctor set-env {var}='{value}'."
    if client is not None and not new_enough:
        return (f"{head}, which needs Codex {needs}; CLIProxyAPI {version} presents {client}, so keep "
                f"{mapped.name} until the proxy is upgraded.")
    if offered:
        return (f"{head}; the running proxy offers it, but the doctor does not know whether this CLIProxyAPI "
                f"presents Codex {needs} or newer upstream: `claudex-doctor probe` after switching tells.")
    return f"{head}; keep it while the proxy does not offer {target}."


def _discovery(ctx: StackContext, env, facts, problems: Problems) -> None:
    """Claude Code's gateway model discovery keeps only ids with claude or anthropic in them."""
    known = _models.claude_env()["gateway_discovery"]
    switch = known["switch"]
    value = env.get(switch) if env.get(switch) is not None else ctx.env.get(switch)
    if not (value or "").strip() or facts.live is None:
        return
    listed = [m.listed_as for m in facts.live.models if m.listed_as]
    if not listed:
        return
    usable = [i for i in listed if re.search(known["keeps_ids_matching"], i, re.IGNORECASE)]
    if usable:
        problems.note(f"{switch} is on: Claude Code's /model picker lists the proxy's {len(usable)} models under "
                      f"the ids it shows Claude Code (e.g. {usable[0]}); the aliases keep the env file's mapping.")
        return
    problems.warn(f"{switch} is on, but no model id the proxy lists contains claude or anthropic",
                  ["Claude Code keeps only such ids from GET /v1/models, so its /model picker gets nothing from "
                   f"this gateway (the proxy lists {', '.join(listed[:4])})."],
                  f"{REF}#gateway-discovery-finds-no-model")
