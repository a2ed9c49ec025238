"""The JSON rendering: the contract agents and scripts read (see `claudex-doctor schema`)."""

from __future__ import annotations

import json

from ..model import RunResult
from ..redact import redact
from . import redacted


def render(result: RunResult) -> str:
    return json.dumps(redact(redacted(result).to_dict()), indent=2, ensure_ascii=False) + "\n"
