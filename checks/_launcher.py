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
from typing import TYPE_CHECKING

from claudex_doctor.base import files
from claudex_doctor.base.files import Problem, read_text
from claudex_doctor.base.paths import display
from claudex_doctor.base.shellscan import blank_comments, dequote, expand, segments

if TYPE_CHECKING:
    from claudex_doctor.checks._context import StackContext

_SELF_DIR = re.compile(r"dirname|\$\{0%/\*\}|\$\{BASH_SOURCE(\[0\])?%/\*\}")
_CD_OPTION = re.compile(r"^-[LPe@]+$")


def _self_dir(word: str) -> bool:
    """`$(dirname "$0")`, `${0%/*}` and friends: the directory the script itself is in (the home)."""
    return bool(_SELF_DIR.search(word)) and ("$0" in word or "${0" in word or "BASH_SOURCE" in word)


def _evaluate(word: str, values: dict[str, str], home: Path, user_home: Path) -> str:
    """'home' | 'elsewhere' | 'unknown' for one cd target."""
    if _self_dir(word):
        return "home"
    text = expand(word, values) if word else values["HOME"]
    if text is None:
        return "unknown"
    text = text or values["HOME"]
    path = Path(text)
    if not path.is_absolute():
        return "unknown"
    return "home" if _same(path, home) else "elsewhere"


def _same(a: Path, b: Path) -> bool:
    return files.real_path(a) == files.real_path(b)


def analyse(text: str, home: Path, user_home: Path) -> tuple[str, list[str]]:
    """(state, cd targets seen). state: home | elsewhere | unknown | none."""
    values = {"HOME": str(user_home)}
    unknown: set[str] = set()
    targets: list[str] = []
    results: list[str] = []
    for segment in segments(blank_comments(text)):
        assignment = segment.assignment
        if assignment:
            name, raw = assignment
            value = str(home) if _self_dir(raw) else expand(raw, {k: v for k, v in values.items() if k not in unknown})
            if value is None:
                unknown.add(name)
            else:
                unknown.discard(name)
                values[name] = value
            continue
        if dequote(segment.command) not in ("cd", "pushd"):
            continue
        args = [a for a in segment.args if not _CD_OPTION.match(a)]
        if args and args[0] == "--":
            args = args[1:]
        word = args[0] if args else ""
        targets.append(word)
        known = {k: v for k, v in values.items() if k not in unknown}
        results.append(_evaluate(word, known, home, user_home))
    if "home" in results:
        return "home", targets
    if "unknown" in results:
        return "unknown", targets
    if "elsewhere" in results:
        return "elsewhere", targets
    return "none", targets


def launcher_cd(ctx: StackContext) -> tuple[str, str]:
    """(state, one sentence) for the home's run.sh; memoised per run.

    state: home | elsewhere | unknown | none | missing | unreadable
    """
    def compute():
        p = ctx.paths
        shown = display(p.launcher, p.user_home)
        loaded = read_text(p.launcher)
        if loaded.problem is Problem.MISSING:
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
