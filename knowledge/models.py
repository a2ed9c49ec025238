"""The model catalog (knowledge/models.json) and THE reading of a model string.

`split` is the one parser of `model(effort)[1m]` (the syntax CLIProxyAPI reads); `parse` adds what the
catalog knows (efforts, the removed `-effort` style). The rest are pure lookups every part of the
doctor asks the same way: which models exist, for which plans, with which efforts and context windows,
which are retired (and by what), what bootstrap recommends, what a probe sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from claudex_doctor import knowledge

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
_BUDGET = re.compile(r"^-?\d+$")


def catalog() -> dict:
    return knowledge.load("models")


def claude_env() -> dict:
    return knowledge.load("claude_env")


def entry(model_id: str) -> dict | None:
    for item in catalog()["models"]:
        if item["id"] == model_id.lower():
            return item
    return None


def normal_plan(plan: str | None) -> str | None:
    """The catalog's name for a ChatGPT plan (business -> team, ...); None when unknown."""
    if not plan:
        return None
    data = catalog()
    plan = plan.strip().lower()
    plan = data["plan_aliases"].get(plan, plan)
    return plan if plan in data.get("known_plans", []) else None


def window(model_id: str, plan: str | None) -> int | None:
    """The context window for this plan; for an unknown plan, the smallest any plan gets."""
    item = entry(model_id)
    if item is None:
        return None
    by_plan = item.get("context_window_by_plan") or {}
    if plan is None:
        return min([item["context_window"], *by_plan.values()])
    return by_plan.get(plan, item["context_window"])


def retirement(item: dict) -> tuple[date, str] | None:
    retired = item.get("retired")
    if not retired:
        return None
    return date.fromisoformat(retired["on"]), retired["replacement"]


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
    def level(self) -> str | None:
        """The effort as a level name (numeric budgets mapped), None when absent or ineffective."""
        if self.effort is None or self.effort == "":
            return None
        low = self.effort.lower()
        if _BUDGET.match(low):
            return None
        return low


def split(text: str) -> tuple[str, str | None, bool]:
    """'gpt-5.5(high)[1m]' -> ('gpt-5.5', 'high', True): name, effort (None when absent), 1m suffix.
    Syntax only; a string that does not read as model(effort) comes back whole as the name."""
    name = text.strip()
    one_m = False
    if name.lower().endswith("[1m]"):
        name, one_m = name[:-4], True
    match = re.fullmatch(r"([^()]*)\(([^()]*)\)", name)
    if match:
        return match.group(1), match.group(2).strip(), one_m
    return name, None, one_m


def base_name(text: str) -> str:
    """The model id a string routes to: 'gpt-5.5(high)' -> 'gpt-5.5'."""
    return split(text)[0]


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
            if name.lower().endswith("-" + level) and entry(base):
                return Mapped(raw, name, None, one_m, "the old '-effort' name style was removed from the proxy",
                              legacy=f"{base}({level})")
    return Mapped(raw, name, effort, one_m)


def nearest_effort(level: str, supported: list[str]) -> str | None:
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


def with_effort(model_id: str, level: str | None, one_m: bool = False) -> str:
    """`model(level)` keeping the effort when the model supports it (else the nearest one)."""
    item = entry(model_id)
    chosen = level
    if item is not None and level is not None and level in catalog()["effort_order"] and level not in item["efforts"]:
        chosen = nearest_effort(level, item["efforts"])
    text = f"{model_id}({chosen})" if chosen else model_id
    return text + ("[1m]" if one_m else "")


def recommended(alias: str, plan: str | None) -> str:
    data = catalog()
    # An unknown plan gets the mapping every plan is offered (the free one).
    mapping = data["recommended_mapping"].get(plan or "") or data["recommended_mapping"]["free"]
    key = alias if alias in mapping else data.get("alias_fallback", {}).get(alias, "sonnet")
    return mapping[key]


def recommended_mapping(plan: str, plan_known: bool = True) -> tuple[dict[str, str], int | None]:
    """The recommended opus/sonnet/haiku mapping for a plan, and the smallest context window among them.

    When the plan is only the catalog's default (no login to read it from), the window is the
    smallest any plan gets for those models: compacting early is harmless, too late fails."""
    mapping = dict(catalog()["recommended_mapping"][plan])
    windows = [window(base_name(model), plan if plan_known else None) for model in mapping.values()]
    known = [w for w in windows if w is not None]
    return mapping, (min(known) if known else None)


def lowest_effort(base: str) -> str:
    """The cheapest reasoning effort the catalog lists for `base` ('low' when the model is unknown)."""
    item = entry(base)
    order = catalog()["effort_order"]
    efforts = [e for e in (item or {}).get("efforts", []) if e in order]
    return min(efforts, key=order.index) if efforts else "low"


def default_probe_model() -> str:
    """The model a probe sends when the env file maps none: the default plan's haiku."""
    data = catalog()
    return data["recommended_mapping"][data["default_plan"]]["haiku"]


def replacement(model: str, offered: list[str]) -> str | None:
    """The catalog's replacement for a retired model, when the proxy offers it; same effort."""
    base, effort, _ = split(model)
    item = entry(base)
    target = ((item or {}).get("retired") or {}).get("replacement")
    if target in offered:
        return f"{target}({effort})" if effort else target
    return None
