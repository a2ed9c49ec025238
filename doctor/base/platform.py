"""Which operating system's mechanisms the doctor uses: the one place that decides.

The stack runs on Linux and on macOS. Where they differ, the code asks here instead of testing
`sys.platform` itself:

| what                          | Linux                                        | macOS                                  |
|-------------------------------|----------------------------------------------|----------------------------------------|
| listening sockets             | netlink sock_diag, else /proc/net/tcp{,6}    | psutil, else `lsof -nP -iTCP -sTCP:LISTEN` |
| a socket's process            | /proc/<pid>/fd (the likely pid first)        | psutil, else lsof's `p` field          |
| a process's supervisor        | /proc/<pid>/cgroup (the systemd unit)        | `launchctl list <label>` (its PID)     |
| the user's service manager    | systemd (`systemctl --user`)                 | launchd (`launchctl`, LaunchAgents)    |
| a Codex login in the keyring  | (not read)                                   | Keychain, through `security`           |

`CLAUDEX_PLATFORM=darwin` (or `linux`) makes the doctor take that system's paths on any machine: the
tests use it to run the macOS mechanisms on Linux against stand-ins for `lsof`, `launchctl` and
`security`. Everything else goes through `system()`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from claudex_doctor.base.vocab import Vocabulary

OVERRIDE = "CLAUDEX_PLATFORM"


class System(Vocabulary):
    """The operating system whose mechanisms are used."""

    LINUX = "linux"
    DARWIN = "darwin"
    OTHER = "other"  # a BSD, Windows: the portable paths only (psutil, a connect test)


class ServiceManager(Vocabulary):
    """The per-user service manager that can keep the proxy running across reboots."""

    SYSTEMD = "systemd"
    LAUNCHD = "launchd"
    NONE = "none"


def system(env: Mapping[str, str] | None = None) -> System:
    """The system whose mechanisms to use: CLAUDEX_PLATFORM when set to a known word, else this machine's."""
    env = os.environ if env is None else env
    forced = (env.get(OVERRIDE) or "").strip().lower()
    if forced in (System.LINUX.value, System.DARWIN.value):
        return System(forced)
    if sys.platform.startswith("linux"):
        return System.LINUX
    if sys.platform == "darwin":
        return System.DARWIN
    return System.OTHER


def uses_proc(env: Mapping[str, str] | None = None) -> bool:
    """Are /proc and netlink the way to see sockets and processes (Linux)?"""
    return system(env) is System.LINUX


def service_manager(env: Mapping[str, str] | None = None) -> ServiceManager:
    """Which user service manager this system has, in principle (whether it runs is asked elsewhere)."""
    return {System.LINUX: ServiceManager.SYSTEMD, System.DARWIN: ServiceManager.LAUNCHD,
            System.OTHER: ServiceManager.NONE}[system(env)]


def has_keychain(env: Mapping[str, str] | None = None) -> bool:
    """Is a Codex login kept in the OS keyring readable with a system tool (macOS `security`)?"""
    return system(env) is System.DARWIN
