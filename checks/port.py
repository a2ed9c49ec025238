"""Who listens on the gateway port, and is it this home's proxy?

port.owner
    What it checks: whether anything listens on the configured port (config.yaml, else the env file,
    else 8327); which process (pid, name, executable, command line, user); whether it is the proxy this
    home started (pidfile pid and start time, and the process runs from this home), the proxy of another
    home, or a foreign program; whether the live socket is bound to loopback; whether the pidfile is stale.
    Why it matters: Claude Code talks to whatever answers on that port. A foreign program or another
    home's proxy (other keys, other credential) makes every request fail in confusing ways, and a socket
    on 0.0.0.0 lends your ChatGPT plan to the network.
    Fix safety: `start` (safe) when nothing listens: it replaces a stale pidfile and never touches another
    process; `restart` (safe) for this home's proxy; a foreign process or another home's proxy is never
    touched by the doctor (manual); `bootstrap` (confirm) when there is nothing to start yet.

The verdict is computed once per run (`listener(ctx)`, memoised) from one pidfile read and one
socket table (`claudex_doctor.service.sockets`); other checks reuse both.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from claudex_doctor.base.files import is_executable
from claudex_doctor.base.paths import display
from claudex_doctor.core.graph import check
from claudex_doctor.core.model import Fix, failed, passed, warned
from claudex_doctor.service.owner import OwnerState, Visibility

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext


def listener(ctx: StackContext):
    """The shared verdict about the gateway port (`claudex_doctor.service.owner.Owner`), computed once per run."""
    def compute():
        from claudex_doctor.service.control import endpoint
        from claudex_doctor.service.owner import identify

        host, port = endpoint(ctx)
        return identify(ctx.paths, port, host, table=listen_table(ctx))
    return ctx.memo("port.listener", compute)


def listen_table(ctx: StackContext):
    """The run's one `sockets.ListenTable` (owners resolved per port, on demand, the pidfile's pid looked
    at first whichever check asks first); None when not visible."""
    def compute():
        from claudex_doctor.service.pidfile import read_pidfile
        from claudex_doctor.service.sockets import listen_table as scan

        return scan(likely=(read_pidfile(ctx.paths.pidfile).pid,))
    return ctx.memo("tcp.listen_table", compute)


def _evidence(ctx: StackContext, owner) -> dict:
    home = ctx.paths.user_home
    ev: dict = {"port": owner.port, "state": owner.state, "addresses": list(owner.addresses),
                "pidfile": owner.pidfile.state}
    info = owner.process
    if info is not None:
        ev.update(pid=info.pid, name=info.name, exe=display(info.exe, home) if info.exe else None,
                  cmdline=info.excerpt(), user=info.user)
        if info.create_time:
            ev["uptime_seconds"] = max(0, int(time.time() - info.create_time))
    if owner.other_home is not None:
        ev["other_home"] = display(owner.other_home, home)
    if owner.visibility is not Visibility.FULL:
        ev["visibility"] = owner.visibility
    return ev


def _stale_detail(owner) -> list[str]:
    record = owner.pidfile
    if record.stale:
        return [f"The pidfile is stale: {record.message}. `claudex-doctor start` replaces it."]
    return []


def _nothing_to_start(ctx: StackContext) -> Fix | None:
    p = ctx.paths
    if not p.home.is_dir() or not p.binary.exists() or not is_executable(p.binary) or not p.launcher.is_file():
        return Fix.confirm("bootstrap", "Create the home's launcher and proxy binary, then start the proxy",
                           command="claudex-doctor bootstrap && claudex-doctor start")
    return None


@check("port.owner", "Gateway port", after=("config.valid",),
       reference="references/service.md#nothing-listening", fixes=("start", "restart", "bootstrap", "manual"))
def port_owner(ctx: StackContext):
    owner = listener(ctx)
    ev = _evidence(ctx, owner)
    port = owner.port
    info = owner.process
    log = display(ctx.paths.log_file, ctx.paths.user_home)

    if owner.state is OwnerState.NONE:
        if owner.running is not None:
            return failed(f"this home's proxy (pid {owner.running.pid}) runs, but nothing listens on port {port}",
                          ["It is still starting, hung, or listening on the port of an older config.",
                           f"Its output is in {log}."],
                          {**ev, "pid": owner.running.pid}, reference="references/service.md#proxy-running-but-not-listening",
                          fix=Fix.safe("restart", "Restart this home's proxy"))
        details = ["Claude Code's requests to the gateway are refused: nothing serves them."]
        if owner.visibility == "connect":
            details.append("The socket table is not visible to this user; a connect test found nothing either.")
        details += _stale_detail(owner)
        summary = f"nothing listens on port {port}" + (" (stale pidfile)" if owner.pidfile.stale else "")
        fix = _nothing_to_start(ctx) or Fix.safe("start", "Start the proxy in the background and wait until it is healthy")
        return failed(summary, details, ev, reference="references/service.md#nothing-listening", fix=fix)

    if owner.state is OwnerState.UNKNOWN:
        return failed(f"port {port} is in use, but claudex-doctor cannot see which process holds it",
                      ["The owner is not visible to this user (another user's process, or a restricted "
                       "socket table), so its ownership is unknown. The doctor will not touch it."],
                      ev, reference="references/service.md#port-owner-not-visible",
                      fix=Fix.manual("Find the owner with root rights", f"sudo lsof -nP -iTCP:{port} -sTCP:LISTEN"))

    if owner.state is OwnerState.FOREIGN:
        return failed(f"port {port} is held by {info.name} (pid {info.pid}), not by this home's proxy",
                      [f"Command line: {info.excerpt()}" + (f" (user {info.user})" if info.user else ""),
                       "claudex-doctor never stops a process it did not start.",
                       "Stop that program yourself, or move the gateway to a free port in config.yaml AND the env "
                       "file together: claudex-doctor set-config port=NEW, then claudex-doctor set-env "
                       "ANTHROPIC_BASE_URL=http://127.0.0.1:NEW.", *_stale_detail(owner)],
                      ev, reference="references/service.md#port-owned-by-another-process",
                      fix=Fix.manual(f"Stop {info.name} (pid {info.pid}) yourself, or move the gateway to another port",
                                     f"kill {info.pid}"))

    other = display(owner.other_home, ctx.paths.user_home) if owner.other_home else "?"
    if owner.state is OwnerState.OTHER_HOME:
        return failed(f"port {port} is held by the proxy of another home ({other}), pid {info.pid}",
                      ["It serves that home's config, keys and credential, not this one's: requests with this home's "
                       "key are refused or use another account.",
                       "Stop it from its own home, or give one of the homes another port.", *_stale_detail(owner)],
                      ev, reference="references/service.md#our-proxy-from-another-home",
                      fix=Fix.manual(f"Stop the other home's proxy (pid {info.pid})",
                                     f"claudex-doctor --home {other} stop"))

    exposed = owner.exposed
    if exposed:
        from claudex_doctor.base.net import is_loopback
        from claudex_doctor.config.facts import config_host
        host = config_host(ctx)
        config_ok = host is not None and is_loopback(host)
        details = [f"The live socket accepts connections from the network on {', '.join(exposed)}: anyone who "
                   "reaches this machine can spend your ChatGPT plan through it."]
        if config_ok:
            details.append(f"config.yaml already says host {host}: the running proxy predates that change.")
            fix = Fix.safe("restart", "Restart the proxy so it binds to loopback as configured")
        else:
            details.append("config.yaml does not bind it to loopback (see config.exposure).")
            fix = Fix.manual("Bind the proxy to loopback, then restart it",
                             "claudex-doctor set-config host=127.0.0.1 && claudex-doctor restart")
        if owner.state is OwnerState.UNRECORDED:
            fix = Fix.manual("Stop it yourself, bind the config to loopback, then start it",
                             f"kill {info.pid} && claudex-doctor set-config host=127.0.0.1 && claudex-doctor start")
        return failed(f"the proxy on port {port} is bound to {', '.join(exposed)}, not to loopback", details, ev,
                      reference="references/service.md#bound-to-all-interfaces", fix=fix)

    if owner.state is OwnerState.UNRECORDED:
        record = owner.pidfile
        anchor = "stale-pidfile" if record.stale else "proxy-running-without-a-pidfile"
        why = record.message if record.stale else "there is no pidfile"
        return warned(f"this home's proxy (pid {info.pid}) runs, but claudex-doctor did not start it ({why})",
                      ["It works, but `claudex-doctor stop` and `restart` will refuse to touch a process they cannot "
                       "prove they started. Stop it once yourself and start it with claudex-doctor."],
                      ev, reference="references/service.md#" + anchor,
                      fix=Fix.manual("Hand the proxy over to claudex-doctor", f"kill {info.pid} && claudex-doctor start"))

    # ours, on loopback
    others = [o for o in owner.others]
    where = ", ".join(owner.addresses)
    if others:
        names = ", ".join(o.label() for o in others)
        return warned(f"this home's proxy (pid {info.pid}) listens on {where}:{port}, but so does {names}",
                      ["Clients reaching the port through another address may talk to the other process."],
                      {**ev, "others": [o.label() for o in others]}, reference="references/service.md#port-owned-by-another-process",
                      fix=Fix.manual(f"Stop {names} yourself", f"kill {others[0].pid}"))
    return passed(f"this home's proxy (pid {info.pid}, {info.name}) listens on {where}:{port}", evidence=ev)
