"""The reference pages (`references/*.md`) as data: titles, headings, anchors, sections.

One implementation of "which anchors does a page have" for everything that
needs it: `explain` (rendering a page or one section), the support report
(resolving a finding's reference), and the tests that prove every reference a
check or a knowledge file declares points at a real heading. (The module is not
called `references`: that name belongs to the package that holds the pages.)

Anchors are GitHub's: the heading's text content, lowercased, with every
character dropped that is not a letter, a digit, `_`, `-` or a space, and each
space turned into `-`; the second heading with the same slug gets `-1`, the
third `-2` (as github-slugger does). So `references/litellm.md#litellm-in-the-path`
works in the terminal, in the JSON, and on GitHub alike.

Pages are read through importlib.resources from the package
`claudex_doctor.references`, so an installed wheel finds them from any working
directory. markdown-it-py is imported lazily (only when a page is parsed).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

from claudex_doctor.errors import PageNotFound

PACKAGE = "claudex_doctor.references"
PREFIX = "references/"

# A reference as checks, findings and knowledge files write it. Slugs only ever
# hold word characters and '-', so prose punctuation after a reference stays out.
REFERENCE_RE = re.compile(r"references/([A-Za-z0-9][A-Za-z0-9_-]*)\.md#([\w-]+)")
_PAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_NOT_SLUG = re.compile(r"[^\w\- ]")


def slugify(text: str) -> str:
    """GitHub's anchor for a heading whose text content is `text` (before de-duplication)."""
    return _NOT_SLUG.sub("", text.lower()).replace(" ", "-")


class Slugger:
    """Anchors for the headings of one page, in order, with GitHub's `-1`, `-2` for repeats."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def slug(self, text: str) -> str:
        base = slugify(text)
        result = base
        while result in self._seen:
            self._seen[base] += 1
            result = f"{base}-{self._seen[base]}"
        self._seen[result] = 0
        return result


@dataclass(frozen=True)
class Heading:
    level: int  # 1 for '#', 2 for '##', ...
    title: str  # the text content, markup removed
    anchor: str
    line: int  # 0-based first line of the heading
    end: int  # 0-based line where its section ends (exclusive)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "anchor": self.anchor, "level": self.level}


@dataclass(frozen=True)
class Page:
    name: str  # 'auth' for references/auth.md
    markdown: str
    headings: tuple[Heading, ...]

    @property
    def path(self) -> str:
        return f"{PREFIX}{self.name}.md"

    @property
    def title(self) -> str | None:
        """The page's top-level (`#`) title: the first level-1 heading."""
        for heading in self.headings:
            if heading.level == 1:
                return heading.title
        return None

    @property
    def anchors(self) -> frozenset[str]:
        return frozenset(h.anchor for h in self.headings)

    def heading(self, anchor: str) -> Heading | None:
        for heading in self.headings:
            if heading.anchor == anchor:
                return heading
        return None

    def section(self, anchor: str) -> str:
        """One heading and everything under it, up to the next heading of its level or above."""
        heading = self.heading(anchor)
        if heading is None:
            raise KeyError(anchor)
        lines = self.markdown.splitlines()
        return "\n".join(lines[heading.line:heading.end]).rstrip() + "\n"


def _text_of(inline) -> str:
    """The text content of an inline token, as a browser shows it (code kept, markup dropped)."""
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_text_of(child))
    return "".join(parts)


def parse(name: str, markdown: str) -> Page:
    """Every ATX and setext heading (not those inside code blocks), with anchors and extents."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    total = len(markdown.splitlines())
    found: list[tuple[int, str, int]] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            inline = tokens[index + 1] if index + 1 < len(tokens) else None
            title = " ".join(_text_of(inline).split()) if inline is not None else ""
            found.append((int(token.tag[1:]), title, token.map[0]))
    slugger = Slugger()
    headings = []
    for position, (level, title, line) in enumerate(found):
        end = total
        for later_level, _, later_line in found[position + 1:]:
            if later_level <= level:
                end = later_line
                break
        headings.append(Heading(level, title, slugger.slug(title), line, end))
    return Page(name, markdown, tuple(headings))


def split(reference: str) -> tuple[str, str | None]:
    """'references/stack.md#runtime-layout' -> ('stack', 'runtime-layout'); 'stack.md#..', 'stack#..', 'stack' too."""
    page, _, anchor = reference.strip().partition("#")
    page = page.removeprefix(PREFIX)
    page = page.removesuffix(".md")
    return page, (anchor or None)


class Library:
    """The installed pages, read through importlib.resources; each page parsed once."""

    def __init__(self, root=None) -> None:
        self._root = root  # a Traversable (a Path in tests); default: the installed package
        self._pages: dict[str, Page] = {}
        self._lock = threading.Lock()

    @property
    def root(self):
        return self._root if self._root is not None else resources.files(PACKAGE)

    def names(self) -> list[str]:
        out = []
        for entry in self.root.iterdir():
            name = entry.name
            if name.endswith(".md") and _PAGE_NAME.match(name[:-3]) and entry.is_file():
                out.append(name[:-3])
        return sorted(out)

    def page(self, name: str) -> Page:
        with self._lock:
            cached = self._pages.get(name)
        if cached is not None:
            return cached
        if not _PAGE_NAME.match(name or ""):
            raise PageNotFound(name)
        try:
            text = self.root.joinpath(f"{name}.md").read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise PageNotFound(name) from None
        page = parse(name, text)
        with self._lock:
            self._pages[name] = page
        return page

    def pages(self) -> list[Page]:
        return [self.page(name) for name in self.names()]

    def problem(self, reference: str) -> str | None:
        """None when `reference` names an existing heading; else one sentence saying what is wrong."""
        if not isinstance(reference, str) or not REFERENCE_RE.fullmatch(reference):
            return f"{reference!r} is not of the form references/<page>.md#<anchor>"
        name, anchor = split(reference)
        try:
            page = self.page(name)
        except PageNotFound:
            return f"{reference}: there is no page {PREFIX}{name}.md"
        if page.heading(anchor or "") is None:
            return f"{reference}: {page.path} has no heading with the anchor #{anchor}"
        return None

    def resolve(self, reference: str) -> tuple[Page, Heading] | None:
        """The page and heading a valid reference points at; None when it does not resolve."""
        if self.problem(reference) is not None:
            return None
        name, anchor = split(reference)
        page = self.page(name)
        heading = page.heading(anchor or "")
        return (page, heading) if heading is not None else None


_DEFAULT: Library | None = None


def library() -> Library:
    """The process-wide library of the installed pages."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Library()
    return _DEFAULT
