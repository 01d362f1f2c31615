"""The model editors in real Chromium (issue 6): dmn-js, the JSON form editor with its live
preview, bpmn-js with the app's properties, and the read-only case diagram — axe on every page,
and no CSP violation (the pages keep script-src 'self' without 'unsafe-eval').
"""

from __future__ import annotations

import re

import pytest

from app.services.modelling import drafts
from tests.support.browser import LiveFlow, release_database, service_manager, sign_in, wait_ready, watch_console

AMBER_OUTCOME = 'td[data-row-id="rag_timescales_amber"][data-col-id="rag_timescales_output_outcome_due_in"]'


@pytest.fixture
def site(modeller_site):
    """The modeller's tests make their own people: the live site without `site`'s people (conftest)."""
    return modeller_site


def test_a_service_manager_edits_a_decision_a_form_and_a_diagram(site):
    manager = service_manager("sm")
    draft = drafts.create(manager)
    draft_id = draft.id
    release_database()
    page = sign_in(site, "sm")
    console = watch_console(page)

    # The DMN table in dmn-js: AMBER's outcome timescale from one working day to two.
    site.visit(page, f"/modeller/drafts/{draft_id}/files/dmn/rag_timescales.dmn")
    wait_ready(page)
    cell = page.locator(AMBER_OUTCOME)
    assert cell.inner_text().strip() == '"P1D"'
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"P2D"')
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at .*Draft version 2\.$")).wait_for()
    site.check(page, "after saving the DMN")
    release_database()
    saved = drafts.draft_files(drafts.get(draft_id))["dmn/rag_timescales.dmn"].decode()
    amber = saved[saved.index('id="rag_timescales_amber"') :]
    assert re.search(r'id="rag_timescales_amber_outcome_due_in">\s*<text>"P2D"</text>', amber), amber[:600]

    # A form's JSON: break it (the error shows), fix it (the live preview follows).
    site.visit(page, f"/modeller/drafts/{draft_id}/files/forms/allocate.schema.json")
    wait_ready(page)
    editor = page.get_by_label("JSON", exact=True)
    text = editor.input_value()
    editor.fill(text.replace('"title": "Notes"', '"title": "Notes",,'))
    error = page.locator("#app-json-error")
    error.wait_for(state="visible")
    assert "not valid JSON" in error.inner_text()
    page.locator("#app-preview-error").wait_for(state="visible")
    site.check(page, "broken JSON")
    editor.fill(text.replace('"title": "Notes"', '"title": "Notes for the decision maker"'))
    error.wait_for(state="hidden")
    preview = page.locator("#app-preview")
    preview.get_by_text("Notes for the decision maker").first.wait_for()
    assert preview.get_by_text("Allocate to").count() >= 1
    site.check(page, "fixed JSON with its preview")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at .*Draft version 3\.$")).wait_for()

    # front_door.bpmn in bpmn-js: select a user task, see what this app reads from it, change it.
    site.visit(page, f"/modeller/drafts/{draft_id}/files/processes/front_door.bpmn")
    wait_ready(page)
    form = page.locator("#app-element-form")
    form.get_by_label("Go to an element").select_option("record_contact")
    form.get_by_role("heading", name=re.compile("Record contact")).wait_for()
    assert form.get_by_label("Form (JSON Schema file)").input_value() == "record_contact.schema.json"
    assert form.get_by_label("Form layout (UI schema file)").input_value() == "record_contact.uischema.json"
    assert "outcome_due_at" in form.get_by_label("Due at").input_value()
    assert "Record the contact" in form.get_by_label("Instructions for the person doing the task").input_value()
    assert page.locator('.djs-element.selected[data-element-id="record_contact"]').count() == 1
    site.check(page, "BPMN with a user task selected")
    # A due time the restricted evaluator refuses: after saving, the task is marked on the diagram
    # and its problem listed (from the draft's problems.json).
    due = form.get_by_label("Due at")
    due.fill("received_at.__class__")
    due.press("Tab")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at .*Draft version 4\.$")).wait_for()
    page.locator('.djs-element.app-problem[data-element-id="record_contact"]').wait_for()
    problem = page.locator("#app-problems").get_by_role("link", name=re.compile(r"^Error \(Record contact"))
    assert problem.count() >= 1, page.locator("#app-problems").inner_text()
    site.check(page, "BPMN with a problem marked")
    due.fill("earliest(record_due_at, outcome_due_at, decision_due_at)")
    due.press("Tab")
    # A business rule task shows its called decision; a lane its role (= the lane's name).
    form.get_by_label("Go to an element").select_option("rag_timescales_triage")
    assert form.get_by_label("Called decision").input_value() == "rag_timescales"
    form.get_by_label("Go to an element").select_option("lane_masho")
    assert form.get_by_label("Role (the lane's name)").input_value() == "masho"
    # Clicking a shape on the diagram selects it too.
    page.locator('.djs-element[data-element-id="record_contact"]').first.click()
    form.get_by_role("heading", name=re.compile("Record contact")).wait_for()
    assert form.get_by_label("Due at").input_value() == "earliest(record_due_at, outcome_due_at, decision_due_at)"
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at .*Draft version 5\.$")).wait_for()
    page.locator('.djs-element.app-problem[data-element-id="record_contact"]').wait_for(state="detached")
    release_database()
    saved = drafts.draft_files(drafts.get(draft_id))["processes/front_door.bpmn"].decode()
    assert 'name="dueAt" value="earliest(record_due_at, outcome_due_at, decision_due_at)"' in saved
    assert saved.count("<spiffworkflow:instructionsForEndUser>") >= 20  # nothing of the app's was dropped

    # Two pages on one draft: the second save is refused with a clear message and loses nothing.
    form_path = f"/modeller/drafts/{draft_id}/files/forms/allocate.uischema.json"
    stale = page.context.new_page()
    site.visit(stale, form_path)
    wait_ready(stale)
    site.visit(page, form_path)
    wait_ready(page)
    page.get_by_label("JSON", exact=True).fill('{"ui:order": ["allocate_to", "*"]}')
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at .*Draft version 6\.$")).wait_for()
    mine = '{"ui:order": ["allocation_notes", "*"]}'
    stale.get_by_label("JSON", exact=True).fill(mine)
    stale.get_by_role("button", name="Save", exact=True).click()
    summary = stale.locator(".govuk-error-summary")
    summary.get_by_text("Someone else saved this draft; reload").wait_for()
    assert summary.evaluate("el => document.activeElement === el")
    assert stale.get_by_label("JSON", exact=True).input_value() == mine
    assert stale.get_by_role("link", name="Download your version").is_visible()
    site.check(stale, "save conflict")
    release_database()
    assert b"allocate_to" in drafts.draft_files(drafts.get(draft_id))["forms/allocate.uischema.json"]

    assert not [c for c in console if "Content Security Policy" in c or "pageerror" in c], console


def test_the_case_diagram_marks_where_the_case_is(site, ctx):
    flow = LiveFlow(ctx.test_client())
    flow.do(
        "masho",
        "record_contact",
        {
            "appendix_a_q1": "Unexplained bruising seen by the teacher.",
            "consent": "obtained",
            "consent_given_by": "Mother",
            "safety_scale": 5,
            "request_type": "service_request",
            "information_only": False,
            "red_criteria": [],
            "manager_attention_criteria": [],
        },
    )
    page = site.sign_in("masho")
    console = watch_console(page)
    site.visit(page, f"/cases/{flow.instance_id}")
    site.follow(page, "See where this case is on the process diagram")
    wait_ready(page)
    assert page.locator('.djs-element.app-completed[data-element-id="record_contact"]').count() == 1
    assert page.locator('.djs-element.app-active[data-element-id="history_check"]').count() == 1
    assert page.locator('.djs-connection.app-taken[data-element-id="flow_record_contact_to_derive_flags"]').count() == 1
    assert "Check history" in page.locator("#app-active-steps").inner_text()
    site.check(page, "case diagram")
    # The called Stage 2 process opens for the same case.
    site.follow(page, "Stage 2 information sharing")
    wait_ready(page)
    assert "Stage 2" in page.locator("h1").inner_text()
    assert not [c for c in console if "Content Security Policy" in c or "pageerror" in c], console


TRIAGE = {
    "closed_within_12_weeks_same_concerns": False,
    "risk_may_become_significant_harm": False,
    "meets_disability_criteria": False,
    "analysis": "Analysis of the concerns.",
    "transfer_to_social_care": False,
}


def to_amber_triage(flow) -> str:
    """Allocate and triage a contact whose threshold is unclear (AMBER): its outcome deadline."""
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    case = flow.instance()
    assert case["rag"] == "AMBER", case
    return case["outcome_due_at"]


def test_a_new_amber_timescale_is_checked_published_approved_and_used_by_new_contacts_only(site, ctx):
    """Issue 6's acceptance test: change AMBER's outcome timescale in rag_timescales, see the
    what-if summary, publish, a second manager approves; a new contact uses the new timescale
    while an older running one keeps the old."""
    client = ctx.test_client()
    decided = LiveFlow(client)  # decided on version 1 (the what-if replays its evaluation)
    decided.intake()
    old_due = to_amber_triage(decided)
    running = LiveFlow(client)  # started on version 1, triaged only after the new version is live
    running.intake()

    service_manager("sm")
    service_manager("sm2")
    page = sign_in(site, "sm")
    console = watch_console(page)
    site.visit(page, "/modeller")
    site.submit(page, "Start a draft from the newest version")
    draft_url = page.url
    assert re.search(r"/modeller/drafts/\d+$", draft_url), draft_url
    site.follow(page, "dmn/rag_timescales.dmn")
    wait_ready(page)
    cell = page.locator(AMBER_OUTCOME)
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"P2D"')
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at ")).wait_for()
    # The table's own tests (stored beside it) now fail, and the editor says so.
    problems = page.locator("#app-problems")
    problems.get_by_text(re.compile(r"AMBER failed: outcome_due_in = \"P2D\" \(expected \"P1D\"\)")).wait_for()
    site.check(page, "saved DMN with its problem listed")
    # So the manager updates the expected AMBER outcome in dmn/rag_timescales.tests.json.
    site.visit(page, draft_url.replace(site.base, ""))
    site.follow(page, "dmn/rag_timescales.tests.json")
    wait_ready(page)
    editor = page.get_by_label("JSON", exact=True)
    lines = editor.input_value().splitlines()
    lines = [
        line.replace('"outcome_due_in": "P1D"', '"outcome_due_in": "P2D"') if '"AMBER"' in line else line
        for line in lines
    ]
    editor.fill("\n".join(lines) + "\n")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at ")).wait_for()
    site.visit(page, draft_url.replace(site.base, ""))
    assert "AMBER failed" not in page.inner_text("main")

    # What if: the one recorded AMBER evaluation would now give a later deadline.
    page.get_by_label("Decision", exact=True).select_option("rag_timescales")
    site.submit(page, "Show what would change", status=200)
    summary = page.locator("#what-if-result").inner_text()
    assert re.search(r"\b1 of \d+\b", summary), summary
    assert "P2D" in page.locator("main").inner_text()

    page.get_by_label("What is changing and why").fill("AMBER outcomes within two working days")
    site.submit(page, "Send for approval", status=200)
    assert "Sent for approval" in page.inner_text("main")

    # A second service manager approves and publishes.
    second = sign_in(site, "sm2")
    site.visit(second, draft_url.replace(site.base, ""))
    site.submit(second, "Approve and publish", status=200)
    assert "Published as version 2" in second.inner_text("main")

    # The running case stays on version 1 (old timescale); a new contact runs on version 2.
    assert to_amber_triage(running) == old_due
    fresh = LiveFlow(client)
    fresh.intake()
    new_due = to_amber_triage(fresh)
    assert new_due > old_due, (old_due, new_due)
    assert not [c for c in console if "Content Security Policy" in c or "pageerror" in c], console
