"""Every reference the doctor hands out points at a real heading of an installed page.

A finding's `reference` is `references/<page>.md#<anchor>`; the anchor is the
GitHub slug of a heading. These tests parse the pages with markdown-it-py (through
`claudex_doctor.help.refs`, the one implementation explain and the report use too)
and check:
- the slug rules (GitHub's, including duplicates);
- every page has a `#` title, first;
- every check's declared reference, and every reference string written in the
  sources under checks/, doctor/ and in knowledge/*.json, resolves;
- the sections checks link to say Cause / Confirm / Fix and name the check's fix;
- the pages are package data: read through importlib.resources, the same set
  as in the repository.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from claudex_doctor.help import refs

REPO = Path(__file__).resolve().parent.parent.parent
PAGES_DIR = REPO / "references"
SCHEMA_REFERENCE = re.compile(r"^references/[a-z0-9-]+\.md#[a-z0-9-]+$")  # doctor/schema.py's pattern


# -- the slug rules ---------------------------------------------------------------

@pytest.mark.parametrize("title, slug", [
    ("Port owned by another process", "port-owned-by-another-process"),
    ("LiteLLM in the path", "litellm-in-the-path"),
    ("What `claudex status` prints", "what-claudex-status-prints"),
    ("400: Stream must be set to true!", "400-stream-must-be-set-to-true"),
    ("count_tokens returns 404", "count_tokens-returns-404"),  # GitHub keeps '_'
    ("Messages -> chat completions -> responses", "messages---chat-completions---responses"),
    ("config.yaml (the proxy's)", "configyaml-the-proxys"),
    ("Éclair & café", "éclair--café"),
])
def test_slugify_follows_github(title, slug):
    assert refs.slugify(title) == slug


def test_duplicate_headings_get_numbered_like_github():
    slugger = refs.Slugger()
    assert [slugger.slug(t) for t in ("Fix", "Fix", "Fix-1", "Fix")] == ["fix", "fix-1", "fix-1-1", "fix-2"]


def test_parse_takes_text_content_and_ignores_code_blocks():
    page = refs.parse("demo", "# Demo *page*\n\nIntro.\n\n## Use `claudex` [now](x)\n\nbody\n\n"
                              "```sh\n# not a heading\n```\n\n### Deeper\n\nmore\n\n## Next\n\nend\n")
    assert page.title == "Demo page"
    assert [(h.level, h.anchor) for h in page.headings] == [
        (1, "demo-page"), (2, "use-claudex-now"), (3, "deeper"), (2, "next")]
    section = page.section("use-claudex-now")
    assert section.startswith("## Use `claudex`") and "### Deeper" in section and "## Next" not in section
    assert "# not a heading" in section


def test_problem_messages_name_what_is_wrong(tmp_path):
    (tmp_path / "one.md").write_text("# One\n\n## Alpha\n")
    lib = refs.Library(tmp_path)
    assert lib.names() == ["one"]
    assert lib.problem("references/one.md#alpha") is None
    assert "no heading" in lib.problem("references/one.md#beta")
    assert "no page" in lib.problem("references/two.md#alpha")
    assert "not of the form" in lib.problem("one.md#alpha")
    assert lib.resolve("references/one.md#alpha")[1].title == "Alpha"


# -- the pages ----------------------------------------------------------------------

def _page_names() -> list[str]:
    return sorted(p.stem for p in PAGES_DIR.glob("*.md"))


@pytest.mark.parametrize("name", _page_names())
def test_every_page_starts_with_a_title(name):
    page = refs.library().page(name)
    assert page.headings, f"{page.path} has no headings"
    first = page.headings[0]
    assert first.level == 1, f"{page.path}: the first heading must be the page's '# title', not {first.title!r}"
    assert sum(h.level == 1 for h in page.headings) == 1, f"{page.path} has more than one '# title'"


@pytest.mark.parametrize("name", _page_names())
def test_section_anchors_are_unique_within_a_page(name):
    page = refs.library().page(name)
    anchors = [refs.slugify(h.title) for h in page.headings if h.level == 2]
    repeated = sorted({a for a in anchors if anchors.count(a) > 1})
    assert not repeated, f"{page.path}: '##' headings share an anchor (links would be ambiguous): {repeated}"


# -- references declared by checks ----------------------------------------------------

def _checks():
    from claudex_doctor.checks import CHECKS
    return CHECKS


@pytest.mark.parametrize("check", _checks(), ids=lambda c: c.id)
def test_every_check_reference_resolves(check):
    assert check.reference, f"check {check.id} declares no reference"
    assert SCHEMA_REFERENCE.match(check.reference), \
        f"check {check.id}: {check.reference!r} does not match the JSON schema's reference pattern"
    problem = refs.library().problem(check.reference)
    assert problem is None, f"check {check.id}: {problem}"


@pytest.mark.parametrize("check", _checks(), ids=lambda c: c.id)
def test_check_sections_give_cause_confirm_and_fix(check):
    found = refs.library().resolve(check.reference)
    if found is None:
        pytest.skip(f"{check.reference} does not resolve (reported by test_every_check_reference_resolves)")
    page, heading = found
    section = page.section(heading.anchor)
    missing = [word for word in ("Cause", "Confirm", "Fix") if word not in section]
    assert not missing, f"{check.reference} (check {check.id}) lacks {', '.join(missing)}"
    for primitive in check.fixes:
        assert primitive in section, \
            f"{check.reference} does not name the fix `{primitive}` that check {check.id} declares"


# -- references written anywhere in the sources ----------------------------------------

# `REF = "references/binaries.md"` ... f"{REF}#claude-broken": the idiom the check modules use.
_PAGE_CONSTANT = re.compile(r"""^\s*([A-Za-z_]\w*)\s*=\s*["'](references/[A-Za-z0-9_-]+\.md)["']\s*$""", re.MULTILINE)


def _written_references() -> list[tuple[str, int, str]]:
    files = sorted([*REPO.joinpath("checks").rglob("*.py"), *REPO.joinpath("doctor").rglob("*.py"),
                    *REPO.joinpath("knowledge").glob("*.json")])
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(REPO))
        for match in refs.REFERENCE_RE.finditer(text):
            found.append((where, text.count("\n", 0, match.start()) + 1, match.group(0)))
        for constant in _PAGE_CONSTANT.finditer(text):
            name, page = constant.group(1), constant.group(2)
            for use in re.finditer(r"\{" + re.escape(name) + r"\}#([\w-]+)", text):
                found.append((where, text.count("\n", 0, use.start()) + 1, f"{page}#{use.group(1)}"))
    return found


def test_the_scan_finds_references_in_both_spellings():
    written = {ref for _, _, ref in _written_references()}
    assert "references/litellm.md#litellm-in-the-path" in written  # a literal, in checks/litellm.py
    assert "references/binaries.md#claude-bin-is-the-wrapper" in written  # f"{REF}#...", in checks/binaries.py


@pytest.mark.parametrize("where, line, reference", _written_references(),
                         ids=lambda v: v if isinstance(v, str) else str(v))
def test_every_written_reference_resolves(where, line, reference):
    problem = refs.library().problem(reference)
    assert problem is None, f"{where}:{line}: {problem}"
    assert SCHEMA_REFERENCE.match(reference), f"{where}:{line}: {reference} breaks the JSON schema's pattern"


# -- installed: package data through importlib.resources ------------------------------

def test_pages_are_package_data():
    root = resources.files(refs.PACKAGE)
    installed = sorted(entry.name[:-3] for entry in root.iterdir() if entry.name.endswith(".md"))
    assert installed == _page_names()
    assert refs.library().names() == installed
    assert "litellm" in installed and "stack" in installed


def test_references_resolve_through_resources_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lib = refs.Library()  # a fresh library: nothing cached from the repository run
    assert lib.problem("references/litellm.md#litellm-in-the-path") is None
    assert lib.page("stack").title
