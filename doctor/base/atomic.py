"""Writing files the safe way: temp file + fsync + rename, a complete backup first, never out of the stack.

Used by every primitive. A write either happens whole or not at all, and the replaced bytes are kept in
a backup (written whole, then renamed into place: a full disk leaves no empty backup and no change).

Where a write may land is a policy: every write names its `root` (the runtime home for the stack's
files, the Codex home for auth.json, the Claude config folder for settings). A target that is a link
is followed only when it resolves inside that root; a link out of it, a link loop, or something that is
not a regular file in the way is refused with a `Refused` that says so, and nothing is written. Files
holding secrets are written 0600 in a 0700 folder, and so are their backups. A file is read (a backup, the
source of install_file) only through `files.open_regular`: a named pipe or a device in its place is refused,
never waited on or read without end. `remove` removes a file (after a backup) or a link as it is, nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from claudex_doctor.base import files
from claudex_doctor.base.proc import SPAWN_LOCK


class Refused(OSError):
    """A write the policy refuses. `strerror` is the reason in words, `filename` the path asked for."""

    def __init__(self, reason: str, path: Path) -> None:
        super().__init__(errno.EPERM, reason, str(path))


def write_program(path: Path, text: str, mode: int = 0o700) -> None:
    """Write an executable script that this process may run at once (see SPAWN_LOCK)."""
    with SPAWN_LOCK:
        Path(path).write_text(text, encoding="utf-8")
        Path(path).chmod(mode)


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _real_root(root: Path) -> Path:
    try:
        return root.resolve(strict=False)
    except (OSError, RuntimeError):
        return root.absolute()


def _parent_in(path: Path, root: Path, real_root: Path) -> Path:
    """`path` with its folder resolved; Refused when that folder leads outside `root` (a linked folder)."""
    parent = _real_root(path.parent)
    if not _inside(parent, real_root):
        raise Refused(f"{path.parent} leads outside {root} (a linked folder); claudex-doctor does not write "
                      "there", path)
    return parent / path.name


def target_in(path: Path, root: Path) -> Path:
    """The file a write to `path` really changes: `path`, or where its link points when that is inside
    `root` (resolved). Raises Refused for a link out of `root`, a link loop, or a non-file in the way."""
    path = Path(path)
    real_root = _real_root(Path(root))
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise Refused(f"{path.name} cannot be inspected: {exc.strerror or exc}", path) from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        try:
            real = path.resolve(strict=False)
        except (OSError, RuntimeError):
            raise Refused(f"{path.name} is a symbolic link loop; replace it with a regular file", path) from None
        if not _inside(real, real_root):
            raise Refused(f"{path.name} is a link to {real}, outside {root}; claudex-doctor does not write "
                          "through a link out of the stack (edit the file where it lives, or replace the link "
                          "with a regular file)", path)
        try:
            st = os.stat(real)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise Refused(f"{path.name} points at {real}, which cannot be inspected: {exc.strerror or exc}",
                          path) from None
        path = real
    else:
        path = _parent_in(path, root, real_root)
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise Refused(f"{path.name} is {kind}; move it away first (claudex-doctor replaces only files)", path)
    return path


def ensure_dir(directory: Path, root: Path, private: bool = False) -> Path:
    """Create `directory` (0700) if needed, refusing one that is a link out of `root` or not a folder;
    `private` also brings an existing one to 0700. Returns the real folder."""
    directory = Path(directory)
    real_root = _real_root(Path(root))
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        ancestor = directory.parent
        while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        real_ancestor = _real_root(ancestor)
        if not (_inside(real_ancestor, real_root) or _inside(real_root, real_ancestor)):
            raise Refused(f"{ancestor} leads outside {root} (a linked folder); claudex-doctor does not write there",
                          directory) from None
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            st = os.lstat(directory)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(directory)) from None
    except OSError as exc:
        raise Refused(f"{directory.name} cannot be inspected: {exc.strerror or exc}", directory) from None
    if stat.S_ISLNK(st.st_mode):
        real = _real_root(directory)
        if not _inside(real, real_root):
            raise Refused(f"{directory.name} is a link to {real}, outside {root}; claudex-doctor does not write "
                          "through a link out of the stack", directory)
        try:
            st = os.stat(real)
        except OSError as exc:
            raise Refused(f"{directory.name} points at {real}, which cannot be used: {exc.strerror or exc}",
                          directory) from None
        directory = real
    if not stat.S_ISDIR(st.st_mode):
        raise Refused(f"{directory.name} should be a folder but is not; move it away first", directory)
    if private and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(directory, 0o700)
    return directory


def backup(path: Path, backup_dir: Path | None = None, root: Path | None = None) -> Path | None:
    """Copy `path` (if it exists) to a timestamped backup: owner-only mode (0600, or 0700 for a program),
    written whole before it gets its name. Returns the backup path."""
    path = Path(path)
    fd = _open_file(path)
    if fd is None:
        return None
    try:
        root = Path(root) if root is not None else path.parent
        target_dir = ensure_dir(backup_dir or path.parent, root, private=True)
        mode = 0o700 if os.fstat(fd).st_mode & 0o111 else 0o600
        target = target_dir / f"{path.name}.bak-{timestamp()}"
        _write_new(target, _copy_from(fd), mode)
    finally:
        os.close(fd)
    return target


def removable(path: Path, root: Path) -> os.stat_result | None:
    """What remove() would remove (its lstat), None when nothing is there; Refused as remove() would refuse.
    Lets a caller refuse before it changes anything else."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Refused(f"{path.name} cannot be inspected: {exc.strerror or exc}", path) from None
    _parent_in(path, root, _real_root(Path(root)))
    if not (stat.S_ISLNK(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise Refused(f"{path.name} is {files.what_is(st.st_mode)}, not a regular file; move it away first "
                      "(claudex-doctor removes only files and links)", path)
    return st


def remove(path: Path, root: Path, backup_dir: Path | None = None) -> Path | None:
    """Remove `path`, whose folder must lead inside `root`: a regular file after a backup (in `backup_dir`,
    else beside it), a symbolic link as it is (no backup; what it points at is untouched). Anything else
    (a named pipe, a device, a folder) is refused. Returns the backup's path; None when nothing was there."""
    path = Path(path)
    st = removable(path, root)
    if st is None:
        return None
    real = _parent_in(path, root, _real_root(Path(root)))
    saved = None
    if not stat.S_ISLNK(st.st_mode):
        saved = backup(real, backup_dir, Path(backup_dir).parent if backup_dir else root)
    try:
        os.unlink(real)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    fsync_dir(real.parent)
    return saved


def write_atomic(path: Path, data: bytes | str, mode: int | None = None, keep_backup: bool = True,
                 backup_dir: Path | None = None, root: Path | None = None, private: bool = False) -> Path | None:
    """Replace `path` with `data` atomically. Mode: given, else the old file's, else 0600; `private` (a
    file holding secrets) makes it 0600 and its folder 0700. Returns the backup's path, if one was kept."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    payload = data
    return _replace(Path(path), lambda handle: handle.write(payload), mode, keep_backup, backup_dir, root, private)


def install_file(source: Path, path: Path, mode: int | None = None, keep_backup: bool = True,
                 backup_dir: Path | None = None, root: Path | None = None) -> Path | None:
    """Replace `path` with a copy of `source` (a large binary, streamed) atomically, like write_atomic.
    A source that is not a regular file is refused before anything is written."""
    source = Path(source)
    fd = _open_file(source)
    if fd is None:
        raise FileNotFoundError(errno.ENOENT, f"{source.name} does not exist", str(source))
    try:
        return _replace(Path(path), _copy_from(fd), mode, keep_backup, backup_dir, root, False)
    finally:
        os.close(fd)


def _open_file(path: Path) -> int | None:
    """A descriptor to read the regular file `path` (files.open_regular: a named pipe never blocks, a device
    is never read), or None when it is missing; Refused, naming what it is, for anything else."""
    fd, problem = files.open_regular(path)
    if problem is not None:
        if problem.problem is files.Problem.MISSING:
            return None
        raise Refused(problem.message, path)
    assert fd is not None
    return fd


def _copy_from(fd: int) -> Callable[[BinaryIO], None]:
    """A writer that streams the open file `fd` (from its start) into the handle it is given."""
    def copy(handle: BinaryIO) -> None:
        offset = 0
        while True:
            chunk = os.pread(fd, 1 << 20, offset)
            if not chunk:
                break
            handle.write(chunk)
            offset += len(chunk)
    return copy


def _replace(path: Path, write: Callable[[BinaryIO], object], mode: int | None, keep_backup: bool,
             backup_dir: Path | None, root: Path | None, private: bool) -> Path | None:
    root = Path(root) if root is not None else path.parent
    ensure_dir(path.parent, root, private=private)
    real = target_in(path, root)
    if mode is None:
        try:
            mode = os.stat(real).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o600
    if private:
        mode = mode & 0o700 or 0o600
    # Backups live in the stack's backup folder (its own root: the folder that holds it), else beside the file.
    saved = backup(real, backup_dir, Path(backup_dir).parent if backup_dir else root) if keep_backup else None
    try:
        _write_new(real, write, mode, replace=True)
    except BaseException:
        if saved is not None:  # nothing changed: the backup of an unchanged file is noise
            with contextlib.suppress(OSError):
                os.unlink(saved)
        raise
    return saved


def _write_new(target: Path, write: Callable[[BinaryIO], object], mode: int, replace: bool = False) -> None:
    """Write a temp file beside `target` in full, fsync it, then give it `target`'s name. A failure (a full
    disk) removes the temp file and names `target` in the OSError."""
    tmp = None
    try:
        # A program (the wrapper, the launcher, the proxy) is written under SPAWN_LOCK: see there.
        with SPAWN_LOCK if mode & 0o111 else contextlib.nullcontext():
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # never over an existing name (two backups in one microsecond)
            os.unlink(tmp)
        tmp = None
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    fsync_dir(target.parent)


def append(path: Path, data: bytes, mode: int = 0o600) -> int:
    """Append `data` to a regular file (created `mode` if missing), never through a symbolic link, never
    blocking on a FIFO; returns the size after the write. Raises OSError naming the file."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    fd = open_append(path, flags, mode)
    try:
        os.write(fd, data)
        return os.fstat(fd).st_size
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        os.close(fd)


def open_append(path: Path, flags: int | None = None, mode: int = 0o600) -> int:
    """A descriptor to append to `path` (a log a child process inherits), with append()'s refusals."""
    if flags is None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, "it is a symbolic link; claudex-doctor does not append through links",
                          str(path)) from None
        if exc.errno == errno.ENXIO:
            raise OSError(exc.errno, "it is a named pipe (FIFO), not a file", str(path)) from None
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "it is not a regular file", str(path))
    os.set_blocking(fd, True)
    return fd


def fsync_dir(directory: Path) -> None:
    """Make the renames and removals in `directory` durable (best effort: a folder that cannot be opened
    or synced is left as it is)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
