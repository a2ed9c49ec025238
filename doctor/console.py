"""The only writer: everything a command prints goes through here.

stdout carries the answer (a report, JSON, a table) and nothing else; stderr carries one-line messages,
prompts and the progress spinner. Every byte passes the redaction layer on its way out. Decisions about
the user's terminal live here too: color (NO_COLOR, FORCE_COLOR, TERM=dumb), unicode, width, whether
anybody is there to answer a question.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO, TypeVar

# -- the terminal ------------------------------------------------------------------


def isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def wants_color(stream: TextIO | None = None) -> bool:
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return isatty(stream) and os.environ.get("TERM") != "dumb"


def color_allowed() -> bool:
    """Color for output that is read by a program that renders ANSI (Claude Code's status line): on
    unless NO_COLOR is set or TERM is dumb, whether or not stdout is a terminal."""
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def wants_unicode(stream: TextIO | None = None) -> bool:
    stream = sys.stdout if stream is None else stream
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    return encoding in ("utf8", "utf8sig")


def width(stream: TextIO | None = None) -> int:
    stream = sys.stdout if stream is None else stream
    if isatty(stream):
        try:
            return max(60, min(os.get_terminal_size(stream.fileno()).columns, 140))
        except OSError:
            pass
    return 100


def interactive() -> bool:
    """Is somebody at a terminal to see what happens and answer a question?"""
    return isatty(sys.stdin)


def stdout_closed() -> bool:
    """Started with stdout closed (`>&-`): there is nowhere to put an answer."""
    return sys.stdout is None


def stdout_is_terminal() -> bool:
    return isatty(sys.stdout)


# -- writing -----------------------------------------------------------------------


def _redacted(text: str) -> str:
    from claudex_doctor.base.redact import redact_text
    return redact_text(text)


def out(text: str, *, redact: bool = True) -> None:
    """The answer, on stdout, redacted. `redact=False` only for text a renderer already redacted whole,
    or for static text the package ships (a reference page, the skill), which masking would garble."""
    if not text:
        return
    sys.stdout.write(_redacted(text) if redact else text)
    sys.stdout.flush()


def line(text: str = "") -> None:
    out(text + "\n")


def out_json(data: Any, *, redact: bool = True) -> None:
    """One JSON document on stdout: redacted, indented, UTF-8 as is. `redact=False` only for static
    data that holds nothing from the user's machine (the schema)."""
    if redact:
        from claudex_doctor.base.redact import redact as redacted
        data = redacted(data)
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    """One line on stderr, if there is a stderr to write to (print(file=None) would pick stdout)."""
    if sys.stderr is None:
        return
    try:
        sys.stderr.write(_redacted(message) + "\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def ask(question: str) -> bool:
    """A yes/no question on stderr, answered on stdin; False without a terminal, on EOF or Ctrl-C."""
    if not interactive():
        return False
    try:
        sys.stderr.write(_redacted(question) + " [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
    except (EOFError, KeyboardInterrupt, OSError, ValueError):
        return False
    return answer in ("y", "yes")


def flush() -> int:
    """Flush both streams before leaving; 2 when the answer could not get out (a full disk), else 0."""
    code = 0
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        pass  # a reader that went away (head, a closed pipe) is not an error
    except (OSError, ValueError) as exc:
        error(f"claudex-doctor: a write failed: {getattr(exc, 'strerror', None) or exc} (standard output)")
        code = 2
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code


# -- progress ----------------------------------------------------------------------


S = TypeVar("S", bound="Spinner")


class Spinner:
    """A rich spinner on stderr while something long runs; only on a terminal, never on a pipe or in CI.
    `update(text)` changes its words; without a terminal it does nothing."""

    def __init__(self, text: str) -> None:
        self._status = None
        if isatty(sys.stderr) and not os.environ.get("CI"):
            from rich.console import Console
            console = Console(file=sys.stderr, no_color=not wants_color(sys.stderr))
            self._status = console.status(text, spinner="dots")

    def __enter__(self: S) -> S:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()

    @property
    def active(self) -> bool:
        return self._status is not None

    def update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)


class Progress(Spinner):
    """The spinner while checks run: how many are done, which are running (a graph observer)."""

    def __init__(self, total: int) -> None:
        super().__init__("checking the claudex stack…")
        self.total = total
        self.done = 0
        self.running: list[str] = []

    def started(self, check: Any) -> None:
        self.running.append(check.id)
        self._show()

    def finished(self, finding: Any) -> None:
        self.done += 1
        if finding.id in self.running:
            self.running.remove(finding.id)
        self._show()

    def _show(self) -> None:
        current = ", ".join(self.running[:3]) or "…"
        self.update(f"checking the claudex stack ({self.done}/{self.total}): {current}")
