"""The proxy as a service: start, stop, restart (primitives) and status.

start   launch run.sh in its own session (stdin /dev/null, stdout+stderr appended to the log file),
        record it in the pidfile, wait for GET /healthz. Refuses when a process that is not this home's
        proxy holds the port; a no-op when ours already answers.
stop    end only the process the pidfile proves is ours (pid + start time + this home), SIGTERM then
        SIGKILL, the whole process group start created. Refuses a foreign listener. "Not running" is success.
restart stop, then start, under one lock.

With a supervisor installed (`service install`: a systemd user unit, a launchd agent) and answering,
start, stop and restart ask it instead (`systemctl --user start|stop|restart <unit>`, `launchctl
kickstart|kill`), then wait the same way; the supervisor, not a pidfile, then proves the proxy is ours.

Every step is planned first (`changes`), so `dry_run=True` describes exactly what would happen and
touches nothing. Check-then-launch runs under an exclusive flock on the home's lock file, so two
concurrent starts yield one proxy. See references/service.md.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from claudex_doctor.base import atomic, files, journal
from claudex_doctor.base.files import Problem, is_executable
from claudex_doctor.base.paths import display
from claudex_doctor.base.proc import SPAWN_LOCK
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.config.facts import local_key
from claudex_doctor.errors import PrimitiveError
from claudex_doctor.service.owner import Owner, OwnerState, ProcInfo, identify
from claudex_doctor.service.pidfile import PidState, remove_pidfile, write_pidfile
from claudex_doctor.service.process import CHILDREN, Ending, adopt, group_alive, terminate, wait_gone
from claudex_doctor.service.proxylog import exit_reason, log_since, mark_log

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

POLL = 0.1
REFERENCE = "references/service.md#"


class Refused(PrimitiveError):
    """A refusal about a process on the port: carries the reference page and who holds the port."""

    def __init__(self, message: str, anchor: str, owner: Owner | None = None) -> None:
        super().__init__(message, reference=REFERENCE + anchor,
                         details={"owner": owner.to_dict() if owner is not None else None})


def _ctx(paths: Paths):
    from claudex_doctor.config.facts import StackFiles
    return StackFiles(paths)


def endpoint(ctx) -> tuple[str, int]:
    """(host to connect to, port) for the proxy this home's config describes."""
    from claudex_doctor.config.facts import config_host, gateway_port

    host = config_host(ctx) or "127.0.0.1"
    if host in ("", "0.0.0.0", "localhost"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, gateway_port(ctx)


def _d(paths: Paths, path) -> str:
    return display(path, paths.user_home)


def describe(owner: Owner) -> str:
    """One phrase naming who holds the port, for refusals and findings."""
    info = owner.process
    if owner.state is OwnerState.UNKNOWN or info is None:
        return "a process claudex-doctor cannot see (another user's?)"
    if owner.state is OwnerState.OTHER_HOME:
        return f"{info.label()}, the proxy of another home ({owner.other_home})"
    return info.label()


def held_by_another(owner: Owner) -> bool:
    """The port is held by a process this home did not start (another program, another home's proxy, this
    home's proxy started some other way, or one this user cannot see): a change that would replace the
    proxy (service install, upgrade) refuses before it changes anything, naming it with describe()."""
    return owner.state in (OwnerState.FOREIGN, OwnerState.OTHER_HOME, OwnerState.UNKNOWN, OwnerState.UNRECORDED)


# -- preconditions and the lock -------------------------------------------------

def require(paths: Paths) -> None:
    """Refuse to launch what cannot run, with the next step."""
    home = _d(paths, paths.home)
    if not paths.home.is_dir():
        raise PrimitiveError(f"the runtime home {home} does not exist: create it with `claudex-doctor bootstrap`")
    if not paths.binary.exists():
        raise PrimitiveError(f"{_d(paths, paths.binary)} does not exist: install it with `claudex-doctor bootstrap`")
    if not is_executable(paths.binary):
        raise PrimitiveError(f"{_d(paths, paths.binary)} is not executable: `chmod +x` it, "
                             "or reinstall it with `claudex-doctor bootstrap`")
    if not paths.launcher.is_file():
        raise PrimitiveError(f"{_d(paths, paths.launcher)} does not exist: recreate it with `claudex-doctor bootstrap`")
    from claudex_doctor.base.files import read_yaml
    loaded = read_yaml(paths.config)
    if not loaded.ok:
        hint = "recreate it with `claudex-doctor bootstrap`" if loaded.problem is Problem.MISSING else \
            "see `claudex-doctor --only config.valid`"
        raise PrimitiveError(f"cannot start the proxy: {loaded.message}; {hint}")


@contextlib.contextmanager
def locked(paths: Paths, wait: float) -> Iterator[None]:
    """The home's lock (base.lock), waiting at most `wait` seconds; a busy or unusable lock is a refusal."""
    from claudex_doctor.base import lock

    try:
        with lock.hold(paths.home, wait):
            yield
    except lock.Busy:
        raise Refused(f"another claudex-doctor is changing this home ({_d(paths, paths.home)}) and has for more "
                      f"than {wait:g}s; try again", "service-lock-busy") from None
    except lock.Unusable as exc:
        raise PrimitiveError(f"{exc}; see `claudex-doctor --only home.layout`") from None


# -- start --------------------------------------------------------------------------

def start(paths: Paths, *, dry_run: bool = False, timeout: float = 15.0) -> PrimitiveResult:
    """Start this home's proxy in the background and wait (at most `timeout` s) until /healthz answers."""
    require(paths)
    ctx = _ctx(paths)
    if dry_run:
        return _start(paths, ctx, timeout, dry_run=True)
    with locked(paths, wait=timeout + 10):
        result = _start(paths, ctx, timeout)
    _journal(paths, "start", result)
    return result


def _refuse_start(paths: Paths, owner: Owner) -> Refused:
    port = owner.port
    if owner.state is OwnerState.OTHER_HOME:
        return Refused(f"port {port} is held by {describe(owner)}; stop it with "
                       f"`claudex-doctor --home {owner.other_home} stop`, or give this home another port",
                       "our-proxy-from-another-home", owner)
    if owner.state is OwnerState.UNKNOWN:
        return Refused(f"port {port} is in use by {describe(owner)}; free it, or move the gateway to "
                       "another port in config.yaml and the env file together", "port-owner-not-visible", owner)
    return Refused(f"port {port} is held by {describe(owner)}, which is not this home's proxy; claudex-doctor "
                   "will not touch it. Stop that program, or move the gateway to another port in config.yaml "
                   "and the env file together", "port-owned-by-another-process", owner)


def _start(paths: Paths, ctx, timeout: float, dry_run: bool = False, changes: list[str] | None = None) -> PrimitiveResult:
    host, port = endpoint(ctx)
    owner = identify(paths, port, host)
    changes = [] if changes is None else changes
    url = _url(host, port, "/healthz")
    base = {"port": port, "host": host, "log": _d(paths, paths.log_file), "owner": owner.state}
    if owner.state is OwnerState.OURS and owner.process is not None:
        pid = owner.process.pid
        answer = _wait_healthy(paths, host, port, min(timeout, 2.0) if not dry_run else 0)
        if answer.get("ok"):
            return PrimitiveResult(True, f"already running: pid {pid} answers on {host}:{port}", changes,
                                   details={**base, "pid": pid, "already_running": True})
        return PrimitiveResult(False, f"this home's proxy (pid {pid}) listens on port {port} but GET /healthz fails "
                                      f"({answer.get('error') or answer.get('status')}): run `claudex-doctor restart`",
                               changes, details={**base, "pid": pid, "health": answer,
                                                 "reference": REFERENCE + "proxy-did-not-become-healthy"})
    if owner.state is OwnerState.UNRECORDED and owner.process is not None:
        pid = owner.process.pid
        return PrimitiveResult(True, f"already running: pid {pid} runs from this home, but was not started by "
                                     "claudex-doctor, so stop/restart will not manage it", changes,
                               details={**base, "pid": pid, "already_running": True, "unrecorded": True})
    if owner.state in (OwnerState.FOREIGN, OwnerState.OTHER_HOME, OwnerState.UNKNOWN):
        raise _refuse_start(paths, owner)
    if owner.running is not None:  # ours, alive, not (yet) listening
        pid = owner.running.pid
        if not dry_run and _wait_healthy(paths, host, port, timeout).get("ok"):
            return PrimitiveResult(True, f"already running: pid {pid} answers on {host}:{port}", changes,
                                   details={**base, "pid": pid, "already_running": True})
        return PrimitiveResult(False, f"this home's proxy (pid {pid}) runs but does not listen on port {port}: "
                                      "run `claudex-doctor restart`", changes,
                               details={**base, "pid": pid, "reference": REFERENCE + "proxy-running-but-not-listening"})
    if owner.pidfile.stale:
        changes.append(f"remove stale pidfile {_d(paths, paths.pidfile)} ({owner.pidfile.message})")
    found = supervised(paths)
    if found is not None:
        from claudex_doctor.service import supervisor

        argv = supervisor.command(paths, "start", found)
        changes.append(f"ask {found.manager} to start {_service_name(paths, found)} (`{' '.join(argv[1:])}`)")
        changes.append(_wait_words(timeout, url))
        if dry_run:
            return PrimitiveResult(True, f"would start the proxy on {host}:{port} through {found.manager}", changes,
                                   details=base)
        if owner.pidfile.stale:
            remove_pidfile(paths)
        return _through_supervisor(paths, argv, host, port, timeout, changes, base,
                                   local_key(ctx) if paths.proxy_auth.exists() else None)
    argv = [str(paths.launcher)] if is_executable(paths.launcher) else ["/bin/sh", str(paths.launcher)]
    changes.append(f"launch {_d(paths, paths.launcher)} in the background "
                   f"(output appended to {_d(paths, paths.log_file)})")
    changes.append(f"record it in {_d(paths, paths.pidfile)}")
    changes.append(_wait_words(timeout, url))
    if dry_run:
        return PrimitiveResult(True, f"would start the proxy on {host}:{port}", changes, details=base)
    if owner.pidfile.stale:
        remove_pidfile(paths)
    key = local_key(ctx) if paths.proxy_auth.exists() else None
    return _launch(paths, argv, host, port, timeout, changes, base, key)


def _launch(paths: Paths, argv: list[str], host: str, port: int, timeout: float, changes: list[str], base: dict,
            key: str | None = None) -> PrimitiveResult:
    import psutil

    from claudex_doctor.service import supervisor

    try:
        offset = mark_log(paths.log_file, f"claudex-doctor start: {' '.join(argv)} (port {port})")
        log = atomic.open_append(paths.log_file)
    except OSError as exc:
        raise PrimitiveError(f"cannot start: the log {_d(paths, paths.log_file)} cannot take the proxy's output "
                             f"({exc.strerror or exc}); move it away, then start again") from None
    began = time.monotonic()
    try:
        with SPAWN_LOCK:
            proc = subprocess.Popen(argv, cwd=paths.home, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                                    env={**os.environ, supervisor.STARTED_BY: str(files.real_path(paths.home))})
    except OSError as exc:
        raise PrimitiveError(f"cannot run {_d(paths, paths.launcher)}: {exc.strerror or exc}") from None
    finally:
        os.close(log)
    adopt(proc)
    try:
        ctime = psutil.Process(proc.pid).create_time()
        write_pidfile(paths, proc.pid, ctime, argv, port)
    except (psutil.Error, OSError) as exc:
        # A proxy nobody recorded could never be stopped by us: end it rather than leave it running.
        terminate(ProcInfo(proc.pid), proc.pid, 2.0)
        CHILDREN.pop(proc.pid, None)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        raise PrimitiveError(f"started the proxy but could not record it in {_d(paths, paths.pidfile)}: "
                             f"{why}{where}; it was stopped again, nothing runs unrecorded") from None
    details = {**base, "pid": proc.pid}

    def exited() -> PrimitiveResult | None:
        code = proc.poll()
        if code is not None:
            CHILDREN.pop(proc.pid, None)  # reaped by poll()
            if not group_alive(proc.pid):
                return _exited(paths, proc.pid, code, offset, port, changes, details)
        return None

    waited = _wait_until_ours(paths, host, port, key, began, timeout, details, exited)
    if isinstance(waited, PrimitiveResult):
        return waited
    if waited is not None:
        return PrimitiveResult(True, f"started: pid {details['pid']} answers on {host}:{port} "
                                     f"after {details['started_in']:.1f}s", changes, details=details)
    tail = log_since(paths.log_file, offset)
    details.update(log_tail=tail, reference=REFERENCE + "proxy-did-not-become-healthy")
    return PrimitiveResult(False, f"the proxy (pid {proc.pid}) is running but GET /healthz did not answer within "
                                  f"{timeout:g}s; it was left running: see {_d(paths, paths.log_file)}, or "
                                  "`claudex-doctor stop`", changes, details=details)


def supervised(paths: Paths):
    """The user service manager running this home's installed service, when it answers; else None
    (no service installed: a file read, nothing runs)."""
    from claudex_doctor.service import supervisor

    if supervisor.installed_file(paths) is None:
        return None
    found = supervisor.detect()
    return found if found.available else None


def _service_name(paths: Paths, found) -> str:
    from claudex_doctor.base.platform import ServiceManager
    from claudex_doctor.service import supervisor

    if found.manager is ServiceManager.SYSTEMD:
        return f"the unit {supervisor.unit_name(paths)}"
    return f"the agent {supervisor.label(paths)}"


def _through_supervisor(paths: Paths, argv: list[str], host: str, port: int, timeout: float, changes: list[str],
                        base: dict, key: str | None) -> PrimitiveResult:
    """Ask the supervisor to start (or restart) the service, then wait like `start` until it answers."""
    from claudex_doctor.service import supervisor

    offset = _log_size(paths)
    began = time.monotonic()
    ok, said = supervisor.run(argv)
    details = {**base, "supervisor": argv[0].rsplit("/", 1)[-1]}
    if not ok:
        details.update(reference=REFERENCE + "supervised-proxy-did-not-start")
        return PrimitiveResult(False, f"`{' '.join(argv[1:])}` failed: {said or 'no output'}", changes,
                               details=details)
    owner = _wait_until_ours(paths, host, port, key, began, timeout, details)
    if isinstance(owner, Owner):
        details.update(supervised_by=owner.supervisor)
        return PrimitiveResult(True, f"started: pid {details['pid']} answers on {host}:{port} after "
                                     f"{details['started_in']:.1f}s ({owner.supervisor or 'supervised'})", changes,
                               details=details)
    tail = log_since(paths.log_file, offset)
    details.update(log_tail=tail[-20:], reference=REFERENCE + "supervised-proxy-did-not-start")
    state = supervisor.state(paths)
    return PrimitiveResult(False, f"the supervisor started the service ({state.words}) but GET /healthz did not "
                                  f"answer as this home's proxy within {timeout:g}s: see {_d(paths, paths.log_file)}",
                           changes, details=details)


def _wait_until_ours(paths: Paths, host: str, port: int, key: str | None, began: float, timeout: float,
                     details: dict, exited: Callable[[], PrimitiveResult | None] | None = None
                     ) -> Owner | PrimitiveResult | None:
    """Poll until /healthz answers as this home's proxy (its owner is returned; `details` gets its pid, the
    seconds it took and whether /v1/models lists a model), `exited` says the launch ended (its result is
    returned), or `timeout` seconds after `began` have passed (None)."""
    deadline = began + timeout
    while True:
        if health(host, port, timeout=0.5).get("ok"):
            owner = identify(paths, port, host)
            if owner.state is OwnerState.OURS and owner.process is not None:
                # /healthz answers before the credentials are loaded; a request in that gap gets
                # "unknown provider for model". Ready = /v1/models lists a model (bounded).
                details["models_ready"] = _wait_models(host, port, key, min(3.0, max(0.0, deadline - time.monotonic())))
                details.update(pid=owner.process.pid, started_in=round(time.monotonic() - began, 2))
                return owner
        ended = exited() if exited is not None else None
        if ended is not None:
            return ended
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL)


def _log_size(paths: Paths) -> int:
    try:
        return paths.log_file.stat().st_size
    except OSError:
        return 0


def _exited(paths: Paths, pid: int, code: int, offset: int, port: int, changes: list[str], details: dict) -> PrimitiveResult:
    remove_pidfile(paths)
    changes.append(f"remove {_d(paths, paths.pidfile)} (the proxy exited)")
    tail = log_since(paths.log_file, offset)
    reason = exit_reason(tail, port) or f"it wrote nothing useful to {_d(paths, paths.log_file)}"
    details.update(exit_code=code, reason=reason, log_tail=tail[-20:], reference=REFERENCE + "proxy-exited-at-start")
    return PrimitiveResult(False, f"the proxy exited at start (status {code}): {reason}", changes, details=details)


def health(host: str, port: int, timeout: float = 1.0) -> dict:
    """GET /healthz with short timeouts: {"ok", "status", "body"} or {"ok": False, "error"}."""

    answer = _get(host, port, "/healthz", {}, timeout, 4096)
    if isinstance(answer, str):
        return {"ok": False, "error": answer}
    status, text = answer
    try:
        ok = status == 200 and files.loads_json(text).get("status") == "ok"
    except (ValueError, AttributeError):
        ok = False
    return {"ok": ok, "status": status, "body": text[:200]}


def _models_listed(host: str, port: int, key: str, timeout: float = 0.5) -> bool:

    answer = _get(host, port, "/v1/models", {"Authorization": f"Bearer {key}"}, timeout, 1 << 20)
    if isinstance(answer, str) or answer[0] != 200:
        return False
    try:
        data = files.loads_json(answer[1])
    except ValueError:
        return False
    return bool(isinstance(data, dict) and data.get("data"))


def _get(host: str, port: int, path: str, headers: dict[str, str], timeout: float, limit: int) -> tuple[int, str] | str:
    """(status, body) of one GET to the proxy on loopback, or what went wrong, in a few words. The whole
    exchange, headers included, takes at most about `timeout` seconds and `limit` bytes: a server that
    drips its answer or streams forever is cut off, never waited on."""
    from claudex_doctor.base import http

    # Plain http on loopback: no proxy from the environment, no CA bundle to load.
    got = http.get(_url(host, port, path), {"User-Agent": "claudex-doctor", "Connection": "close", **headers},
                   timeout=timeout, limit=limit, trust_env=False, verify=False)
    if got.timed_out:
        return f"the answer did not finish within {timeout:g}s"
    if got.error or got.status is None:
        return got.error[:120] or "no answer"
    return got.status, got.body.decode("utf-8", "replace")


def _wait_models(host: str, port: int, key: str | None, seconds: float) -> bool | None:
    """Wait until the proxy lists a model (its credential is loaded); None when there is nothing to wait for."""
    if not key:
        return None
    deadline = time.monotonic() + seconds
    while True:
        if _models_listed(host, port, key):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)


def _wait_healthy(paths: Paths, host: str, port: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        answer = health(host, port, timeout=0.5)
        if answer.get("ok") or time.monotonic() >= deadline:
            return answer
        time.sleep(POLL)


# -- stop ---------------------------------------------------------------------------

def stop(paths: Paths, *, dry_run: bool = False, timeout: float = 5.0) -> PrimitiveResult:
    """Stop the proxy this home started (never another process)."""
    if not paths.home.is_dir():
        return PrimitiveResult(True, f"not running: the runtime home {_d(paths, paths.home)} does not exist")
    ctx = _ctx(paths)
    if dry_run:
        return _stop(paths, ctx, timeout, dry_run=True)
    with locked(paths, wait=timeout + 10):
        result = _stop(paths, ctx, timeout)
    _journal(paths, "stop", result)
    return result


def _refuse_stop(owner: Owner) -> Refused:
    info = owner.process or ProcInfo(0)
    anchor = "stop-refused-not-our-process"
    if owner.state is OwnerState.UNRECORDED:
        return Refused(f"not stopping {info.label()}: it runs from this home but claudex-doctor did not start "
                       f"it (no matching pidfile). Stop it yourself (kill {info.pid}), then `claudex-doctor start`",
                       anchor, owner)
    if owner.state is OwnerState.OTHER_HOME:
        return Refused(f"not stopping {describe(owner)}: it belongs to another home; use "
                       f"`claudex-doctor --home {owner.other_home} stop`", anchor, owner)
    return Refused(f"not stopping {describe(owner)} on port {owner.port}: it is not this home's proxy. "
                   "Stop it yourself if it should not run", anchor, owner)


def _stop(paths: Paths, ctx, timeout: float, dry_run: bool = False) -> PrimitiveResult:
    host, port = endpoint(ctx)
    owner = identify(paths, port, host)
    changes: list[str] = []
    details = {"port": port, "owner": owner.state}
    found = supervised(paths)
    if found is not None:
        return _stop_supervised(paths, owner, found, timeout, changes, details, dry_run)
    target = owner.running
    if target is None:
        if owner.state in (OwnerState.UNRECORDED, OwnerState.OTHER_HOME, OwnerState.FOREIGN, OwnerState.UNKNOWN):
            raise _refuse_stop(owner)
        if owner.pidfile.state is not PidState.MISSING:
            changes.append(f"remove stale pidfile {_d(paths, paths.pidfile)} ({owner.pidfile.message})")
            if not dry_run:
                remove_pidfile(paths)
        return PrimitiveResult(True, "not running" + ("" if not changes else "; removed a stale pidfile"), changes,
                               details=details)
    group = owner.pidfile.pgid if owner.pidfile.pgid == owner.pidfile.pid else None
    what = f"its process group {group}" if group else f"pid {target.pid}"
    changes.append(f"stop this home's proxy ({what}): SIGTERM, then SIGKILL after {timeout:g}s")
    changes.append(f"remove {_d(paths, paths.pidfile)}")
    details["pid"] = target.pid
    if dry_run:
        return PrimitiveResult(True, f"would stop the proxy (pid {target.pid})", changes, details=details)
    outcome = terminate(target, group, timeout)
    details["outcome"] = outcome
    if outcome is Ending.ALIVE:
        return PrimitiveResult(False, f"pid {target.pid} did not exit even after SIGKILL", changes, details=details)
    remove_pidfile(paths)
    note = ""
    if owner.state in (OwnerState.FOREIGN, OwnerState.OTHER_HOME, OwnerState.UNKNOWN):
        note = f"; port {port} is still held by {describe(owner)}, which was not touched"
    how = "killed after the grace period" if outcome is Ending.KILLED else "stopped"
    return PrimitiveResult(True, f"{how}: pid {target.pid}{note}", changes, details=details)


def _stop_supervised(paths: Paths, owner: Owner, found, timeout: float, changes: list[str], details: dict,
                     dry_run: bool) -> PrimitiveResult:
    """Stop through the supervisor (it would start a killed service again); wait until its process is gone."""
    from claudex_doctor.service import supervisor

    argv = supervisor.command(paths, "stop", found)
    changes.append(f"ask {found.manager} to stop {_service_name(paths, found)} (`{' '.join(argv[1:])}`); it starts "
                   "again at the next login (`claudex-doctor service uninstall` removes it)")
    if owner.pidfile.state is not PidState.MISSING and owner.pidfile.stale:
        changes.append(f"remove stale pidfile {_d(paths, paths.pidfile)} ({owner.pidfile.message})")
    if dry_run:
        return PrimitiveResult(True, f"would stop the proxy through {found.manager}", changes, details=details)
    target = owner.running if owner.state is OwnerState.OURS else None
    ok, said = supervisor.run(argv)
    if not ok:
        return PrimitiveResult(False, f"`{' '.join(argv[1:])}` failed: {said or 'no output'}", changes, details=details)
    if target is not None:
        details["pid"] = target.pid
        if not wait_gone(target, timeout):
            return PrimitiveResult(False, f"`{' '.join(argv[1:])}` answered, but the proxy is still running "
                                          f"(pid {target.pid}) after {timeout:g}s; see `claudex-doctor status`",
                                   changes, details={**details, "still_running": True})
    if owner.pidfile.state is not PidState.MISSING and owner.pidfile.stale:
        remove_pidfile(paths)
    note = ""
    if owner.state in (OwnerState.FOREIGN, OwnerState.OTHER_HOME, OwnerState.UNKNOWN):
        note = f"; port {owner.port} is still held by {describe(owner)}, which was not touched"
    what = f"pid {target.pid}" if target is not None else "the service"
    return PrimitiveResult(True, f"stopped {what} through {found.manager}{note}", changes, details=details)


# -- restart ------------------------------------------------------------------------

def _url(host: str, port: int, path: str) -> str:
    return f"http://{host}:{port}{path}" if ":" not in host else f"http://[{host}]:{port}{path}"


def _wait_words(timeout: float, healthz: str) -> str:
    return (f"wait up to {timeout:g}s until GET {healthz} answers and, once the credential is loaded, "
            "/v1/models lists a model")


def restart(paths: Paths, *, dry_run: bool = False, timeout: float = 15.0, stop_timeout: float = 5.0) -> PrimitiveResult:
    """Stop (if ours runs) and start again, under one lock. Refuses like stop when a foreign process holds the port."""
    require(paths)
    ctx = _ctx(paths)
    if dry_run and (found := supervised(paths)) is not None:
        from claudex_doctor.service import supervisor

        host, port = endpoint(ctx)
        argv = supervisor.command(paths, "restart", found)
        return PrimitiveResult(True, f"would restart the proxy through {found.manager}",
                               [f"ask {found.manager} to restart {_service_name(paths, found)} (`{' '.join(argv[1:])}`)",
                                _wait_words(timeout, _url(host, port, "/healthz"))], details={"port": port})
    if dry_run:
        stopped = _stop(paths, ctx, stop_timeout, dry_run=True)
        changes = list(stopped.changes)
        host, port = endpoint(ctx)
        changes += [f"launch {_d(paths, paths.launcher)} in the background (output appended to "
                    f"{_d(paths, paths.log_file)})", f"record it in {_d(paths, paths.pidfile)}",
                    _wait_words(timeout, _url(host, port, "/healthz"))]
        return PrimitiveResult(True, "would restart the proxy", changes, details=stopped.details)
    found = supervised(paths)
    if found is not None:
        from claudex_doctor.service import supervisor

        host, port = endpoint(ctx)
        argv = supervisor.command(paths, "restart", found)
        with locked(paths, wait=timeout + stop_timeout + 10):
            owner = identify(paths, port, host)
            if owner.state in (OwnerState.FOREIGN, OwnerState.OTHER_HOME, OwnerState.UNKNOWN):
                raise _refuse_start(paths, owner)
            changes = [f"ask {found.manager} to restart {_service_name(paths, found)} (`{' '.join(argv[1:])}`)",
                       _wait_words(timeout, _url(host, port, "/healthz"))]
            result = _through_supervisor(paths, argv, host, port, timeout, changes,
                                         {"port": port, "host": host, "log": _d(paths, paths.log_file)},
                                         local_key(ctx) if paths.proxy_auth.exists() else None)
        _journal(paths, "restart", result)
        return result
    with locked(paths, wait=timeout + stop_timeout + 10):
        stopped = _stop(paths, ctx, stop_timeout)
        if not stopped.ok:
            result = stopped
        else:
            started = _start(paths, ctx, timeout, changes=list(stopped.changes))
            message = started.message if stopped.message.startswith("not running") else \
                f"{stopped.message}; {started.message}"
            result = PrimitiveResult(started.ok, message, started.changes,
                                     details={**started.details, "stop": stopped.details})
    _journal(paths, "restart", result)
    return result


def _journal(paths: Paths, name: str, result: PrimitiveResult) -> None:
    if not result.changes or result.details.get("already_running"):
        return
    extra = {k: result.details[k] for k in ("pid", "port", "reason", "exit_code") if k in result.details}
    with contextlib.suppress(OSError):
        journal.record(paths, name, "applied" if result.ok else "failed", result.message, result.changes, **extra)


# -- status ---------------------------------------------------------------------------

def status(paths: Paths) -> dict:
    """Everything `claudex-doctor status` shows, as redacted data."""
    from claudex_doctor.base.redact import fingerprint, redact
    from claudex_doctor.config.facts import env_values, mapping

    ctx = _ctx(paths)
    host, port = endpoint(ctx)
    layout = []
    for name, path in (("binary", paths.binary), ("config", paths.config), ("launcher", paths.launcher),
                       ("env_file", paths.env_file), ("auth_dir", paths.auth_dir), ("proxy_auth", paths.proxy_auth),
                       ("pidfile", paths.pidfile), ("log", paths.log_file)):
        entry = {"name": name, "path": _d(paths, path), "exists": path.exists()}
        with contextlib.suppress(OSError):
            st = path.stat()
            entry["mode"] = f"{st.st_mode & 0o777:04o}"
            entry["kind"] = "dir" if path.is_dir() else "file"
            if name in ("binary", "launcher"):
                entry["executable"] = is_executable(path)
        layout.append(entry)
    env = env_values(ctx)
    token = env.get("ANTHROPIC_AUTH_TOKEN")
    owner = identify(paths, port, host)
    answer = health(host, port, timeout=1.0) if owner.listening else {"ok": False, "error": "nothing listening"}
    proc = owner.process if owner.state in (OwnerState.OURS, OwnerState.UNRECORDED) else owner.running
    uptime = None
    if proc is not None and proc.create_time:
        uptime = max(0, int(time.time() - proc.create_time))
    data = {
        "home": _d(paths, paths.home),
        "home_exists": paths.home.is_dir(),
        "home_reason": paths.home_explanation,
        "layout": layout,
        "env": {"ANTHROPIC_BASE_URL": env.get("ANTHROPIC_BASE_URL"),
                "ANTHROPIC_AUTH_TOKEN": fingerprint(token) if token else None},
        "mapping": mapping(ctx),
        "host": host,
        "port": port,
        "owner": owner.to_dict(paths.user_home),
        "running": owner.state in (OwnerState.OURS, OwnerState.UNRECORDED),
        "managed": owner.state is OwnerState.OURS,
        "pid": proc.pid if proc else None,
        "uptime_seconds": uptime,
        "started_at": owner.pidfile.started_at if owner.state is OwnerState.OURS else None,
        "health": answer,
        "log": _d(paths, paths.log_file),
        "quota": _quota(paths),
        "supervisor": _supervisor_state(paths),
    }
    return redact(data)


def _supervisor_state(paths: Paths) -> dict:
    """The installed service, if any (systemctl/launchctl run only when a service file exists)."""
    from claudex_doctor.service import supervisor

    return supervisor.state(paths).to_dict(paths.user_home)


def _quota(paths: Paths) -> dict:
    """The last known quota (the cache, or the proxy log): status asks nothing beyond this machine."""
    from claudex_doctor.usage.quota import read, to_data

    try:
        return to_data(read(paths, offline=True))
    except OSError as exc:
        return {"state": "unknown", "problem": "unreadable", "message": str(exc)[:200], "windows": []}
