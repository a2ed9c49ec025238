"""The dated model catalog (knowledge/models.json) as questions the env checks ask.

Pure lookups: which models exist, for which plans, with which efforts and
context windows, which are retired (and by what), and how a mapped string such
as `gpt-5.6-sol(xhigh)[1m]` reads.
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


def parse(text: str) -> Mapped:
    raw = text
    name = text.strip()
    one_m = False
    if name.lower().endswith("[1m]"):
        name, one_m = name[:-4], True
    effort = None
    if "(" in name or ")" in name:
        match = re.fullmatch(r"([^()]*)\(([^()]*)\)", name)
        if not match:
            return Mapped(raw, name, None, one_m, "unbalanced or repeated parentheses; write model(effort)")
        name, effort = match.group(1), match.group(2).strip()
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
