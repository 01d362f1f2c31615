"""The overdue review as the MASH manager meets it (issue 16): one review task for any late task, whose inbox
title, instructions and read-only facts name the late task, the child, who holds the task and since when."""

from datetime import timedelta

from app.engine.clock import CLOCK
from app.services.core import timers
from tests.support.flow import Flow
from tests.support.pages import Browser, soup


def test_the_review_page_names_the_late_task_the_child_and_since_when(client, ctx):
    flow = Flow(client)  # a phone contact received 09:30: recording due 10:30
    CLOCK.advance(timedelta(minutes=31))
    assert timers.fire_due() == 1
    browser = Browser(ctx, "mgr")
    inbox = soup(browser.get("/inbox"))
    (row,) = [r for r in inbox.select("tbody tr") if "Overdue: Record contact" in r.get_text()]
    assert "Jamie Doe" in row.get_text()
    (review,) = [t for t in flow.ready("mgr") if t["bpmn_id"] == "overdue_review"]
    page = soup(browser.get(f"/tasks/{review['id']}"))
    text = page.get_text(" ", strip=True)
    assert "The task 'Record contact' for Jamie Doe has been overdue since 24 November 2026, 10:30" in text
    assert "still open with its owner (MASH officer)" in text
    assert "The late task" in text and "MASH officer" in text  # the read-only facts above the form
    response = browser.post(f"/tasks/{review['id']}", {"action_taken": "Chased the MASHO."})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    assert [t for t in flow.ready("mgr") if t["bpmn_id"] == "overdue_review"] == []
    assert flow.task("masho", "record_contact")  # the work carries on
