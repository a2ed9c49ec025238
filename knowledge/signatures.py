"""Error signatures (knowledge/signatures.json): which known failure a log line or an error body shows.

Order is precedence: the first signature whose pattern matches a line claims it, so the specific ones
come first (a line quotes every layer it passed through; the words that name the cause must win over
those of the layer that only carried it; the data file's note gives the pairs). Matching ignores case.
Python's re cannot use its literal-prefix search under IGNORECASE (twice as slow on a log tail), so a
pattern that means the same in lower case is compiled lower-case and run against the lower-cased line;
the rest keep the flag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_UPPER_ESCAPE = re.compile(r"\\[A-Z]")  # \S, \W, \D, \B...: lower-casing would change their meaning


def compile_signature(pattern: str) -> re.Pattern[str]:
    if _UPPER_ESCAPE.search(pattern):
        return re.compile(pattern, re.IGNORECASE)
    return re.compile(pattern.lower())


@dataclass(frozen=True)
class Signature:
    id: str
    pattern: re.Pattern[str] = field(compare=False)
    meaning: str
    severity: str  # fail | warn
    reference: str
    fix: Mapping[str, Any]
    examples: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    source: str = ""  # the public issue examples[0] is quoted from (owner/repo#number)
    mode: str | None = None  # the failure mode (knowledge/failure_modes.json) it names
    # runs against the lower-cased line (see the module's docstring); set once, read for every line scanned
    on_lowered: bool = field(default=False, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "on_lowered", not self.pattern.flags & re.IGNORECASE)

    def search(self, line: str, lowered: str | None = None) -> bool:
        if self.on_lowered:
            return self.pattern.search(line.lower() if lowered is None else lowered) is not None
        return self.pattern.search(line) is not None

    def __getitem__(self, key: str) -> Any:  # the JSON entry's other fields, as written
        return self.data[key]


@lru_cache(maxsize=1)
def signatures() -> tuple[Signature, ...]:
    from claudex_doctor.knowledge import load

    return tuple(Signature(s["id"], compile_signature(s["pattern"]), s["meaning"], s["severity"], s["reference"],
                           s.get("fix") or {}, tuple(s.get("examples") or ()), s, s.get("source") or "",
                           s.get("mode"))
                 for s in load("signatures")["signatures"])


def match(line: str, lowered: str | None = None) -> Signature | None:
    """The signature that claims `line`, or None."""
    lowered = line.lower() if lowered is None else lowered
    for signature in signatures():
        if signature.search(line, lowered):
            return signature
    return None
