"""The urgent path (spec §11.1, §11.2, §11.4, §11.6–§11.8) through the API with the right role at each step.

The `ctx` clock is frozen at Tuesday 2026-11-24 10:00 UTC; Flow's phone contact was received at 09:30.
"""

import functools
import operator

import pytest

from app.services.cases import case_index
from tests.support.flow import AGREE, HISTORY, RECORD, Flow
from tests.support.stage1 import TRIAGE

pytestmark = pytest.mark.restart_between_steps  # every step as if on another worker (MASH_FRESH_BUNDLES)
URGENT = {**RECORD, "red_criteria": ["other"], "red_criteria_other": "Child says they are scared to go home"}


def _alerts(flow):
    return [e["detail"] for e in flow.history() if e["type"] == "alert_raised"]


def _decisions(flow, decision_id):
    return [
        e["detail"]
        for e in flow.history()
        if e["type"] == "decision_evaluated" and e["detail"]["decision_id"] == decision_id
    ]


def _to_triage(flow, record=None):
    flow.intake({**URGENT, **(record or {})})
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})


def test_app_e_urgent_contact_is_red_when_recorded_before_the_history_check(client):
    """App. E "progressed to DAAT immediately", §10 RED "relevant teams are informed immediately"."""
    flow = Flow(client)
    flow.do("masho", "record_contact", URGENT)
    case = flow.instance()
    assert case["rag"] == "RED"
    assert case["outcome_due_at"].startswith("2026-11-24T13:30")  # received 09:30 + 4 h elapsed
    assert _decisions(flow, "contact_routing") == []  # routing has not run yet
    confirm = flow.task("mgr", "confirm_red")
    assert confirm["due_at"].startswith("2026-11-24T11:00")  # an hour from recording
    assert flow.task("masho", "history_check")["due_at"].startswith("2026-11-24T11:00")
    alerts = _alerts(flow)
    assert {"role": "receiving_team_manager", "team": "daat"} in [{k: a[k] for k in ("role", "team")} for a in alerts]
    assert any(a["role"] == "mash_manager" for a in alerts)

    flow.do("masho", "history_check", HISTORY)
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    (routing,) = _decisions(flow, "contact_routing")
    assert routing["inputs"]["urgent"] is True and routing["outputs"]["provisional_rag"] == "RED"
    assert flow.instance()["rag"] == "RED"
    assert flow.task("mgr", "allocate")["due_at"].startswith("2026-11-24T13:30")
    assert len([a for a in _alerts(flow) if a["role"] == "mash_manager"]) == 1  # not alerted twice


def test_app_e_late_recording_does_not_get_a_later_clock(client):
    """App. E, §10 RED: a contact recorded two hours after receipt is still due 4 h from receipt."""
    flow = Flow(client, received_at="2026-11-24T08:00:00+00:00")
    flow.do("masho", "record_contact", URGENT)
    assert flow.instance()["outcome_due_at"].startswith("2026-11-24T12:00")


def test_app_e_manager_attention_alerts_the_mash_manager_at_recording(client):
    """App. E "immediate attention of the MASH Team Manager": alerted at recording, not RED, not twice."""
    flow = Flow(client)
    flow.do(
        "masho",
        "record_contact",
        {**RECORD, "manager_attention_criteria": ["other"], "manager_attention_other": "Parent threatened staff"},
    )
    alerts = _alerts(flow)
    assert [a["role"] for a in alerts] == ["mash_manager"]
    assert "immediate attention" in alerts[0]["reason"]
    assert flow.instance()["rag"] == "NONE"
    flow.do("masho", "history_check", HISTORY)
    assert len(_alerts(flow)) == 1
    assert flow.task("mgr", "allocate")


def test_red_not_confirmed_returns_to_the_working_day_clocks(client):
    """§3.5 confirm RED: a manager who finds the contact is not RED gives the reason; the RAG falls to NONE."""
    flow = Flow(client)
    flow.do("masho", "record_contact", URGENT)
    flow.do("mgr", "confirm_red", {"red_confirmed": False, "rag_reason": ""}, status=422)  # a reason is required
    flow.do("mgr", "confirm_red", {"red_confirmed": False, "rag_reason": "Child already safe with the other parent"})
    assert flow.instance()["rag"] == "RED"  # still RED until the history check is done and routing runs
    flow.do("masho", "history_check", HISTORY)
    case = flow.instance()
    assert case["rag"] == "NONE" and case["outcome_due_at"] == case["decision_due_at"]
    assert case["data"]["rag_reason"] == "Child already safe with the other parent"  # the reason is recorded


def test_4b_open_to_social_care_and_urgent_is_red_and_due_on_the_day(client):
    """§4 b "action is required on the day": RED, the allocated worker's task due at outcome_due_at, their
    team manager alerted."""
    case_index.import_csv(
        "external_ref,first_name,last_name,date_of_birth,social_care_status,allocated_worker,"
        "allocated_team\nCS9,Jamie,Doe,2016-04-01,open,Sam Worker,daat\n"
    )
    flow = Flow(client)
    flow.do("masho", "record_contact", URGENT)
    match = flow.task("masho", "history_check")["data"]["index_matches"][0]
    flow.do("masho", "history_check", {**HISTORY, "confirmed_matches": [match["match_id"]]})
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    (routing,) = _decisions(flow, "contact_routing")
    assert routing["matched_rules"] == ["contact_routing_r1"]
    assert routing["outputs"]["provisional_rag"] == "RED" and routing["outputs"]["alert_team_manager"] is True
    case = flow.instance()
    assert case["rag"] == "RED"
    task = flow.task("daat", "allocated_worker_notified")
    assert task["due_at"] == case["outcome_due_at"] and task["due_at"].startswith("2026-11-24T13:30")
    assert any(
        a["role"] == "receiving_team_manager" and a["team"] == "daat" and "open to your team" in a["reason"]
        for a in _alerts(flow)
    )


def test_rule5_s47_is_always_red_and_sign_off_cannot_agree_another_rag(client):
    """§10 rule 5, spec §11.4: s47 is RED; a GREEN sign-off is refused with a clear message; handover in 4 h."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do(
        "dm",
        "triage_social_care",
        {**TRIAGE, "threshold": "s47", "rag_override": "GREEN", "override_reason": "Seems calm"},
    )
    assert flow.instance()["rag"] == "RED"
    refused = flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"}, status=422)
    assert "always RED" in " ".join(refused["details"]["errors"]["agreed_rag"])
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "RED"})
    case = flow.instance()
    assert (case["rag"], case["data"]["route"]) == ("RED", "s47_strategy")
    handover = flow.task("daat", "handover")
    assert handover["due_at"].startswith("2026-11-24T14:0")  # PT4H elapsed from sign-off, not the next working day


def test_9d_rule5_s47_family_is_phoned_and_no_letter_goes(client):
    """§9 d, §10 rules 5 and 8: the decision maker phones the referrer and the family; an anonymous referrer
    is not phoned but the family still is; no letter goes."""
    flow = Flow(client, referrer={"anonymous": True})
    _to_triage(flow)
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s47"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "RED"})
    flow.do("daat", "handover", {"handover_accepted": True})
    phone = flow.task("dm", "phone_referrer")
    assert phone["title"] == "Phone the referrer and the family"
    flow.do("dm", "phone_referrer", {}, status=422)  # the family call, or why not, is required
    flow.do(
        "dm",
        "phone_referrer",
        {"family_not_phoned_reason": "Police asked us not to alert the family before the strategy discussion"},
    )
    case = flow.instance()
    assert case["status"] == "completed" and case["outcome"] == "s47_strategy"
    tasks = {e["bpmn_id"] for e in flow.history() if e["type"] == "task_ready"}
    assert not tasks & {"send_referrer_letter", "send_family_letter", "send_acknowledgement"}


def test_9d_named_referrer_must_be_phoned_too(client):
    """§10 rule 8: a named referrer is phoned as well as the family."""
    flow = Flow(client)
    _to_triage(flow)
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s47"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "RED"})
    flow.do("daat", "handover", {"handover_accepted": True})
    response = flow.do("dm", "phone_referrer", {"family_phoned_at": "2026-11-24T12:10:00+00:00"}, status=422)
    assert {"phoned_at", "spoke_to"} <= set(response["details"]["errors"])


def test_3_7_early_help_decision_maker_cannot_take_a_social_care_route_away(client):
    """§3.7, spec §11.6: the table proposes s17; the EH decision maker can neither take it nor override it to
    Early Help, only transfer it to a social care decision maker."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "eh_decision_maker"})
    flow.do("ehdm", "triage_early_help", {**TRIAGE, "threshold": "s17"})
    again = flow.task("ehdm", "triage_early_help")
    assert "social care route" in again["data"]["triage_problem"]
    flow.do(
        "ehdm",
        "triage_early_help",
        {**TRIAGE, "threshold": "s17", "route_override": "early_help", "override_reason": "Family prefer early help"},
    )
    assert flow.task("ehdm", "triage_early_help")  # still refused: no sign-off by the EH manager
    assert flow.ready("ehmgr") == []
    flow.do(
        "ehdm",
        "triage_early_help",
        {**TRIAGE, "threshold": "s17", "transfer_to_social_care": True, "transfer_reason": "Meets the s17 threshold"},
    )
    allocate = flow.task("mgr", "allocate")
    assert (
        flow.api.post(
            "mgr", f"/api/v1/tasks/{allocate['id']}/complete", {"data": {"allocate_to": "eh_decision_maker"}}
        ).status_code
        == 422
    )
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    assert flow.task("dm", "triage_social_care")


def test_3_7_overriding_a_social_care_route_down_needs_a_reason_and_a_mash_manager(client):
    """§3.7, spec §11.6: an override to a lower route needs override_reason; a MASH manager signs it off."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    response = flow.do(
        "dm", "triage_social_care", {**TRIAGE, "threshold": "s17", "route_override": "early_help"}, status=422
    )
    assert "override_reason" in response["details"]["errors"]
    flow.do(
        "dm",
        "triage_social_care",
        {
            **TRIAGE,
            "threshold": "s17",
            "route_override": "early_help",
            "override_reason": "Needs met by the family hub",
        },
    )
    assert flow.task("mgr", "sign_off_social_care")
    assert flow.ready("ehmgr") == []


CLOSED = (
    "external_ref,first_name,last_name,date_of_birth,social_care_status,closed_on,closing_team\n"
    "CS7,Jamie,Doe,2016-04-01,closed,{closed_on},disabled_children\n"
)


def _with_closure(client, closed_on):
    case_index.import_csv(CLOSED.format(closed_on=closed_on))
    flow = Flow(client)
    flow.do("masho", "record_contact", RECORD)
    match = flow.task("masho", "history_check")["data"]["index_matches"][0]
    flow.do("masho", "history_check", {**HISTORY, "confirmed_matches": [match["match_id"]]})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    return flow


def test_rule2_closed_within_12_weeks_with_the_same_concerns_goes_to_the_closing_team(client):
    """§10 rule 2, App. C, spec §11.7: a recorded closure 54 days ago and the same concerns."""
    flow = _with_closure(client, "2026-10-01")
    assert flow.instance()["data"]["closed_within_12_weeks"] is True
    # same_concerns is asked when the closure is on record
    response = flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"}, status=422)
    assert "same_concerns" in response["details"]["errors"]
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17", "same_concerns": True})
    case = flow.instance()
    assert case["data"]["route"] == "previous_team" and case["data"]["closed_within_12_weeks_same_concerns"] is True
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    assert flow.instance()["data"]["receiving_team"] == "disabled_children"


def test_rule2_a_closure_with_different_concerns_never_goes_to_the_closing_team(client):
    """§10 rule 2, spec §11.7: closed within 12 weeks, different concerns: an s17 assessment by First Response."""
    flow = _with_closure(client, "2026-10-01")
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17", "same_concerns": False})
    assert flow.instance()["data"]["route"] == "s17_assessment"
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    assert flow.instance()["data"]["receiving_team"] == "first_response"


def test_rule2_the_12_week_fact_cannot_be_typed(client):
    """§3.3, spec §11.7: a closure 115 days ago, or none, never routes to the previous team, whatever is ticked."""
    flow = _with_closure(client, "2026-08-01")
    assert flow.instance()["data"]["closed_within_12_weeks"] is False
    flow.do(
        "dm",
        "triage_social_care",
        {**TRIAGE, "threshold": "s17", "same_concerns": True, "closed_within_12_weeks_same_concerns": True},
    )
    case = flow.instance()
    assert case["data"]["route"] == "s17_assessment" and case["data"]["closed_within_12_weeks_same_concerns"] is False
    (triage,) = _decisions(flow, "triage_outcome")
    assert triage["inputs"]["closed_within_12_weeks_same_concerns"] is False


def test_rule2_no_override_to_the_previous_team_without_a_recorded_closure(client):
    """§10 rule 2, spec §11.7: overriding to previous_team with no closure on record is refused."""
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    response = flow.do(
        "dm",
        "triage_social_care",
        {**TRIAGE, "threshold": "s17", "route_override": "previous_team", "override_reason": "Worked with them before"},
        status=422,
    )
    assert "previous team" in " ".join(functools.reduce(operator.iadd, response["details"]["errors"].values(), []))
