"""Deciding a case in real Chromium with the case file beside every step: the referrer's words, the
Appendix A answers, consent and the history are on every task page of the case, each decision shows
what it rests on (the analysis at sign-off), plain words only, and the decision maker can open the
case history. axe-core checks every page (tests/browser/conftest.py)."""

from __future__ import annotations

import re

from tests.support.browser import LiveFlow, choose, release_database
from tests.support.flow import HISTORY, RECORD

SUMMARY = "Bruise on the arm, unexplained."  # the referrer's words (tests/api/flow.contact)
CONCERN = "Bruise on the cheek seen at drop-off; the child flinched."
WORRY = "Father drinks heavily most evenings."
ANALYSIS = "Repeated unexplained bruising with a drinking parent: a child in need."
ENGINE_WORDS = re.compile(r"PT\d|§|_r\d+\b|\b(s47_strategy|s17_assessment|stage2|daat|first_response)\b|T\d\d:\d\d")


def case_file_text(page) -> str:
    panel = page.locator("#case-file")
    assert panel.is_visible(), page.url
    return panel.inner_text()


def assert_concerns_visible(page) -> str:
    text = case_file_text(page)
    for expected in (SUMMARY, CONCERN, WORRY, "Obtained", "No previous involvement found."):
        assert expected in text, (expected, page.url)
    main = page.inner_text("main")
    assert ENGINE_WORDS.search(main) is None, (ENGINE_WORDS.search(main).group(0), page.url)
    return text


def test_decide_a_case_with_the_concerns_visible_at_every_step(site, client):
    flow = LiveFlow(client, channel="phone")
    flow.intake({**RECORD, "appendix_a_q1": CONCERN, "appendix_a_q2": WORRY})
    assert HISTORY["synopsis"] == "No previous involvement found."
    release_database()

    manager = site.sign_in("mgr")
    site.open_task(manager, "Allocate")
    assert_concerns_visible(manager)
    choose(manager, "Allocate to", "Social care decision maker")
    site.submit(manager, "Save and continue", status=200)

    dm = site.sign_in("dm")
    site.open_task(dm, "Triage (social care)")
    text = assert_concerns_visible(dm)
    assert "Allocate to" in text and "Social care decision maker" in text  # the allocation, by its label
    dm.get_by_label("Analysis", exact=True).fill(ANALYSIS)
    choose(dm, "Threshold", "Section 17: child in need")
    for legend in (
        "May become significant harm without action",
        "Meets the disability eligibility criteria",
        "Transfer to social care",
    ):
        choose(dm, legend, "No")
    site.submit(dm, "Check the proposed outcome", status=200)
    proposal = dm.locator(".app-proposal").inner_text()
    assert "Section 17 assessment" in proposal and "triage_outcome_r" not in proposal
    assert_concerns_visible(dm)
    site.submit(dm, "Save and continue", status=200)
    # whoever works on the case can open its history
    site.follow(dm, "Case history")
    assert re.search(rf"/cases/{flow.instance_id}/timeline$", dm.url), dm.url

    site.open_task(manager, "Manager sign-off (social care)")
    text = assert_concerns_visible(manager)
    assert ANALYSIS in text and "Section 17: child in need" in text  # what the sign-off rests on
    choose(manager, "Decision", "Agree")
    choose(manager, "Agreed RAG", "GREEN")
    choose(manager, "Tell the family", "Send now")
    site.submit(manager, "Save and continue", status=200)
    assert re.search(rf"/cases/{flow.instance_id}$", manager.url), manager.url
    assert_concerns_visible(manager)  # the case page has the same case file
    deadlines = manager.locator(".app-deadline dt").all_inner_texts()
    if "Decision due" in deadlines and "Outcome due" in deadlines:  # in the order they fall
        assert deadlines.index("Decision due") < deadlines.index("Outcome due"), deadlines

    bs = site.sign_in("bs")
    site.open_task(bs, "Acknowledge the referrer")
    assert_concerns_visible(bs)
    when = bs.get_by_role("group", name="Acknowledged at")
    for part, value in (("Day", "31"), ("Month", "2"), ("Year", "2026"), ("Time", "10:30")):
        when.get_by_label(part, exact=True).fill(value)
    choose(bs, "Method", "Phone")
    site.submit(bs, "Save and continue", status=422)
    summary = bs.locator(".govuk-error-summary")
    assert "Enter a real date" in summary.inner_text()
    assert_concerns_visible(bs)
    when.get_by_label("Day", exact=True).fill("24")
    when.get_by_label("Month", exact=True).fill("11")
    site.submit(bs, "Save and continue", status=200)
    assert flow.instance()["data"]["acknowledged_at"] == "2026-11-24T10:30:00+00:00"
