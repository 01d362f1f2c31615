"""The case file on every page of the case: what each decision rests on, for each MASH role, and only
what partners and receiving teams may see; whoever works on a case can open its history."""

from __future__ import annotations

from datetime import datetime

from app.services.cases import case_file
from tests.support.flow import AGREE, HISTORY, RECORD, Flow
from tests.support.pages import Browser, soup
from tests.support.stage1 import TRIAGE

CONCERNS = {
    **RECORD,
    "appendix_a_q1": "Bruise on the cheek seen at drop-off.",
    "appendix_a_q2": "Father drinks heavily.",
    "appendix_a_q7": "The bruising will get worse.",
    "consent": "not_sought",
    "consent_given_by": None,
    "consent_not_sought_reason": "risk_of_harm",
    "manager_attention_criteria": ["suspicious_injury"],
    "adults": [{"first_name": "Rob", "last_name": "Doe", "relationship": "Father", "resident": True}],
}


def _file(browser: Browser, url: str):
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    page = soup(response)
    panel = page.select_one("#case-file")
    assert panel is not None, f"no case file on {url}"
    return page, panel.get_text(" ", strip=True)


def _to_sign_off(client, **record):
    flow = Flow(client)
    flow.intake({**CONCERNS, **record})
    flow.do(
        "mgr",
        "consent_review",
        {
            "consent_action": "override",
            "consent_override_rationale": "OVERRIDE: telling the parents puts the child at risk",
        },
    )
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    return flow


def test_the_decision_maker_sees_the_concerns_consent_household_and_history_while_triaging(client, ctx):
    flow = _to_sign_off(client)
    task = flow.task("dm", "triage_social_care")
    dm = Browser(ctx, "dm")
    _, text = _file(dm, f"/tasks/{task['id']}")
    for expected in (
        "Bruise on the arm, unexplained.",  # the referrer's own words (summary)
        "What are the safeguarding concerns and what is the evidence for them?",
        "Bruise on the cheek seen at drop-off.",
        "Father drinks heavily.",
        "The bruising will get worse.",
        "Suspicious injury without a disclosure",  # Appendix E criteria by their labels
        "Not sought",
        "Seeking consent would place the child or others at risk of harm",
        "Rob",
        "Father",  # the household
        "Synopsis of previous concerns",
        "No previous involvement found.",
        "Ann Teacher",
        "Override: proceed without consent",
        "OVERRIDE: telling the parents puts the child at risk",
    ):
        assert expected in text, expected
    assert "suspicious_injury" not in text and "risk_of_harm" not in text
    # whoever works on the case can open its history (it was 403 for the decision maker)
    page = soup(dm.get(f"/tasks/{task['id']}"))
    assert page.find("a", href=f"/cases/{flow.instance_id}/timeline") is not None
    assert dm.get(f"/cases/{flow.instance_id}/timeline").status_code == 200


def test_the_signing_manager_sees_the_analysis_the_override_and_its_reason(client, ctx):
    flow = _to_sign_off(client)
    flow.do(
        "dm",
        "triage_social_care",
        {
            **TRIAGE,
            "threshold": "s17",
            "analysis": "ANALYSIS: repeated bruising",
            "rag_override": "AMBER",
            "override_reason": "Younger sibling at home",
        },
    )
    task = flow.task("mgr", "sign_off_social_care")
    _, text = _file(Browser(ctx, "mgr"), f"/tasks/{task['id']}")
    assert "ANALYSIS: repeated bruising" in text
    assert "Override the RAG" in text and "AMBER" in text
    assert "Younger sibling at home" in text
    assert "Section 17: child in need" in text  # the threshold by its label
    # the decision table's proposal in its own words, never its rule id
    assert "S17: s17 assessment, GREEN" in text and "triage_outcome_r" not in text and "Rule 4" not in text


def test_a_challenge_shows_the_manager_comments_to_the_decision_maker(client, ctx):
    flow = _to_sign_off(client)
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do(
        "mgr",
        "sign_off_social_care",
        {"manager_decision": "challenge", "manager_comments": "CHALLENGE: look at the father's history"},
    )
    task = flow.task("dm", "triage_social_care")
    _, text = _file(Browser(ctx, "dm"), f"/tasks/{task['id']}")
    assert "CHALLENGE: look at the father's history" in text and "Challenge" in text


def test_the_case_page_has_the_same_case_file_and_deadlines_in_the_order_they_fall(client, ctx):
    flow = _to_sign_off(client)
    page, text = _file(Browser(ctx, "mgr"), f"/cases/{flow.instance_id}")
    assert "Bruise on the cheek seen at drop-off." in text
    rows = [
        (r.select_one("dt").get_text(strip=True), r.select_one("dd").get_text(strip=True))
        for r in page.select(".app-deadline")
    ]
    labels = [label for label, _ in rows]
    assert "Decision due" in labels
    times = [datetime.strptime(value, "%d %B %Y, %H:%M") for _, value in rows]
    assert times == sorted(times)
    assert labels == ["Decision due", "Outcome due"]  # both 09:30 the next day: at the same time the decision first


def test_deadlines_sort_by_time_not_by_name():
    found = case_file.deadlines(
        {
            "outcome_due_at": "2026-11-24T12:00:00+00:00",
            "decision_due_at": "2026-11-24T11:00:00+00:00",
            "partner_due_at": "2026-11-24T10:00:00+00:00",
        }
    )
    assert [d["label"] for d in found] == ["Partner answers due", "Decision due", "Outcome due"]


def test_a_partner_sees_only_what_it_sees_today(client, ctx):
    flow = _to_sign_off(client)
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear", "analysis": "MASH-ONLY analysis"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police"],
            "request_details": "What is known?",
            "agency_reasons": [{"agency": "police", "reason": "Domestic incidents"}],
        },
    )
    task = flow.task("police", "partner_answer")
    _, text = _file(Browser(ctx, "police"), f"/tasks/{task['id']}")
    assert "Jamie Doe" in text
    for secret in (
        "MASH-ONLY analysis",
        "Father drinks heavily.",
        "Bruise on the cheek",
        "Ann Teacher",
        "No previous involvement found.",
        "Seeking consent",
    ):
        assert secret not in text, secret


def test_the_household_links_to_the_siblings_cases(client, ctx):
    jamie = {"first_name": "Jamie", "last_name": "Doe", "date_of_birth": "2016-04-01"}
    mia = {"first_name": "Mia", "last_name": "Doe", "date_of_birth": "2018-09-12"}
    flow = Flow(client, child=None, children=[jamie, mia])
    first, second = flow.contact["instance_ids"]
    page, text = _file(Browser(ctx, "masho"), f"/cases/{first}")
    assert "Mia Doe" in text and "12 September 2018" in text
    assert page.select_one("#case-file").find("a", href=f"/cases/{second}") is not None


def test_a_record_task_page_shows_the_case_file_too(client, ctx):
    flow = Flow(client)
    flow.do("masho", "record_contact", RECORD)
    task = flow.task("masho", "history_check")
    _, text = _file(Browser(ctx, "masho"), f"/tasks/{task['id']}")
    assert "Unexplained bruising seen by the teacher." in text and "Obtained" in text and "Mother" in text
    flow.do("masho", "history_check", HISTORY)
