"""Stage 2 (spec §6) end to end through the API: request, one task per agency behind the firewall,
escalate-now raising the RAG to RED (open partner deadlines shorten), late answers at the partner due
time, collation, challenge loop, agreement and handover; soft information never leaves the MASH."""

import json
from datetime import datetime, timedelta

import pytest

from app.engine.clock import CLOCK
from app.services.core import timers
from tests.support.stage2 import CANARY, partner_answer, request_agencies, sign_in_partners, to_stage2

pytestmark = pytest.mark.restart_between_steps  # a restart / another worker between every step


def test_stage2_end_to_end(client):
    flow = to_stage2(client)
    # a request needs at least one agency, and a reason
    flow.do("dm", "stage2_request", {"agencies": [], "request_details": "x", "agency_reasons": []}, status=422)
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police", "health", "education"],
            "agency_reasons": [
                {"agency": a, "reason": f"{a} may hold information on the household"}
                for a in ("police", "health", "education")
            ],
            "request_details": "Unexplained bruising; is the family known?",
        },
    )

    mine = {u: flow.task(u, "partner_answer") for u in ("police", "nurse", "edu")}
    assert {u: t["agency"] for u, t in mine.items()} == {"police": "police", "nurse": "health", "edu": "education"}
    for u in ("police", "nurse", "edu"):
        assert [t["bpmn_id"] for t in flow.ready(u)] == ["partner_answer"]  # only its own request
    # one agency cannot complete another's request
    assert (
        flow.api.post(
            "nurse", f"/api/v1/tasks/{mine['police']['id']}/complete", {"data": partner_answer("x")}
        ).status_code
        == 403
    )
    due_before = {u: t["due_at"] for u, t in mine.items()}
    assert all(due_before.values())

    # police escalate heightened risk; the manager raises the RAG to RED
    sent = flow.api.post(
        "police",
        f"/api/v1/tasks/{mine['police']['id']}/message",
        {
            "data": {
                "phoned_manager": True,
                "told_whom": "MASH manager on duty",
                "told_at": "2026-11-24T10:05:00+00:00",
                "reason": "Father released from custody today",
            }
        },
    )
    assert sent.status_code == 200, sent.json
    review = flow.task("mgr", "heightened_risk_review")
    assert review["data"]["escalation"]["agency"] == "police" and review["due_at"]
    flow.do(
        "mgr", "heightened_risk_review", {"protective_action": "Strategy discussion convened", "raise_rag_to_red": True}
    )
    assert flow.instance()["rag"] == "RED"
    due_after = {u: flow.task(u, "partner_answer")["due_at"] for u in ("police", "nurse", "edu")}
    for u in due_after:
        assert due_after[u] < due_before[u], (u, due_before[u], due_after[u])  # ISO UTC strings order as instants

    # police and health answer; the police answer carries soft intelligence
    flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year", sensitive=CANARY))
    flow.do("nurse", "partner_answer", partner_answer("Health visitor: missed appointments"))
    assert CANARY not in json.dumps(flow.ready("nurse")) and CANARY not in json.dumps(flow.ready("edu"))

    # education is late: at the partner due time the manager decides
    CLOCK.advance(timedelta(hours=5))
    assert timers.fire_due() >= 1
    late = flow.task("mgr", "late_answers")
    flow.do(
        "mgr", "late_answers", {"late_decision": "extend", "late_reason": "School is gathering records"}, status=422
    )
    new_due = "2026-11-24T18:00:00+00:00"
    flow.do(
        "mgr",
        "late_answers",
        {"late_decision": "extend", "late_reason": "School is gathering records", "extended_due_at": new_due},
    )
    assert late["bpmn_id"] == "late_answers"
    assert flow.instance()["data"]["partner_due_at"] == new_due
    flow.do("edu", "partner_answer", partner_answer("Attendance 82%, bruising noted by DSL"))

    # collation: the decision maker sees every answer, the soft intelligence included
    collation = flow.task("dm", "stage2_collation")
    assert CANARY in json.dumps(collation["data"]["agency_responses"])
    assert len(collation["data"]["agency_responses"]) == 3
    collated = {
        "revised_rag": "RED",
        "rag_reason": "Heightened risk confirmed",
        "recommended_outcome": "s47_strategy",
        "rationale": "Risk of significant harm",
        "other_sources": [
            {
                "source": "Dr Khan, GP",
                "kind": "gp",
                "requested_at": "2026-11-24T11:00:00+00:00",
                "answer": "Seen twice this year for minor injuries",
                "verified": True,
            }
        ],
    }
    flow.do("dm", "stage2_collation", {**collated, "recommended_outcome": "s17_assessment"})
    flow.do("mgr", "stage2_review", {"manager_decision": "challenge"}, status=422)  # comments required
    flow.do(
        "mgr", "stage2_review", {"manager_decision": "challenge", "manager_comments": "Police information meets s47"}
    )
    flow.do("dm", "stage2_collation", collated)
    flow.do("mgr", "stage2_review", {"manager_decision": "agree", "manager_comments": None})
    case = flow.instance()
    assert (case["route"], case["rag"]) == ("s47_strategy", "RED")
    assert CANARY in json.dumps(case)  # inside the MASH the record is whole

    # handover to the receiving team: nothing soft reaches it, nor another agency's partner
    handover = flow.task("daat", "handover")
    assert CANARY not in json.dumps(handover)
    package = flow.api.get("daat", f"/api/v1/instances/{flow.instance_id}/handover").json["package"]
    assert package["other_sources"][0]["answer"] == "Seen twice this year for minor injuries"
    for username in ("daat", "nurse", "edu"):
        for url in (
            f"/api/v1/instances/{flow.instance_id}",
            f"/api/v1/instances/{flow.instance_id}/history",
            "/api/v1/tasks",
        ):
            response = flow.api.get(username, url)
            assert CANARY not in response.get_data(as_text=True), (username, url)
    for username in ("nurse", "edu"):  # another agency never sees the police answer itself
        assert "Two domestic call-outs" not in flow.api.get(username, f"/api/v1/instances/{flow.instance_id}").get_data(
            as_text=True
        )
    assert CANARY in flow.api.get("dm", f"/api/v1/instances/{flow.instance_id}").get_data(as_text=True)
    flow.do("daat", "handover", {"handover_accepted": True})


def test_proceeding_without_a_late_agency_withdraws_its_request(client):
    flow = to_stage2(client)
    request_agencies(flow, ["police", "health", "education"])
    flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year"))
    flow.do("nurse", "partner_answer", partner_answer("Health visitor: missed appointments"))
    due = datetime.fromisoformat(flow.task("edu", "partner_answer")["due_at"])
    CLOCK.freeze(due + timedelta(minutes=1))
    assert timers.fire_due() >= 1
    sign_in_partners(flow, client)
    # at the partner due time the decision maker is alerted and the manager decides
    alerts = [e for e in flow.history() if e["type"] == "alert_raised"]
    assert any(a["detail"]["role"] == "decision_maker" and "partner answers" in a["detail"]["reason"] for a in alerts)
    flow.do("mgr", "late_answers", {"late_decision": "proceed", "late_reason": "Strategy needs to go ahead today"})

    # education's request is withdrawn: gone from its inbox, recorded, and it can no longer answer
    assert flow.ready("edu") == []
    withdrawn = [e for e in flow.history() if e["type"] == "task_withdrawn"]
    assert [(e["bpmn_id"], e["detail"]["agency"]) for e in withdrawn] == [("partner_answer", "education")]
    collation = flow.task("dm", "stage2_collation")
    responses = collation["data"]["agency_responses"]
    assert len(responses) == 3
    late = [r for r in responses if r.get("withdrawn")]
    assert late == [{"agency": "education", "withdrawn": True, "withdrawn_reason": "Strategy needs to go ahead today"}]


def test_heightened_risk_can_end_stage2_straight_to_a_strategy_discussion(client):
    flow = to_stage2(client)
    request_agencies(flow, ["police", "health"])
    police = flow.task("police", "partner_answer")
    sent = flow.api.post(
        "police",
        f"/api/v1/tasks/{police['id']}/message",
        {
            "data": {
                "phoned_manager": True,
                "told_whom": "MASH manager on duty",
                "told_at": "2026-11-24T10:05:00+00:00",
                "reason": "Weapon found at the address",
            }
        },
    )
    assert sent.status_code == 200, sent.json
    flow.do(
        "mgr",
        "heightened_risk_review",
        {
            "protective_action": "Police attending now; strategy discussion today",
            "raise_rag_to_red": True,
            "end_stage2": True,
        },
    )
    case = flow.instance()
    assert (case["route"], case["rag"]) == ("s47_strategy", "RED")
    # every open partner request closed with Stage 2; the DAAT receives the contact
    assert flow.ready("police") == [] and flow.ready("nurse") == []
    assert flow.task("daat", "handover")["bpmn_id"] == "handover"
    routes = [e for e in flow.history() if e["type"] == "route_taken" and e["bpmn_id"] == "raise_gw"]
    assert routes[-1]["detail"]["to"] == ["End Stage 2: strategy discussion"]
