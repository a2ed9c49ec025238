"""Model facts and THE reading of a model string.

`split` is the one parser of `model(effort)[1m]` (the syntax CLIProxyAPI reads); `parse` adds what the
snapshot knows (efforts, the removed `-effort` style). The snapshot (knowledge/models.json) holds Codex's
catalog, each pinned proxy's own catalog and the curated mappings; the lookups below ask it the same
way for every part of the doctor.

At run time the facts come from, in this order, field by field: the running proxy's GET /v1/models
(`LiveList`: the ids, and the windows of the Anthropic dialect), Codex's `$CODEX_HOME/models_cache.json`
on this machine (`CodexCache`), then the snapshot. `Knowledge` merges them into one frozen `ModelFacts`
per model, each fact carrying its `Source` (kind and age), so a finding can say what it rests on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from claudex_doctor import knowledge
from claudex_doctor.base.vocab import Vocabulary
from claudex_doctor.knowledge.modelstring import (  # noqa: F401  (the one parser and key, re-exported)
    base_name,
    model_key,
    offers,
    split,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
_BUDGET = re.compile(r"^-?\d+$")
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def catalog() -> dict:
    return knowledge.load("models")


def claude_env() -> dict:
    return knowledge.load("claude_env")


def pinned_proxy() -> str:
    """The CLIProxyAPI version the doctor installs and its facts were read from (`pinned_proxy`): THE pin;
    doctor/proxy/build.py builds it and .ci/install-e2e installs it for the end-to-end tests."""
    return catalog()["pinned_proxy"]


def snapshot_date() -> date:
    return date.fromisoformat(catalog()["as_of"])


def version_tuple(text: str | None) -> tuple[int, int, int] | None:
    """'0.166.0' / 'v7.2.140' / 'codex-cli 0.171.0' -> (0, 166, 0); None when there is no x.y.z in it."""
    match = _VERSION.search(text or "")
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


# -- the snapshot: Codex's catalog, the proxies' catalogs, plans ---------------------------------

def codex_entry(model_id: str) -> dict | None:
    """Codex's catalog entry (the snapshot's), or None."""
    wanted = model_key(model_id)
    return next((m for m in catalog()["codex"]["models"] if m["id"] == wanted), None)


def proxy_data(version: str | None) -> tuple[str, dict]:
    """(version, facts) of a proxy the snapshot knows: `version` itself, else the pinned one."""
    proxies = catalog()["proxies"]
    if version and version in proxies:
        return version, proxies[version]
    pinned = pinned_proxy()
    return pinned, proxies[pinned]


def known_proxy(version: str | None) -> bool:
    return bool(version) and version in catalog()["proxies"]


def proxy_model(model_id: str, version: str | None = None) -> dict | None:
    wanted = model_key(model_id)
    return next((m for m in proxy_data(version)[1]["models"] if m["id"] == wanted), None)


def presented_client(version: str | None) -> str | None:
    """The Codex client version a known proxy version presents upstream, else None."""
    if not known_proxy(version):
        return None
    return catalog()["proxies"][version]["presents"]["client_version"]


def known_plans() -> set[str]:
    data = catalog()
    plans = set(data["codex"]["plans"])
    for proxy in data["proxies"].values():
        plans.update(proxy["plan_tiers"])
        plans.update(proxy["tiers"])
    return plans


def normal_plan(plan: str | None) -> str | None:
    """The ChatGPT plan id as the catalogs spell it (lower case), None when no catalog knows it."""
    if not plan or not isinstance(plan, str):
        return None
    plan = plan.strip().lower()
    return plan if plan in known_plans() else None


def tier(plan: str | None, version: str | None = None) -> str | None:
    """The proxy's plan tier (free, plus, team, pro) for a plan id: the list and windows it serves it."""
    if not plan:
        return None
    facts = proxy_data(version)[1]
    return facts["plan_tiers"].get(plan, facts["default_tier"])


def plan_includes(model_id: str, plan: str | None, version: str | None = None) -> bool | None:
    """Is `model_id` offered to `plan`: by the proxy's tiers when the proxy knows the model, else by Codex's
    catalog; None when the plan or the model is unknown."""
    if not plan:
        return None
    served = proxy_model(model_id, version)
    if served is not None and isinstance(served.get("max_input_tokens"), dict):
        return tier(plan, version) in served["max_input_tokens"]
    entry = codex_entry(model_id)
    if entry is not None:
        return plan in entry.get("plans", [])
    return None


def retirement(model_id: str) -> tuple[date, str] | None:
    wanted = model_key(model_id)
    for item in catalog().get("retired", []):
        if item["id"] == wanted:
            return date.fromisoformat(item["on"]), item["replacement"]
    return None


# -- the model string --------------------------------------------------------------------------

@dataclass(frozen=True)
class Mapped:
    """One mapped model string, read the way CLIProxyAPI reads it."""

    raw: str
    name: str
    effort: str | None
    one_m: bool
    error: str | None = None  # why the syntax is wrong, or None
    legacy: str | None = None  # 'gpt-5.5(high)' when written in the removed 'gpt-5.5-high' style

    @property
    def budget(self) -> int | None:
        """The thinking budget when the effort is a number."""
        if self.effort and _BUDGET.match(self.effort.strip()):
            return int(self.effort.strip())
        return None

    @property
    def level(self) -> str | None:
        """The effort as a level name, a numeric budget turned into the level the proxy makes of it
        (0 -> none, -1 -> auto); None when absent."""
        if self.effort is None or not self.effort.strip():
            return None
        budget = self.budget
        if budget is not None:
            return budget_level(budget)
        return self.effort.strip().lower()


def budget_level(budget: int) -> str | None:
    """CLIProxyAPI's ConvertBudgetToLevel: the effort a numeric thinking budget becomes."""
    if budget < -1:
        return None
    if budget == -1:
        return "auto"
    if budget == 0:
        return "none"
    data = catalog()
    for limit, level in data["budget_efforts"]:
        if budget <= limit:
            return level
    return data.get("budget_above", "xhigh")


def _known_id(model_id: str) -> bool:
    return codex_entry(model_id) is not None or proxy_model(model_id) is not None


def parse(text: str) -> Mapped:
    raw = text
    name, effort, one_m = split(text)
    if "(" in name or ")" in name:
        return Mapped(raw, name, None, one_m, "unbalanced or repeated parentheses; write model(effort)")
    if not name:
        return Mapped(raw, name, effort, one_m, "no model name before the effort")
    if any(ch.isspace() for ch in raw.strip()):
        return Mapped(raw, name, effort, one_m, "it contains spaces")
    if not _NAME.match(name):
        return Mapped(raw, name, effort, one_m, "the model name has characters a model id never has")
    data = catalog()
    if effort:
        low = effort.lower()
        if low not in data["efforts"] and not _BUDGET.match(low):
            return Mapped(raw, name, effort, one_m, f"'{effort}' is not an effort "
                                                     f"({', '.join(data['effort_order'])}, none, auto or a number)")
    if effort is None:
        for level in data["effort_order"]:
            base = name[: -len(level) - 1]
            if name.lower().endswith("-" + level) and _known_id(base):
                return Mapped(raw, name, None, one_m, "the old '-effort' name style was removed from the proxy",
                              legacy=f"{base}({level})")
    return Mapped(raw, name, effort, one_m)


def nearest_effort(level: str, supported: list[str] | tuple[str, ...]) -> str | None:
    """The closest supported effort (same or lower first), for a replacement suggestion."""
    order = catalog()["effort_order"]
    if level not in order:
        return None
    at = order.index(level)
    for candidate in reversed(order[: at + 1]):
        if candidate in supported:
            return candidate
    for candidate in order[at + 1:]:
        if candidate in supported:
            return candidate
    return None


def with_effort(model_id: str, level: str | None, one_m: bool = False,
                supported: list[str] | tuple[str, ...] | None = None) -> str:
    """`model(level)` keeping the effort when the model supports it (else the nearest one)."""
    if supported is None:
        item = codex_entry(model_id)
        supported = item["efforts"] if item else None
    chosen = level
    if supported and level is not None and level in catalog()["effort_order"] and level not in supported:
        chosen = nearest_effort(level, supported)
    text = f"{model_id}({chosen})" if chosen else model_id
    return text + ("[1m]" if one_m else "")


def lowest_effort(base: str) -> str:
    """The cheapest reasoning effort Codex lists for `base` ('low' when the model is unknown)."""
    item = codex_entry(base)
    order = catalog()["effort_order"]
    efforts = [e for e in (item or {}).get("efforts", []) if e in order]
    return min(efforts, key=order.index) if efforts else "low"


# -- recommendations -----------------------------------------------------------------------------

def _mapping_table(current: bool) -> dict:
    return catalog()["current_mapping" if current else "recommended_mapping"]


def current_mapping_works(offered: set[str] | None, proxy_version: str | None, plan: str | None) -> bool:
    """Whether today's mapping (gpt-6.x) works here: the running proxy offers every model of it and its
    version is known to present a client at least as new as each model needs."""
    if not offered:
        return False
    client = version_tuple(presented_client(proxy_version))
    if client is None:
        return False
    mapping = _mapping_table(True)[tier(plan, proxy_version) or catalog()["default_plan"]]
    for text in mapping.values():
        name = base_name(text)
        needs = version_tuple((codex_entry(name) or {}).get("minimal_client_version"))
        if not offers(offered, name) or (needs is not None and needs > client):
            return False
    return True


def recommended(alias: str, plan: str | None, *, current: bool = False, version: str | None = None) -> str:
    """The recommended model string for an alias: the mapping that works on the pinned proxy, or with
    `current`, today's Codex models."""
    table = _mapping_table(current)
    mapping = table.get(tier(plan, version) or "") or table["free"]  # unknown plan: what every plan gets
    key = alias if alias in mapping else catalog().get("alias_fallback", {}).get(alias, "sonnet")
    return mapping[key]


def recommended_mapping(plan: str, plan_known: bool = True) -> tuple[dict[str, str], int | None]:
    """The recommended opus/sonnet/haiku mapping for a plan (bootstrap installs the pinned proxy, so the
    mapping that works on it), and the smallest snapshot window among them.

    When the plan is only the catalog's default (no login to read it from), the window is the
    smallest any plan gets for those models: compacting early is harmless, too late fails."""
    mapping = dict(_mapping_table(False)[tier(plan) or catalog()["default_plan"]])
    facts = Knowledge(plan=plan if plan_known else None)
    windows = [facts.model(base_name(model)) for model in mapping.values()]
    known = [m.window.value for m in windows if m is not None and m.window is not None]
    return mapping, (min(known) if known else None)


def default_probe_model() -> str:
    """The model a probe sends when the env file maps none: the default plan's haiku."""
    data = catalog()
    return data["recommended_mapping"][data["default_plan"]]["haiku"]


def replacement(model: str, offered: list[str] | set[str]) -> str | None:
    """The replacement for a retired or legacy model, when the proxy offers it; same effort."""
    base, effort, _ = split(model)
    retired = retirement(base)
    target = retired[1] if retired else None
    if target is not None and offers(offered, target):
        return f"{target}({effort})" if effort else target
    return None


# -- live facts and their sources ------------------------------------------------------------------

class FactSource(Vocabulary):
    """Where a model fact came from, in the order they are consulted."""

    PROXY = "proxy"              # the running proxy's GET /v1/models (both dialects)
    CODEX_CACHE = "codex_cache"  # $CODEX_HOME/models_cache.json, the catalog Codex last fetched here
    SNAPSHOT = "snapshot"        # knowledge/models.json, dated


SOURCE_WORDS = {
    FactSource.PROXY: "the running proxy",
    FactSource.CODEX_CACHE: "Codex's models_cache.json",
    FactSource.SNAPSHOT: "the snapshot",
}


def _parse_time(text: str | None) -> datetime | None:
    if not text or not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)  # nanoseconds (Rust's RFC 3339) -> microseconds
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Source:
    """One source of model facts: what it is, when its facts were read, and a word on which part."""

    kind: FactSource
    as_of: str | None  # ISO 8601 date or time
    detail: str = ""

    def words(self) -> str:
        """For a sentence: 'the running proxy', "Codex's models_cache.json of 2026-11-30", ..."""
        base = SOURCE_WORDS[self.kind]
        if self.kind is FactSource.PROXY:
            return base
        day = (self.as_of or "")[:10]
        text = f"{base} of {day}" if day else base
        return f"{text} ({self.detail})" if self.detail else text

    def age_days(self, now: datetime) -> float | None:
        when = _parse_time(self.as_of)
        if when is None:
            return None
        return max(0.0, round((now - when).total_seconds() / 86400, 1))

    def evidence(self, now: datetime) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.kind.value, "as_of": self.as_of, "age_days": self.age_days(now)}
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass(frozen=True)
class Fact:
    """One value and where it came from."""

    value: Any
    source: Source


@dataclass(frozen=True)
class ModelFacts:
    """Everything known about one model, each fact with its source; None where nothing says."""

    id: str
    known_to: tuple[FactSource, ...]
    window: Fact | None = None           # the window to keep within (a claim capped by the ceiling)
    claimed_window: Fact | None = None   # the claim, when the ceiling cut it
    ceiling: Fact | None = None          # Codex's max_context_window
    max_output: Fact | None = None
    efforts: Fact | None = None          # tuple of effort words
    plans: Fact | None = None            # tuple of plan ids (Codex's available_in_plans)
    minimal_client_version: Fact | None = None
    upgrade: Fact | None = None          # the model Codex suggests instead (legacy models)

    def evidence(self, now: datetime) -> dict[str, Any]:
        out: dict[str, Any] = {"known_to": [k.value for k in self.known_to]}
        for name in ("window", "ceiling", "minimal_client_version", "upgrade"):
            fact = getattr(self, name)
            if fact is not None:
                out[name] = {"value": fact.value, **fact.source.evidence(now)}
        if self.claimed_window is not None:
            out["claimed_window"] = {"value": self.claimed_window.value, **self.claimed_window.source.evidence(now)}
        return out


@dataclass(frozen=True)
class LiveModel:
    id: str  # the real id (the Anthropic dialect's disguise reversed)
    max_input_tokens: int | None = None
    max_tokens: int | None = None
    listed_as: str = ""  # the id as the Anthropic dialect shows it (what Claude Code's discovery sees)


@dataclass(frozen=True)
class LiveList:
    """The running proxy's GET /v1/models: ids (OpenAI dialect) and windows (Anthropic dialect)."""

    ids: tuple[str, ...]
    models: tuple[LiveModel, ...]
    fetched_at: str

    def get(self, model_id: str) -> LiveModel | None:
        wanted = model_key(model_id)
        return next((m for m in self.models if model_key(m.id) == wanted), None)


def undisguise(model_id: str, prefix: str | None = None) -> str:
    """The real id behind the Anthropic dialect's disguise: 'claude-fable-5-dd-5.5-tpg' -> 'gpt-5.5'."""
    prefix = prefix or proxy_data(None)[1]["disguise_prefix"]
    return model_id[len(prefix):][::-1] if model_id.startswith(prefix) else model_id


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def live_list(openai: Any, anthropic: Any, fetched_at: str) -> LiveList:
    """A LiveList from the two /v1/models bodies' `data` lists (either may be None or malformed)."""
    ids = tuple(m["id"] for m in (openai if isinstance(openai, list) else [])
                if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"])
    models = []
    for entry in anthropic if isinstance(anthropic, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        models.append(LiveModel(undisguise(entry["id"]), _positive(entry.get("max_input_tokens")),
                                _positive(entry.get("max_tokens")), entry["id"]))
    return LiveList(ids, tuple(models), fetched_at)


@dataclass(frozen=True)
class CacheModel:
    id: str
    context_window: int | None
    max_context_window: int | None
    efforts: tuple[str, ...]
    upgrade: str | None


@dataclass(frozen=True)
class CodexCache:
    """What Codex last fetched on this machine ($CODEX_HOME/models_cache.json, read only)."""

    fetched_at: str | None
    client_version: str | None
    models: tuple[CacheModel, ...]

    def get(self, model_id: str) -> CacheModel | None:
        wanted = model_key(model_id)
        return next((m for m in self.models if model_key(m.id) == wanted), None)


def codex_cache(data: Any) -> CodexCache | None:
    """A CodexCache from the parsed file; None when it does not look like Codex's cache."""
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        return None
    models = []
    for item in data["models"]:
        if not isinstance(item, dict) or not isinstance(item.get("slug"), str) or not item["slug"]:
            continue
        levels = item.get("supported_reasoning_levels")
        efforts = tuple(level["effort"] for level in (levels if isinstance(levels, list) else [])
                        if isinstance(level, dict) and isinstance(level.get("effort"), str))
        upgrade = item.get("upgrade")
        target = upgrade.get("model") if isinstance(upgrade, dict) else None
        models.append(CacheModel(model_key(item["slug"]), _positive(item.get("context_window")),
                                 _positive(item.get("max_context_window")), efforts,
                                 target if isinstance(target, str) and target else None))
    fetched = data.get("fetched_at")
    version = data.get("client_version")
    return CodexCache(fetched if isinstance(fetched, str) else None, version if isinstance(version, str) else None,
                      tuple(models))


def read_codex_cache(path: Path) -> tuple[CodexCache | None, str]:
    """(the cache, '') or (None, why not; '' when there is no such file): read through base.files, never
    raising. Codex keeps each model's full instructions in it (60 to 90 KB a model with codex-cli 0.171.0,
    0.9 MB for its 14 bundled models), so the cap is the large one, not the config files' 1 MiB."""
    from claudex_doctor.base import files

    loaded = files.read_json(path, cap=files.LARGE_CAP)
    if not loaded.ok:
        return None, "" if loaded.problem is files.Problem.MISSING else loaded.message
    cache = codex_cache(loaded.data)
    if cache is None:
        return None, f"{path.name} does not hold a model list"
    return cache, ""


@dataclass(frozen=True)
class Knowledge:
    """The model facts of one run: the live sources that could be read, then the snapshot."""

    plan: str | None = None            # plan id (normal_plan), None when unknown
    proxy_version: str | None = None   # the installed proxy's version, when known
    live: LiveList | None = None
    cache: CodexCache | None = None
    codex_version: str | None = None   # the installed Codex CLI's version, when known
    notes: tuple[str, ...] = ()        # why a source was not used

    # sources --------------------------------------------------------------
    @property
    def snapshot_source(self) -> Source:
        return Source(FactSource.SNAPSHOT, catalog()["as_of"])

    @property
    def live_source(self) -> Source | None:
        return Source(FactSource.PROXY, self.live.fetched_at) if self.live is not None else None

    @property
    def cache_source(self) -> Source | None:
        if self.cache is None:
            return None
        detail = f"codex-cli {self.cache.client_version}" if self.cache.client_version else ""
        return Source(FactSource.CODEX_CACHE, self.cache.fetched_at, detail)

    @property
    def live_ids(self) -> set[str] | None:
        """The ids the running proxy offers; None when it was not read or listed none."""
        if self.live is None or not self.live.ids:
            return None
        return {model_key(i) for i in self.live.ids}

    def proxy_facts(self) -> tuple[str, dict]:
        return proxy_data(self.proxy_version)

    def tier(self) -> str | None:
        return tier(self.plan, self.proxy_version)

    # one model ------------------------------------------------------------
    def model(self, model_id: str) -> ModelFacts | None:
        wanted = model_key(model_id)
        live = self.live.get(wanted) if self.live is not None else None
        live_listed = live is not None or (self.live_ids is not None and wanted in self.live_ids)
        cached = self.cache.get(wanted) if self.cache is not None else None
        codex = codex_entry(wanted)
        version, facts = self.proxy_facts()
        proxied = proxy_model(wanted, version)
        known: list[FactSource] = []
        if live_listed:
            known.append(FactSource.PROXY)
        if cached is not None:
            known.append(FactSource.CODEX_CACHE)
        if codex is not None or proxied is not None or retirement(wanted) is not None:
            known.append(FactSource.SNAPSHOT)
        if not known:
            return None
        snap = self.snapshot_source
        codex_snap = Source(FactSource.SNAPSHOT, snap.as_of, f"Codex {catalog()['codex']['version']}'s catalog")
        proxy_snap = Source(FactSource.SNAPSHOT, snap.as_of, f"CLIProxyAPI {version}'s catalog")
        cache_src = self.cache_source

        ceiling = None
        if cached is not None and cached.max_context_window and cache_src is not None:
            ceiling = Fact(cached.max_context_window, cache_src)
        elif codex is not None:
            ceiling = Fact(codex["max_context_window"], codex_snap)

        claim = None
        if live is not None and live.max_input_tokens and self.live_source is not None:
            claim = Fact(live.max_input_tokens, self.live_source)
        elif proxied is not None and proxied["max_input_tokens"]:
            by_tier = proxied["max_input_tokens"]
            mine = self.tier()
            value = by_tier.get(mine) if mine else min(by_tier.values())
            if value is None:  # not served on this plan's tier: the smallest it is served with
                value = min(by_tier.values())
            claim = Fact(value, proxy_snap)
        elif cached is not None and cached.context_window and cache_src is not None:
            claim = Fact(cached.context_window, cache_src)
        elif codex is not None:
            claim = Fact(codex["context_window"], codex_snap)
        window, claimed = claim, None
        if claim is not None and ceiling is not None and ceiling.value < claim.value:
            window, claimed = ceiling, claim

        max_output = None
        if live is not None and live.max_tokens and self.live_source is not None:
            max_output = Fact(live.max_tokens, self.live_source)
        elif proxied is not None and proxied.get("max_tokens"):
            max_output = Fact(proxied["max_tokens"], proxy_snap)

        efforts = None
        if cached is not None and cached.efforts and cache_src is not None:
            efforts = Fact(cached.efforts, cache_src)
        elif codex is not None and codex["efforts"]:
            efforts = Fact(tuple(codex["efforts"]), codex_snap)

        upgrade = None
        if cached is not None and cache_src is not None and (cached.upgrade or codex is None):
            upgrade = Fact(cached.upgrade, cache_src) if cached.upgrade else None
        elif codex is not None and codex.get("upgrade"):
            upgrade = Fact(codex["upgrade"], codex_snap)

        return ModelFacts(
            id=wanted, known_to=tuple(known), window=window, claimed_window=claimed, ceiling=ceiling,
            max_output=max_output, efforts=efforts,
            plans=Fact(tuple(codex["plans"]), codex_snap) if codex is not None else None,
            minimal_client_version=Fact(codex["minimal_client_version"], codex_snap)
            if codex is not None and codex.get("minimal_client_version") else None,
            upgrade=upgrade)

    def offered(self, model_id: str) -> tuple[bool | None, Source]:
        """Whether this account can use the model through the proxy: (True/False, source), or None when
        no source knows the model."""
        wanted = model_key(model_id)
        live_ids = self.live_ids
        if live_ids is not None and self.live_source is not None:
            return wanted in live_ids, self.live_source
        cached = self.cache.get(wanted) if self.cache is not None else None
        if cached is not None and self.cache_source is not None:
            return True, self.cache_source  # Codex fetched it for this login
        version, facts = self.proxy_facts()
        codex, proxied = codex_entry(wanted), proxy_model(wanted, version)
        snap = self.snapshot_source
        if codex is None and proxied is None:
            return None, snap
        if self.plan is None:
            return True, snap
        if codex is not None and self.plan not in codex["plans"]:
            return False, Source(FactSource.SNAPSHOT, snap.as_of, f"Codex {catalog()['codex']['version']}'s catalog")
        if proxied is not None:
            mine = self.tier()
            listed = wanted in facts["tiers"].get(mine or "", [])
            return listed, Source(FactSource.SNAPSHOT, snap.as_of, f"CLIProxyAPI {version}'s catalog")
        return True, snap

    def stale(self, now: datetime) -> str | None:
        """Why the facts may be out of date: no live source was read and the snapshot is older than
        `stale_after_days`, or older than the installed Codex CLI. None when they are fresh enough."""
        if self.live is not None or self.cache is not None:
            return None
        return stale_reason(now, self.codex_version)

    # the run's report -----------------------------------------------------
    def report(self, now: datetime, used: set[FactSource] | None = None) -> dict[str, Any]:
        """The `knowledge` block of the JSON report: the snapshot's date and each source with its age."""
        sources = []
        for source in (self.live_source, self.cache_source, self.snapshot_source):
            if source is None:
                continue
            entry = source.evidence(now)
            entry["kind"] = entry.pop("source")
            entry["used"] = used is None or source.kind in used
            sources.append(entry)
        return {"snapshot": catalog()["as_of"], "stale": self.stale(now) is not None, "sources": sources,
                **({"notes": list(self.notes)} if self.notes else {})}


def stale_reason(now: datetime, codex_version: str | None = None) -> str | None:
    """Why the snapshot alone is not to be trusted today, or None."""
    data = catalog()
    age = (now.date() - snapshot_date()).days
    if age > data["stale_after_days"]:
        return f"the snapshot is {age} days old (from {data['as_of']})"
    installed, read_from = version_tuple(codex_version), version_tuple(data["codex"]["version"])
    if installed is not None and read_from is not None and installed > read_from:
        return f"the installed Codex CLI ({codex_version}) is newer than the one the snapshot was read from " \
               f"({data['codex']['version']})"
    return None


def gather(*, plan: str | None, proxy_version: str | None, live: LiveList | None, cache: CodexCache | None,
           cache_problem: str = "", codex_version: str | None = None) -> Knowledge:
    """The run's Knowledge: a live list with no model is no source (the proxy has no usable credential
    yet); a models_cache.json fetched before the snapshot was taken is older news than the snapshot."""
    notes = []
    if live is not None and not live.ids:
        notes.append("the running proxy listed no models")
        live = None
    if cache is not None:
        fetched = _parse_time(cache.fetched_at)
        if fetched is not None and fetched.date() < snapshot_date():
            notes.append(f"Codex's models_cache.json is from {fetched.date()}, older than the snapshot")
            cache = None
        elif not cache.models:
            notes.append("Codex's models_cache.json lists no models")
            cache = None
    elif cache_problem:
        notes.append(f"Codex's models_cache.json: {cache_problem}")
    return Knowledge(plan=plan, proxy_version=proxy_version, live=live, cache=cache, codex_version=codex_version,
                     notes=tuple(notes))
