"""Issue 15, partners: the firewall runs both ways (spec §11, App. F). A partner sees its own request
(the concerns and what is needed, its own agency's reason, when the answer is due in words, the
child's identifying details and the answer form), its own answers through "Our answers", and nothing
else of the case: every case page, every API read of the case and every other task of the case is 404
for it, before and after it answers. After answering it lands on its own answer, never the case."""

import re

from app.services.partners import partner_request
from tests.support.pages import Browser, soup
from tests.support.stage2 import PARTNER_PASSWORD, partner_answer, to_stage2

REASONS = {
    "police": "POLICE-ONLY-REASON: domestic incidents at the address",
    "health": "HEALTH-ONLY-REASON: missed health visitor appointments",
}
DETAILS = "DETAILS: unexplained bruising to a 7-year-old; is the household known, and what do you hold?"


def _asked(client):
    flow = to_stage2(client)
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police", "health"],
            "request_details": DETAILS,
            "agency_reasons": [{"agency": a, "reason": r} for a, r in REASONS.items()],
        },
    )
    return flow


def _case_urls(instance_id: int) -> list[str]:
    return [
        f"/cases/{instance_id}",
        f"/cases/{instance_id}/timeline",
        f"/cases/{instance_id}/timeline.csv",
        f"/cases/{instance_id}/diagram",
        f"/cases/{instance_id}/handover",
        f"/cases/{instance_id}/break-glass",
    ]


def _api_urls(instance_id: int) -> list[str]:
    return [
        f"/api/v1/instances/{instance_id}",
        f"/api/v1/instances/{instance_id}/history",
        f"/api/v1/instances/{instance_id}/handover",
        f"/api/v1/instances/{instance_id}/timeline",
        f"/api/v1/instances/{instance_id}/export",
    ]


def _assert_walled_off(flow, browser, username, other_tasks):
    for url in _case_urls(flow.instance_id):
        assert browser.get(url).status_code == 404, (username, url)
    for url in _api_urls(flow.instance_id):
        assert flow.api.get(username, url).status_code == 404, (username, url)
    for task_id in other_tasks:
        assert browser.get(f"/tasks/{task_id}").status_code == 404, (username, task_id)
        assert flow.api.get(username, f"/api/v1/tasks/{task_id}/form").status_code == 404, (username, task_id)


def test_a_partner_sees_its_request_with_its_reason_and_nothing_else_of_the_case(client, ctx):
    flow = _asked(client)
    police = Browser(ctx, "police")
    task = flow.task("police", "partner_answer")
    response = police.get(f"/tasks/{task['id']}")
    assert response.status_code == 200
    page = soup(response)
    main = page.select_one("main").get_text(" ", strip=True)
    assert REASONS["police"] in main and DETAILS in main and "Your agency's request" in main
    assert re.search(r"Answer by (\d{1,2}(:\d\d)?(am|pm)|midday|midnight) on \w+day \d{1,2} \w+ \d{4}", main), main
    assert "Jamie Doe" in main  # the child's identifying details, to find the agency's records
    assert page.find("a", href="/agency/answers") is not None  # "Our answers"
    assert page.find("textarea", attrs={"name": "agency_response.analysis"}) is not None  # ui:widget textarea
    html = response.get_data(as_text=True)
    assert REASONS["health"] not in html  # never another agency's reason
    for absent in (
        "Case file",
        "Decisions so far",
        "View the case",
        "Case history",
        "decision table",
        "AMBER",
        "Health (safeguarding",
    ):
        assert absent not in main, absent
    assert not page.find("a", href=re.compile(r"^/cases/")), page.find("a", href=re.compile(r"^/cases/"))


def test_a_partner_gets_404_on_every_case_page_and_read_before_and_after_answering(client, ctx):
    flow = _asked(client)
    police = Browser(ctx, "police")
    nurse = Browser(ctx)
    nurse.sign_in("nurse", PARTNER_PASSWORD)
    police_task = flow.task("police", "partner_answer")["id"]
    health_task = flow.task("nurse", "partner_answer")["id"]
    assert police.get(f"/tasks/{police_task}").status_code == 200  # its own request, while open
    _assert_walled_off(flow, police, "police", [health_task])
    _assert_walled_off(flow, nurse, "nurse", [police_task])

    # the API's answer to a partner's own writes carries its own requests only, never the case
    sent = flow.api.post(
        "police",
        f"/api/v1/tasks/{police_task}/message",
        {
            "data": {
                "phoned_manager": True,
                "told_whom": "Duty manager",
                "told_at": "2026-11-24T10:05:00+00:00",
                "reason": "Father released today",
            }
        },
    )
    assert sent.status_code == 200, sent.json
    assert [t["id"] for t in sent.json["ready_tasks"]] == [police_task] and "rag" not in sent.json
    review = flow.task("mgr", "heightened_risk_review")["id"]
    done = flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year"))
    assert done["ready_tasks"] == [] and set(done["data"]) <= {"child"}
    flow.do("nurse", "partner_answer", partner_answer("Missed appointments"))
    collation = flow.task("dm", "stage2_collation")["id"]

    # after answering: still nothing of the case, nor any of its tasks, its own finished one included
    for username, browser, own, other in (
        ("police", police, police_task, health_task),
        ("nurse", nurse, health_task, police_task),
    ):
        _assert_walled_off(flow, browser, username, [other, review, collation])
        assert browser.get(f"/tasks/{own}").status_code == 409  # answered: "already completed", no case link
        assert browser.get(f"/agency/answers/{own}").status_code == 200  # its own answer, under "Our answers"
        listing = soup(browser.get("/agency/answers"))
        assert listing.find("a", href=f"/agency/answers/{own}") is not None
        assert not listing.find("a", href=re.compile(r"^/cases/"))
    # inside the MASH nothing changed
    dm = Browser(ctx, "dm")
    assert dm.get(f"/cases/{flow.instance_id}").status_code == 200
    assert flow.api.get("dm", f"/api/v1/instances/{flow.instance_id}").status_code == 200


def test_a_partner_is_sent_to_its_own_answer_after_answering(client, ctx):
    flow = _asked(client)
    police = Browser(ctx, "police")
    task_id = flow.task("police", "partner_answer")["id"]
    response = police.post(
        f"/tasks/{task_id}",
        {
            "agency_response.information.0.text": "Two domestic call-outs this year",
            "agency_response.information.0.verified": "true",
            "agency_response.analysis": "Risk from the father",
            "agency_response.recommendation": "Assessment",
        },
    )
    assert response.status_code == 302, soup(response).select_one("main").get_text(" ", strip=True)[:1500]
    assert response.headers["Location"].endswith(f"/agency/answers/{task_id}")
    landed = police.get(response.headers["Location"])
    assert landed.status_code == 200
    text = soup(landed).get_text(" ", strip=True)
    assert "Your answer has been sent to the MASH" in text and "Revise your answer" in text
    assert REASONS["police"] in text and DETAILS in text  # what was asked, still beside the answer
    assert REASONS["health"] not in landed.get_data(as_text=True)
    # an error keeps the partner on its request page, the request still shown
    nurse = Browser(ctx)
    nurse.sign_in("nurse", PARTNER_PASSWORD)
    health_task = flow.task("nurse", "partner_answer")["id"]
    refused = nurse.post(f"/tasks/{health_task}", {"agency_response.analysis": ""})
    assert refused.status_code == 422
    text = soup(refused).select_one("main").get_text(" ", strip=True)
    assert REASONS["health"] in text and DETAILS in text and REASONS["police"] not in text


def test_a_partner_may_still_raise_a_dispute_about_a_case_it_was_asked_about(client):
    """§11.13: a partner disputes through the API without reading the case; an agency never asked gets 404."""
    flow = _asked(client)
    flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year"))
    body = {"disputed_decision": "s17 rather than s47", "position": "The call-outs meet s47."}
    assert flow.api.post("police", f"/api/v1/instances/{flow.instance_id}/disputes", body).status_code == 201
    assert flow.api.post("edu", f"/api/v1/instances/{flow.instance_id}/disputes", body).status_code == 404


def test_the_due_time_in_words():
    assert partner_request.by_when("2026-11-24T15:00:00+00:00") == "by 3pm on Tuesday 24 November 2026"
    assert partner_request.by_when("2026-07-01T09:30:00+00:00") == "by 10:30am on Wednesday 1 July 2026"  # BST
    assert partner_request.by_when("2026-11-24T12:00:00+00:00") == "by midday on Tuesday 24 November 2026"
    assert partner_request.by_when(None) == ""
