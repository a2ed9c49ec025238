"""The stack primitives by name: the same functions back the CLI commands and `--fix`.

A primitive is `apply(paths, *, dry_run=False, **args) -> base.result.PrimitiveResult`. It says what
it will change before it does (in `changes`, also when dry-running), writes atomically with backups,
never touches a process or file that is not the stack's own, records what it applied in the journal,
and raises `errors.PrimitiveError` when it refuses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.errors import PrimitiveError

# name -> "module:function" (imported lazily)
PRIMITIVES: dict[str, str] = {
    "bootstrap": "claudex_doctor.bootstrap:apply",
    "sync-auth": "claudex_doctor.auth.sync:apply",
    "start": "claudex_doctor.service.control:start",
    "stop": "claudex_doctor.service.control:stop",
    "restart": "claudex_doctor.service.control:restart",
    "set-env": "claudex_doctor.config.edit:set_env",
    "set-config": "claudex_doctor.config.edit:set_config",
    "statusline-install": "claudex_doctor.usage.settings:install",
}


def resolve(name: str) -> Callable[..., PrimitiveResult]:
    try:
        target = PRIMITIVES[name]
    except KeyError:
        raise PrimitiveError(f"unknown primitive {name!r}") from None
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def apply(name: str, paths: Any, *, dry_run: bool = False, **args: Any) -> PrimitiveResult:
    return resolve(name)(paths, dry_run=dry_run, **args)
