"""The `statusline-install` primitive: Claude Code's `statusLine` setting pointed at this tool.

Adds to `<claude config dir>/settings.json` (`~/.claude`, or `$CLAUDE_CONFIG_DIR`):

    "statusLine": {"type": "command", "command": "<absolute claudex-doctor> statusline", "padding": 0}

Confirm class: it edits a file of Claude Code's. Atomic, with a backup of the file it replaces beside
it (`settings.json.bak-<time>`). When there was no `statusLine`, the entry is inserted before the
object's closing brace and every other byte stays as it was; replacing one (only with `force`)
re-serialises the file with every other key and value kept. A settings.json that is not a JSON
object is refused, never overwritten.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claudex_doctor.base import files
from claudex_doctor.base.paths import display
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.errors import PrimitiveError

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

REFERENCE = "references/quota.md#the-status-line"
KEY = "statusLine"


def default_command() -> str:
    """`<absolute path of claudex-doctor> statusline`, else `<python> -m claudex_doctor statusline`."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    candidates = [argv0] if Path(argv0).name == "claudex-doctor" else []
    found = shutil.which("claudex-doctor")
    if found:
        candidates.append(found)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            return f"{shlex.quote(str(path.absolute()))} statusline"
    return f"{shlex.quote(sys.executable)} -m claudex_doctor statusline"


def wanted(command: str) -> dict[str, Any]:
    return {"type": "command", "command": command, "padding": 0}


def _inserted(text: str, entry: dict[str, Any]) -> str | None:
    """`text` with `"statusLine": entry` added as the last member of its top-level object, every other
    byte kept; None when the text does not end like an object this can be done to."""
    body = text.rstrip()
    if not body.endswith("}"):
        return None
    inner = body[:-1]
    indent_match = re.search(r'\n([ \t]+)"', inner)
    indent = indent_match.group(1) if indent_match else "  "
    value = json.dumps(entry, indent=len(indent) if indent.strip(" ") == "" else None, ensure_ascii=False)
    value = value.replace("\n", "\n" + indent)
    stripped = inner.rstrip()
    empty = stripped.endswith("{")
    tail = inner[len(stripped):]
    closing = tail if "\n" in tail else "\n"
    member = f'{"" if empty else ","}\n{indent}"{KEY}": {value}'
    return stripped + member + closing + "}" + text[len(body):]


def install(paths: Paths, *, dry_run: bool = False, force: bool = False, command: str | None = None) -> PrimitiveResult:
    target = paths.claude_settings
    shown = display(target, paths.user_home)
    command = command or default_command()
    entry = wanted(command)
    loaded = files.read_json(target)
    if loaded.problem is files.Problem.MISSING:
        data: dict[str, Any] = {}
        text = None
    elif not loaded.ok:
        raise PrimitiveError(f"{shown} cannot be used: {loaded.message}; repair or move it, then run "
                             "`claudex-doctor statusline install` again (nothing was changed)", reference=REFERENCE)
    else:
        data, text = loaded.data, loaded.text
    existing = data.get(KEY)
    details = {"path": shown, "command": command, "reference": REFERENCE}
    if existing == entry:
        return PrimitiveResult(True, f"the status line is already installed in {shown}", [], details=details)
    if existing is not None and not force:
        was = existing.get("command") if isinstance(existing, dict) else existing
        raise PrimitiveError(f"{shown} already has a statusLine ({str(was)[:80]!r}); "
                             "`claudex-doctor statusline install --force` replaces it (a backup is kept)",
                             reference=REFERENCE, details={"path": shown, "existing": str(was)[:200]})
    new_text = None
    if text is not None and existing is None:
        new_text = _inserted(text, entry)
        try:
            if new_text is None or json.loads(new_text) != {**data, KEY: entry}:
                new_text = None
        except ValueError:
            new_text = None
    if new_text is None:
        new_text = json.dumps({**data, KEY: entry}, indent=2, ensure_ascii=False) + "\n"
    verb = "replace the statusLine" if existing is not None else "add a statusLine"
    changes = [f"write {shown}: {verb}: {command}"]
    if dry_run:
        return PrimitiveResult(True, f"would {verb} in {shown} (nothing written)", changes, details=details)
    from claudex_doctor.base import journal
    from claudex_doctor.base.atomic import write_atomic

    try:
        backup = write_atomic(target, new_text, mode=None if text is not None else 0o600,
                              keep_backup=text is not None)
    except OSError as exc:
        raise PrimitiveError(f"cannot write {shown}: {exc.strerror or exc}", reference=REFERENCE) from None
    backups = [display(backup, paths.user_home)] if backup else []
    message = f"installed the status line in {shown}; Claude Code shows it from its next start"
    try:
        journal.record(paths, "statusline-install", "applied", message, changes, backups)
    except OSError:
        pass
    return PrimitiveResult(True, message, changes, backups, details=details)
