"""Out of hours (spec §11.3, protocol §8 "the MASH function will not be available out of hours", §10 RED, App. E):
a RED contact with no agreed outcome at closing time, or one that becomes RED while the MASH is closed, goes at
once to the out-of-hours team with the handover package; when the MASH opens the case is back where it stood.
"""

from datetime import UTC, datetime

import pytest

from app.engine.clock import CLOCK
from app.services.core import timers
from app.services.people import users
from tests.support import PASSWORD
from tests.support.flow import HISTORY, RECORD, Flow

pytestmark = pytest.mark.restart_between_steps  # every step as if on another worker (MASH_FRESH_BUNDLES)
URGENT = {**RECORD, "red_criteria": ["other"], "red_criteria_other": "Child says they are scared to go home"}


def _at(*args):
    return datetime(*args, tzinfo=UTC)


def _ooh_user():
    if users.get_by_username("ooh") is None:
        users.create_user("ooh", PASSWORD, ["receiving_team"], team="out_of_hours")


def _move(flow, at):
    CLOCK.freeze(at)
    flow.api.tokens.clear()


def _ooh_tasks(flow):
    return [t for t in flow.ready("ooh") if t["bpmn_id"] == "ooh_handover"]


def test_friday_1659_red_contact_goes_to_out_of_hours_at_closing_and_back_on_monday(client):
    """§8, §10 RED: received and recorded Friday 16:59; the MASH closes at 17:00 with no agreed outcome."""
    CLOCK.freeze(_at(2026, 11, 20, 16, 59))  # Friday
    _ooh_user()
    flow = Flow(client, received_at="2026-11-20T16:59:00+00:00", channel="police_notification")
    flow.do("masho", "record_contact", URGENT)
    case = flow.instance()
    assert case["rag"] == "RED" and case["outcome_due_at"].startswith("2026-11-20T20:59")  # 4 h elapsed, not Monday
    assert _ooh_tasks(flow) == []  # the MASH is still open
    assert timers.fire_due() == 0

    _move(flow, _at(2026, 11, 20, 17, 0, 30))  # closing time
    assert timers.fire_due() >= 1
    (task,) = _ooh_tasks(flow)
    assert task["team"] == "out_of_hours" and task["due_at"].startswith("2026-11-20T20:59")
    assert flow.instance()["data"]["ooh_holds"] is True
    told = [
        e["detail"] for e in flow.history() if e["type"] == "alert_raised" and "out-of-hours" in e["detail"]["reason"]
    ]
    assert [a["role"] for a in told] == ["mash_manager"]  # the MASH manager's inbox says who holds it
    # the case page says who holds it; the MASH's own work is still there, where it stood
    waiting = flow.waiting()
    assert ("ooh_handover", "receiving_team") in waiting
    assert {"history_check", "confirm_red"} <= {b for b, _ in waiting}
    # the out-of-hours team reads the handover package, never the whole record (spec §6.8)
    package = flow.api.get("ooh", f"/api/v1/instances/{flow.instance_id}/handover")
    assert package.status_code == 200, package.json
    assert package.json["package"]["child"]["last_name"] == "Doe"
    assert "appendix_a_q1" not in package.json["package"] and "appendix_a_q1" not in task["data"]
    # another receiving team does not get it
    assert flow.api.get("fr", f"/api/v1/instances/{flow.instance_id}/handover").status_code == 404

    _move(flow, _at(2026, 11, 20, 19, 30))
    flow.do(
        "ooh",
        "ooh_handover",
        {
            "ooh_action_taken": "Visited with police; child staying with grandmother tonight.",
            "ooh_child_seen": True,
            "ooh_contacted": "Police, grandmother",
        },
    )
    done = [e for e in flow.history() if e["type"] == "task_completed" and e["bpmn_id"] == "ooh_handover"]
    assert done and done[0]["actor"] == "ooh" and done[0]["at"].startswith("2026-11-20T19:30")
    assert "ooh_action_taken" in done[0]["detail"]["fields"]
    assert flow.instance()["data"]["ooh_holds"] is False
    assert _ooh_tasks(flow) == []

    _move(flow, _at(2026, 11, 23, 9, 5))  # Monday: the MASH picks up where it stood
    timers.fire_due()
    assert _ooh_tasks(flow) == []
    assert flow.task("mgr", "confirm_red") and flow.task("masho", "history_check")


def test_sunday_red_contact_goes_to_out_of_hours_at_once_and_returns_when_the_mash_opens(client):
    """§8, App. E: a police notification received Sunday 03:55 and recorded at 04:10 while the MASH is closed."""
    CLOCK.freeze(_at(2026, 11, 22, 4, 10))  # Sunday
    _ooh_user()
    flow = Flow(client, received_at="2026-11-22T03:55:00+00:00", channel="police_notification")
    flow.do("masho", "record_contact", URGENT)
    case = flow.instance()
    assert case["rag"] == "RED" and case["outcome_due_at"].startswith("2026-11-22T07:55")  # never Tuesday 09:00
    (task,) = _ooh_tasks(flow)  # at once, in the same step
    assert task["due_at"].startswith("2026-11-22T07:55")
    assert flow.task("masho", "history_check")["due_at"].startswith("2026-11-22T05:10")  # the hour from recording

    _move(flow, _at(2026, 11, 23, 9, 0, 30))  # Monday opening, nobody recorded anything out of hours
    assert timers.fire_due() >= 1
    assert _ooh_tasks(flow) == []
    assert flow.instance()["data"]["ooh_holds"] is False
    fired = [e["bpmn_id"] for e in flow.history() if e["type"] == "timer_fired"]
    assert "ooh_mash_opens" in fired
    flow.do("masho", "history_check", HISTORY)
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    assert flow.task("mgr", "allocate")


def test_bank_holiday_red_contact_goes_to_out_of_hours_with_an_elapsed_clock(client):
    """§8, §10 RED: Christmas Day is a bank holiday; the RED deadline is received_at + 4 h, the day itself."""
    CLOCK.freeze(_at(2026, 12, 25, 10, 0))
    _ooh_user()
    flow = Flow(client, received_at="2026-12-25T09:45:00+00:00")
    flow.do("masho", "record_contact", URGENT)
    assert flow.instance()["outcome_due_at"].startswith("2026-12-25T13:45")
    assert len(_ooh_tasks(flow)) == 1


def test_a_red_contact_decided_before_closing_and_a_non_red_one_stay_with_the_mash(client):
    """§8: only RED contacts without an agreed outcome go out of hours."""
    _ooh_user()
    plain = Flow(client)
    plain.intake()
    _move(plain, _at(2026, 11, 24, 17, 31))
    timers.fire_due()
    assert _ooh_tasks(plain) == []
    assert plain.task("mgr", "allocate")


def test_a_contact_raised_to_red_after_closing_goes_to_out_of_hours(client):
    """§8, §10 Stage 2 "escalate": an AMBER Stage 2 case raised to RED at 18:00 (MASH closed) goes out of hours."""
    from tests.support.flow import AGREE
    from tests.support.stage1 import TRIAGE

    _ooh_user()
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
    _move(flow, _at(2026, 11, 24, 17, 31))
    timers.fire_due()
    assert _ooh_tasks(flow) == []  # AMBER stays with the MASH overnight
    _move(flow, _at(2026, 11, 24, 18, 0))
    police = flow.task("police", "partner_answer")
    sent = flow.api.post(
        "police",
        f"/api/v1/tasks/{police['id']}/message",
        {
            "data": {
                "phoned_manager": True,
                "told_whom": "MASH manager on call",
                "told_at": "2026-11-24T18:00:00+00:00",
                "reason": "Father released today",
            }
        },
    )
    assert sent.status_code == 200, sent.json
    flow.do("mgr", "heightened_risk_review", {"protective_action": "Police asked to visit", "raise_rag_to_red": True})
    assert flow.instance()["rag"] == "RED"
    timers.fire_due()  # the scheduler's next sweep, within the minute
    (task,) = _ooh_tasks(flow)
    assert task["team"] == "out_of_hours"
