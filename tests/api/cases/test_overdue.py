"""Overdue alerts in front_door.bpmn (spec §5): at a task's due time the MASH manager gets a review task
naming the case and what is late, once, while the work itself carries on. One "Work overdue" event
sub-process draws it for every task; the host starts it at each task's due time (issue 16).

The `ctx` clock is frozen at Tuesday 2026-11-24 10:00 UTC; Flow's phone contact was received at 09:30,
so recording is due at 10:30 and the decision deadline (one working day) is Wednesday 09:30.
"""

from datetime import timedelta

import pytest

from app.engine.clock import CLOCK
from app.services.core import engine_host, timers
from app.services.modelling import deployments
from app.web.core.instructions import render_instructions
from tests.support.flow import RECORD, Flow, prefilled
from tests.support.stage1 import TRIAGE, acknowledge

pytestmark = pytest.mark.restart_between_steps  # a restart / another worker between every step


def _mgr_tasks(flow, prefix=""):
    return [t for t in flow.ready("mgr") if t["bpmn_id"].startswith(prefix)]


def _instructions(task):
    """The task's instructions as the task page shows them: placeholders filled from the case."""
    bundle = engine_host.bundle_for(deployments.latest().id)
    return str(render_instructions(bundle.task_extensions(task["bpmn_id"])["instructionsForEndUser"], task["data"]))


def _advance(flow, delta):
    """Move the clock; API tokens are short-lived, so sign in again afterwards."""
    CLOCK.advance(delta)
    flow.api.tokens.clear()


def _timer_fired(flow):
    return [e["bpmn_id"] for e in flow.history() if e["type"] == "timer_fired"]


def _overdue(flow):
    """The late tasks the history records (`task_overdue`, one per task that passed its due time)."""
    return [e["bpmn_id"] for e in flow.history() if e["type"] == "task_overdue"]


def _reviews(flow, title=None):
    """The manager's open overdue reviews (the one "Work overdue" review task), or the one for a late task."""
    return [t for t in _mgr_tasks(flow, "overdue_review") if title is None or t["title"] == f"Overdue: {title}"]


def _review(flow, title, data, status=200):
    """Complete the review of the late task `title` as a form client would (the whole form, prefilled)."""
    (task,) = _reviews(flow, title)
    response = flow.api.post("mgr", f"/api/v1/tasks/{task['id']}/complete", {"data": prefilled(task, data)})
    assert response.status_code == status, (task["title"], response.json)
    return response.json


def test_late_recording_alerts_the_manager_once_and_the_work_carries_on(client):
    flow = Flow(client)
    CLOCK.advance(timedelta(minutes=29))  # 10:29: a minute before the hour is up
    assert timers.fire_due() == 0
    assert _mgr_tasks(flow, "overdue_review") == []

    CLOCK.advance(timedelta(minutes=2))  # 10:31
    assert timers.fire_due() == 1
    (review,) = _mgr_tasks(flow, "overdue_review")
    assert review["bpmn_id"] == "overdue_review"  # the one review of the "Work overdue" event sub-process
    assert review["title"] == "Overdue: Record contact"
    assert review["role"] == "mash_manager" and review["instance_id"] == flow.instance_id
    assert review["data"]["child"]["first_name"] == "Jamie"
    # which task, who holds it, since when: the review's own facts (its form shows them read-only)
    assert review["data"]["overdue"] == {
        "task": "Record contact",
        "held_by": "MASH officer",
        "due": "24 November 2026, 10:30",
    }
    text = _instructions(review)
    assert "Record contact" in text and "for Jamie Doe has been overdue since 24 November 2026, 10:30" in text
    assert "still open with its owner (MASH officer)" in text
    # in the manager's own inbox too (not only when asked for this case)
    inbox = flow.api.get("mgr", "/api/v1/tasks").json
    assert review["id"] in [t["id"] for t in inbox]
    # non-interrupting: the MASHO can still record the contact
    assert flow.task("masho", "record_contact")

    # exactly once, however often the scheduler sweeps
    assert timers.fire_due() == 0
    _advance(flow, timedelta(hours=3))
    assert timers.fire_due() == 0
    assert len(_reviews(flow, "Record contact")) == 1
    assert _overdue(flow) == ["record_contact"] and _timer_fired(flow) == []  # history records it, once
    (ready,) = [e for e in flow.history() if e["type"] == "task_ready" and e["bpmn_id"] == "overdue_review"]
    assert ready["detail"]["role"] == "mash_manager"

    # the review needs the action taken
    _review(flow, "Record contact", {"escalated": False}, status=422)
    _review(flow, "Record contact", {"action_taken": "Chased the MASHO; recording now.", "escalated": False})
    assert _reviews(flow) == []
    assert flow.task("masho", "record_contact")
    assert "overdue" not in flow.instance()["data"]  # each review's facts stay its own, never the case's


def test_a_case_finishes_only_when_its_overdue_reviews_are_done_and_keeps_its_outcome(client):
    flow = Flow(client)
    CLOCK.advance(timedelta(minutes=31))
    assert timers.fire_due() == 1
    flow.do("masho", "record_contact", {**RECORD, "request_type": "advice", "information_only": True})
    # the history check was due with the recording (10:30), so it is overdue the moment it starts
    assert {t["title"] for t in _reviews(flow)} == {"Overdue: Record contact", "Overdue: Check history"}
    assert {t["data"]["overdue"]["task"] for t in _reviews(flow)} == {"Record contact", "Check history"}
    flow.do(
        "masho",
        "history_check",
        {"confirmed_matches": [], "case_system_checks": [], "synopsis": "No previous involvement found."},
    )
    flow.do("masho", "give_information", {"information_given_detail": "Signposted to the local family hub."})
    acknowledge(flow)
    case = flow.instance()
    assert case["status"] == "running"  # two reviews still open
    assert case["outcome"] == "information_given"
    for title in ("Record contact", "Check history"):
        _review(flow, title, {"action_taken": "Spoke to the MASHO about the delay.", "escalated": False})
    case = flow.instance()
    assert case["status"] == "completed"
    assert (case["outcome"], case["rag"], case["is_referral"]) == ("information_given", "NONE", False)


def test_a_contact_open_at_the_decision_deadline_needs_the_managers_agreement_once(client):
    flow = Flow(client)
    flow.intake()  # 10:00, allocation next
    assert flow.task("mgr", "allocate")
    _advance(flow, timedelta(hours=23, minutes=29))  # Wednesday 09:29
    assert timers.fire_due() == 0
    assert _mgr_tasks(flow, "agree_contact_stays_open") == []

    CLOCK.advance(timedelta(minutes=2))  # Wednesday 09:31: one working day from receipt has passed
    assert timers.fire_due() >= 1  # one sweep of the case fires every timer due in it
    (agree,) = _mgr_tasks(flow, "agree_contact_stays_open")
    assert agree["bpmn_id"] == "agree_contact_stays_open"  # one per contact, wherever it stands (spec §11.9)
    assert agree["title"] == "Agree the contact stays open"
    assert "The contact for Jamie Doe is still open in the MASH" in _instructions(agree)
    # the allocation and the acknowledgement fell due at the same moment: one review each, each naming its task
    assert {t["title"] for t in _reviews(flow)} == {"Overdue: Allocate", "Overdue: Acknowledge the referrer"}
    assert {t["data"]["overdue"]["held_by"] for t in _reviews(flow)} == {"MASH manager", "Business support"}
    assert sorted(_overdue(flow)) == ["allocate", "send_acknowledgement"]
    assert flow.task("mgr", "allocate")  # the work carries on
    fired = [e["bpmn_id"] for e in flow.history() if e["type"] in ("timer_fired", "task_overdue")]
    assert len(fired) == len(set(fired)) >= 3  # every timer and late task of the sweep is in the history, once

    flow.do("mgr", "agree_contact_stays_open", {"stay_open_agreed": True}, status=422)  # reason required
    flow.do(
        "mgr",
        "agree_contact_stays_open",
        {"stay_open_agreed": True, "stay_open_reason": "Waiting for the school's account; decide by noon."},
    )
    assert flow.instance()["data"]["stay_open_agreed"] is True

    # the triage that starts after the deadline is overdue, but the agreement is not asked again
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    assert flow.task("dm", "triage_social_care")
    assert _reviews(flow, "Triage (social care)")
    _advance(flow, timedelta(days=2))
    timers.fire_due()
    assert _mgr_tasks(flow, "agree_contact_stays_open") == []
    asked = [
        e["bpmn_id"]
        for e in flow.history()
        if e["type"] == "task_ready" and e["bpmn_id"].startswith("agree_contact_stays_open")
    ]
    assert asked == ["agree_contact_stays_open"]


def test_the_agreement_is_asked_at_triage_when_triage_is_open_at_the_deadline(client):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    _advance(flow, timedelta(hours=23, minutes=31))  # Wednesday 09:31
    timers.fire_due()
    (agree,) = _mgr_tasks(flow, "agree_contact_stays_open")
    assert agree["bpmn_id"] == "agree_contact_stays_open"
    assert flow.task("dm", "triage_social_care")


def test_a_red_contact_not_picked_up_within_an_hour_escalates_to_the_manager(client):
    flow = Flow(client)
    flow.intake({"red_criteria": ["other"], "red_criteria_other": "Child says they are scared to go home"})
    flow.do("mgr", "confirm_red", {"red_confirmed": True})
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})  # 10:00
    CLOCK.advance(timedelta(minutes=59))
    assert timers.fire_due() == 0
    CLOCK.advance(timedelta(minutes=2))  # 11:01
    assert timers.fire_due() == 1
    (alert,) = _mgr_tasks(flow, "red_not_picked_up")
    assert alert["title"] == "RED contact not picked up"
    assert "The RED contact for Jamie Doe" in _instructions(alert)
    assert flow.task("dm", "triage_social_care")  # still with the decision maker
    assert timers.fire_due() == 0
    flow.do("mgr", "red_not_picked_up", {}, status=422)
    flow.do("mgr", "red_not_picked_up", {"action_taken": "Reallocated to the duty decision maker, who has it now."})
    assert _mgr_tasks(flow, "red_not_picked_up") == []
    # a challenged triage that starts again later does not alert again
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s47"})
    flow.do(
        "mgr", "sign_off_social_care", {"manager_decision": "challenge", "manager_comments": "Add the police view."}
    )
    assert flow.task("dm", "triage_social_care")
    CLOCK.advance(timedelta(hours=1, minutes=1))
    timers.fire_due()
    assert _mgr_tasks(flow, "red_not_picked_up") == []
    alerted = [e for e in flow.history() if e["type"] == "task_ready" and e["bpmn_id"] == "red_not_picked_up"]
    assert len(alerted) == 1


def test_a_contact_that_is_not_red_is_not_escalated_after_an_hour(client):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    CLOCK.advance(timedelta(minutes=61))
    assert timers.fire_due() == 1  # the timer fires, and the gateway after it finds the contact is not RED
    assert _timer_fired(flow) == ["red_pickup_timer"]
    assert _mgr_tasks(flow) == []
    assert flow.task("dm", "triage_social_care")
