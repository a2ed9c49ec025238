"""THE reading of a model string: `model(effort)[1m]`, the syntax CLIProxyAPI reads.

Syntax only, and light: the status line reads mapped strings without loading the catalog.
`knowledge.models` builds on it (`parse` adds what the catalog knows)."""

from __future__ import annotations

import re

_WITH_EFFORT = re.compile(r"([^()]*)\(([^()]*)\)")


def split(text: str) -> tuple[str, str | None, bool]:
    """'gpt-5.5(high)[1m]' -> ('gpt-5.5', 'high', True): name, effort (None when absent), 1m suffix.
    A string that does not read as model(effort) comes back whole as the name."""
    name = text.strip()
    one_m = False
    if name.lower().endswith("[1m]"):
        name, one_m = name[:-4], True
    match = _WITH_EFFORT.fullmatch(name)
    if match:
        return match.group(1), match.group(2).strip(), one_m
    return name, None, one_m


def base_name(text: str) -> str:
    """The model id a string routes to: 'gpt-5.5(high)' -> 'gpt-5.5'."""
    return split(text)[0]


def model_key(text: str) -> str:
    """THE form in which model strings are compared, wherever they come from (the env file, the proxy's
    lists, Codex's cache, the catalog): the id without effort or [1m], trimmed, lower case.
    'GPT-5.5(high)' and 'gpt-5.5' are the same model."""
    return base_name(text).strip().lower()


def offers(offered, model: str) -> bool:
    """Whether a list of model ids (the proxy's, say) holds `model`, compared by model_key."""
    wanted = model_key(model)
    return any(model_key(item) == wanted for item in offered)
