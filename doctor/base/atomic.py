"""Writing files the safe way: temp file + fsync + rename, with a backup of what was there.

Used by every primitive. A write either happens whole or not at all; the
replaced bytes are kept in a backup whose path is returned (for the journal and
for undoing).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from claudex_doctor.base.proc import SPAWN_LOCK


def write_program(path: Path, text: str, mode: int = 0o700) -> None:
    """Write an executable script that this process may run at once (see SPAWN_LOCK)."""
    with SPAWN_LOCK:
        Path(path).write_text(text, encoding="utf-8")
        Path(path).chmod(mode)


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def backup(path: Path, backup_dir: Path | None = None) -> Path | None:
    """Copy `path` (if it exists) to a timestamped backup, keeping its mode. Returns the backup path."""
    if not path.exists():
        return None
    target_dir = backup_dir or path.parent
    target_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = target_dir / f"{path.name}.bak-{timestamp()}"
    shutil.copy2(path, target)
    return target


def write_atomic(path: Path, data: bytes | str, mode: int | None = None, keep_backup: bool = True,
                 backup_dir: Path | None = None) -> Path | None:
    """Replace `path` with `data` atomically. Mode: given, else the old file's, else 0600."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _replace(Path(path), lambda handle: handle.write(data), mode, keep_backup, backup_dir)


def install_file(source: Path, path: Path, mode: int | None = None, keep_backup: bool = True,
                 backup_dir: Path | None = None) -> Path | None:
    """Replace `path` with a copy of `source` (a large binary, streamed) atomically, like write_atomic."""
    def copy(handle: BinaryIO) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, handle, 1 << 20)
    return _replace(Path(path), copy, mode, keep_backup, backup_dir)


def _replace(path: Path, write: Callable[[BinaryIO], object], mode: int | None, keep_backup: bool,
             backup_dir: Path | None) -> Path | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o600
    saved = backup(path, backup_dir) if keep_backup else None
    # A program (the wrapper, the launcher, the proxy) is written under SPAWN_LOCK: see there.
    tmp = None
    try:
        with SPAWN_LOCK if mode & 0o111 else contextlib.nullcontext():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return saved


def _fsync_dir(directory: Path) -> None:
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
