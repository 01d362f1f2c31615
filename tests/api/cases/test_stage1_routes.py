"""Stage 1 end to end through the API, for every route, with the right role at each step."""

import pytest

from tests.support.flow import AGREE, Flow
from tests.support.stage1 import TRIAGE, acknowledge, finish_letters

pytestmark = pytest.mark.restart_between_steps  # a restart / another worker between every step


def _routes(flow):
    return [e for e in flow.history() if e["type"] == "route_taken"]


def _decisions(flow):
    return {e["detail"]["decision_id"]: e["detail"] for e in flow.history() if e["type"] == "decision_evaluated"}


def test_advice_only_contact_gets_information_from_the_masho(client):
    flow = Flow(client)
    flow.intake({"request_type": "advice", "information_only": True})
    flow.do("masho", "give_information", {"information_given_detail": "Signposted to the local family hub."})
    acknowledge(flow)
    case = flow.instance()
    assert case["status"] == "completed"
    assert case["outcome"] == "information_given" and case["is_referral"] is False
    routing = _decisions(flow)["contact_routing"]
    assert routing["matched_rules"] == ["contact_routing_r3"]
    assert routing["outputs"]["contact_route"] == "information_only"
    assert routing["deployment_version"] == 1


def test_s17_contact_is_triaged_signed_off_and_handed_to_first_response(client):
    flow = Flow(client)
    flow.intake()
    assert flow.instance()["rag"] == "NONE"
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    case = flow.instance()
    assert case["route"] == "s17_assessment" and case["rag"] == "GREEN"
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    flow.do("fr", "handover", {"handover_accepted": True})
    acknowledge(flow)
    finish_letters(flow)
    case = flow.instance()
    assert case["status"] == "completed"
    assert (case["outcome"], case["is_referral"], case["rag"]) == ("s17_assessment", True, "GREEN")
    assert case["data"]["receiving_team"] == "first_response"
    assert _decisions(flow)["triage_outcome"]["matched_rules"] == ["triage_outcome_r7"]


def test_urgent_s47_is_red_confirmed_and_goes_to_daat_by_phone(client):
    flow = Flow(client)
    flow.intake({"red_criteria": ["other"], "red_criteria_other": "Child says they are scared to go home"})
    case = flow.instance()
    assert case["rag"] == "RED"
    assert case["outcome_due_at"].startswith(
        "2026-11-24T13:30"
    )  # RED: 4 hours elapsed from receipt (09:30), spec §11.1
    alerts = [e for e in flow.history() if e["type"] == "alert_raised"]
    assert {a["detail"]["role"] for a in alerts} >= {"mash_manager"}
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s47"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "RED"})
    flow.do("daat", "handover", {"handover_accepted": True})
    flow.do(
        "dm",
        "phone_referrer",
        {
            "phoned_at": "2026-11-24T12:00:00+00:00",
            "spoke_to": "Ann Teacher",
            "family_phoned_at": "2026-11-24T12:10:00+00:00",
        },
    )  # spec §11.8
    acknowledge(flow)
    case = flow.instance()
    assert (case["status"], case["outcome"], case["rag"], case["is_referral"]) == (
        "completed",
        "s47_strategy",
        "RED",
        True,
    )
    assert case["data"]["receiving_team"] == "daat"


def test_urgent_contact_cannot_go_to_an_early_help_decision_maker(client):
    flow = Flow(client)
    flow.intake({"red_criteria": ["other"], "red_criteria_other": "Disclosure"})
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    task = flow.task("mgr", "allocate")
    response = flow.api.post(
        "mgr", f"/api/v1/tasks/{task['id']}/complete", {"data": {"allocate_to": "eh_decision_maker"}}
    )
    assert response.status_code == 422
    assert "allocate_to" in response.json["details"]["errors"]


def test_early_help_route_is_signed_off_by_the_eh_manager(client):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "eh_decision_maker"})
    flow.do("ehdm", "triage_early_help", {**TRIAGE, "threshold": "early_help"})
    flow.do("ehmgr", "sign_off_early_help", {**AGREE, "agreed_rag": "GREEN"})
    flow.do("eh_team", "handover", {"handover_accepted": True})
    acknowledge(flow)
    finish_letters(flow)
    case = flow.instance()
    assert (case["outcome"], case["is_referral"], case["status"]) == ("early_help", False, "completed")


def test_nfa_sends_letters_and_closes(client):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "not_met"})
    flow.do(
        "mgr",
        "sign_off_social_care",
        {
            **AGREE,
            "agreed_rag": "NONE",
            "family_notification": "withhold",
            "family_notification_reason": "Would increase risk to the parent",
        },
    )
    acknowledge(flow)
    finish_letters(flow, family_letter=False)
    case = flow.instance()
    assert (case["outcome"], case["status"]) == ("nfa", "completed")


def test_unclear_threshold_goes_through_stage2(client):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    assert flow.instance()["rag"] == "AMBER"
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police"],
            "request_details": "Unexplained bruising: what is known?",
            "agency_reasons": [{"agency": "police", "reason": "Domestic incidents at the address"}],
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
            "rag_reason": "Partners report support in place",
            "recommended_outcome": "early_help",
            "rationale": "Needs met by EH",
        },
    )
    flow.do("mgr", "stage2_review", {"manager_decision": "agree"})
    flow.do("eh_team", "handover", {"handover_accepted": True})
    acknowledge(flow)
    finish_letters(flow)
    case = flow.instance()
    assert (case["outcome"], case["status"]) == ("early_help", "completed")


def test_information_request_is_signed_off_before_disclosure(client):
    flow = Flow(client, channel="information_request")
    flow.intake({"request_type": "information_request"})
    flow.do(
        "dm",
        "draft_information_response",
        {
            "response_draft": "Known to services 2024.",
            "disclosure_to": "Other LA",
            "disclosure_purpose": "Safeguarding enquiry",
            "lawful_basis": "public_task",
            "concerns_arise": False,
        },
    )
    flow.do("mgr", "sign_off_disclosure", {"disclosure_approved": True})
    acknowledge(flow)
    assert flow.instance()["outcome"] == "information_request_answered"


def test_domestic_abuse_notification_goes_to_screening(client):
    flow = Flow(client, channel="domestic_abuse_notification")
    flow.intake({"request_type": "domestic_abuse"})
    flow.do(
        "da",
        "domestic_abuse_screening",
        {"screening_outcome": "safety_plan_agreed", "screening_notes": "Safety plan agreed with mother"},
    )
    acknowledge(flow)
    case = flow.instance()
    assert case["outcome"] == "passed_to_domestic_abuse_screening"
    assert case["data"]["contact_route"] == "domestic_abuse_screening"
