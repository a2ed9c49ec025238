"""`claudex-doctor schema`: the JSON Schema the --json output validates against."""

from __future__ import annotations

import json
import sys


def main(args) -> int:
    from claudex_doctor.core.schema import SCHEMA

    sys.stdout.write(json.dumps(SCHEMA, indent=2) + "\n")
    return 0
