"""Open past the decision deadline, anywhere (App. D 2.9, spec §11.9): at decision_due_at a contact still open in
the MASH at any step gives the MASH manager ONE agreement task for the contact, and the oversight figures count it.

The `ctx` clock is frozen at Tuesday 2026-11-24 10:00 UTC; Flow's contact was received at 09:30, so the decision
deadline (one working day) is Wednesday 09:30.
"""

from datetime import date, timedelta

import pytest

from app.engine.clock import CLOCK
from app.services.core import timers
from app.services.reporting import oversight
from tests.support.flow import AGREE, HISTORY, RECORD, Flow
from tests.support.stage1 import TRIAGE, acknowledge

pytestmark = pytest.mark.restart_between_steps  # every step as if on another worker (MASH_FRESH_BUNDLES)


def _advance(flow, delta):
    CLOCK.advance(delta)
    flow.api.tokens.clear()


def _agreements(flow):
    return [t for t in flow.ready("mgr") if t["bpmn_id"].startswith("agree_contact_stays_open")]


def _asked(flow):
    return [
        e["bpmn_id"]
        for e in flow.history()
        if e["type"] == "task_ready" and e["bpmn_id"].startswith("agree_contact_stays_open")
    ]


def test_app_d_2_9_history_check_open_at_the_deadline_gets_one_agreement_for_the_contact(client):
    """App. D 2.9: the contact is still at the history check at the deadline; later steps do not ask again."""
    flow = Flow(client)
    flow.do("masho", "record_contact", RECORD)
    _advance(flow, timedelta(hours=23, minutes=31))  # Wednesday 09:31
    timers.fire_due()
    (agree,) = _agreements(flow)
    assert agree["bpmn_id"] == "agree_contact_stays_open"
    flow.do(
        "mgr",
        "agree_contact_stays_open",
        {"stay_open_agreed": True, "stay_open_reason": "Waiting for the health visitor's records."},
    )
    flow.do("masho", "history_check", HISTORY)
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    _advance(flow, timedelta(days=2))
    timers.fire_due()
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    assert _asked(flow) == ["agree_contact_stays_open"]  # once per contact, not once per step
    kept_open = oversight.open_over_one_working_day(oversight.Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert ["A manager agreed it stays open", 1] in kept_open.rows


def test_app_d_2_9_consent_review_open_at_the_deadline_gets_the_agreement(client):
    """App. D 2.9: a consent review still open at the deadline."""
    flow = Flow(client)
    flow.do("masho", "record_contact", {**RECORD, "consent": "refused", "consent_given_by": None})
    flow.do("masho", "history_check", HISTORY)
    assert flow.task("mgr", "consent_review")
    _advance(flow, timedelta(hours=23, minutes=31))
    timers.fire_due()
    assert [t["bpmn_id"] for t in _agreements(flow)] == ["agree_contact_stays_open"]


def test_app_d_2_9_a_contact_decided_in_time_is_never_asked_and_closes_at_once(client):
    """App. D 2.9: decided before the deadline: no agreement task, and the case closes without waiting for it."""
    flow = Flow(client)
    flow.intake({"request_type": "advice", "information_only": True})
    flow.do("masho", "give_information", {"information_given_detail": "Signposted to the local family hub."})
    acknowledge(flow)
    assert flow.instance()["status"] == "completed"
    _advance(flow, timedelta(days=2))
    assert timers.fire_due() == 0
    assert _asked(flow) == []


def test_app_d_2_9_stage2_open_at_the_deadline_gets_one_agreement(client):
    """App. D 2.9, §10 Stage 2: Stage 2 still running at the deadline (partners answering) gets the agreement once,
    and its review later does not ask again."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "AMBER"})
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police"],
            "request_details": "Bruising: what is known?",
            "agency_reasons": [{"agency": "police", "reason": "Incidents at the address"}],
        },
    )
    _advance(flow, timedelta(hours=23, minutes=31))
    timers.fire_due()
    assert [t["bpmn_id"] for t in _agreements(flow)] == ["agree_contact_stays_open"]
    assert flow.task("police", "partner_answer")  # Stage 2 carries on
    flow.do("mgr", "agree_contact_stays_open", {"stay_open_agreed": True, "stay_open_reason": "Police answer due."})
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
            "rag_reason": "Support in place",
            "recommended_outcome": "early_help",
            "rationale": "Needs met by EH",
        },
    )
    _advance(flow, timedelta(days=1))
    timers.fire_due()
    flow.do("mgr", "stage2_review", {"manager_decision": "agree"})
    assert _asked(flow) == ["agree_contact_stays_open"]
