"""`claudex-doctor service install|uninstall|status`: keep the proxy running across reboots.

install    a systemd user unit (Linux) or launchd agent (macOS) that runs this home's run.sh, restarts
           it when it fails and starts it at login (primitive `service-install`); start, stop and
           restart then go through it. Without a user service manager: exit 1, naming the fallback
           (`CLAUDEX_AUTOSTART=1` in the env file: the claudex wrapper starts the proxy when it is down).
uninstall  stop and remove it (primitive `service-uninstall`).
status     the manager, whether it answers, the service's state and pid, and the auto-start setting.

`--dry-run` prints the unit or plist text and the commands, and runs none. Exit codes as for the
other primitives; `status` exits 0 when the service is installed and active, or the wrapper's
auto-start is on; 1 otherwise.
"""

from __future__ import annotations

import argparse

from claudex_doctor.commands._common import apply_primitive, paths_for, positive_seconds

HELP = "install, remove or show the user service (systemd/launchd) that keeps the proxy running"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("install", "uninstall", "status"),
                        help="install: write and start the service; uninstall: remove it; status: show it")
    parser.add_argument("--dry-run", action="store_true", help="show the service file and commands, change nothing")
    parser.add_argument("--timeout", type=positive_seconds, default=20.0, metavar="SECONDS",
                        help="with install: how long to wait until the proxy answers")


def main(args: argparse.Namespace) -> int:
    if args.action == "status":
        return _status(args)
    if args.action == "install":
        code = apply_primitive("service-install", args, timeout=args.timeout)
        if args.dry_run and not args.json:
            _print_text(args)
        return code
    return apply_primitive("service-uninstall", args)


def _print_text(args: argparse.Namespace) -> None:
    from claudex_doctor import console
    from claudex_doctor.base import platform
    from claudex_doctor.service import supervisor

    paths = paths_for(args)
    manager = platform.service_manager()
    target = supervisor.service_file(paths, manager)
    if target is None:
        return
    console.line(f"--- {target}")
    console.out(supervisor.render(paths, manager).decode("utf-8"))


def autostart_on(paths) -> bool:
    from claudex_doctor.config.facts import StackFiles, env_values
    from claudex_doctor.wrapper.script import AUTOSTART_VAR

    return env_values(StackFiles(paths)).get(AUTOSTART_VAR) == "1"


def _status(args: argparse.Namespace) -> int:
    from claudex_doctor import console
    from claudex_doctor.service import supervisor

    paths = paths_for(args)
    found = supervisor.detect()
    current = supervisor.state(paths, detected=found)
    auto = autostart_on(paths)
    service = current.to_dict(paths.user_home)
    data = {"detected": found.to_dict(), "service": service, "autostart": auto,
            "unit": supervisor.unit_name(paths), "label": supervisor.label(paths)}
    healthy = (current.installed and current.active) or auto
    if args.json:
        console.out_json(data)
        return 0 if healthy else 1
    lines = [f"manager    {found.manager}: {found.reason}"]
    if current.installed:
        lines.append(f"service    {service['path']}: {current.words}"
                     + (f", pid {current.pid}" if current.pid else "")
                     + ("" if current.current else " (written by another version: `claudex-doctor service install` "
                        "rewrites it)"))
    else:
        lines.append("service    not installed")
    lines.append(f"autostart  {'on' if auto else 'off'} (CLAUDEX_AUTOSTART in the env file: the claudex wrapper "
                 "starts the proxy when it is down)")
    if not current.installed and not auto:
        if found.available:
            lines.append("next: claudex-doctor service install")
        else:
            lines.append("next: claudex-doctor set-env CLAUDEX_AUTOSTART=1   (no user service manager here)")
    console.out("\n".join(lines) + "\n")
    return 0 if healthy else 1
