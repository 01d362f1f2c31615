"""History completeness for a whole Stage 1 + Stage 2 case: every step on the timeline, in order,
with who did it, what they changed, each decision's rule and table version, RAG changes,
disclosures and views."""

from __future__ import annotations

from app.services.audit import audit
from app.services.people import users
from tests.support.stage2 import partner_answer, request_agencies, to_stage2


def test_a_whole_stage1_and_stage2_case_is_on_the_timeline_in_order(client):
    flow = to_stage2(client)
    request_agencies(flow, ["police", "health"])
    flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year"))
    flow.do("nurse", "partner_answer", partner_answer("Health visitor: missed appointments"))
    flow.do(
        "dm",
        "stage2_collation",
        {
            "revised_rag": "RED",
            "rag_reason": "Heightened risk confirmed",
            "recommended_outcome": "s47_strategy",
            "rationale": "Risk of significant harm",
        },
    )
    flow.do("mgr", "stage2_review", {"manager_decision": "agree", "manager_comments": None})
    flow.api.get("daat", f"/api/v1/instances/{flow.instance_id}/handover")
    flow.do("daat", "handover", {"handover_accepted": True})

    entries = audit.timeline(users.get_by_username("auditor"), flow.instance_id)["entries"]
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    done = [(e.bpmn_id, e.actor) for e in entries if e.type == "task_completed"]
    assert done == [
        ("record_contact", "masho"),
        ("history_check", "masho"),
        ("allocate", "mgr"),
        ("triage_social_care", "dm"),
        ("sign_off_social_care", "mgr"),
        ("stage2_request", "dm"),
        ("partner_answer", "police"),
        ("partner_answer", "nurse"),
        ("stage2_collation", "dm"),
        ("stage2_review", "mgr"),
        ("handover", "daat"),
    ]
    collation = next(e for e in entries if e.type == "task_completed" and e.bpmn_id == "stage2_collation")
    assert {
        "field": "revised_rag",
        "before": "(empty)",
        "had_before": True,
        "after": "RED",
        "restricted": False,
    } in collation.changes
    decisions = {dict(e.lines)["decision id"]: dict(e.lines) for e in entries if e.type == "decision_evaluated"}
    assert {"contact_routing", "triage_outcome", "rag_timescales"} <= set(decisions)
    assert all(d["deployment version"] == "1" and d["matched rules"] for d in decisions.values())
    rag = [e.headline for e in entries if e.type == "rag_changed"]
    assert rag[-1].endswith("→ RED") and any("AMBER" in r for r in rag)
    assert any(e.type == "route_taken" for e in entries)
    assert any(e.type == "disclosed" and e.actor == "daat" for e in entries)
    viewers = {e.actor for e in entries if e.type == "viewed"}
    assert {"masho", "mgr", "dm", "police", "nurse", "daat"} <= viewers
