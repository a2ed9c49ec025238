"""The `secure-auth` primitive: make both credential files readable by their owner only.

~/.codex/auth.json (or $CODEX_HOME/auth.json) and the proxy's auth/codex-current.json hold
ChatGPT OAuth tokens; anyone who reads them can spend the plan. This tightens, never loosens:
each file loses its group and other bits (0600), the proxy's auth/ becomes 0700, and the
Codex home loses group and other *write* (a directory others may write lets them replace the
file). The Codex home's read bits are left alone: it holds more than the login, and a 0600
file in it is private whatever the directory says.

Only the file's mode changes, never its content. It still touches the Codex CLI's own
directory, so it runs only with `yes=True` (confirm class). A path that is a symlink, not a
regular file, or owned by someone else is refused, not followed. Journalled.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from claudex_doctor.base import atomic, journal
from claudex_doctor.base.paths import display
from claudex_doctor.base.result import PrimitiveResult
from claudex_doctor.errors import PrimitiveError

if TYPE_CHECKING:
    from claudex_doctor.base.paths import Paths

FILE_MODE = 0o600


def exposure(path: Path) -> tuple[int, int | None] | None:
    """(file mode, directory mode) when `path` is readable or replaceable by other users, else None.

    Readable: group/other read bits on the file and group/other search bits on its directory.
    Replaceable: group/other write bits on the directory."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    try:
        folder: int | None = os.stat(path.parent).st_mode & 0o7777
    except OSError:
        folder = None
    mode = info.st_mode & 0o7777
    readable = bool(mode & 0o044) and (folder is None or bool(folder & 0o011))
    replaceable = folder is not None and bool(folder & 0o022) and not folder & stat.S_ISVTX
    return (mode, folder) if readable or replaceable else None


def _plan(paths: Paths) -> list[tuple[Path, int, int]]:
    """(path, old mode, new mode) for every change, files and directories."""
    steps: list[tuple[Path, int, int]] = []
    for target, directory_mode, root in ((paths.codex_auth, None, paths.codex_home),
                                         (paths.proxy_auth, 0o700, paths.home)):
        try:
            info = os.lstat(target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise PrimitiveError(f"cannot look at {display(target, paths.user_home)}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            raise PrimitiveError(f"{display(target, paths.user_home)} is not a regular file (a symlink or something "
                                 "else): not changed; look at it yourself")
        if info.st_uid != os.getuid():
            raise PrimitiveError(f"{display(target, paths.user_home)} belongs to another user (uid {info.st_uid}): "
                                 "not changed")
        try:
            atomic.target_in(target, root)  # a folder on its path that links out of its root is not ours to change
        except atomic.Refused as exc:
            raise PrimitiveError(f"{display(target, paths.user_home)}: {exc.strerror}; not changed") from None
        folder = target.parent
        try:
            folder_mode = os.stat(folder).st_mode & 0o7777
        except OSError:
            folder_mode = None
        if folder_mode is not None:
            wanted = directory_mode if directory_mode is not None else folder_mode & ~0o022
            if wanted != folder_mode and os.stat(folder).st_uid == os.getuid():
                steps.append((folder, folder_mode, wanted))
        mode = info.st_mode & 0o7777
        if mode & 0o077:
            steps.append((target, mode, mode & ~0o077 & 0o7777 or FILE_MODE))
    return steps


def _chmod_file(path: Path, mode: int) -> None:
    """chmod through a descriptor opened without following symlinks: a swapped-in link is never followed."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PrimitiveError(f"{path} changed into something that is not a regular file: not changed")
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def apply(paths: Paths, *, dry_run: bool = False, yes: bool = False) -> PrimitiveResult:
    steps = _plan(paths)
    changes = [f"chmod {new:04o} {display(p, paths.user_home)}{'/' if p.is_dir() else ''} (was {old:04o})"
               for p, old, new in steps]
    if not steps:
        return PrimitiveResult(True, "both credential files are already private (owner only)", [])
    message = "restricted the credential files to their owner"
    if dry_run:
        note = "" if yes else " (applying needs --yes: it changes the Codex CLI's own file)"
        return PrimitiveResult(True, "would have " + message + note, changes, details={"dry_run": True})
    if not yes:
        raise PrimitiveError("secure-auth changes the mode of the Codex CLI's own files: run again with --yes to "
                             "confirm (only permissions change, never content); nothing was changed")
    applied: list[str] = []
    try:
        for (path, _, new), change in zip(steps, changes, strict=True):
            if path.is_symlink():
                continue  # a directory swapped for a link since the plan: never followed, never reported as done
            if path.is_dir():
                os.chmod(path, new)
            else:
                _chmod_file(path, new)
            applied.append(change)
    except OSError as exc:
        raise PrimitiveError(f"could not change permissions: {exc.strerror or exc}") from None
    journal.record(paths, "secure-auth", "applied", message, applied, ())
    return PrimitiveResult(True, message, applied)
