"""Issue 13 finding 4: the two-person rule is on the content, not the submitter.

A draft created and edited by one service manager and submitted by a second was approved by the
first. Now the approver must be none of the draft's authors, editors or its submitter, and names
the content hash they reviewed (409 when the draft changed since).
"""

from __future__ import annotations

import pytest

from app.services.core.errors import Conflict, Forbidden
from app.services.modelling import deployments, drafts
from tests.support import Api
from tests.support.drafts import AMBER_NEW, AMBER_OLD, RAG, amber_tests_updated, edit, manager


@pytest.fixture
def three(ctx):
    return manager("sm_a"), manager("sm_b"), manager("sm_c")


def _written_by_a_submitted_by_b(a, b):
    draft = drafts.create(a)
    draft = edit(draft, RAG, AMBER_OLD, AMBER_NEW, a)
    draft = amber_tests_updated(draft, a)
    return drafts.submit(draft.id, draft.lock_version, b, "AMBER within 4 hours")


def _retime(draft, old, new, actor):
    """Change the AMBER outcome time in the table and in its examples (so the draft stays valid)."""
    draft = edit(draft, RAG, AMBER_NEW, AMBER_NEW.replace(old, new), actor)
    tests = "dmn/rag_timescales.tests.json"
    content = drafts.draft_files(draft)[tests].decode()
    tail = ', "outcome_calendar": "working", "partner_due_in": "PT8H"'  # the AMBER example only
    marker = f'"outcome_due_in": {old}{tail}'
    assert content.count(marker) == 1
    return drafts.save_file(
        draft.id, tests, content.replace(marker, f'"outcome_due_in": {new}{tail}').encode(), draft.lock_version, actor
    )


def test_the_author_may_not_approve_what_someone_else_submitted(three):
    a, b, _c = three
    draft = _written_by_a_submitted_by_b(a, b)
    assert drafts.authors(draft) == ["sm_a", "sm_b"]
    with pytest.raises(Forbidden) as err:
        drafts.approve(draft.id, a, content_hash=draft.content_hash)
    assert "created or edited this draft" in err.value.message and "two-person rule" in err.value.message
    with pytest.raises(Forbidden) as err:
        drafts.approve(draft.id, b, content_hash=draft.content_hash)
    assert "submitted this draft" in err.value.message
    assert deployments.latest().version == 1


def test_an_editor_after_a_send_back_is_an_author_too(three):
    a, b, c = three
    draft = _written_by_a_submitted_by_b(a, b)
    draft = drafts.reject(draft.id, c, "Say why in the note")  # the reviewer sends it back ...
    draft = _retime(draft, '"PT4H"', '"PT5H"', c)  # ... and then edits it: now an author
    draft = drafts.submit(draft.id, draft.lock_version, b)
    with pytest.raises(Forbidden):
        drafts.approve(draft.id, c, content_hash=draft.content_hash)


def test_the_approver_names_the_content_and_a_changed_draft_is_409(three):
    a, b, c = three
    draft = _written_by_a_submitted_by_b(a, b)
    reviewed = draft.content_hash
    # B takes it back, changes it and submits it again: C's review was of other content
    draft = drafts.reject(draft.id, b, "One more change")
    draft = _retime(draft, '"PT4H"', '"PT5H"', b)
    draft = drafts.submit(draft.id, draft.lock_version, b)
    assert draft.content_hash != reviewed
    with pytest.raises(Conflict) as err:
        drafts.approve(draft.id, c, content_hash=reviewed)
    assert "not the content you reviewed" in err.value.message
    assert err.value.details == {"content_hash": draft.content_hash}
    assert deployments.latest().version == 1

    deployment = drafts.approve(draft.id, c, "agreed", content_hash=draft.content_hash)
    assert deployment.version == 2 and deployment.bundle_hash == draft.content_hash
    (latest, *_) = drafts.publications()
    assert latest["approver"] == "sm_c"


def test_the_api_needs_the_hash_and_answers_403_409_and_201(three, client):
    a, b, _c = three
    draft = _written_by_a_submitted_by_b(a, b)
    api = Api(client)  # the managers were made with the tests' password
    url = f"/api/v1/deployments/drafts/{draft.id}/approve"
    shown = api.get("sm_c", f"/api/v1/deployments/drafts/{draft.id}").json
    assert shown["content_hash"] == draft.content_hash and shown["authors"] == ["sm_a", "sm_b"]

    missing = api.post("sm_c", url, {"note": "ok"})
    assert missing.status_code == 422 and "content_hash" in missing.json["details"]["errors"]
    refused = api.post("sm_a", url, {"content_hash": draft.content_hash})
    assert refused.status_code == 403 and "two-person rule" in refused.json["message"]
    stale = api.post("sm_c", url, {"content_hash": "0" * 64})
    assert stale.status_code == 409 and stale.json["details"] == {"content_hash": draft.content_hash}
    assert deployments.latest().version == 1
    approved = api.post("sm_c", url, {"content_hash": draft.content_hash})
    assert approved.status_code == 201 and approved.json["approver"] == "sm_c"


def test_the_page_names_the_authors_carries_the_hash_and_refuses_an_author(three, ctx):
    from tests.support.pages import Browser, soup

    a, b, _c = three
    draft = _written_by_a_submitted_by_b(a, b)
    url = f"/modeller/drafts/{draft.id}"
    author = Browser(ctx)
    author.sign_in("sm_a")
    page = soup(author.get(url))
    assert "You created or edited this draft" in page.text and "sm_a, sm_b" in page.text
    assert page.find("button", string="Approve and publish") is None
    refused = author.post(
        f"{url}/approve",
        {"expected_version": str(draft.lock_version), "content_hash": draft.content_hash},
        csrf_url=url,
    )
    assert refused.status_code == 403 and "two-person rule" in refused.get_data(as_text=True)
    reviewer = Browser(ctx)
    reviewer.sign_in("sm_c")
    form = soup(reviewer.get(url)).find("input", {"name": "content_hash"})
    assert form["value"] == draft.content_hash
    stale = reviewer.post(
        f"{url}/approve", {"expected_version": str(draft.lock_version), "content_hash": "f" * 64}, csrf_url=url
    )
    assert stale.status_code == 409 and deployments.latest().version == 1
    approved = reviewer.post(
        f"{url}/approve",
        {"expected_version": str(draft.lock_version), "content_hash": draft.content_hash},
        csrf_url=url,
    )
    assert approved.status_code == 302 and deployments.latest().version == 2
