"""The stack primitives: the same functions back the CLI commands and `--fix`.

A primitive is `apply(paths, *, dry_run=False, **args) -> PrimitiveResult`. It
says what it will change before it does (in `changes`, also when dry-running),
writes atomically with backups, never touches a process or file that is not the
stack's own, and records what it applied in the journal.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

# name -> "module:function" (imported lazily)
PRIMITIVES: dict[str, str] = {
    "bootstrap": "claudex_doctor.bootstrap:apply",
    "sync-auth": "claudex_doctor.auth.sync:apply",
    "start": "claudex_doctor.service.control:start",
    "stop": "claudex_doctor.service.control:stop",
    "restart": "claudex_doctor.service.control:restart",
    "set-env": "claudex_doctor.config.edit:set_env",
    "set-config": "claudex_doctor.config.edit:set_config",
}


@dataclass
class PrimitiveResult:
    ok: bool
    message: str
    changes: list[str] = field(default_factory=list)  # human lines: "write ~/x/config.yaml: host 0.0.0.0 -> 127.0.0.1"
    backups: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class PrimitiveError(Exception):
    """A primitive refused or failed: one clear sentence naming the object and the next step."""


def resolve(name: str):
    try:
        target = PRIMITIVES[name]
    except KeyError:
        raise PrimitiveError(f"unknown primitive {name!r}") from None
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def apply(name: str, paths, *, dry_run: bool = False, **args: Any) -> PrimitiveResult:
    return resolve(name)(paths, dry_run=dry_run, **args)
