"""`claudex-doctor schema`: the JSON Schema the --json output validates against."""

from __future__ import annotations

import argparse

HELP = "print the JSON Schema of the --json output"


def main(args: argparse.Namespace) -> int:
    from claudex_doctor import console
    from claudex_doctor.core.schema import SCHEMA

    console.out_json(SCHEMA, redact=False)
    return 0
