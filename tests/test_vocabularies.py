"""Every closed vocabulary is an enum (base.vocab.Vocabulary), and every table or branch keyed by one
covers every member: adding a word without teaching the doctor what it means fails here."""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest

import claudex_doctor
from claudex_doctor.base.vocab import Vocabulary


def _all_vocabularies() -> set[type[Vocabulary]]:
    for module in pkgutil.walk_packages(claudex_doctor.__path__, "claudex_doctor."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, stack = set(), [Vocabulary]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.add(sub)
            stack.append(sub)
    return found


def _status(member):
    from claudex_doctor.core.model import exit_code
    from claudex_doctor.render import terminal
    return terminal.SYMBOLS[True][member], terminal.SYMBOLS[False][member], terminal.STYLES[member], exit_code(member)


def _safety(member):
    from claudex_doctor.render import terminal
    return terminal.SAFETY_NOTE[member], member.rank


def _fix_status(member):
    from claudex_doctor.render import terminal
    return terminal.FIX_MARKS[member], terminal.FIX_STYLES[member]


def _problem(member):
    from claudex_doctor.auth.credentials import CredentialState
    return CredentialState.of(member)


def _owner_state(member):
    from claudex_doctor.commands.status import STATE_WORDS
    from claudex_doctor.service.owner import PRECEDENCE
    return STATE_WORDS[member], PRECEDENCE.index(member)


def _failure(member):
    from claudex_doctor.checks._live import transport
    from claudex_doctor.proxy.client import Reply
    reply = Reply("GET", "http://127.0.0.1:1/x", error=member, detail="within 1.0s", budget=5.0)
    outcome = transport(reply, "GET /x")
    generic = transport(Reply("GET", "http://127.0.0.1:1/x", error=None, detail="within 1.0s"), "GET /x")
    # each failure has its own words, except the catch-all TRANSPORT which is the generic branch
    assert (outcome.summary == generic.summary) == (member.name == "TRANSPORT"), member
    return outcome


def _skill_action(member):
    from claudex_doctor.commands.skill import MESSAGES
    return MESSAGES[member]


def _topic_kind(member):
    from claudex_doctor.help.explain import Topic, render_list
    return render_list([Topic("x", member, "x", None, "X")])


def _credential_state(member):
    return member.value


def _pid_state(member):
    from claudex_doctor.service.pidfile import PidRecord
    return PidRecord(member).stale


def _quota_level(member):
    from claudex_doctor.commands.quota import EXIT_CODES
    return EXIT_CODES[member]


def _usage_source(member):
    from claudex_doctor.usage.model import SOURCE_WORDS
    return SOURCE_WORDS[member]


def _usage_problem(member):
    from claudex_doctor.usage.statusline import PROBLEM_WORDS
    return PROBLEM_WORDS[member]
def _fact_source(member):
    from claudex_doctor.knowledge.models import SOURCE_WORDS, Source
    return SOURCE_WORDS[member], Source(member, "2026-11-30").words()


def _plain(member):
    return member.value


def _system(member):
    from claudex_doctor.base import platform
    return platform.service_manager({"CLAUDEX_PLATFORM": member.value}) if member.value != "other" else None


def _service_manager(member):
    from pathlib import Path

    from claudex_doctor.base.paths import resolve
    from claudex_doctor.service import supervisor
    paths = resolve(env={"HOME": "/nonexistent", "CLAUDEX_GATEWAY_HOME": "/nonexistent/gw"})
    target = supervisor.service_file(paths, member)
    assert (target is None) == (member.value == "none")
    return target or Path()


COVERAGE = {
    "claudex_doctor.core.model.Status": _status,
    "claudex_doctor.core.model.Safety": _safety,
    "claudex_doctor.core.model.FixStatus": _fix_status,
    "claudex_doctor.base.files.Problem": _problem,
    "claudex_doctor.service.owner.OwnerState": _owner_state,
    "claudex_doctor.service.owner.Visibility": _plain,
    "claudex_doctor.service.pidfile.PidState": _pid_state,
    "claudex_doctor.service.process.Ending": _plain,
    "claudex_doctor.proxy.client.Failure": _failure,
    "claudex_doctor.auth.credentials.CredentialState": _credential_state,
    "claudex_doctor.bootstrap.Action": _plain,
    "claudex_doctor.help.skill.SkillAction": _skill_action,
    "claudex_doctor.help.explain.TopicKind": _topic_kind,
    "claudex_doctor.render.Format": lambda member: member.renderer(),
    "claudex_doctor.usage.quota.Level": _quota_level,
    "claudex_doctor.usage.model.Source": _usage_source,
    "claudex_doctor.usage.fetch.Problem": _usage_problem,
    "claudex_doctor.knowledge.models.FactSource": _fact_source,
    "claudex_doctor.base.platform.System": _system,
    "claudex_doctor.base.platform.ServiceManager": _service_manager,
}


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_vocabulary_has_a_coverage_test():
    assert {_name(cls) for cls in _all_vocabularies()} == set(COVERAGE)


@pytest.mark.parametrize("name", sorted(COVERAGE))
def test_every_member_is_handled(name):
    module, _, cls_name = name.rpartition(".")
    vocabulary = getattr(importlib.import_module(module), cls_name)
    for member in vocabulary:
        COVERAGE[name](member)


def test_members_read_and_serialise_as_their_words():
    from claudex_doctor.service.owner import OwnerState
    assert OwnerState.OURS == "ours" and f"{OwnerState.OURS}" == "ours" and str(OwnerState.OURS) == "ours"
    assert json.dumps({"state": OwnerState.OTHER_HOME}) == '{"state": "other_home"}'
