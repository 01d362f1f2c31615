"""The modeller pages: models and versions, a draft with its checks, review by a second manager,
what-if, migration and the start-a-process page (server-rendered, session and CSRF as every page)."""

from __future__ import annotations

import re

import pytest

from app.services.modelling import deployments, drafts
from app.services.people import users
from tests.support import PASSWORD, make_people
from tests.support.pages import Browser, soup

AMBER_OLD = '<outputEntry id="rag_timescales_amber_outcome_due_in">\n          <text>"P1D"</text>'
AMBER_NEW = '<outputEntry id="rag_timescales_amber_outcome_due_in">\n          <text>"PT4H"</text>'


def browser(app, name: str) -> Browser:
    if users.get_by_username(name) is None:
        users.create_user(name, PASSWORD, ["service_manager"])
    b = Browser(app)
    b.sign_in(name)
    return b


@pytest.fixture
def sm1(ctx):
    return browser(ctx, "sm1")


def test_models_page_is_for_service_managers_and_in_their_menu(ctx, sm1):
    assert soup(sm1.get("/inbox")).find("a", href="/modeller") is not None
    page = soup(sm1.get("/modeller"))
    assert "processes/front_door.bpmn" in page.text and "dmn/rag_timescales.dmn" in page.text
    assert "forms/triage.schema.json" in page.text and "dmn/rag_timescales.tests.json" in page.text
    make_people(["mgr"])
    other = Browser(ctx, "mgr")
    assert other.get("/modeller").status_code == 403
    assert soup(other.get("/inbox")).find("a", href="/modeller") is None


def test_a_draft_is_checked_submitted_and_approved_by_someone_else(ctx, sm1):
    response = sm1.post("/modeller/drafts", {}, csrf_url="/modeller")
    assert response.status_code == 302
    draft_url = response.headers["Location"]
    draft_id = int(re.search(r"/modeller/drafts/(\d+)", draft_url).group(1))
    page = soup(sm1.get(draft_url))
    assert "0 errors (must be corrected before publishing)" in page.text and "No changes yet" in page.text
    assert "fake-join" in page.text  # warnings are shown, and do not block
    assert page.find(string=re.compile("processes/front_door.bpmn"))

    draft = drafts.get(draft_id)
    content = drafts.draft_files(draft)["dmn/rag_timescales.dmn"].decode().replace(AMBER_OLD, AMBER_NEW)
    drafts.save_file(
        draft_id, "dmn/rag_timescales.dmn", content.encode(), draft.lock_version, users.get_by_username("sm1")
    )

    problems = sm1.get(f"/modeller/drafts/{draft_id}/problems.json").json["problems"]
    (error,) = [p for p in problems if p["severity"] == "error"]
    assert error["file"] == "dmn/rag_timescales.tests.json" and error["element_id"] == "rag_timescales"
    page = soup(sm1.get(draft_url))
    assert "AMBER failed" in page.text and "changed rule rag_timescales_amber" in page.text

    response = sm1.post(
        f"/modeller/drafts/{draft_id}/submit",
        {"expected_version": str(drafts.get(draft_id).lock_version), "note": "AMBER 4h"},
        csrf_url=draft_url,
    )
    assert response.status_code == 422 and "Correct the problems" in response.get_data(as_text=True)

    draft = drafts.get(draft_id)
    tests = drafts.draft_files(draft)["dmn/rag_timescales.tests.json"].decode()
    tests = tests.replace(
        '"rag": "AMBER"}, "expected": {"outcome_due_in": "P1D"',
        '"rag": "AMBER"}, "expected": {"outcome_due_in": "PT4H"',
    )
    drafts.save_file(
        draft_id, "dmn/rag_timescales.tests.json", tests.encode(), draft.lock_version, users.get_by_username("sm1")
    )

    what_if = soup(sm1.get(f"/modeller/drafts/{draft_id}/what-if?decision_id=rag_timescales&last_n=50"))
    assert "0 of 0" in what_if.text  # no cases decided yet

    response = sm1.post(
        f"/modeller/drafts/{draft_id}/submit",
        {"expected_version": str(drafts.get(draft_id).lock_version), "note": "AMBER 4h"},
        csrf_url=draft_url,
    )
    assert response.status_code == 302
    page = soup(sm1.get(draft_url))
    assert "a different service manager must approve it" in page.text
    assert page.find("button", string="Approve and publish") is None
    response = sm1.post(
        f"/modeller/drafts/{draft_id}/approve",
        {"expected_version": str(drafts.get(draft_id).lock_version)},
        csrf_url=draft_url,
    )
    assert response.status_code == 403 and "different service manager" in response.get_data(as_text=True)

    sm2 = browser(ctx, "sm2")
    response = sm2.post(
        f"/modeller/drafts/{draft_id}/approve",
        {
            "expected_version": str(drafts.get(draft_id).lock_version),
            "note": "agreed",
            "content_hash": drafts.get(draft_id).content_hash,
        },
        csrf_url=draft_url,
    )
    assert response.status_code == 302
    assert deployments.latest().version == 2
    page = soup(sm2.get("/modeller"))
    assert "sm1, approved by sm2" in page.text


def test_a_stale_page_cannot_overwrite_a_newer_save(ctx, sm1):
    draft = drafts.create(users.get_by_username("sm1"))
    old_version = draft.lock_version
    drafts.save_file(
        draft.id, "forms/extra.schema.json", b'{"type": "object"}', old_version, users.get_by_username("sm1")
    )
    response = sm1.post(
        f"/modeller/drafts/{draft.id}/discard",
        {"expected_version": str(old_version)},
        csrf_url=f"/modeller/drafts/{draft.id}",
    )
    assert response.status_code == 409
    assert drafts.get(draft.id).status == "editing"


def test_adding_a_badly_named_file_says_why(ctx, sm1):
    draft = drafts.create(users.get_by_username("sm1"))
    response = sm1.post(
        f"/modeller/drafts/{draft.id}/files",
        {"path": "scripts/run.py", "expected_version": str(draft.lock_version)},
        csrf_url=f"/modeller/drafts/{draft.id}",
    )
    assert response.status_code == 422 and "model files are" in response.get_data(as_text=True)


def test_migration_and_start_pages_render(ctx, sm1):
    assert sm1.get("/modeller/migration").status_code == 200
    page = soup(sm1.get("/modeller/migration?process_id=front_door&to_version=1"))
    assert "No running front_door cases are on an older version" in page.text
    assert sm1.get("/processes").status_code == 200
