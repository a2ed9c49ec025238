"""`claudex-doctor stop`: the `stop` primitive from the command line (see references/service.md)."""

from __future__ import annotations

from ._service import run


def main(args) -> int:
    return run("stop", args)
