"""A static reader for small POSIX shell scripts such as the claudex wrapper. It never runs them.

It knows enough shell to answer the wrapper questions: which first-argument words
are dispatched before claude starts (`case "$1" in ...` and `if [ "$1" = ... ]`),
what the rest of the script (the passthrough path) does command by command, which
files it sources, and what a `$HOME/...`-style word expands to. Anything it cannot
know without running the script (command substitution, `$0`, unknown variables)
is reported as unknown rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "esac", "time"}
_PREFIXES = {"command", "builtin", "nohup"}
_POSITIONAL = re.compile(r"^\$(\d)$|^\$\{(\d)(?:[:]?[-=?+][^}]*)?\}$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_REDIRECT = re.compile(r"^\d*(>>?|<<?|>&|<&|&>)")


def dequote(word: str) -> str:
    """Remove one level of shell quoting without expanding anything."""
    out, i = [], 0
    while i < len(word):
        ch = word[i]
        if ch == "'":
            j = word.find("'", i + 1)
            j = len(word) if j < 0 else j
            out.append(word[i + 1:j])
            i = j + 1
        elif ch == '"':
            i += 1
            while i < len(word) and word[i] != '"':
                if word[i] == "\\" and i + 1 < len(word) and word[i + 1] in '$`"\\':
                    i += 1
                out.append(word[i])
                i += 1
            i += 1
        elif ch == "\\" and i + 1 < len(word):
            out.append(word[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _close(text: str, i: int, open_ch: str, close_ch: str) -> int:
    """Index just past the bracket matching text[i] (an opening bracket), honouring quotes."""
    depth, j = 0, i
    while j < len(text):
        ch = text[j]
        if ch == "\\" or ch == '"' or (ch == "'" and open_ch != "{"):
            j = _skip(text, j)
            continue
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)


def _opens(text: str, j: int) -> bool:
    """Does text[j] start something the shell reads as one piece: an escape, quotes, $(...), ${...}, `...`?"""
    ch = text[j]
    return ch in "\\'\"`" or (ch == "$" and j + 1 < len(text) and text[j + 1] in "({")


def _skip(text: str, j: int) -> int:
    """Index just past the piece that starts at text[j] (see `_opens`); quotes nested inside a
    substitution within double quotes ("$(x "y z")") belong to it."""
    n, ch = len(text), text[j]
    if ch == "\\":
        return min(j + 2, n)
    if ch in "'`":
        k = text.find(ch, j + 1)
        return n if k < 0 else k + 1
    if ch == "$":
        return _close(text, j + 1, text[j + 1], ")" if text[j + 1] == "(" else "}")
    j += 1  # a double quote
    while j < n and text[j] != '"':
        if text[j] in "\\`" or (text[j] == "$" and j + 1 < n and text[j + 1] in "({"):
            j = _skip(text, j)
        else:
            j += 1
    return min(j + 1, n)


def blank_comments(text: str) -> str:
    """The script with comments replaced by spaces (same length, same offsets, same lines)."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text[i] == "#" and (i == 0 or text[i - 1] in " \t\n;&|()"):
            while i < n and text[i] != "\n":
                out[i] = " "
                i += 1
        elif _opens(text, i):
            i = _skip(text, i)
        else:
            i += 1
    return "".join(out)


@dataclass
class Segment:
    """One simple command: its words (quotes kept), where it starts, and what it does."""

    words: list[str]
    line: int
    text: str = ""

    def _command(self) -> tuple[int, bool, bool]:
        """(index of the command word, exec?, eval?) after assignments, exec/env/command prefixes."""
        i, is_exec, is_eval = 0, False, False
        words = self.words
        while i < len(words):
            word = words[i]
            if _ASSIGN_WORD.match(word) and not is_eval:
                i += 1
            elif word == "exec":
                is_exec, i = True, i + 1
            elif word == "eval":
                is_eval, i = True, i + 1
            elif word in _PREFIXES:
                i += 1
            elif word == "env":
                i += 1
                while i < len(words) and (words[i].startswith("-") or _ASSIGN_WORD.match(words[i])):
                    i += 1
            elif _REDIRECT.match(word):
                i += 1
            else:
                break
        return i, is_exec, is_eval

    @property
    def command(self) -> str:
        i = self._command()[0]
        return self.words[i] if i < len(self.words) else ""

    @property
    def exec(self) -> bool:
        return self._command()[1]

    @property
    def eval(self) -> bool:
        return self._command()[2]

    @property
    def runs_claude(self) -> bool:
        i, _, is_eval = self._command()
        rest = self.words[i:] if not is_eval else [" ".join(self.words[i:])]
        return bool(rest) and _is_claude(rest[0] if not is_eval else rest[0])

    @property
    def target(self) -> str:
        return self.command

    @property
    def args(self) -> list[str]:
        i = self._command()[0]
        return [w for w in self.words[i + 1:] if not _REDIRECT.match(w)]

    @property
    def assignment(self) -> tuple[str, str] | None:
        words = self.words[1:] if self.words and self.words[0] in ("export", "readonly", "local") else self.words
        if len(words) == 1:
            match = _ASSIGN_WORD.match(words[0])
            if match:
                return match.group(1), match.group(2)
        return None

    @property
    def sourced(self) -> str | None:
        if len(self.words) >= 2 and self.words[0] in (".", "source"):
            return self.words[1]
        return None

    @property
    def substitution(self) -> bool:
        return any(("$(" in w and "$((" not in w) or "`" in w for w in self.words if not w.startswith("'"))

    @property
    def python(self) -> bool:
        name = dequote(self.command).rsplit("/", 1)[-1]
        return bool(re.fullmatch(r"python[0-9.]*|claudex-doctor|uv|pipx", name)) or "claudex_doctor" in " ".join(self.words)


def _is_claude(word: str) -> bool:
    return bool(re.search(r"claude(?!x)", word, re.I)) and not re.search(r"claudex[-_]doctor", word, re.I)


def word_end(code: str, i: int = 0) -> int:
    """Index just past the shell word starting at code[i]: quotes, backslashes, `$(...)`, `${...}`
    and backticks belong to the word, which ends at an unquoted blank, newline or operator."""
    n, j = len(code), i
    while j < n:
        ch = code[j]
        if ch in " \t\n;|()" or (ch == "&" and not (j > i and code[j - 1] in "<>")):
            break
        j = _skip(code, j) if _opens(code, j) else j + 1
    return min(j, n)


def segments(code: str, offset_line: int = 1) -> list[Segment]:
    """Split (comment-free) shell code into simple commands."""
    result: list[Segment] = []
    words: list[str] = []
    start_line = offset_line
    line = offset_line
    i, n = 0, len(code)
    seg_start = 0

    def flush(end: int) -> None:
        nonlocal words
        while words and words[0] in _KEYWORDS:
            words.pop(0)
        if words:
            result.append(Segment(words, start_line, code[seg_start:end]))
        words = []

    while i < n:
        ch = code[i]
        if ch == "\n":
            flush(i)
            line += 1
            i += 1
            seg_start = i
            start_line = line
            continue
        if ch in " \t":
            i += 1
            continue
        if ch == "\\" and i + 1 < n and code[i + 1] == "\n":
            line += 1
            i += 2
            continue
        if ch in ";&|()":
            flush(i)
            i += 2 if code[i:i + 2] in (";;", "&&", "||") else 1
            seg_start = i
            start_line = line
            continue
        if not words:
            start_line = line
        j = word_end(code, i)
        word = code[i:j]
        line += word.count("\n")
        words.append(word)
        i = j
    flush(n)
    return result


@dataclass
class Branch:
    """First-argument words (or another position's) that a case arm or if-test handles itself."""

    position: int
    words: list[str]
    span: tuple[int, int]


@dataclass
class Script:
    text: str
    code: str = field(init=False)
    dispatch: list[Branch] = field(init=False)
    assignments: list[tuple[int, str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.code = blank_comments(self.text)
        self.aliases = self._aliases()
        self.dispatch = []
        self._cases()
        self._ifs()
        self.assignments = [(s.line, *s.assignment) for s in self.hot_segments() if s.assignment]

    def _line(self, offset: int) -> int:
        return self.code.count("\n", 0, offset) + 1

    def _aliases(self) -> dict[str, int]:
        found = {}
        for match in re.finditer(r"(?m)(?:^|[;&|]|\b(?:local|readonly|export)\s)\s*([A-Za-z_]\w*)=(\"?\$\{?(\d)[^\s;\"]*\"?)",
                                 self.code):
            if _POSITIONAL.match(dequote(match.group(2))):
                found[match.group(1)] = int(match.group(3))
        return found

    def position(self, word: str) -> int | None:
        raw = dequote(word)
        match = _POSITIONAL.match(raw)
        if match:
            return int(match.group(1) or match.group(2))
        name = re.fullmatch(r"\$\{?([A-Za-z_]\w*)\}?", raw)
        if name and name.group(1) in self.aliases:
            return self.aliases[name.group(1)]
        return None

    def _runs_claude(self, code: str) -> bool:
        return any(seg.runs_claude for seg in segments(code))

    def _cases(self) -> None:
        for head in re.finditer(r"\bcase\s+(\"[^\"]*\"|'[^']*'|\S+)\s+in\b", self.code):
            pos = self.position(head.group(1))
            end = re.compile(r"\besac\b").search(self.code, head.end())
            body_end = end.start() if end else len(self.code)
            if pos is None:
                continue
            arm = re.compile(r"\s*\(?\s*([^()]*?)\)(.*?)(?:;;&|;;|;&|\Z)", re.S)
            at = head.end()
            while at < body_end:
                match = arm.match(self.code, at, body_end)
                if not match or match.end() == at:
                    break
                at = match.end()
                patterns = [dequote(p.strip()) for p in match.group(1).split("|") if p.strip()]
                if patterns == ["*"] or self._runs_claude(match.group(2)):
                    continue
                self.dispatch.append(Branch(pos, patterns, (match.start(2), match.end(2))))

    def _ifs(self) -> None:
        test = re.compile(r"(\"[^\"\s]*\"|\$\{?\w+[^\s\"]*)\s*(?:==?|!=)\s*(\"[^\"]*\"|'[^']*'|[^\s\];&|]+)")
        for match in re.finditer(r"\b(?:if|elif)\s+(.*?)(?:;|\n)\s*then\b(.*?)(?=\b(?:elif|else|fi)\b)", self.code, re.S):
            for cond in test.finditer(match.group(1)):
                pos = self.position(cond.group(1))
                if pos is None or self._runs_claude(match.group(2)):
                    continue
                self.dispatch.append(Branch(pos, [dequote(cond.group(2))], (match.start(2), match.end(2))))

    @property
    def function_lines(self) -> set[int]:
        """Lines inside shell function definitions (`name() { ... }`): run only when called."""
        lines: set[int] = set()
        for match in re.finditer(r"(?m)^[ \t]*(?:function[ \t]+)?[A-Za-z_][\w-]*[ \t]*\([ \t]*\)[ \t]*\{", self.code):
            end = _close(self.code, match.end() - 1, "{", "}")
            lines.update(range(self._line(match.start()), self._line(end) + 1))
        return lines

    @property
    def hot_code(self) -> str:
        """The code with dispatched branches blanked: what runs on the way to claude."""
        chars = list(self.code)
        for branch in self.dispatch:
            for k in range(*branch.span):
                if chars[k] != "\n":
                    chars[k] = " "
        return "".join(chars)

    def hot_segments(self) -> list[Segment]:
        return segments(self.hot_code)

    @property
    def scans_arguments(self) -> bool:
        for loop in re.finditer(r"\bfor\s+([A-Za-z_]\w*)\s*(?:;|\n|\s+do\b|\s+in\s+\"?\$\{?[@*])", self.code):
            var = re.escape(loop.group(1))
            if re.search(r"\bcase\s+\"?\$\{?" + var + r"\}?\"?\s+in\b|\"?\$\{?" + var + r"\}?\"?\s*(?:==?|!=)\s", self.code):
                return True
        return False

    @property
    def nounset(self) -> bool:
        first = self.text.split("\n", 1)[0]
        return bool(re.search(r"\bset\s+-[A-Za-z]*u|\bset\s+-o\s+nounset", self.code)) or \
            bool(first.startswith("#!") and re.search(r"\s-[A-Za-z]*u", first))

    @property
    def unguarded_first_arg(self) -> bool:
        return bool(re.search(r"\$1(?!\d)|\$\{1\}", self.hot_code))

    @property
    def allexport(self) -> bool:
        return bool(re.search(r"\bset\s+-[A-Za-z]*a|\bset\s+-o\s+allexport", self.hot_code))


def expand(word: str, values: Mapping[str, str]) -> str | None:
    """What the shell would make of `word` given these variables; None when it cannot be known statically."""
    out: list[str] = []
    i, n = 0, len(word)
    if word.startswith("~") and (n == 1 or word[1] == "/"):
        if "HOME" not in values:
            return None
        out.append(values["HOME"])
        i = 1
    while i < n:
        ch = word[i]
        if ch == "'":
            k = word.find("'", i + 1)
            if k < 0:
                return None
            out.append(word[i + 1:k])
            i = k + 1
        elif ch == '"':
            i += 1
            while i < n and word[i] != '"':
                if word[i] == "\\" and i + 1 < n and word[i + 1] in '$`"\\':
                    out.append(word[i + 1])
                    i += 2
                elif word[i] == "$":
                    value, i = _dollar(word, i, values)
                    if value is None:
                        return None
                    out.append(value)
                elif word[i] == "`":
                    return None
                else:
                    out.append(word[i])
                    i += 1
            if i >= n:
                return None
            i += 1
        elif ch == "\\":
            if i + 1 < n:
                out.append(word[i + 1])
            i += 2
        elif ch == "$":
            value, i = _dollar(word, i, values)
            if value is None:
                return None
            out.append(value)
        elif ch == "`" or ch in "*?[":
            return None
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _dollar(word: str, i: int, values: Mapping[str, str]) -> tuple[str | None, int]:
    n = len(word)
    if i + 1 >= n:
        return "$", i + 1
    nxt = word[i + 1]
    if nxt == "{":
        end = _close(word, i + 1, "{", "}")
        inner = word[i + 2:end - 1]
        match = re.fullmatch(r"([A-Za-z_]\w*)(?:(:?[-=])(.*))?", inner, re.S)
        if not match:
            return None, end
        value = values.get(match.group(1))
        op = match.group(2)
        if op and (value is None or (op.startswith(":") and value == "")):
            value = expand(match.group(3), values)
        return value, end
    name = _NAME.match(word, i + 1)
    if name:
        return values.get(name.group(0)), name.end()
    return None, i + 2
