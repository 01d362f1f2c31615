"""Lowering a RED needs two different managers (spec §3.8, §11.5; protocol §10 RED, §16 audit of urgent
downgrades): the case stays RED until a MASH manager who neither triaged nor signed it off agrees, and every
such case is on the monthly audit list."""

import pytest

from tests.support.flow import AGREE, HISTORY, RECORD, Flow
from tests.support.stage1 import TRIAGE

pytestmark = pytest.mark.restart_between_steps  # every step as if on another worker (MASH_FRESH_BUNDLES)
URGENT = {**RECORD, "red_criteria": ["other"], "red_criteria_other": "Injury to the face"}
DOWNGRADE = {"urgent_downgrade_agreed": True, "urgent_downgrade_reason": "Seen by the GP; injury explained"}


def _refused(flow, username, data=None):
    task = flow.task(username, "agree_urgent_downgrade")
    response = flow.api.post(username, f"/api/v1/tasks/{task['id']}/complete", {"data": data or DOWNGRADE})
    assert response.status_code == 403, response.json
    assert "different manager" in response.json["message"]


def test_10_red_sign_off_lowering_needs_a_manager_who_neither_triaged_nor_signed_off(client):
    """§10 RED, §16: the signing manager and the triaging manager are both refused; a third manager agrees."""
    flow = Flow(client)
    flow.do("masho", "record_contact", URGENT)
    flow.do("masho", "history_check", HISTORY)
    flow.do("mgr2", "confirm_red", {"red_confirmed": True})
    flow.do("mgr2", "allocate", {"allocate_to": "decision_maker"})
    flow.do("mgr_dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    case = flow.instance()
    assert case["rag"] == "RED" and case["data"]["on_urgent_downgrade_audit"] is True  # listed, agreed or not
    _refused(flow, "mgr")  # signed it off
    _refused(flow, "mgr_dm")  # triaged it
    flow.do("mgr2", "agree_urgent_downgrade", DOWNGRADE)
    case = flow.instance()
    assert case["rag"] == "GREEN" and case["data"]["on_urgent_downgrade_audit"] is True
    assert flow.task("fr", "handover")


def test_10_red_set_at_triage_cannot_fall_at_sign_off_alone(client):
    """§10 RED, spec §11.5: a RED the decision maker applied at triage (not an urgent contact) falls only with
    a second manager; one manager's GREEN keeps it RED."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do(
        "dm",
        "triage_social_care",
        {
            **TRIAGE,
            "threshold": "s17",
            "rag_override": "RED",
            "override_reason": "Parent's mental health crisis tonight",
        },
    )
    assert flow.instance()["rag"] == "RED"
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    assert flow.instance()["rag"] == "RED"
    _refused(flow, "mgr")
    flow.do(
        "mgr2",
        "agree_urgent_downgrade",
        {"urgent_downgrade_agreed": False, "urgent_downgrade_reason": "Crisis team not yet involved"},
    )
    assert flow.instance()["rag"] == "RED"  # not agreed: back to the decision maker, still RED
    assert flow.task("dm", "triage_social_care")


def test_10_red_triage_cannot_lower_a_provisional_red(client):
    """§10 RED, spec §11.5: an urgent contact's triage with a lower RAG override still leaves it RED."""
    flow = Flow(client)
    flow.intake(URGENT)
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do(
        "dm",
        "triage_social_care",
        {**TRIAGE, "threshold": "s17", "rag_override": "GREEN", "override_reason": "Injury explained"},
    )
    case = flow.instance()
    assert case["rag"] == "RED" and case["outcome_due_at"].startswith("2026-11-24T13:30")  # the clock keeps running


def test_stage2_review_cannot_lower_a_red_with_one_manager(client):
    """§10 Stage 2, spec §11.5: a Stage 2 review that would take an urgent case out of RED waits for a MASH
    manager who neither triaged it nor signed off or reviewed it; the case is on the audit list."""
    flow = Flow(client)
    flow.intake(URGENT)
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    assert (flow.instance()["rag"], flow.instance()["data"]["route"]) == ("RED", "stage2")
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "RED"})
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police"],
            "request_details": "Injury: what is known?",
            "agency_reasons": [{"agency": "police", "reason": "Incidents at the address"}],
        },
    )
    flow.do(
        "police",
        "partner_answer",
        {
            "agency_response": {
                "information": [{"text": "No police involvement", "verified": True}],
                "analysis": "No known risk",
                "recommendation": "Early help",
            }
        },
    )
    flow.do(
        "dm",
        "stage2_collation",
        {
            "revised_rag": "GREEN",
            "rag_reason": "Injury explained by the GP",
            "recommended_outcome": "early_help",
            "rationale": "Needs met by EH",
        },
    )
    flow.do("mgr", "stage2_review", {"manager_decision": "agree"})
    case = flow.instance()
    assert case["rag"] == "RED" and case["data"]["on_urgent_downgrade_audit"] is True
    _refused(flow, "mgr")  # signed off and reviewed
    flow.do("mgr2", "agree_urgent_downgrade", DOWNGRADE)
    case = flow.instance()
    assert case["rag"] == "GREEN" and case["data"]["route"] == "early_help"
    assert flow.task("eh_team", "handover")


def test_stage2_downgrade_not_agreed_keeps_red_and_goes_on(client):
    """§10 Stage 2, spec §11.5: the second manager does not agree: the outcome goes ahead at RED."""
    flow = Flow(client)
    flow.intake(URGENT)
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "RED"})
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police"],
            "request_details": "Injury: what is known?",
            "agency_reasons": [{"agency": "police", "reason": "Incidents at the address"}],
        },
    )
    flow.do(
        "police",
        "partner_answer",
        {
            "agency_response": {
                "information": [{"text": "Known to police", "verified": True}],
                "analysis": "Risk",
                "recommendation": "s17",
            }
        },
    )
    flow.do(
        "dm",
        "stage2_collation",
        {
            "revised_rag": "AMBER",
            "rag_reason": "Lower risk",
            "recommended_outcome": "s17_assessment",
            "rationale": "Assessment needed",
        },
    )
    flow.do("mgr", "stage2_review", {"manager_decision": "agree"})
    flow.do(
        "mgr2",
        "agree_urgent_downgrade",
        {"urgent_downgrade_agreed": False, "urgent_downgrade_reason": "Injury not explained"},
    )
    case = flow.instance()
    assert case["rag"] == "RED" and case["data"]["route"] == "s17_assessment"
    assert case["data"]["on_urgent_downgrade_audit"] is True
    handover = flow.task("fr", "handover")
    assert handover["due_at"] is not None


def test_16_every_urgent_downgrade_is_on_the_monthly_audit_list(client):
    """§16: the audit draw lists every urgent downgrade, agreed or not."""
    from app.services.audit import audit_sampling

    flow = Flow(client)
    flow.intake(URGENT)
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "not_met"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "NONE"})
    drawn = audit_sampling.draw("2026-11-01", "2026-11-30")
    listed = [s for s in drawn["samples"] if "urgent_downgrade" in s["reasons"]]
    assert [s["case_id"] for s in listed] == [flow.instance_id]  # before any second manager has decided


def test_heightened_risk_red_raised_in_stage2_cannot_be_lowered_by_the_review_alone(client):
    """§10 "escalate", spec §11.5: a RED raised on a partner's escalation falls at the Stage 2 review only with a
    MASH manager who neither reviewed nor signed it off."""
    from tests.support.flow import AGREE as AGREED

    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    flow.do("mgr", "sign_off_social_care", {**AGREED, "agreed_rag": "AMBER"})
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police"],
            "request_details": "Bruising: what is known?",
            "agency_reasons": [{"agency": "police", "reason": "Incidents at the address"}],
        },
    )
    police = flow.task("police", "partner_answer")
    sent = flow.api.post(
        "police",
        f"/api/v1/tasks/{police['id']}/message",
        {
            "data": {
                "phoned_manager": True,
                "told_whom": "MASH manager",
                "told_at": "2026-11-24T10:05:00+00:00",
                "reason": "Father released today",
            }
        },
    )
    assert sent.status_code == 200, sent.json
    flow.do("mgr", "heightened_risk_review", {"protective_action": "Police visit", "raise_rag_to_red": True})
    assert flow.instance()["rag"] == "RED"
    flow.do(
        "police",
        "partner_answer",
        {
            "agency_response": {
                "information": [{"text": "Father recalled to prison", "verified": True}],
                "analysis": "Risk gone",
                "recommendation": "Early help",
            }
        },
    )
    flow.do(
        "dm",
        "stage2_collation",
        {
            "revised_rag": "GREEN",
            "rag_reason": "Father back in prison",
            "recommended_outcome": "early_help",
            "rationale": "Needs met by EH",
        },
    )
    flow.do("mgr", "stage2_review", {"manager_decision": "agree"})
    case = flow.instance()
    assert case["rag"] == "RED" and case["data"]["on_urgent_downgrade_audit"] is True
    _refused(flow, "mgr")
    flow.do("mgr2", "agree_urgent_downgrade", DOWNGRADE)
    assert flow.instance()["rag"] == "GREEN"
