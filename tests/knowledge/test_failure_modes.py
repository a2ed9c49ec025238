"""The failure-mode catalog: ranked, sourced, and every mode named by a check or a signature that exists.

A mode is only worth listing if the doctor can tell a user they have it: by a check in the catalog
(checks/__init__.py) or by a log signature (knowledge/signatures.json) whose examples match. Its
reference section must exist and explain it (Cause / Confirm / Fix), and its fix must be a primitive
the user can run by hand.
"""

from __future__ import annotations

import re

import pytest

from claudex_doctor.checks import CHECKS
from claudex_doctor.help import refs
from claudex_doctor.knowledge import failure_modes, load, signatures
from claudex_doctor.primitives import PRIMITIVES

MODES = failure_modes.modes()
CHECK_IDS = {c.id for c in CHECKS}
SIGNATURES = {s.id: s for s in signatures.signatures()}
SOURCE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*#\d+$")
# Modes whose every quote belongs to a more general mode's signature: pasting it finds that mode instead.
QUOTES_OF_ANOTHER_MODE = {"model_list_stale_or_missing": "auth_unavailable_no_usable_credential"}


def test_at_least_forty_modes_ranked_by_reports():
    assert len(MODES) >= 40
    assert [m.reports for m in MODES] == sorted((m.reports for m in MODES), reverse=True)
    assert len({m.id for m in MODES}) == len(MODES)
    load.cache_clear()
    load("failure_modes", validate=True)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.id)
def test_every_mode_is_sourced(mode):
    assert mode.sources and all(SOURCE.match(s) for s in mode.sources), mode.sources
    assert mode.reports == len(mode.sources) == len(set(mode.sources))


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.id)
def test_every_mode_is_named_by_a_check_or_a_signature_that_exists(mode):
    assert mode.checks or mode.signatures, f"{mode.id}: nothing in the doctor names it"
    unknown = [c for c in mode.checks if c not in CHECK_IDS]
    assert not unknown, f"{mode.id}: no such check {unknown}"
    for sig_id in mode.signatures:
        sig = SIGNATURES.get(sig_id)
        assert sig is not None, f"{mode.id}: no such signature {sig_id}"
        assert sig.examples and any(sig.search(example) for example in sig.examples), sig_id


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.id)
def test_every_mode_has_a_reference_section_that_explains_it(mode):
    problem = refs.library().problem(mode.reference)
    assert problem is None, f"{mode.id}: {problem}"
    page, heading = refs.library().resolve(mode.reference)
    section = page.section(heading.anchor)
    assert all(word in section for word in ("Cause", "Confirm", "Fix")), mode.reference


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.id)
def test_every_fix_is_a_primitive_with_its_safety(mode):
    fix = mode.fix
    assert fix.primitive == "manual" or fix.primitive in PRIMITIVES, fix
    assert fix.safety in ("safe", "confirm", "manual")
    if fix.safety != "manual":
        assert fix.primitive != "manual" and fix.primitive in fix.command, fix


def test_signatures_name_modes_of_the_catalog():
    ids = {m.id for m in MODES}
    for sig in SIGNATURES.values():
        assert sig.source and SOURCE.match(sig.source), sig.id
        assert sig.mode in ids, f"signature {sig.id} names mode {sig.mode}, which the catalog does not list"
    named = {s for m in MODES for s in m.signatures}
    assert len(SIGNATURES) >= 30
    assert named <= set(SIGNATURES), f"modes name signatures the data does not have: {named - set(SIGNATURES)}"
    by_id = {m.id: m for m in MODES}
    for sig in SIGNATURES.values():
        assert sig.id in by_id[sig.mode].signatures, f"mode {sig.mode} does not list its signature {sig.id}"


@pytest.mark.parametrize("mode", [m for m in MODES if m.symptom.quotes()], ids=lambda m: m.id)
def test_pasting_what_users_saw_finds_the_mode(mode):
    """What a user would paste into `claudex-doctor explain`: at least one verbatim quote finds its mode."""
    found = {q: failure_modes.for_text(q) for q in mode.symptom.quotes()}
    got = {q: m.mode.id for q, m in found.items() if m is not None}
    expected = QUOTES_OF_ANOTHER_MODE.get(mode.id, mode.id)
    assert expected in got.values(), f"{mode.id}: quotes resolve to {got}"


def test_text_matching_prefers_a_signature_and_ignores_noise():
    cooled = failure_modes.for_text('429 {"error":{"code":"model_cooldown","last_upstream_error":"usage_limit_reached: '
                                    'The usage limit has been reached"}}')
    assert cooled is not None and cooled.signature is not None and cooled.signature.id == "model_cooldown"
    assert cooled.mode.id == "model_cooldown_stale_after_quota"
    assert failure_modes.for_text("") is None and failure_modes.for_text("pong") is None
    assert failure_modes.for_text("the weather is nice today, thank you") is None
    by_quote = failure_modes.for_text("L API Key: apiKeyHelper")
    assert by_quote is not None and by_quote.signature is None and by_quote.mode.id == "apikeyhelper_overrides_gateway_token"
