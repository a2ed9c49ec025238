"""Closed vocabularies: a fixed set of words a value may take (a file's problem, who holds the port, what
became of a fix). Each is an enum of this kind, so a misspelt word is an AttributeError instead of a
comparison that is silently false, and a table keyed by one can be tested for covering every member.

Members are strings: they compare equal to their word, serialise to it in JSON, and print as it."""

from __future__ import annotations

import enum


class Vocabulary(str, enum.Enum):
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)
