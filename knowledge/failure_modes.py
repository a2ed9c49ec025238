"""Failure modes users report (knowledge/failure_modes.json), read into frozen records.

Each mode quotes what users saw (Claude Code's words, the proxy's log line, other clients'), says
why it happens, and names what finds it here: checks (by id) and log signatures (by id in
knowledge/signatures.json), the primitive that repairs the cause, and the reference section. The
file is ranked by how many public threads report each mode.

`for_text(text)` finds the mode a pasted error belongs to, for `claudex-doctor explain "<error>"`:
first by signature (the precedence of knowledge/signatures.json decides), then by a verbatim
symptom that contains the text or is contained in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from claudex_doctor.knowledge.signatures import Signature

MIN_QUOTE = 12  # a pasted text shorter than this is not matched against the quotes (too many hits)


@dataclass(frozen=True)
class Symptom:
    claude_code: str | None
    proxy_log: str | None
    other: tuple[str, ...] = ()

    def quotes(self) -> tuple[str, ...]:
        return tuple(q for q in (self.claude_code, self.proxy_log, *self.other) if q)


@dataclass(frozen=True)
class ModeFix:
    primitive: str  # a primitive's name, or "manual"
    safety: str  # safe | confirm | manual
    command: str


@dataclass(frozen=True)
class FailureMode:
    id: str
    title: str
    reports: int
    symptom: Symptom
    cause: str
    checks: tuple[str, ...]
    signatures: tuple[str, ...]
    fix: ModeFix
    reference: str
    sources: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class TextMatch:
    """How a pasted text was recognised: the mode, and the signature that claimed it (None: a quote did)."""

    mode: FailureMode
    signature: Signature | None
    quote: str | None = None


@lru_cache(maxsize=1)
def modes() -> tuple[FailureMode, ...]:
    from claudex_doctor.knowledge import load

    out = []
    for m in load("failure_modes")["modes"]:
        s = m["symptom"]
        out.append(FailureMode(m["id"], m["title"], m["reports"],
                               Symptom(s.get("claude_code"), s.get("proxy_log"), tuple(s.get("other") or ())),
                               m["cause"], tuple(m["checks"]), tuple(m["signatures"]),
                               ModeFix(m["fix"]["primitive"], m["fix"]["safety"], m["fix"]["command"]),
                               m["reference"], tuple(m["sources"]), m.get("note")))
    return tuple(out)


def by_id(mode_id: str) -> FailureMode | None:
    return next((m for m in modes() if m.id == mode_id), None)


def for_signature(signature_id: str) -> tuple[FailureMode, ...]:
    """The modes a signature names, the most reported first."""
    return tuple(m for m in modes() if signature_id in m.signatures)


def for_check(check_id: str) -> tuple[FailureMode, ...]:
    return tuple(m for m in modes() if check_id in m.checks)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def for_text(text: str) -> TextMatch | None:
    """The failure mode a pasted error text shows, or None."""
    from claudex_doctor.knowledge import signatures

    pasted = text.strip()
    if not pasted:
        return None
    sig = signatures.match(pasted)  # no pattern crosses a line, so the whole text finds what any line would
    mode = by_id(sig.mode) if sig is not None and sig.mode else None
    if mode is not None:
        return TextMatch(mode, sig)
    wanted = _normal(pasted)
    if len(wanted) < MIN_QUOTE:
        return None
    for mode in modes():
        for quote in mode.symptom.quotes():
            said = _normal(quote)
            if wanted in said or (len(said) >= MIN_QUOTE and said in wanted):
                return TextMatch(mode, None, quote)
    return None
