"""Does run.sh `cd` into the home before it starts the proxy? (read, never run)

A relative `auth-dir` is resolved against the proxy's working directory, so it
only points at the home's credentials when the launcher changes into the home
first. This reads the script as text and recognises the usual ways to do that:
`cd "$(dirname "$0")"`, `cd "${0%/*}"`, `cd /absolute/home`, `cd ~/...`, and a
variable assigned earlier in the script to one of those. Commands inside `$(...)`
run in a subshell and do not count.
"""

from __future__ import annotations

import re
from pathlib import Path

from claudex_doctor.files import read_text
from claudex_doctor.paths import display

_ASSIGN = re.compile(r"^\s*(?:export\s+|readonly\s+|local\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_VAR = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")
_SELF_DIR = re.compile(r"dirname|\$\{0%/\*\}|\$\{BASH_SOURCE(\[0\])?%/\*\}")


def _strip_comment(line: str) -> str:
    for i, ch, top in _scan(line):
        if top and ch == "#" and (i == 0 or line[i - 1] in " \t;&|("):
            return line[:i]
    return line


def _scan(line: str):
    """Yield (index, char, top-level?) for `line`, tracking quotes, backticks and $(...) nesting."""
    stack: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        top = stack[-1] if stack else None
        yield i, ch, top is None
        if top == "'":
            if ch == "'":
                stack.pop()
        elif top in ('"', "`"):
            if ch == "\\":
                i += 1
            elif ch == top:
                stack.pop()
            elif ch == "$" and line[i + 1:i + 2] == "(":
                stack.append("(")
                i += 1
        else:
            if ch == "\\":
                i += 1
            elif ch in "'\"`":
                stack.append(ch)
            elif ch == "$" and line[i + 1:i + 2] == "(":
                stack.append("(")
                i += 1
            elif ch == "(" and top == "(":
                stack.append("(")
            elif ch == ")" and top == "(":
                stack.pop()
        i += 1


def _commands(line: str) -> list[str]:
    """Top-level commands of one line, split at ; && || & | (not inside quotes or $(...))."""
    out, start = [], 0
    cuts = [i for i, ch, top in _scan(line) if top and ch in ";&|"]
    for i in cuts:
        out.append(line[start:i])
        start = i + 1
    out.append(line[start:])
    return [c.strip() for c in out if c.strip()]


def _single_word(value: str) -> bool:
    return not any(top and ch in " \t" for _i, ch, top in _scan(value))


def _unquote(word: str) -> str:
    word = word.strip()
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


def _evaluate(target: str, variables: dict[str, str], home: Path, user_home: Path, depth: int = 0) -> str:
    """'home' | 'elsewhere' | 'unknown' for one cd target."""
    target = _unquote(target)
    if depth > 5:
        return "unknown"
    if _SELF_DIR.search(target) and ("$0" in target or "${0" in target or "BASH_SOURCE" in target):
        return "home"
    var = _VAR.match(target)
    if var:
        name = var.group(1) or var.group(2)
        if name in variables:
            return _evaluate(variables[name], variables, home, user_home, depth + 1)
        if name == "HOME":
            return "home" if _same(user_home, home) else "elsewhere"
        return "unknown"
    if target in ("", "~"):
        return "home" if _same(user_home, home) else "elsewhere"
    text = target
    if text.startswith("~/"):
        text = str(user_home) + text[1:]
    for name, value in list(variables.items()) + [("HOME", str(user_home))]:
        value = _unquote(value)
        if "$" in value:
            continue
        text = text.replace("${" + name + "}", value)
        text = re.sub(r"\$" + name + r"(?![A-Za-z0-9_])", lambda _m: value, text)
    if "$" in text or "`" in text:
        return "unknown"
    path = Path(text)
    if not path.is_absolute():
        return "unknown"
    return "home" if _same(path, home) else "elsewhere"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def analyse(text: str, home: Path, user_home: Path) -> tuple[str, list[str]]:
    """(state, cd targets seen). state: home | elsewhere | unknown | none."""
    joined = re.sub(r"\\\r?\n", " ", text)
    variables: dict[str, str] = {}
    targets: list[str] = []
    results: list[str] = []
    for raw in joined.splitlines():
        line = _strip_comment(raw).strip()
        if not line:
            continue
        for command in _commands(line):
            command = re.sub(r"^(?:(?:then|do|else|\{|!|\()\s+)+", "", command).strip().lstrip("(").strip()
            assign = _ASSIGN.match(command)
            if assign and _single_word(assign.group(2).strip()):
                variables[assign.group(1)] = assign.group(2).strip()
                continue
            match = re.match(r"^(?:builtin\s+)?(cd|pushd)(?:\s+(.*))?$", command)
            if not match:
                continue
            words = (match.group(2) or "").strip()
            words = re.sub(r"^(?:-[LPe@]+\s+)*(?:--\s+)?", "", words)
            targets.append(words)
            results.append(_evaluate(words, variables, home, user_home))
    if "home" in results:
        return "home", targets
    if "unknown" in results:
        return "unknown", targets
    if "elsewhere" in results:
        return "elsewhere", targets
    return "none", targets


def launcher_cd(ctx) -> tuple[str, str]:
    """(state, one sentence) for the home's run.sh; memoised per run.

    state: home | elsewhere | unknown | none | missing | unreadable
    """
    def compute():
        p = ctx.paths
        shown = display(p.launcher, p.user_home)
        loaded = read_text(p.launcher)
        if loaded.problem == "missing":
            return "missing", f"{shown} does not exist."
        if not loaded.ok:
            return "unreadable", f"{shown} cannot be read: {loaded.message}."
        state, targets = analyse(loaded.text or "", p.home, p.user_home)
        seen = ", ".join(f"cd {t}" for t in targets[:3]) or "no cd at all"
        return state, {
            "home": f"{shown} changes into the home ({seen}).",
            "elsewhere": f"{shown} changes into another directory ({seen}).",
            "unknown": f"{shown} changes directory with a value the doctor cannot evaluate ({seen}).",
            "none": f"{shown} never changes into the home before starting the proxy.",
        }[state]
    return ctx.memo("launcher_cd", compute)
