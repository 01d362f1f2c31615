"""The model editors' pages (issue 6): who may open them, saving with the draft's version, the
409 that keeps the work, JSON checks and the live form preview drawn by the task pages' macros."""

from __future__ import annotations

import json

import pytest

from app.services.modelling import drafts
from tests.support.modeller import edit_url, manager, save, sm_browser
from tests.support.pages import Browser, soup

SCHEMA = "forms/allocate.schema.json"


@pytest.fixture
def draft(ctx):
    return drafts.create(manager())


def test_bpmn_dmn_and_form_files_open_in_their_editors_with_the_draft_version(ctx, draft):
    browser = sm_browser(ctx)
    for path, script in [
        ("processes/front_door.bpmn", "bpmn-editor.js"),
        ("dmn/rag_timescales.dmn", "dmn-editor.js"),
        (SCHEMA, "form-editor.js"),
    ]:
        response = browser.get(edit_url(draft, path))
        assert response.status_code == 200, path
        page = soup(response)
        editor = page.find(id="app-editor")
        assert editor["data-lock-version"] == str(draft.lock_version)
        assert editor["data-csrf"]
        assert page.find("script", src=f"/static/modeller/{script}") is not None
        assert page.find("script", src=None) is None  # no inline script
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe" not in csp
    bpmn = soup(browser.get(edit_url(draft, "processes/front_door.bpmn")))
    assert "spiffworkflow:calledDecisionId" in bpmn.find(id="app-editor-source").get_text()
    roles = [o["value"] for o in bpmn.find(id="element-role").find_all("option") if o["value"]]
    assert "mash_manager" in roles and "masho" in roles
    decisions = [o["value"] for o in bpmn.find(id="element-called-decision").find_all("option") if o["value"]]
    assert "rag_timescales" in decisions


def test_only_service_managers_may_open_an_editor_and_only_draft_model_files(ctx, draft):
    masho = Browser(ctx, "masho")
    assert masho.get(edit_url(draft, SCHEMA)).status_code == 403
    browser = sm_browser(ctx)
    assert browser.get(edit_url(draft, "forms/nope.schema.json")).status_code == 404
    assert browser.get(edit_url(draft, "../app/config.py")).status_code == 404
    assert browser.get(f"/modeller/drafts/999/files/{SCHEMA}").status_code == 404
    anonymous = ctx.test_client().get(edit_url(draft, SCHEMA))
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]


def test_saving_moves_the_version_on_and_a_stale_save_is_a_409_that_keeps_the_text(ctx, draft):
    first, second = sm_browser(ctx, "sm"), sm_browser(ctx, "sm2")
    schema = json.loads(drafts.draft_files(draft)[SCHEMA])
    schema["title"] = "Allocate this contact"
    text = json.dumps(schema, indent=2)
    opened = draft.lock_version
    response = save(first, draft, SCHEMA, text, opened)
    assert response.status_code == 200, response.json
    assert response.json["lock_version"] == opened + 1
    assert json.loads(drafts.draft_files(drafts.get(draft.id))[SCHEMA])["title"] == "Allocate this contact"

    stale = save(second, draft, SCHEMA, text.replace("this contact", "it"), 1)
    assert stale.status_code == 409
    assert "someone else saved this draft" in stale.json["message"].lower()
    page = save(second, draft, SCHEMA, text.replace("this contact", "it"), 1, as_json=False)
    assert page.status_code == 409
    html = soup(page)
    assert "Someone else saved this draft; reload" in html.select_one(".govuk-error-summary").get_text()
    assert "Allocate it" in html.find(id="app-json").get_text()  # nothing typed is lost
    assert json.loads(drafts.draft_files(drafts.get(draft.id))[SCHEMA])["title"] == "Allocate this contact"


def test_broken_json_is_refused_with_a_message_and_the_text_kept(ctx, draft):
    browser = sm_browser(ctx)
    response = save(browser, draft, SCHEMA, '{"title": "x",', draft.lock_version, as_json=False)
    opened = draft.lock_version
    assert response.status_code == 422
    page = soup(response)
    assert "not valid JSON" in page.select_one(".govuk-error-summary").get_text()
    assert page.find(id="app-json").get_text() == '{"title": "x",'
    assert page.title.string.startswith("Error:")
    assert save(browser, draft, SCHEMA, "[1,", opened).status_code == 422
    assert drafts.get(draft.id).lock_version == opened


def test_the_form_saves_without_javascript_and_redirects_back(ctx, draft):
    browser = sm_browser(ctx)
    text = drafts.draft_files(draft)[SCHEMA].decode()
    response = save(
        browser, draft, SCHEMA, text.replace('"Allocate"', '"Allocate now"'), draft.lock_version, as_json=False
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(edit_url(draft, SCHEMA))
    assert "Allocate now" in drafts.draft_files(drafts.get(draft.id))[SCHEMA].decode()


def test_the_preview_is_drawn_by_the_task_page_macros_and_explains_a_broken_schema(ctx, draft):
    browser = sm_browser(ctx)
    token = browser.csrf_from("/inbox")
    url = f"/modeller/drafts/{draft.id}/preview/{SCHEMA}"
    schema = json.loads(drafts.draft_files(draft)[SCHEMA])
    schema["properties"]["allocation_notes"]["title"] = "Anything else to say"
    ok = browser.client.post(url, data={"csrf_token": token, "content": json.dumps(schema)})
    assert ok.status_code == 200
    fragment = soup(ok)
    assert fragment.find(id="app-preview-content") is not None
    labels = fragment.get_text(" ", strip=True)
    assert "Anything else to say" in labels and "Allocate to" in labels
    assert fragment.select(".govuk-radios") and fragment.select("textarea.govuk-textarea, input.govuk-input")

    broken = browser.client.post(url, data={"csrf_token": token, "content": '{"type": "object", "properties": '})
    assert broken.status_code == 422
    assert "not valid JSON" in soup(broken).find(id="app-preview-error").get_text()
    bad_schema = browser.client.post(url, data={"csrf_token": token, "content": '{"type": 5}'})
    assert bad_schema.status_code == 422
    assert "not a valid JSON Schema" in soup(bad_schema).get_text()
    # The UI schema's preview uses the draft's schema beside it.
    ui = browser.client.post(
        f"/modeller/drafts/{draft.id}/preview/forms/allocate.uischema.json", data={"csrf_token": token, "content": "{}"}
    )
    assert ui.status_code == 200 and "Allocate to" in soup(ui).get_text()
    # A cross-site POST without the token changes and shows nothing.
    assert browser.client.post(url, data={"content": "{}"}).status_code == 400


def test_a_submitted_draft_opens_read_only(ctx, draft):
    browser = sm_browser(ctx)
    draft.status = "awaiting_approval"
    from app.extensions import db

    db.session.commit()
    page = soup(browser.get(edit_url(draft, SCHEMA)))
    assert page.find("button", string="Save").has_attr("disabled")
