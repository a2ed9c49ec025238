"""The env file (`claude-code-gpt54.env`) read as data, never executed.

The wrapper sources it with a POSIX shell, so the reader follows the shell's
rules for the forms such a file uses: `KEY=value`, `export KEY=value`, single
and double quotes, backslashes, trailing `# comments`. Anything that would need
a shell to evaluate (`$(...)`, `$VAR`, backticks, other commands) is recorded
as a note with its line number instead of being guessed at.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_EXPORT_ONLY = re.compile(r"^\s*export(?:\s+[A-Za-z_][A-Za-z0-9_]*)+\s*$")  # no nested quantifier: linear time


@dataclass
class EnvFile:
    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # key -> line number of its (last) assignment
    notes: list[str] = field(default_factory=list)  # lines the reader could not take as plain data
    dynamic: set[str] = field(default_factory=set)  # keys whose value needs the shell (expansion)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)


def parse(text: str) -> EnvFile:
    result = EnvFile()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if _EXPORT_ONLY.match(stripped) or stripped in ("set -a", "set +a"):
            continue
        match = _ASSIGN.match(line)
        if not match:
            result.notes.append(f"line {number}: not a variable assignment: {stripped[:60]}")
            continue
        key, raw = match.group(1), match.group(2)
        try:
            words = shlex.split(raw, comments=True, posix=True)
        except ValueError as exc:
            result.notes.append(f"line {number}: {key}: {exc} (unbalanced quotes?)")
            continue
        if len(words) > 1:
            result.notes.append(f"line {number}: {key}: unquoted spaces; a shell would run '{words[1]}' as a command")
        value = words[0] if words else ""
        if _needs_shell(raw):
            result.dynamic.add(key)
            result.notes.append(f"line {number}: {key} uses shell expansion; its value is read literally")
        result.values[key] = value
        result.lines[key] = number
    return result


def _needs_shell(raw: str) -> bool:
    """True when the value depends on expansion (outside single quotes)."""
    in_single = False
    previous = ""
    for ch in raw:
        if ch == "'" and previous != "\\":
            in_single = not in_single
        elif not in_single and ch in "$`" and previous != "\\":
            return True
        elif ch == "#" and not in_single and previous in ("", " ", "\t"):
            break
        previous = ch
    return False


def render_line(key: str, value: str) -> str:
    """One `export KEY=value` line, quoted so a shell reads back exactly `value`."""
    return f"export {key}={shlex.quote(value)}"
