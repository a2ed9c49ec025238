"""Decisions about the user's terminal: color, unicode, progress. Output always goes through here."""

from __future__ import annotations

import os
import sys
from typing import TextIO


def wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _isatty(stream) and os.environ.get("TERM") != "dumb"


def wants_unicode(stream: TextIO) -> bool:
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    return encoding in ("utf8", "utf8sig")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def width(stream: TextIO) -> int:
    if _isatty(stream):
        try:
            return max(60, min(os.get_terminal_size(stream.fileno()).columns, 140))
        except OSError:
            pass
    return 100


class Progress:
    """A spinner on stderr while checks run; only on a TTY, never on a pipe."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.done = 0
        self.running: list[str] = []
        self._status = None
        if _isatty(self.stream) and not os.environ.get("CI"):
            from rich.console import Console
            console = Console(file=self.stream, no_color=not wants_color(self.stream))
            self._status = console.status("checking the claudex stack…", spinner="dots")

    def __enter__(self) -> "Progress":
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._status is not None:
            self._status.stop()

    def started(self, check) -> None:
        self.running.append(check.id)
        self._update()

    def finished(self, finding) -> None:
        self.done += 1
        if finding.id in self.running:
            self.running.remove(finding.id)
        self._update()

    def _update(self) -> None:
        if self._status is not None:
            current = ", ".join(self.running[:3]) or "…"
            self._status.update(f"checking the claudex stack ({self.done}/{self.total}): {current}")
