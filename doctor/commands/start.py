"""`claudex-doctor start`: the `start` primitive from the command line (see references/service.md)."""

from __future__ import annotations

from claudex_doctor.commands._primitive import service


def main(args) -> int:
    return service("start", args)
