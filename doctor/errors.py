"""One exception tree and one boundary.

Every problem that stops a command is a `DoctorError`: one line for the user that names the object
and the next step, an exit code, and optionally the reference page that explains it. Modules raise
the subclass that says what went wrong; only `boundary` turns exceptions into words and exit codes.

    DoctorError              exit 2   the doctor could not do its job
      UsageError             exit 2   an option or argument that cannot work
      CatalogError           exit 2   the check catalog itself is wrong (a bug)
      KnowledgeError         exit 2   a knowledge file is missing or broken (a packaging bug)
      UnknownTopic           exit 2   `explain` found no page, section, check or mode by that name
      PageNotFound           exit 2   no reference page by that name is installed
      ReportError            exit 2   the support report could not be made safely
      PrimitiveError         exit 1   a primitive refused or failed; nothing half-done was left

Parsing helpers keep their own ValueError subclasses (files.TooComplex, jwt.JWTError,
yamledit.EditError): callers turn those into findings or a PrimitiveError; they never reach the user raw.

Exit codes: 0 nothing failing, 1 problems found (or a primitive refused), 2 the doctor could not do its
job, 130 interrupted.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from typing import Any

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_BROKEN = 2
EXIT_INTERRUPTED = 130


class DoctorError(Exception):
    """An expected problem that stops a command: one line for the user."""

    exit_code = EXIT_BROKEN

    def __init__(self, message: str, *, reference: str | None = None, details: Mapping[str, Any] | None = None,
                 exit_code: int | None = None) -> None:
        super().__init__(message)
        self.reference = reference
        self.details: dict[str, Any] = dict(details or {})
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(DoctorError):
    """An option or argument that cannot work (a negative deadline, a directory for -o)."""


class CatalogError(DoctorError):
    """The check catalog is wrong: a duplicate id, an unknown dependency, a cycle, an unknown --only id."""


class KnowledgeError(DoctorError):
    """A knowledge file is missing or does not match its schema (a packaging bug, not a user problem)."""


class PageNotFound(DoctorError, LookupError):
    """No reference page by that name is installed."""


class UnknownTopic(DoctorError, LookupError):
    """`explain` found nothing by that name; carries close matches for the message."""

    def __init__(self, topic: str, suggestions: list[str], reason: str = "") -> None:
        self.topic = topic
        self.suggestions = suggestions
        self.reason = reason
        super().__init__(self.message())

    def message(self) -> str:
        text = self.reason or f"unknown topic {self.topic!r}"
        if self.suggestions:
            text += "; did you mean: " + ", ".join(self.suggestions) + "?"
        return text + " (`claudex-doctor explain` lists every topic)"


class ReportError(DoctorError):
    """The support report could not be produced safely; nothing was written."""


class PrimitiveError(DoctorError):
    """A primitive refused or failed: one clear sentence naming the object and the next step."""

    exit_code = EXIT_PROBLEMS


# A full disk or quota, a read-only file system, a device error, a closed descriptor: the machine, not a bug.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EBADF})


def boundary(command: Callable[[], int]) -> int:
    """Run a command and map whatever escapes it to one line on stderr and an exit code.

    Never a traceback: a traceback can carry secrets, and the user needs the next step, not a stack."""
    from claudex_doctor import console
    from claudex_doctor.base.redact import redact_text

    try:
        return command()
    except DoctorError as exc:
        console.error(f"claudex-doctor: {redact_text(str(exc))}")
        if exc.reference:
            console.error(f"see: {exc.reference}")
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("claudex-doctor: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK  # the reader went away (head, a closed pipe): not an error
    except Exception as exc:  # the last line of defence: a message, never a traceback with secrets
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            where = f" ({redact_text(str(exc.filename))})" if exc.filename else " (standard output)"
            console.error(f"claudex-doctor: a write failed: {exc.strerror or exc}{where}")
            return EXIT_BROKEN
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
        console.error(f"claudex-doctor: internal error: {type(exc).__name__}{where}: {redact_text(str(exc))[:300]}")
        console.error("This is a bug in claudex-doctor. Please report it with the output of `claudex-doctor report`.")
        return EXIT_BROKEN
