"""Modeller drafts: service managers, an edit to the AMBER timescale and the model tests that go with it."""

from __future__ import annotations

from app.services.modelling import drafts
from app.services.people import users
from tests.support import PASSWORD

RAG = "dmn/rag_timescales.dmn"


AMBER_OLD = '<outputEntry id="rag_timescales_amber_outcome_due_in">\n          <text>"P1D"</text>'


AMBER_NEW = '<outputEntry id="rag_timescales_amber_outcome_due_in">\n          <text>"PT4H"</text>'


def manager(name: str):
    return users.get_by_username(name) or users.create_user(name, PASSWORD, ["service_manager"])


def edit(draft, path, old, new, actor):
    content = drafts.draft_files(draft)[path].decode()
    assert old in content
    return drafts.save_file(draft.id, path, content.replace(old, new).encode(), draft.lock_version, actor)


def amber_tests_updated(draft, actor):
    tests = drafts.draft_files(draft)["dmn/rag_timescales.tests.json"].decode()
    old = (
        '"expected": {"outcome_due_in": "P1D", "outcome_calendar": "working", "partner_due_in": "PT8H", '
        '"partner_calendar": "working", "info_sharing": "required"}'
    )
    assert old in tests
    return drafts.save_file(
        draft.id,
        "dmn/rag_timescales.tests.json",
        tests.replace(old, old.replace('"P1D"', '"PT4H"')).encode(),
        draft.lock_version,
        actor,
    )
