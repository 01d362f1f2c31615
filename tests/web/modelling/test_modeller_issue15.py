"""Issue 15, the modeller for a service manager who is not a developer: the decision table's page
carries its examples (edited beside it), the examples file is captioned as examples (not "Form" /
"A JSON Schema"), problems.json is never cached, and a draft sent for approval is a work item in
every other service manager's inbox (never the author's)."""

from __future__ import annotations

import json

from app.services.modelling import drafts
from tests.support.modeller import edit_url, manager, save, sm_browser
from tests.support.pages import soup

TABLE = "dmn/rag_timescales.dmn"
EXAMPLES = "dmn/rag_timescales.tests.json"


def test_the_decision_table_page_carries_its_examples_and_where_to_save_them(ctx):
    draft = drafts.create(manager())
    page = soup(sm_browser(ctx).get(edit_url(draft, TABLE)))
    editor = page.find(id="app-editor")
    assert editor["data-examples-path"] == EXAMPLES
    assert editor["data-examples-save-url"] == edit_url(draft, EXAMPLES)
    assert editor["data-decision-id"] == "rag_timescales"
    examples = json.loads(page.find(id="app-examples-source").text)
    assert {e["name"] for e in examples} == {"RED", "AMBER", "GREEN", "NONE"}
    assert page.find(id="app-examples").find("h2").text == "Examples"
    assert page.find(id="app-timescales") is not None
    assert '"PT8H"' not in page.find("p", class_="govuk-body").text  # no quoted ISO strings asked for


def test_a_table_without_examples_starts_with_none(ctx):
    draft = drafts.create(manager())
    browser = sm_browser(ctx)
    token = browser.csrf_from(f"/modeller/drafts/{draft.id}")
    browser.client.post(
        f"/modeller/drafts/{draft.id}/delete-file",
        data={"csrf_token": token, "path": EXAMPLES, "expected_version": "1"},
    )
    page = soup(browser.get(edit_url(draft, TABLE)))
    assert page.find(id="app-examples-source").text == ""
    assert page.find(id="app-editor")["data-examples-path"] == EXAMPLES


def test_the_examples_file_is_captioned_as_examples_with_a_link_to_the_table(ctx):
    draft = drafts.create(manager())
    page = soup(sm_browser(ctx).get(edit_url(draft, EXAMPLES)))
    caption = page.find("span", class_="govuk-caption-l").text
    assert "Decision table examples" in caption and "Form" not in caption
    hint = page.find(id="app-json-hint").text
    assert "JSON Schema" not in hint and "examples" in hint
    assert page.find("a", string="Edit the decision table and its examples")["href"] == edit_url(draft, TABLE)
    assert page.find(id="app-preview") is None


def test_saving_the_examples_reruns_them_and_problems_json_is_never_cached(ctx):
    draft = drafts.create(manager())
    browser = sm_browser(ctx)
    table = drafts.draft_files(draft)[TABLE].decode()
    amber = table.index('id="rag_timescales_amber_partner_due_in"')
    changed = table[:amber] + table[amber:].replace('"PT8H"', '"PT6H"', 1)
    assert save(browser, draft, TABLE, changed, 1).status_code == 200
    response = browser.get(f"/modeller/drafts/{draft.id}/problems.json")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["lock_version"] == 2
    assert any("AMBER failed" in p["message"] for p in body["problems"])
    examples = json.loads(drafts.draft_files(drafts.get(draft.id))[EXAMPLES])
    for example in examples:
        if example["name"] == "AMBER":
            example["expected"]["partner_due_in"] = "PT6H"
    assert save(browser, draft, EXAMPLES, json.dumps(examples), 2).status_code == 200
    body = browser.get(f"/modeller/drafts/{draft.id}/problems.json").get_json()
    assert body["lock_version"] == 3
    assert [p for p in body["problems"] if p["severity"] == "error"] == []


def test_a_draft_sent_for_approval_is_a_task_in_the_other_managers_inbox(ctx):
    author = manager("sm")
    draft = drafts.create(author)
    table = drafts.draft_files(draft)[TABLE].decode().replace('"PT4H"', '"PT3H"')
    examples = drafts.draft_files(draft)[EXAMPLES].decode().replace('"PT4H"', '"PT3H"')
    drafts.save_file(draft.id, TABLE, table.encode(), 1, author)
    drafts.save_file(draft.id, EXAMPLES, examples.encode(), 2, author)
    author_browser = sm_browser(ctx, "sm")
    assert soup(author_browser.get("/inbox")).find(id="approval-tasks") is None  # nothing to approve yet
    drafts.submit(draft.id, 3, author, "RED within 3 hours")

    other = sm_browser(ctx, "sm2")
    tasks = soup(other.get("/inbox")).find(id="approval-tasks")
    assert tasks is not None
    link = tasks.find("a", string=f"Approve draft {draft.id}")
    assert link["href"] == f"/modeller/drafts/{draft.id}#review"
    assert "RED within 3 hours" in tasks.text and "sm" in tasks.text
    assert [d.id for d in drafts.awaiting_approval_by(manager("sm2"))] == [draft.id]
    # Never for its author (two-person rule), nor for anyone who is not a service manager.
    assert soup(author_browser.get("/inbox")).find(id="approval-tasks") is None
    assert drafts.awaiting_approval_by(author) == []
    assert drafts.awaiting_approval_by(None) == []
    # Approved: the task is gone.
    drafts.approve(draft.id, manager("sm2"), content_hash=drafts.get(draft.id).content_hash)
    assert soup(other.get("/inbox")).find(id="approval-tasks") is None
