"""The stack primitives by name: the same functions back the CLI commands and `--fix`.

A primitive is `apply(paths, *, dry_run=False, **args) -> base.result.PrimitiveResult`. It says what
it will change before it does (in `changes`, also when dry-running), writes atomically with backups,
never touches a process or file that is not the stack's own, records what it applied in the journal,
and raises `errors.PrimitiveError` when it refuses.
"""

from __future__ import annotations

import errno
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claudex_doctor.base import atomic
from claudex_doctor.base.paths import Paths, display
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.errors import WRITE_ERRNOS, PrimitiveError

# name -> "module:function" (imported lazily)
PRIMITIVES: dict[str, str] = {
    "bootstrap": "claudex_doctor.bootstrap:apply",
    "sync-auth": "claudex_doctor.auth.sync:apply",
    "secure-auth": "claudex_doctor.auth.permissions:apply",
    "start": "claudex_doctor.service.control:start",
    "stop": "claudex_doctor.service.control:stop",
    "restart": "claudex_doctor.service.control:restart",
    "set-env": "claudex_doctor.config.edit:set_env",
    "set-config": "claudex_doctor.config.edit:set_config",
    "statusline-install": "claudex_doctor.usage.settings:install",
    "service-install": "claudex_doctor.service.supervised:install",
    "service-uninstall": "claudex_doctor.service.supervised:uninstall",
    "upgrade": "claudex_doctor.proxy.upgrade:apply",
}


def resolve(name: str) -> Callable[..., PrimitiveResult]:
    try:
        target = PRIMITIVES[name]
    except KeyError:
        raise PrimitiveError(f"unknown primitive {name!r}") from None
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


# Primitives that take the home's lock themselves, for part of their work only: `upgrade` builds the new
# binary (minutes) before it takes the lock, so nothing else waits on a build.
LOCKS_ITSELF = frozenset({"upgrade"})


def apply(name: str, paths: Paths, *, dry_run: bool = False, **args: Any) -> PrimitiveResult:
    """Run a primitive under the home's lock, so concurrent changes never lose one another. Before the home
    exists there is nothing to guard (bootstrap creates it; the others refuse). The ones in LOCKS_ITSELF
    hold it themselves while they change the home; a busy lock is refused the same way."""
    from claudex_doctor.base import lock

    primitive = resolve(name)
    try:
        if not paths.home.is_dir() or name in LOCKS_ITSELF:
            return primitive(paths, dry_run=dry_run, **args)
        with lock.hold(paths.home, lock.PRIMITIVE_WAIT):
            return primitive(paths, dry_run=dry_run, **args)
    except OSError as exc:
        # A write the stack's policy refused (a link out of the stack, a folder in a file's place) or the
        # machine refused (a full disk, a read-only file system): a refusal that names the file, not a bug.
        if not isinstance(exc, atomic.Refused) and exc.errno not in WRITE_ERRNOS | {errno.EISDIR, errno.ENOTDIR,
                                                                                   errno.EACCES, errno.EPERM}:
            raise
        shown = display(Path(exc.filename), paths.user_home) if exc.filename else ""
        where = f"{shown}: " if shown and shown not in (exc.strerror or "") else ""
        raise PrimitiveError(f"{name}: {where}{exc.strerror or exc}; nothing more was changed") from None
    except lock.Busy as exc:
        raise PrimitiveError(str(exc), reference="references/service.md#service-lock-busy") from None
    except lock.Unusable as exc:
        raise PrimitiveError(f"{exc}; see `claudex-doctor --only home.layout`") from None
