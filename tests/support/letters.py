"""A case decided below the threshold, so it has letters to send."""

from __future__ import annotations

from tests.support.flow import AGREE, Flow

TRIAGE = {
    "closed_within_12_weeks_same_concerns": False,
    "risk_may_become_significant_harm": False,
    "meets_disability_criteria": False,
    "analysis": "Analysis of the concerns.",
    "transfer_to_social_care": False,
}


def decided_case(client, threshold="not_met", **contact) -> Flow:
    flow = Flow(client, **contact)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": threshold})
    agreed = {"not_met": "NONE", "s47": "RED"}.get(threshold, "GREEN")  # s47 is always RED (spec §11.4)
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": agreed})
    return flow
