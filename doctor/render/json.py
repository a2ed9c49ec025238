"""The JSON rendering: the contract agents and scripts read (see `claudex-doctor schema`)."""

from __future__ import annotations

import json

from claudex_doctor.base.redact import redact
from claudex_doctor.core.model import RunResult
from claudex_doctor.render.redacted import redacted


def render(result: RunResult) -> str:
    return json.dumps(redact(redacted(result).to_dict()), indent=2, ensure_ascii=False) + "\n"
