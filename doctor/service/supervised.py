"""The `service-install` and `service-uninstall` primitives: hand the proxy to the user's service manager.

install    write the unit (systemd) or agent (launchd) of `service.supervisor` for this home, atomically
           (a backup of an older one is kept), stop the proxy `start` launched (the supervisor takes
           over the port), enable and start the service, and wait until this home's proxy answers.
uninstall  stop and disable the service, remove its file (a backup is kept), reload the manager.

Where no user service manager answers, install refuses and names the fallback: the wrapper's
opt-in auto-start (`claudex-doctor set-env CLAUDEX_AUTOSTART=1`). `dry_run` shows the file's text
and every command, and runs none of them. See references/service.md.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from claudex_doctor.base import atomic, files, journal
from claudex_doctor.base.paths import display
from claudex_doctor.base.platform import ServiceManager
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.service import supervisor

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

REFERENCE = "references/service.md#"
FALLBACK = "claudex-doctor set-env CLAUDEX_AUTOSTART=1"


def _d(paths: Paths, path) -> str:
    return display(path, paths.user_home)


def _refuse_without_manager(found: supervisor.Detected) -> PrimitiveError:
    return PrimitiveError(f"{found.reason}. Without a user service manager nothing restarts the proxy after a "
                          f"reboot; instead let the claudex wrapper start it when it is down: `{FALLBACK}` "
                          "(then `claudex` starts the proxy itself, and waits until it answers)",
                          reference=REFERENCE + "no-user-service-manager",
                          details={"manager": found.to_dict(), "fallback": FALLBACK})


def install(paths: Paths, *, dry_run: bool = False, timeout: float = 20.0) -> PrimitiveResult:
    from claudex_doctor.service import control

    control.require(paths)
    if "\n" in str(paths.home.absolute()):
        raise PrimitiveError("the home's path contains a line break, which a service file cannot hold; "
                             "move the home (--home) to a plain path")
    found = supervisor.detect()
    manager = found.manager
    target = supervisor.service_file(paths, manager)
    if target is None:
        raise _refuse_without_manager(found)
    content = supervisor.render(paths, manager)
    existing = files.read_bytes(target, files.SMALL_CAP) if os.path.lexists(target) else None
    same = existing is not None and existing.ok and existing.data == content
    changes: list[str] = []
    shown = _d(paths, target)
    details: dict = {"manager": manager, "path": shown, "available": found.available,
                     "content": content.decode("utf-8")}
    if not same:
        changes.append(f"{'rewrite' if existing is not None else 'write'} {shown}: runs "
                       f"{_d(paths, paths.launcher)}, restarts it when it fails, starts it at login")
    if not found.available and not dry_run:
        raise _refuse_without_manager(found)
    reload = supervisor.reload_command(found) if found.tool else None
    enable = supervisor.command(paths, "enable", found) if found.tool else None
    owner = control.identify(paths, control.endpoint(control._ctx(paths))[1])
    launched = owner.running is not None and owner.supervisor is None
    if control.held_by_another(owner) and not dry_run:
        raise PrimitiveError(f"port {owner.port} is held by {control.describe(owner)}, which the service could not "
                             "replace: stop it first (claudex-doctor status names it), then install the service; "
                             "nothing was written", reference=REFERENCE + "port-owned-by-another-process",
                             details={"owner": owner.to_dict(paths.user_home)})
    if launched:
        changes.append("stop the proxy `claudex-doctor start` launched (the service takes over the port)")
    if reload:
        changes.append(f"`{' '.join(reload[1:])}`")
    if enable:
        changes.append(f"`{' '.join(enable[1:])}`")
    changes.append(f"wait up to {timeout:g}s until this home's proxy answers")
    if dry_run:
        message = f"would install the {manager} service {shown}"
        if not found.available:
            message += f" ({found.reason}; the fallback is `{FALLBACK}`)"
        return PrimitiveResult(True, message, changes, details=details)
    assert found.tool is not None and enable is not None
    backups: list[str] = []
    if launched:  # before the service file exists: stop must still act on the pidfile's process
        stopped = control.stop(paths)
        if not stopped.ok:
            return PrimitiveResult(False, f"could not stop the running proxy: {stopped.message}; nothing was "
                                          "installed", changes, backups, details)
    if not same:
        atomic.ensure_dir(target.parent, paths.user_home)
        saved = atomic.write_atomic(target, content, mode=0o644, keep_backup=existing is not None,
                                    backup_dir=paths.backups,
                                    root=paths.user_home)
        if saved:
            backups.append(str(saved))
    if reload:
        ok, said = supervisor.run(reload)
        if not ok:
            return PrimitiveResult(False, f"wrote {shown}, but `{' '.join(reload[1:])}` failed: {said}", changes,
                                   backups, details)
    if manager is ServiceManager.LAUNCHD:
        # bootstrap refuses an agent that is already loaded: unload the old definition first.
        supervisor.run(supervisor.command(paths, "disable", found))
    ok, said = supervisor.run(enable)
    if not ok:
        return PrimitiveResult(False, f"wrote {shown}, but `{' '.join(enable[1:])}` failed: {said}", changes,
                               backups, {**details, "reference": REFERENCE + "supervised-proxy-did-not-start"})
    started = control.start(paths, timeout=timeout)
    message = f"installed the {manager} service {shown}; {started.message}"
    result = PrimitiveResult(started.ok, message, changes, backups,
                             {**details, **{k: v for k, v in started.details.items() if k != "content"}})
    with contextlib.suppress(OSError):
        journal.record(paths, "service-install", "applied" if started.ok else "failed", message, changes, backups,
                       manager=str(manager))
    return result


def uninstall(paths: Paths, *, dry_run: bool = False) -> PrimitiveResult:
    found = supervisor.detect()
    target = supervisor.service_file(paths, found.manager)
    if target is None or not os.path.lexists(target):
        return PrimitiveResult(True, "no service is installed for this home", [],
                               details={"manager": found.manager})
    shown = _d(paths, target)
    changes = []
    disable = supervisor.command(paths, "disable", found) if found.available and found.tool else None
    if disable:
        changes.append(f"`{' '.join(disable[1:])}` (stops the proxy it runs)")
    changes.append(f"remove {shown} (a backup is kept)")
    reload = supervisor.reload_command(found) if found.available and found.tool else None
    if reload:
        changes.append(f"`{' '.join(reload[1:])}`")
    if dry_run:
        return PrimitiveResult(True, f"would uninstall {shown}", changes, details={"manager": found.manager})
    atomic.removable(target, paths.user_home)  # refused (a named pipe, a folder) before anything is stopped
    if disable:
        ok, said = supervisor.run(disable)
        if not ok:
            return PrimitiveResult(False, f"`{' '.join(disable[1:])}` failed: {said}; {shown} was left in place",
                                   changes, details={"manager": found.manager})
    saved = atomic.remove(target, paths.user_home, paths.backups if paths.home.is_dir() else None)
    if reload:
        supervisor.run(reload)
    message = f"uninstalled {shown}; `claudex-doctor start` runs the proxy until the next reboot"
    with contextlib.suppress(OSError):
        journal.record(paths, "service-uninstall", "applied", message, changes, [str(saved)] if saved else [])
    return PrimitiveResult(True, message, changes, [str(saved)] if saved else [], details={"manager": found.manager})
