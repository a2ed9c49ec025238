"""The layout is the architecture: who may import whom, read from the code (every import, lazy ones
included) and held against the rules in CONTRIBUTING.md.

    cli -> commands -> (help, render, core, checks, primitives, bootstrap, stack packages) -> knowledge -> base
    core never imports checks or a stack package; stack packages never import core, checks, render,
    help, commands or cli; base imports nothing above it; only cli imports commands; no cycles.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOTS = {"doctor": "claudex_doctor", "checks": "claudex_doctor.checks", "knowledge": "claudex_doctor.knowledge",
         "references": "claudex_doctor.references"}
STACK = ("config", "auth", "service", "proxy", "wrapper", "usage", "machine")


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in ROOTS.items():
        for path in (REPO / folder).rglob("*.py"):
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every claudex_doctor module `name` imports (anywhere in the file), as module names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
            if any(t not in MODULES and not t.endswith(".__version__") for t in targets):
                targets.append(base)  # names defined in `base` itself, not submodules
        else:
            continue
        for target in targets:
            if target.endswith(".__version__"):
                continue  # the version lives in the package's face; anyone may read it
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("claudex_doctor") and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def layer(module: str) -> str:
    """The part of the architecture a module belongs to."""
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    head = parts[1]
    if head in STACK:
        return "stack"
    return head if len(parts) > 2 or head in ("base", "core", "render", "commands", "checks", "help", "knowledge",
                                                   "references") else head  # cli, errors, console, ...


# layer -> the layers it may import (itself always allowed)
ALLOWED = {
    "base": set(),
    "references": set(),
    "errors": {"base", "console"},
    "console": {"base"},
    "knowledge": {"base", "errors"},
    "stack": {"base", "errors", "knowledge"},
    "core": {"base", "errors"},
    "render": {"base", "errors", "core"},
    "primitives": {"base", "errors"},
    "bootstrap": {"base", "errors", "knowledge", "stack"},
    "checks": {"base", "errors", "knowledge", "stack", "core"},
    "help": {"base", "errors", "knowledge", "stack", "core", "render", "checks", "references", "package"},
    "commands": {"base", "errors", "knowledge", "stack", "core", "render", "checks", "help", "console",
                 "primitives", "bootstrap", "package"},
    "cli": {"base", "errors", "console", "commands", "package"},
    "__main__": {"cli"},
    "package": set(),
}


def test_every_module_has_a_layer_with_rules():
    assert {layer(m) for m in MODULES} <= set(ALLOWED), {layer(m) for m in MODULES} - set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module):
    mine = layer(module)
    wrong = sorted(dep for dep in GRAPH[module] if layer(dep) != mine and layer(dep) not in ALLOWED[mine])
    assert not wrong, f"{module} ({mine}) must not import {wrong}"


def test_only_cli_imports_commands():
    importers = sorted(m for m, deps in GRAPH.items() if layer(m) not in ("cli", "commands")
                       and any(layer(d) == "commands" for d in deps))
    assert not importers
    between = sorted((m, d) for m, deps in GRAPH.items() if layer(m) == "commands"
                     for d in deps if layer(d) == "commands" and not d.endswith("._common")
                     and d != "claudex_doctor.commands")
    assert not between, "commands share code through commands/_common.py only"


def test_no_import_cycles():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for dep in GRAPH[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not cycles, cycles


def test_the_rules_can_fail():
    """The checker itself: a stack module importing core is caught."""
    assert "core" not in ALLOWED["stack"] and "checks" not in ALLOWED["core"]
    counts = defaultdict(int)
    for module in MODULES:
        counts[layer(module)] += 1
    assert counts["base"] >= 5 and counts["stack"] >= 10 and counts["core"] >= 5


def _writes(path: Path) -> list[str]:
    """Calls to print() and any use of sys.stdout / sys.stderr in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"print() at line {node.lineno}")
        if isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr") and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            found.append(f"sys.{node.attr} at line {node.lineno}")
    return found


def test_console_is_the_only_writer():
    """Output goes through console.py: one place that redacts, knows the terminal and flushes."""
    offenders = {name: _writes(path) for name, path in MODULES.items() if name != "claudex_doctor.console"}
    assert not {name: hits for name, hits in offenders.items() if hits}
    assert _writes(MODULES["claudex_doctor.console"])  # the check can see a write
