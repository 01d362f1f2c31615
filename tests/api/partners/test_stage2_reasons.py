"""Spec §11.12, App. F ("each decision to request and share information ... necessary and
proportionate"): a Stage 2 request asks every agency with its own reason; each agency sees its own
reason and the request details, never another agency's reason. Driven through the API (and the
partner's task page) with the decision maker, the partners and the MASH manager at each step."""

import json
from datetime import datetime, timedelta

import pytest

from app.engine.clock import CLOCK
from app.services.core import timers
from tests.support import PASSWORD
from tests.support.pages import Browser, soup
from tests.support.stage2 import PARTNER_PASSWORD, PARTNERS, partner_answer, sign_in_partners, to_stage2

pytestmark = pytest.mark.restart_between_steps  # every step as if on another worker (MASH_FRESH_BUNDLES)

REASONS = {
    "police": "POLICE-REASON: father's history of violence known to PVP",
    "health": "HEALTH-REASON: missed health visitor appointments",
    "education": "EDU-REASON: attendance and bruising seen by the DSL",
}
DETAILS = "Unexplained bruising to a 7-year-old; is the household known, and what do you hold?"


def _request(agencies, reasons):
    return {
        "agencies": agencies,
        "request_details": DETAILS,
        "agency_reasons": [{"agency": a, "reason": r} for a, r in reasons.items()],
    }


def test_app_f_every_agency_asked_needs_its_own_reason(client):
    """App. F: a request naming an agency without a non-empty reason of its own is refused (422, field error)."""
    flow = to_stage2(client)
    agencies = ["police", "health", "education"]
    # health has no reason at all
    refused = flow.do(
        "dm",
        "stage2_request",
        _request(agencies, {"police": REASONS["police"], "education": REASONS["education"]}),
        status=422,
    )
    errors = refused["details"]["errors"]
    assert "agency_reasons" in errors
    assert any("Health" in m and "App. F" in m for m in errors["agency_reasons"]), errors
    # a blank reason is no reason
    refused = flow.do("dm", "stage2_request", _request(agencies, {**REASONS, "health": "   "}), status=422)
    assert "agency_reasons" in refused["details"]["errors"]
    # a reason given for an agency that is not asked does not stand in for one that is
    refused = flow.do(
        "dm",
        "stage2_request",
        _request(["police", "health"], {"police": REASONS["police"], "education": REASONS["education"]}),
        status=422,
    )
    assert any("Health" in m for m in refused["details"]["errors"]["agency_reasons"])
    # nothing was asked of anyone yet
    for username in ("police", "nurse", "edu"):
        assert flow.ready(username) == []
    flow.do("dm", "stage2_request", _request(agencies, REASONS))
    assert {u: flow.task(u, "partner_answer")["agency"] for u in ("police", "nurse", "edu")} == {
        "police": "police",
        "nurse": "health",
        "edu": "education",
    }


def test_app_f_each_agency_sees_its_own_reason_and_the_request_never_another_agencys(client, ctx):
    """App. F / spec §6.1: the partner's request (API and task page) shows its own reason, the concerns and
    what is needed, and the due time; another agency's reason never reaches it, even after every agency
    has answered and a late agency has had its deadline extended."""
    flow = to_stage2(client)
    flow.do("dm", "stage2_request", _request(["police", "health", "education"], REASONS))
    own = {"police": "police", "nurse": "health", "edu": "education"}
    for username, agency in own.items():
        task = flow.task(username, "partner_answer")
        ask = task["data"]["agency_ask"]
        assert (ask["agency"], ask["reason"], ask["request_details"]) == (agency, REASONS[agency], DETAILS)
        assert task["due_at"]
        listing = json.dumps(flow.ready(username))
        case = flow.api.get(username, f"/api/v1/instances/{flow.instance_id}").get_data(as_text=True)
        for other, reason in REASONS.items():
            if other != agency:
                assert reason not in listing and reason not in case, (username, other)

    # the partner's task page shows the request: its own reason, the details, and when it is due in words
    for username, agency in own.items():
        browser = Browser(ctx)
        browser.sign_in(username, PASSWORD if username == "police" else PARTNER_PASSWORD)
        task = flow.task(username, "partner_answer")
        page = browser.get(f"/tasks/{task['id']}")
        assert page.status_code == 200
        text = soup(page).get_text(" ")
        assert REASONS[agency] in text and DETAILS in text and "Your agency's request" in text
        assert "Due" in text or "due" in text
        for other, reason in REASONS.items():
            if other != agency:
                assert reason not in page.get_data(as_text=True), (username, other)

    # police and health answer; education is late and the manager extends its deadline
    flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year"))
    flow.do("nurse", "partner_answer", partner_answer("Missed appointments"))
    due = datetime.fromisoformat(flow.task("edu", "partner_answer")["due_at"])
    CLOCK.freeze(due + timedelta(minutes=1))
    assert timers.fire_due() >= 1
    sign_in_partners(flow, client)
    flow.do(
        "mgr",
        "late_answers",
        {
            "late_decision": "extend",
            "late_reason": "School gathering records",
            "extended_due_at": (CLOCK.now() + timedelta(hours=2)).isoformat(),
        },
    )
    late = flow.task("edu", "partner_answer")
    assert late["data"]["agency_ask"]["reason"] == REASONS["education"]
    flow.do("edu", "partner_answer", partner_answer("Attendance 82%"))
    # after every answer: still no partner can read another agency's reason, anywhere it may look
    for username, agency in own.items():
        for url in (
            f"/api/v1/instances/{flow.instance_id}",
            f"/api/v1/instances/{flow.instance_id}/history",
            "/api/v1/tasks",
        ):
            body = flow.api.get(username, url).get_data(as_text=True)
            for other, reason in REASONS.items():
                if other != agency:
                    assert reason not in body, (username, url, other)
    # inside the MASH the decision maker sees every reason with the request
    collation = flow.task("dm", "stage2_collation")
    assert {r["agency"]: r["reason"] for r in collation["data"]["agency_reasons"]} == REASONS
    assert set(PARTNERS.values()) | {"police"} == {a["agency"] for a in collation["data"]["agency_asks"]}
