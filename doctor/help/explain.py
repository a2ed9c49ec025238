"""Topics for `claudex-doctor explain`: the reference pages, aliases, check ids and references.

A topic is found, in this order, as:
1. a reference as findings print it: `references/<page>.md#<anchor>`, `<page>.md`, `<page>#<anchor>`;
2. a page name (every `references/*.md` installed; discovered, never listed by hand);
3. an alias (`auth-sync` -> the auth page; `oauth` -> one heading of the LiteLLM page);
4. a check id (`port.owner`): the heading the check links to;
5. an error text as the user saw it (Claude Code's message, a proxy log line): the failure mode it
   shows (knowledge/failure_modes.py: a log signature first, then a verbatim quote from the
   reports) and that mode's section; `matched` says which mode and signature.
Anything else is an `UnknownTopic` carrying close matches (difflib) for the message.

An alias whose page is not installed is not offered; an alias whose heading has
gone falls back to the whole page, so renaming a heading never breaks `explain`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from claudex_doctor.base.vocab import Vocabulary
from claudex_doctor.errors import UnknownTopic
from claudex_doctor.help.refs import Heading, Library, Page, library, split


def aliases() -> dict[str, tuple[str, str | None]]:
    """alias -> (page, anchor or None), from knowledge/topics.json."""
    from claudex_doctor.knowledge import load

    return {name: (entry["page"], entry.get("anchor")) for name, entry in load("topics")["aliases"].items()}


class TopicKind(Vocabulary):
    PAGE = "page"
    ALIAS = "alias"


@dataclass(frozen=True)
class Topic:
    name: str
    kind: TopicKind
    page: str
    anchor: str | None
    title: str

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.name, "kind": self.kind, "page": self.page, "anchor": self.anchor,
                "title": self.title, "path": f"references/{self.page}.md"}


@dataclass(frozen=True)
class Explanation:
    topic: str  # what was asked
    page: Page
    heading: Heading | None  # None: the whole page
    matched: dict[str, Any] | None = None  # an error text recognised: the failure mode and the signature

    @property
    def title(self) -> str:
        if self.heading is not None:
            return self.heading.title
        return self.page.title or self.page.name

    @property
    def markdown(self) -> str:
        return self.page.section(self.heading.anchor) if self.heading is not None else self.page.markdown

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "title": self.title,
            "path": self.page.path,
            "page": self.page.name,
            "anchor": self.heading.anchor if self.heading is not None else None,
            "headings": [h.to_dict() for h in self.page.headings],
            "markdown": self.markdown,
            **({"matched": self.matched} if self.matched is not None else {}),
        }


def _page_title(page: Page) -> str:
    return page.title or page.name


def topics(lib: Library | None = None) -> list[Topic]:
    """Every page, then every alias whose page is installed (sorted by name within each kind)."""
    lib = lib or library()
    names = lib.names()
    out = [Topic(name, TopicKind.PAGE, name, None, _page_title(lib.page(name))) for name in names]
    table = aliases()
    for alias in sorted(table):
        page_name, anchor = table[alias]
        if alias in names or page_name not in names:
            continue
        page = lib.page(page_name)
        heading = page.heading(anchor) if anchor else None
        title = f"{heading.title} ({page_name})" if heading is not None else _page_title(page)
        out.append(Topic(alias, TopicKind.ALIAS, page_name, heading.anchor if heading else None, title))
    return out


def _check_reference(name: str) -> str | None:
    try:
        from claudex_doctor.checks import CHECKS
    except Exception:  # noqa: BLE001 -- a broken check catalog must not break explain
        return None
    for item in CHECKS:
        if item.id == name:
            return item.reference or None
    return None


def _check_ids() -> list[str]:
    try:
        from claudex_doctor.checks import CHECKS
    except Exception:  # noqa: BLE001 -- suggestions are a nicety
        return []
    return [item.id for item in CHECKS]


def _explain_page(lib: Library, asked: str, page_name: str, anchor: str | None, strict: bool) -> Explanation:
    page = lib.page(page_name)
    if anchor is None:
        return Explanation(asked, page, None)
    heading = page.heading(anchor)
    if heading is None:
        if strict:
            close = difflib.get_close_matches(anchor, sorted(page.anchors), n=5, cutoff=0.4)
            raise UnknownTopic(asked, [f"{page_name}#{a}" for a in close],
                               reason=f"{page.path} has no heading #{anchor}")
        return Explanation(asked, page, None)
    return Explanation(asked, page, heading)


def lookup(query: str, lib: Library | None = None) -> Explanation:
    """Resolve what the user typed to a page or one section of it. Raises UnknownTopic."""
    lib = lib or library()
    asked = query.strip()
    names = lib.names()
    if ("#" in asked or asked.endswith(".md") or asked.startswith("references/")) and not any(c.isspace() for c in asked):
        page_name, anchor = split(asked)
        if page_name in names:
            return _explain_page(lib, asked, page_name, anchor, strict=True)
        raise UnknownTopic(asked, difflib.get_close_matches(page_name, names, n=5, cutoff=0.5),
                           reason=f"there is no page references/{page_name}.md")
    reference = _check_reference(asked) if "." in asked else None  # check ids look like 'port.owner'
    if reference:
        page_name, anchor = split(reference)
        if page_name in names:
            return _explain_page(lib, asked, page_name, anchor, strict=False)
        raise UnknownTopic(asked, [], reason=f"check {asked} links to {reference}, which is not installed")
    key = asked.lower().replace("_", "-").replace(" ", "-")
    if key in names:
        return Explanation(asked, lib.page(key), None)
    table = aliases()
    if key in table:
        page_name, anchor = table[key]
        if page_name in names:
            return _explain_page(lib, asked, page_name, anchor, strict=False)
        raise UnknownTopic(asked, [], reason=f"topic {key!r} is the page references/{page_name}.md, "
                                             "which is not installed")
    recognised = _by_error_text(lib, asked)
    if recognised is not None:
        return recognised
    candidates = [*names, *(a for a in table if table[a][0] in names), *_check_ids()]
    raise UnknownTopic(_shown(asked), difflib.get_close_matches(key, candidates, n=5, cutoff=0.5))


def _shown(text: str) -> str:
    """A pasted text as it may be echoed: one line, short, secrets masked (it may be a log line with a token)."""
    from claudex_doctor.base.redact import redact_text

    line = redact_text(" ".join(text.split()))  # masked whole: a cut first could leave a token too short to match
    return line[:160] + ("…" if len(line) > 160 else "")


def _by_error_text(lib: Library, asked: str) -> Explanation | None:
    """A pasted error (Claude Code's message, a proxy log line): the failure mode it shows, and its section."""
    from claudex_doctor.knowledge import failure_modes

    found = failure_modes.for_text(asked)
    if found is None:
        return None
    mode, sig = found.mode, found.signature
    reference = sig.reference if sig is not None and sig.reference else mode.reference
    for candidate in (mode.reference, reference):
        page_name, anchor = split(candidate)
        if page_name in lib.names():
            break
    else:
        return None
    matched: dict[str, Any] = {"mode": mode.id, "title": mode.title, "reference": mode.reference,
                               "signature": sig.id if sig is not None else None,
                               "by": "signature" if sig is not None else "quote",
                               "fix": {"primitive": mode.fix.primitive, "safety": mode.fix.safety,
                                       "command": mode.fix.command},
                               "checks": list(mode.checks), "sources": list(mode.sources[:5])}
    if sig is not None:
        matched.update(meaning=sig.meaning, signature_source=sig.source)
    explained = _explain_page(lib, _shown(asked), page_name, anchor, strict=False)
    return Explanation(explained.topic, explained.page, explained.heading, matched)


def render_list(items: list[Topic]) -> str:
    """The topic list as plain text: pages with their titles, then aliases grouped by target."""
    pages = [t for t in items if t.kind is TopicKind.PAGE]
    width = max((len(t.name) for t in pages), default=8) + 2
    lines = ["Topics (claudex-doctor explain TOPIC):", ""]
    lines += [f"  {t.name:<{width}}{t.title}" for t in pages]
    groups: dict[tuple[str, str | None], list[str]] = {}
    for t in items:
        if t.kind is TopicKind.ALIAS:
            groups.setdefault((t.page, t.anchor), []).append(t.name)
    if groups:
        lines += ["", "Also accepted:"]
        rows = []
        for (page_name, anchor), aliases in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            target = page_name if anchor is None else f"{page_name}#{anchor}"
            rows.append((", ".join(aliases), target))
        left = min(max(len(r[0]) for r in rows), 44) + 2
        lines += [f"  {names:<{left}}-> {target}" for names, target in rows]
    lines += ["", "A check id works too (claudex-doctor explain port.owner), and so does any reference a",
              "finding prints (references/<page>.md#<anchor>)."]
    return "\n".join(lines) + "\n"


def recognised_lines(explanation: Explanation) -> list[str]:
    """For an error text: which failure mode it is, what names it, and the fix (plain text lines)."""
    m = explanation.matched
    if not m:
        return []
    how = f"signature {m['signature']}" if m.get("signature") else "a quote from the reports"
    lines = [f"Recognised: {m['title']} ({m['mode']}, by {how})"]
    if m.get("meaning"):
        lines.append(f"  {m['meaning']}")
    if m.get("checks"):
        lines.append(f"  Checked by: claudex-doctor --only {','.join(m['checks'])}")
    fix = m["fix"]
    lines.append(f"  Fix ({fix['safety']}): {fix['command']}")
    lines.append(f"  Reported in: {', '.join(m['sources'])}")
    return lines + [""]


def render_plain(explanation: Explanation) -> str:
    """The markdown as written; a section gets a pointer to its whole page."""
    text = "".join(line + "\n" for line in recognised_lines(explanation))
    text += explanation.markdown.rstrip() + "\n"
    if explanation.heading is not None:
        text += (f"\n(From {explanation.page.path}; the whole page: "
                 f"claudex-doctor explain {explanation.page.name})\n")
    return text


def render_rich(explanation: Explanation, color: bool = True, width: int | None = None) -> str:
    """Render for a terminal with rich's Markdown, into a string."""
    import io

    from rich.console import Console
    from rich.markdown import Markdown

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False,
                      emoji=False)
    for line in recognised_lines(explanation):
        console.print(line, markup=False)
    console.print(Markdown(explanation.markdown, code_theme="ansi_dark", hyperlinks=False))
    if explanation.heading is not None:
        console.print(f"[dim]From {explanation.page.path}; the whole page: "
                      f"claudex-doctor explain {explanation.page.name}[/]")
    return buffer.getvalue()


__all__ = ["Explanation", "aliases", "Topic", "lookup", "render_list",
           "render_plain", "render_rich", "topics"]
