"""The `upgrade` primitive: change the CLIProxyAPI binary with a way back.

    apply(paths, *, dry_run=False, version=None, binary=None, timeout=20.0, env=None, status=None)

1. Obtain the new binary beside the current one (`.cli-proxy-api.new` in the home): `binary` is copied,
   `version` (a tag such as v7.2.140) is built with Go from the module proxy (`proxy.build`), neither
   means the known-good pin. It must answer `-h` with a version line, else nothing changes.
2. Stop this home's proxy if it runs (through its supervisor when one is installed).
3. Swap: the current binary becomes `cli-proxy-api.previous` (a hard link, then a rename), the new one
   takes its name with one rename. Two binaries are kept: the current one and the one before it. A rename
   that fails undoes the ones before it (the binaries stay as they were); the folder is synced after.
4. Start the proxy and probe it: /healthz answers as this home's proxy, the binary reports the
   version it was built as, and (with a credential in the home) /v1/models lists a model.
5. When the probe fails, roll back by itself: the previous binary takes the name again (and the one kept
   before it its own), the proxy is started again, and the failed binary is removed; the result says
   what failed and that it rolled back.
A proxy that was not running before is stopped again after a good probe. When the port is held by a
process this home did not start (another program, or this home's proxy started some other way), the
upgrade refuses before it obtains anything: it could not stop that process, and a probe would reach it.
The new binary is built (or copied) before the home's lock is taken, so a build of minutes blocks no other
primitive; under the lock the port is looked at again (and refused as above), then steps 1 (its place
beside the current one) to 5 run. Journaled. `dry_run` says all of this and obtains nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.base import atomic, journal
from claudex_doctor.base.paths import display
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.proxy import build, versions

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

PREVIOUS = "cli-proxy-api.previous"
STAGED = ".cli-proxy-api.new"
REFERENCE = "references/binaries.md#"


def _d(paths: Paths, path) -> str:
    return display(path, paths.user_home)


def previous_path(paths: Paths) -> Path:
    return paths.home / PREVIOUS


def apply(paths: Paths, *, dry_run: bool = False, version: str | None = None, binary: str | os.PathLike | None = None,
          timeout: float = 20.0, env: Mapping[str, str] | None = None, status=None) -> PrimitiveResult:
    from claudex_doctor.base import lock
    from claudex_doctor.service import control

    env = dict(os.environ if env is None else env)
    if version and binary:
        raise PrimitiveError("give --version or --binary, not both")
    control.require(paths)
    if binary:
        given = Path(binary).expanduser().absolute()
        state, line = build.probe(given)
        if state != "ok":
            raise PrimitiveError(f"--binary {given}: {line}; nothing was changed",
                                 reference=REFERENCE + "upgrade-rolled-back")
        wanted = versions.from_help(line)
        source = f"copy of {given}"
    else:
        wanted = version or build.pinned_version()
        if not build.valid_version(wanted):
            raise PrimitiveError(f"{wanted!r} is not a CLIProxyAPI version (a tag such as {build.pinned_version()})")
        source = f"CLIProxyAPI {wanted} built with Go from {build.module_for(wanted)}"
        if build.which("go", env) is None:
            raise PrimitiveError(f"go is not on PATH: building CLIProxyAPI {wanted} needs Go; install Go, or pass "
                                 "--binary PATH (a cli-proxy-api you already have); nothing was changed")
    plan = _plan(paths, source, wanted, timeout, refuse=not dry_run)
    if dry_run:
        return PrimitiveResult(True, f"would upgrade CLIProxyAPI {plan.details['from'] or '(unknown version)'} -> "
                                     f"{wanted or '(the given binary)'}", plan.changes, details=plan.details)

    # The build takes minutes: it runs outside the home and before the home's lock, so every other
    # primitive can change the home meanwhile. The lock is held from the second look at the port on.
    with tempfile.TemporaryDirectory(prefix="claudex-upgrade-") as scratch:
        if binary:  # copied once, under the lock, into its place beside the current binary
            built, how = given, f"copied from {given}"
        else:
            assert wanted is not None
            built = Path(scratch) / "cli-proxy-api"
            how = build.build_version(wanted, built, env, status)
        with lock.hold(paths.home, lock.PRIMITIVE_WAIT):
            control.require(paths)
            plan = _plan(paths, source, wanted, timeout, refuse=True)  # what runs now, not before the build
            staged = paths.home / STAGED
            atomic.install_file(built, staged, 0o755, keep_backup=False, root=paths.home)
            try:
                return _check_and_swap(paths, staged, plan, wanted, binary is not None, how, timeout)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    staged.unlink()


def _check_and_swap(paths: Paths, staged: Path, plan: _Plan, wanted: str | None, given: bool, how: str,
                    timeout: float) -> PrimitiveResult:
    state, line = build.probe(staged)
    got = versions.from_help(line) if state == "ok" else None
    if state != "ok":
        raise PrimitiveError(f"the new binary does not run: {line}; nothing was changed",
                             reference=REFERENCE + "upgrade-rolled-back")
    if wanted and got and got != wanted and not given:
        raise PrimitiveError(f"the binary built for {wanted} reports {got}; nothing was changed")
    details = plan.details
    if plan.current_runs and _same(staged, paths.binary):
        return PrimitiveResult(True, f"already at {got or details['from']}: the new binary is the same as the "
                                     "current one", [], details={**details, "to": got})
    details.update(to=got or wanted, how=how)
    return _swap_and_probe(paths, staged, plan.was_running, timeout, plan.changes, details)


@dataclass
class _Plan:
    changes: list[str]
    details: dict
    was_running: bool
    current_runs: bool  # the current binary answers -h


def _plan(paths: Paths, source: str, wanted: str | None, timeout: float, *, refuse: bool) -> _Plan:
    """What the upgrade will do given what runs now; with `refuse`, a port held by a process this home did
    not start is a refusal (the upgrade could not stop it, and its probe would reach that process)."""
    from claudex_doctor.service import control
    from claudex_doctor.service.owner import OwnerState

    current_state, current_line = build.probe(paths.binary)
    current = versions.from_help(current_line) if current_state == "ok" else None
    owner = control.identify(paths, control.endpoint(control._ctx(paths))[1])
    if refuse and control.held_by_another(owner):
        raise PrimitiveError(f"port {owner.port} is held by {control.describe(owner)}, which this home did not "
                             "start: the upgrade could not stop it, and its probe would reach that process, not "
                             "the new binary. Stop it first (claudex-doctor status names it), then upgrade; "
                             "nothing was changed", reference="references/service.md#port-owned-by-another-process",
                             details={"owner": owner.to_dict(paths.user_home)})
    was_running = owner.running is not None or owner.state is OwnerState.OURS
    changes = [f"obtain the new binary beside the current one ({_d(paths, paths.home / STAGED)}): {source}",
               f"check that it runs (`-h` prints its version{f', {wanted}' if wanted else ''})"]
    if was_running:
        changes.append("stop this home's proxy" + (f" ({owner.supervisor})" if owner.supervisor else ""))
    changes += [f"keep the current binary{f' ({current})' if current else ''} as {_d(paths, previous_path(paths))} "
                "(the one kept before it is replaced)",
                f"put the new binary in place of {_d(paths, paths.binary)} with one rename",
                f"start the proxy and probe it (health, version, models; up to {timeout:g}s)",
                "on a failed probe: put the previous binary back and start it again"]
    if not was_running:
        changes.append("stop the proxy again after the probe (it was not running)")
    details = {"from": current, "to": wanted, "was_running": was_running, "binary": _d(paths, paths.binary),
               "previous": _d(paths, previous_path(paths))}
    return _Plan(changes, details, was_running, current_state == "ok")


def _same(a: Path, b: Path) -> bool:
    import filecmp
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _put(source: Path, target: Path, tmp: Path) -> None:
    """`source`, also under the name `target` (a hard link, else a copy, given the name with one rename);
    a link is kept as the link it is. Nothing is left under `tmp`."""
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        try:
            os.link(source, tmp, follow_symlinks=False)
        except OSError:
            shutil.copy2(source, tmp, follow_symlinks=False)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def _undone_on_failure(directory: Path) -> Iterator[list[Callable[[], object]]]:
    """Steps append how to undo what they did; when a later one fails, those run newest first (each one
    that fails is skipped) and the failure goes on. The folder is synced either way."""
    undo: list[Callable[[], object]] = []
    try:
        yield undo
    except BaseException:
        for step in reversed(undo):
            with contextlib.suppress(OSError):
                step()
        raise
    finally:
        atomic.fsync_dir(directory)


def _swap(paths: Paths, staged: Path, kept: Path) -> None:
    """The binary kept before becomes `kept`, the current one also cli-proxy-api.previous, and `staged`
    takes the binary's name; a failed step puts back what the steps before it changed."""
    previous = previous_path(paths)
    binary = atomic.target_in(paths.binary, paths.home) if not paths.binary.is_symlink() else paths.binary
    with _undone_on_failure(paths.home) as undo:
        if os.path.lexists(previous):
            os.replace(previous, kept)
            undo.append(lambda: os.replace(kept, previous))
        else:
            undo.append(lambda: previous.unlink(missing_ok=True))
        _put(paths.binary, atomic.target_in(previous, paths.home), paths.home / f".{PREVIOUS}.tmp")
        os.replace(staged, binary)


def _roll_back(paths: Paths, kept: Path) -> None:
    """The previous binary takes the name again (one rename over the failed one, so a binary is always in
    place), then the one kept before the upgrade its own name."""
    try:
        _put(previous_path(paths), paths.binary, paths.home / ".cli-proxy-api.rollback")
        if os.path.lexists(kept):
            os.replace(kept, previous_path(paths))  # everything as it was before the upgrade
        else:
            previous_path(paths).unlink(missing_ok=True)  # there was none: the copy of the current binary goes
    finally:
        atomic.fsync_dir(paths.home)


def _swap_and_probe(paths: Paths, staged: Path, was_running: bool, timeout: float, changes: list[str],
                    details: dict) -> PrimitiveResult:
    from claudex_doctor.service import control

    if was_running:
        stopped = control.stop(paths)
        if not stopped.ok:
            return PrimitiveResult(False, f"could not stop the proxy: {stopped.message}; nothing was changed",
                                   changes, details=details)
    kept = paths.home / f".{PREVIOUS}.kept"  # the binary kept before this upgrade, until the probe says good
    try:
        _swap(paths, staged, kept)
    except OSError as exc:
        restarted = control.start(paths, timeout=timeout) if was_running else None
        back = "" if restarted is None else (f"; the proxy runs again ({restarted.message})" if restarted.ok
                                             else f"; starting it again failed: {restarted.message}")
        message = f"could not put the new binary in place ({exc.strerror or exc}); the binaries are as they " \
                  f"were{back}"
        with contextlib.suppress(OSError):
            journal.record(paths, "upgrade", "failed", message, changes, [],
                           **{k: details.get(k) for k in ("from", "to")})
        return PrimitiveResult(False, message, changes, details=details)
    problem = _probe(paths, timeout, details.get("to"))
    if problem is None:
        if not was_running:
            control.stop(paths)
        with contextlib.suppress(FileNotFoundError):
            kept.unlink()  # two binaries are kept: the new one and the one before it
        message = f"upgraded CLIProxyAPI {details.get('from') or '(unknown)'} -> {details.get('to')}; the previous " \
                  f"binary is kept as {_d(paths, previous_path(paths))}"
        with contextlib.suppress(OSError):
            journal.record(paths, "upgrade", "applied", message, changes, [], **{k: details.get(k)
                                                                               for k in ("from", "to")})
        return PrimitiveResult(True, message, changes, details=details)
    # Roll back: the previous binary takes the name again; the failed one is removed.
    with contextlib.suppress(Exception):
        control.stop(paths)
    _roll_back(paths, kept)
    restarted = control.start(paths, timeout=timeout) if was_running else None
    back = "" if restarted is None else (f"; the previous binary runs again ({restarted.message})" if restarted.ok
                                         else f"; starting the previous binary failed too: {restarted.message}")
    message = f"the upgrade to {details.get('to')} failed its probe ({problem}) and was rolled back to " \
              f"{details.get('from') or 'the previous binary'}{back}"
    details.update(rolled_back=True, probe=problem, reference=REFERENCE + "upgrade-rolled-back")
    with contextlib.suppress(OSError):
        journal.record(paths, "upgrade", "rolled back", message, changes, [],
                       **{k: details.get(k) for k in ("from", "to", "probe")})
    return PrimitiveResult(False, message, changes, details=details)


def _probe(paths: Paths, timeout: float, expected: str | None) -> str | None:
    """Start the new binary and look at it: None when it is good, else what failed, in a few words."""
    from claudex_doctor.service import control

    state, line = build.probe(paths.binary)
    if state != "ok":
        return f"it does not run: {line}"
    got = versions.from_help(line)
    if expected and got and got != expected:
        return f"it reports {got}, not {expected}"
    try:
        started = control.start(paths, timeout=timeout)
    except PrimitiveError as exc:
        return str(exc)
    if not started.ok:
        return started.message
    if started.details.get("already_running"):  # an old process answers: no proof that the new binary runs
        return f"the new binary was not started: {started.message}"
    if started.details.get("models_ready") is False:
        return "/v1/models lists no model with the home's credential"
    return None
