"""Issue 15: a service manager who is not a developer changes AMBER's partner information timescale
from 8 to 6 working hours through the UI only — the timescale as a number and a unit, the table's
examples edited as a table beside it, the problems panel refreshed on every save, sent for
approval, and approved by a second service manager from the task in their inbox. axe on every page.
"""

from __future__ import annotations

import json
import re

import pytest
from lxml import etree

from app.services.modelling import drafts
from tests.support.browser import release_database, service_manager, sign_in, wait_ready, watch_console

AMBER_PARTNER = 'td[data-row-id="rag_timescales_amber"][data-col-id="rag_timescales_output_partner_due_in"]'


@pytest.fixture
def site(modeller_site):
    """The modeller's tests make their own people: the live site without `site`'s people (conftest)."""
    return modeller_site


def test_amber_partner_information_from_8_to_6_hours_through_the_ui_only(site):
    service_manager("sm")
    service_manager("sm2")
    page = sign_in(site, "sm")
    console = watch_console(page)
    site.visit(page, "/modeller")
    site.submit(page, "Start a draft from the newest version")
    draft_url = page.url.replace(site.base, "")
    draft_id = int(draft_url.rsplit("/", 1)[-1])
    site.follow(page, "dmn/rag_timescales.dmn")
    wait_ready(page)

    # The table is not clipped: it scrolls sideways inside its box, or fits.
    width = page.evaluate("""() => {
        const box = document.getElementById('app-canvas');
        const table = box.querySelector('table');
        return {box: box.getBoundingClientRect().right, scroll: box.scrollWidth, client: box.clientWidth,
                table: table.getBoundingClientRect().width, style: getComputedStyle(box).overflowX};
    }""")
    assert width["scroll"] <= width["client"] or width["style"] in ("auto", "scroll"), width
    assert width["scroll"] + 2 >= width["table"], width  # nothing of the table is cut off

    # Timescales: a number and a unit, never a quoted ISO string.
    timescales = page.locator("#app-timescales")
    label = "Partner information due in (App. C) when RAG is AMBER"
    number = timescales.get_by_label(f"{label}: number")
    unit = timescales.get_by_label(f"{label}: unit")
    assert number.input_value() == "8"
    assert unit.locator("option:checked").inner_text() == "working hours"
    site.check(page, "the decision table with its timescales and examples")
    number.fill("6")
    number.press("Tab")
    page.locator(AMBER_PARTNER).get_by_text('"PT6H"').wait_for()

    # Saving the table alone: the AMBER example now fails, and the panel says so.
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at .*Draft version 2\.$")).wait_for()
    panel = page.locator("#app-problems")
    panel.get_by_text(re.compile(r'AMBER failed: partner_due_in = "PT6H" \(expected "PT8H"\)')).wait_for()
    examples = page.locator("#app-examples")
    amber = examples.locator('tr[data-example="AMBER"]')
    amber.get_by_text("Fails").wait_for()
    site.check(page, "the AMBER example failing")

    # The example, as a table beside the decision: AMBER's partner information is due in 6 hours.
    example_number = examples.get_by_label("Example AMBER: Partner information due in (App. C): number")
    assert example_number.input_value() == "8"
    example_number.fill("6")
    example_number.press("Tab")
    amber.get_by_text("Checked when saved").wait_for()
    examples.get_by_text(
        re.compile(r"When RAG is AMBER: .*Partner information due in \(App\. C\): 6 working hours")
    ).wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved the examples at .*Draft version 3\.$")).wait_for()
    # The panel is refreshed on this save too: no old error left.
    panel.get_by_text(re.compile(r"^No problems found in this file\.")).wait_for()
    assert "AMBER failed" not in panel.inner_text()
    amber.get_by_text("Passes").wait_for()
    site.check(page, "the examples passing")
    release_database()
    files = drafts.draft_files(drafts.get(draft_id))
    examples_saved = {e["name"]: e for e in json.loads(files["dmn/rag_timescales.tests.json"])}
    assert examples_saved["AMBER"]["expected"]["partner_due_in"] == "PT6H"
    assert examples_saved["AMBER"]["expected"]["partner_calendar"] == "working"
    assert examples_saved["GREEN"]["expected"]["partner_due_in"] == "PT8H"
    assert '"PT6H"' in files["dmn/rag_timescales.dmn"].decode()

    # The draft page agrees: no errors, and the inherited warnings are explained once.
    site.visit(page, draft_url)
    main = page.inner_text("main")
    assert "0 errors" in main or "No problems found" in main, main[:1500]
    assert main.count("[fake-join]") <= 1, main[:3000]
    page.get_by_label("What is changing and why").fill("AMBER partner information within 6 working hours")
    site.submit(page, "Send for approval", status=200)
    assert "Sent for approval" in page.inner_text("main")

    # The author has no approval task; the second service manager has one in their inbox.
    site.visit(page, "/inbox")
    assert page.locator("#approval-tasks").count() == 0
    second = sign_in(site, "sm2")
    site.visit(second, "/inbox")
    tasks = second.locator("#approval-tasks")
    assert "AMBER partner information within 6 working hours" in tasks.inner_text()
    site.follow(second, f"Approve draft {draft_id}", within=tasks)
    assert "PT6H" in second.inner_text("main") or "rag_timescales" in second.inner_text("main")
    site.submit(second, "Approve and publish", status=200)
    assert "Published as version 2" in second.inner_text("main")
    site.visit(second, "/inbox")
    assert second.locator("#approval-tasks").count() == 0
    assert not [c for c in console if "Content Security Policy" in c or "pageerror" in c], console


def test_a_due_time_and_a_timer_as_a_number_and_a_unit(site):
    """The BPMN side form: a user task's due time and a timer that are a plain duration after a
    start are edited as a number and a unit; the stored value stays the expression the host reads."""
    manager = service_manager("sm")
    draft_id = drafts.create(manager).id
    release_database()
    page = sign_in(site, "sm")
    console = watch_console(page)
    site.visit(page, f"/modeller/drafts/{draft_id}/files/processes/front_door.bpmn")
    wait_ready(page)
    form = page.locator("#app-element-form")
    form.get_by_label("Go to an element").select_option("send_acknowledgement")
    due = page.locator("#element-due-at-duration")
    due.wait_for()
    assert form.get_by_label("Due: number").input_value() == "1"
    assert form.get_by_label("Due: unit").locator("option:checked").inner_text() == "working days"
    assert "received_at" in due.inner_text()
    site.check(page, "a user task's due time as a number and a unit")
    form.get_by_label("Due: number").fill("2")
    form.get_by_label("Due: number").press("Tab")
    assert form.get_by_label("Due at").input_value() == "add_working(received_at, 'P2D')"
    form.get_by_label("Due: unit").select_option(label="hours")
    assert form.get_by_label("Due at").input_value() == "add_elapsed(received_at, 'PT2H')"

    # A timer whose time is a plain name is edited as text; once it is a duration after a start, as a number
    # and a unit (the decision deadline timer; the overdue alerts are one event sub-process, issue 16).
    form.get_by_label("Go to an element").select_option("decision_deadline_reached")
    timer_text = form.get_by_label(re.compile("^Timer"))
    timer_text.wait_for()
    assert timer_text.input_value() == "decision_due_at"
    assert page.locator("#element-timer-duration").is_hidden()
    timer_text.fill("add_working(received_at, 'P1D')")
    timer_text.press("Tab")
    page.locator("#element-timer-duration").wait_for()
    assert form.get_by_label("Fires: number").input_value() == "1"
    form.get_by_label("Fires: unit").select_option(label="working hours")
    assert form.get_by_label(re.compile("^Timer")).input_value() == "add_working(received_at, 'PT1H')"
    # An expression that is not a plain duration is edited as text only.
    form.get_by_label("Go to an element").select_option("record_contact")
    assert page.locator("#element-due-at-duration").is_hidden()
    site.check(page, "a user task whose due time is an expression")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"^Saved at .*Draft version 2\.$")).wait_for()
    release_database()
    saved = drafts.draft_files(drafts.get(draft_id))["processes/front_door.bpmn"].decode()
    tree = etree.fromstring(saved.encode())
    ns = {
        "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    }
    (task,) = tree.xpath('//bpmn:userTask[@id="send_acknowledgement"]', namespaces=ns)
    due_at = task.xpath('.//spiffworkflow:property[@name="dueAt"]/@value', namespaces=ns)
    assert due_at == ["add_elapsed(received_at, 'PT2H')"], due_at
    timer = tree.xpath('//*[@id="decision_deadline_reached"]//bpmn:timeDate/text()', namespaces=ns)
    assert timer == ["add_working(received_at, 'PT1H')"], timer
    assert not [c for c in console if "Content Security Policy" in c or "pageerror" in c], console
