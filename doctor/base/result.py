"""What every primitive returns (bootstrap, sync-auth, start, stop, restart, set-env, set-config).

A primitive says what it will change before it does: `changes` is filled also when dry-running.
A refusal is not a result: it raises `errors.PrimitiveError` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PrimitiveResult:
    ok: bool
    message: str
    changes: list[str] = field(default_factory=list)  # human lines: "write ~/x/config.yaml: host 0.0.0.0 -> 127.0.0.1"
    backups: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
