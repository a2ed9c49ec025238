"""Reading the stack's files: bounded, never blocking, never raising, never changing them.

Every reader goes through `read_bytes`: it opens without following the file into a block (O_NONBLOCK:
a FIFO opens at once), asks the open descriptor what it is (fstat: a directory, FIFO, device or socket
is a named problem, and nothing is read from it), reads at most the cap for that kind of file (a
symlink to /dev/zero or a file that keeps growing stops at the cap), and turns every OSError into a
named problem (ELOOP: a symlink loop). Parsing is bounded too: nesting and number length are measured
before a parser sees the text.

A reader returns a `Loaded`: the data, or a `Problem` with a one-line message that names the file.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claudex_doctor.base.vocab import Vocabulary


class Problem(Vocabulary):
    """Why a file gave no data."""

    MISSING = "missing"
    UNREADABLE = "unreadable"
    NOT_UTF8 = "not_utf8"
    INVALID = "invalid"
    WRONG_TYPE = "wrong_type"
    TOO_LARGE = "too_large"
    NOT_A_FILE = "not_a_file"


KiB = 1024
MiB = 1024 * KiB
# Caps by what a file is: far above any real one, far below what would hurt to read or parse.
CONFIG_CAP = 1 * MiB       # config.yaml, the env file, auth files, run.sh, the wrapper, settings.json
LARGE_CAP = 8 * MiB        # ~/.claude.json (Claude Code keeps project history in it), Codex's models_cache.json
SMALL_CAP = 64 * KiB       # the pidfile, a package manifest, /proc entries
MAX_BYTES = CONFIG_CAP     # the default cap
# No file the stack keeps nests deeper than a handful of levels; a parser given thousands of levels
# spends seconds (ruamel.yaml) or recurses until it fails (json on some Pythons, not on others).
# Depth is measured before parsing, so a pathological file costs one linear scan, the same everywhere.
MAX_DEPTH = 64
# A JSON number longer than this is not a port, a timestamp or a count: refused before int() sees it.
MAX_NUMBER_DIGITS = 64
_READ_CHUNK = 256 * KiB


@dataclass(frozen=True)
class Loaded:
    path: Path
    data: Any = None
    problem: Problem | None = None
    message: str = ""
    mode: int | None = None
    text: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def exists(self) -> bool:
        return self.problem is not Problem.MISSING

    @property
    def perms(self) -> str | None:
        return None if self.mode is None else oct(stat.S_IMODE(self.mode))


def what_is(mode: int) -> str:
    """A file type in words: "a directory", "a named pipe (FIFO)", ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something else"


def _os_problem(path: Path, exc: OSError, mode: int | None = None) -> Loaded:
    if isinstance(exc, FileNotFoundError):
        return Loaded(path, problem=Problem.MISSING, message=f"{path.name} does not exist")
    if exc.errno == errno.ELOOP:
        return Loaded(path, problem=Problem.UNREADABLE, message=f"{path.name} cannot be read: it is a symbolic link loop", mode=mode)
    if exc.errno == errno.ENOTDIR:
        return Loaded(path, problem=Problem.UNREADABLE,
                      message=f"{path.name} cannot be read: a folder on its path is a file", mode=mode)
    if isinstance(exc, PermissionError):
        return Loaded(path, problem=Problem.UNREADABLE, message=f"{path.name} cannot be read: permission denied",
                      mode=mode)
    return Loaded(path, problem=Problem.UNREADABLE, message=f"{path.name} cannot be read: {exc.strerror or exc}",
                  mode=mode)


def open_regular(path: Path, flags: int = os.O_RDONLY) -> tuple[int | None, Loaded | None]:
    """(descriptor, None) for a regular file opened without blocking, else (None, the named problem).
    The caller closes the descriptor."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, _os_problem(path, exc)
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        return None, _os_problem(path, exc)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None, Loaded(path, problem=Problem.NOT_A_FILE,
                            message=f"{path.name} is {what_is(st.st_mode)}, not a regular file", mode=st.st_mode)
    return fd, None


def read_bytes(path: Path, cap: int = MAX_BYTES) -> Loaded:
    """The whole file as bytes (`data`), or a named problem; never more than `cap` bytes are read."""
    path = Path(path)
    fd, problem = open_regular(path)
    if problem is not None or fd is None:
        return problem or Loaded(path, problem=Problem.UNREADABLE, message=f"{path.name} cannot be read")
    try:
        st = os.fstat(fd)
        if st.st_size > cap:
            return Loaded(path, problem=Problem.TOO_LARGE,
                          message=f"{path.name} is {st.st_size:,} bytes, too large to be what it should "
                                  f"(at most {cap:,})",
                          mode=st.st_mode)
        data = _read_up_to(fd, cap + 1)
        if len(data) > cap:  # it grew while being read, or lies about its size (/proc, a device behind a link)
            return Loaded(path, problem=Problem.TOO_LARGE,
                          message=f"{path.name} holds more than {cap:,} bytes, too large to be what it should",
                          mode=st.st_mode)
        return Loaded(path, data=data, mode=st.st_mode)
    except OSError as exc:
        return _os_problem(path, exc, st.st_mode if "st" in locals() else None)
    finally:
        os.close(fd)


def _read_up_to(fd: int, cap: int) -> bytes:
    """Read from `fd` until end of file or `cap` bytes."""
    chunks: list[bytes] = []
    total = 0
    while total < cap:
        chunk = os.read(fd, min(_READ_CHUNK, cap - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_head(path: Path, cap: int) -> Loaded:
    """The first `cap` bytes of a file, however large it is, with the same refusals as read_bytes."""
    path = Path(path)
    fd, problem = open_regular(path)
    if problem is not None or fd is None:
        return problem or Loaded(path, problem=Problem.UNREADABLE, message=f"{path.name} cannot be read")
    try:
        st = os.fstat(fd)
        return Loaded(path, data=_read_up_to(fd, cap), mode=st.st_mode)
    except OSError as exc:
        return _os_problem(path, exc)
    finally:
        os.close(fd)


def read_tail(path: Path, cap: int) -> tuple[Loaded, int]:
    """The last `cap` bytes of a file (a log, the journal) and its size, with the same refusals as
    read_bytes; a first partial line is dropped by the caller when it matters."""
    path = Path(path)
    fd, problem = open_regular(path)
    if problem is not None or fd is None:
        return problem or Loaded(path, problem=Problem.UNREADABLE, message=f"{path.name} cannot be read"), 0
    try:
        st = os.fstat(fd)
        start = max(0, st.st_size - cap)
        os.lseek(fd, start, os.SEEK_SET)
        return Loaded(path, data=_read_up_to(fd, cap), mode=st.st_mode), st.st_size
    except OSError as exc:
        return _os_problem(path, exc), 0
    finally:
        os.close(fd)


def read_text(path: Path, cap: int = MAX_BYTES) -> Loaded:
    raw = read_bytes(path, cap)
    if not raw.ok:
        return raw
    data: bytes = raw.data
    if b"\x00" in data:
        return Loaded(path, problem=Problem.NOT_UTF8, message=f"{path.name} contains binary data (NUL bytes)",
                      mode=raw.mode)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Loaded(path, problem=Problem.NOT_UTF8,
                      message=f"{path.name} is not UTF-8 text (bad byte at offset {exc.start})", mode=raw.mode)
    return Loaded(path, data=text, mode=raw.mode, text=text)


def read_json(path: Path, expect: type | tuple[type, ...] = dict, cap: int = MAX_BYTES) -> Loaded:
    loaded = read_text(path, cap)
    if not loaded.ok:
        return loaded
    text = loaded.text or ""
    if not text.strip():
        return Loaded(path, problem=Problem.INVALID, message=f"{path.name} is empty", mode=loaded.mode, text=text)
    try:
        data = loads_json(text)
    except json.JSONDecodeError as exc:
        where = "it ends early (truncated?)" if exc.pos >= len(text.rstrip()) else f"line {exc.lineno} column {exc.colno}"
        return Loaded(path, problem=Problem.INVALID, message=f"{path.name} is not valid JSON: {exc.msg} at {where}", mode=loaded.mode, text=text)
    except TooComplex as exc:
        return Loaded(path, problem=Problem.INVALID, message=f"{path.name} {exc}", mode=loaded.mode, text=text)
    if not isinstance(data, expect):
        want = "an object" if expect is dict else "a list" if expect is list else "the right type"
        return Loaded(path, problem=Problem.WRONG_TYPE, message=f"{path.name} holds {_json_type(data)}, not {want}", mode=loaded.mode, text=text)
    return Loaded(path, data=data, mode=loaded.mode, text=text)


def read_yaml(path: Path, cap: int = MAX_BYTES) -> Loaded:
    """Parse YAML safely (no tags, no code). The data is plain dicts/lists."""
    loaded = read_text(path, cap)
    if not loaded.ok:
        return loaded
    text = loaded.text or ""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    depth = flow_depth(_YAML_QUOTED.sub("", text)) + block_depth(text)
    if depth > MAX_DEPTH:
        return Loaded(path, problem=Problem.INVALID, message=f"{path.name} is not valid YAML: nested more than {MAX_DEPTH} "
                      "levels deep, which no config is", mode=loaded.mode, text=text)
    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        return Loaded(path, problem=Problem.INVALID, message=f"{path.name} is not valid YAML: {problem}{where}", mode=loaded.mode, text=text)
    except (RecursionError, ValueError, TypeError) as exc:
        return Loaded(path, problem=Problem.INVALID, message=f"{path.name} is not valid YAML: {type(exc).__name__}", mode=loaded.mode, text=text)
    if data is None:
        return Loaded(path, problem=Problem.INVALID, message=f"{path.name} is empty", mode=loaded.mode, text=text)
    if expands_beyond(data, MAX_YAML_VALUES):
        return Loaded(path, problem=Problem.INVALID, message=f"{path.name} expands (through YAML aliases) to more than "
                      f"{MAX_YAML_VALUES} values: not a config", mode=loaded.mode, text=text)
    if not isinstance(data, dict):
        return Loaded(path, problem=Problem.WRONG_TYPE, message=f"{path.name} holds {_json_type(data)}, not a mapping of settings", mode=loaded.mode, text=text)
    return Loaded(path, data=data, mode=loaded.mode, text=text)


MAX_YAML_VALUES = 100_000


class TooComplex(ValueError):
    """A JSON text nested or numbered beyond anything the stack writes; the message completes '<file> ...'."""


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
# Quoted YAML scalars and comments, whose brackets are text, not structure.
_YAML_QUOTED = re.compile(r'(?<![^\s\[{,:])(?:"(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\')|(?<!\S)#[^\n]*', re.DOTALL)
_BRACKETS = re.compile(r"[^\[\]{}]+")
_LEADING = re.compile(r"^([ \t]*)((?:-[ \t]+)*)", re.MULTILINE)


def flow_depth(text: str) -> int:
    """The deepest bracket nesting in `text` (strings already removed): one linear pass."""
    depth = deepest = 0
    for char in _BRACKETS.sub("", text):
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif depth:
            depth -= 1
    return deepest


def block_depth(text: str) -> int:
    """How many indentation levels YAML's block structure opens at most (`- ` entries count as a level)."""
    levels: list[int] = []
    deepest = 0
    for match in _LEADING.finditer(text):
        start = match.end()
        if start >= len(text) or text[start] in "\n#":
            continue  # blank or comment-only line
        indent, dashes = len(match.group(1)), match.group(2)
        while levels and levels[-1] > indent:
            levels.pop()
        if not levels or levels[-1] < indent:
            levels.append(indent)
        deepest = max(deepest, len(levels) + dashes.count("-"))
    return deepest


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise TooComplex(f"holds a number of {len(digits)} digits, which no real value has")
    return int(digits)


def loads_json(text: str | bytes) -> Any:
    """json.loads with the depth and number bounds every reader of outside data needs.
    Raises json.JSONDecodeError (not JSON) or TooComplex (JSON, but beyond any real file)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if flow_depth(_JSON_STRING.sub("", text)) > MAX_DEPTH:
        raise TooComplex(f"is nested too deeply (more than {MAX_DEPTH} levels) to be valid")
    try:
        return json.loads(text, parse_int=_bounded_int)
    except RecursionError:  # unreachable after the depth scan; kept so no Python version can crash here
        raise TooComplex("is nested too deeply to be valid") from None


def expands_beyond(data: Any, limit: int) -> bool:
    """True when walking `data` (aliases followed) visits more than `limit` values: a 'billion laughs'
    document is tiny as objects but would make every later walk over it (redaction, checks) endless."""
    stack, seen = [data], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def real_path(path: Path | str) -> Path:
    """Where `path` leads, links followed, never raising: a link loop or an unreadable folder on the way
    gives the absolute path as written (Path.resolve raises RuntimeError on a loop before Python 3.13)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def file_mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
