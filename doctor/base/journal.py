"""The fix journal: one JSON line per applied primitive, in the runtime home.

Read by the support report and by anyone undoing a change (each entry names
its backups). Secrets never reach it: entries are redacted before writing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from claudex_doctor.base import atomic, files
from claudex_doctor.base.paths import Paths
from claudex_doctor.base.redact import redact

TAIL_BYTES = 256 * 1024  # the journal's last entries; an entry is a few hundred bytes


def record(paths: Paths, primitive: str, status: str, message: str, changes: Iterable[str] = (),
           backups: Iterable[str | Path] = (), **extra: Any) -> None:
    if not paths.home.is_dir():
        return
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "primitive": primitive,
        "status": status,
        "message": message,
        "changes": list(changes),
        "backups": [str(b) for b in backups],
        **extra,
    }
    line = json.dumps(redact(entry), ensure_ascii=False) + "\n"
    try:
        atomic.append(paths.journal, line.encode("utf-8"))
    except OSError:
        # The change itself is done and reported; a journal that cannot take a line (a FIFO, a link, a full
        # disk) must not turn it into a failure; home.layout names a journal that is not a file.
        pass


def read(paths: Paths, limit: int = 50) -> list[dict[str, Any]]:
    loaded, _ = files.read_tail(paths.journal, TAIL_BYTES)
    if not loaded.ok:
        return []
    lines = loaded.data.decode("utf-8", "replace").splitlines()
    entries = []
    for line in lines[-limit:]:
        try:
            value = files.loads_json(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            entries.append(value)
    return entries
