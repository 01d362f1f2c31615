"""Moving running instances to a newer version: preview says who can move and why not; moved
instances keep their open tasks (same ids) and timers, follow the new diagram, and say so in history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import ProcessInstance, TaskRecord, TimerRecord
from app.services.cases import completion
from app.services.core import history, timers
from app.services.core.errors import Forbidden
from app.services.modelling import migration
from app.services.people import users
from tests.support import PASSWORD, deploy_with, make_people, start_processes

V1 = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://example.org">
  <bpmn:process id="mig" name="Migration test" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="mash_manager">
      <bpmn:flowNodeRef>first</bpmn:flowNodeRef><bpmn:flowNodeRef>second</bpmn:flowNodeRef><bpmn:flowNodeRef>added</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>remind</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first" name="First step">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="after_2h" name="2 hours" cancelActivity="false" attachedToRef="first">
      <bpmn:outgoing>f9</bpmn:outgoing>
      <bpmn:timerEventDefinition id="t"><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="remind" name="Remind">
      <bpmn:incoming>f9</bpmn:incoming><bpmn:outgoing>f10</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="reminded" name="Reminded"><bpmn:incoming>f10</bpmn:incoming></bpmn:endEvent>
    MIDDLE
    <bpmn:endEvent id="end" name="End"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
    <bpmn:sequenceFlow id="f9" sourceRef="after_2h" targetRef="remind"/>
    <bpmn:sequenceFlow id="f10" sourceRef="remind" targetRef="reminded"/>
    FLOWS
  </bpmn:process>
</bpmn:definitions>
"""
SECOND = (
    '<bpmn:userTask id="second" name="Second step">'
    "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>"
)
ADDED = (
    '<bpmn:userTask id="added" name="Added step">'
    "<bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>"
)


def version_one() -> str:
    return V1.replace("MIDDLE", SECOND).replace(
        "FLOWS",
        '<bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="end"/>',
    )


def version_two() -> str:
    """`second` now comes after a new `added` step."""
    return V1.replace(
        "MIDDLE", SECOND.replace("<bpmn:outgoing>f3</bpmn:outgoing>", "<bpmn:outgoing>fa</bpmn:outgoing>") + ADDED
    ).replace(
        "FLOWS",
        '<bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>'
        '<bpmn:sequenceFlow id="fa" sourceRef="second" targetRef="added"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="added" targetRef="end"/>',
    )


def version_without_first() -> str:
    return (
        version_two()
        .replace('<bpmn:userTask id="first" name="First step">', '<bpmn:manualTask id="first_renamed" name="First">')
        .replace(
            "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>\n    <bpmn:boundaryEvent",
            "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:manualTask>\n    <bpmn:boundaryEvent",
            1,
        )
        .replace('sourceRef="start" targetRef="first"', 'sourceRef="start" targetRef="first_renamed"')
        .replace('sourceRef="first" targetRef="second"', 'sourceRef="first_renamed" targetRef="second"')
        .replace('attachedToRef="first"', 'attachedToRef="first_renamed"')
        .replace("<bpmn:flowNodeRef>first</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>first_renamed</bpmn:flowNodeRef>")
    )


@pytest.fixture
def sm(ctx):
    make_people(["mgr"])
    return users.get_by_username("sm1") or users.create_user("sm1", PASSWORD, ["service_manager"])


def ready(instance_id):
    return sorted(
        (t.bpmn_id, t.id) for t in db.session.query(TaskRecord).filter_by(instance_id=instance_id, state="ready")
    )


def test_preview_and_migrate_keep_tasks_and_timers_and_follow_the_new_diagram(sm):
    v1 = deploy_with("mig.bpmn", version_one())
    (on_first,) = start_processes(v1, "mig", {})
    (on_second,) = start_processes(v1, "mig", {})
    mgr = users.get_by_username("mgr")
    completion.complete_task(mgr, ready(on_second)[0][1], {})
    timer_before = db.session.query(TimerRecord).filter_by(instance_id=on_first, state="waiting").one().due_at
    tasks_before = ready(on_first)

    v2 = deploy_with("mig.bpmn", version_two())
    candidates = {c.instance_id: c for c in migration.preview("mig", v2.version)}
    assert candidates[on_first].can_move and candidates[on_first].active_tasks == ("after_2h", "first")
    assert candidates[on_second].can_move

    CLOCK.freeze(CLOCK.now() + timedelta(minutes=30))
    results = migration.migrate([on_first, on_second], v2.version, sm)
    assert all(r.moved for r in results)
    assert db.session.get(ProcessInstance, on_first).deployment_id == v2.id
    assert ready(on_first) == tasks_before  # same task ids: inbox, claims and history still point at them
    assert db.session.query(TimerRecord).filter_by(instance_id=on_first, state="waiting").one().due_at == timer_before
    (event,) = [e for e in history.for_instance(on_first) if e.type == "instance_migrated"]
    assert event.detail["from_version"] == v1.version and event.detail["to_version"] == v2.version
    assert event.actor == "sm1"

    # the moved instance follows the new diagram: second → added → end
    completion.complete_task(mgr, ready(on_second)[0][1], {})
    assert [b for b, _ in ready(on_second)] == ["added"]
    completion.complete_task(mgr, ready(on_second)[0][1], {})
    assert db.session.get(ProcessInstance, on_second).status == "completed"

    # the timer still fires at its original time (2 hours from the start, not from the migration)
    CLOCK.freeze(timer_before + timedelta(minutes=1))
    timers.fire_due()
    assert [b for b, _ in ready(on_first)] == ["first", "remind"]
    assert migration.preview("mig", v2.version) == []  # nothing older left


def test_instances_whose_open_step_is_gone_cannot_move_and_say_why(sm):
    v1 = deploy_with("mig.bpmn", version_one())
    (instance_id,) = start_processes(v1, "mig", {})
    v2 = deploy_with("mig.bpmn", version_without_first())
    (candidate,) = migration.preview("mig", v2.version)
    assert not candidate.can_move and "open step first is not in the new version" in candidate.reason
    (result,) = migration.migrate([instance_id], v2.version, sm)
    assert not result.moved
    assert db.session.get(ProcessInstance, instance_id).deployment_id == v1.id


def test_only_service_managers_migrate(sm):
    with pytest.raises(Forbidden):
        migration.migrate([], 1, users.get_by_username("mgr"))


def test_a_new_amber_timescale_applies_to_new_contacts_while_running_ones_keep_theirs(sm, client):
    """The issue's journey on the real models: publish AMBER = 4 working hours; an older case keeps its
    deadline; moving it to the new version keeps its deadlines and open tasks too."""
    from tests.api.cases.test_stage1_routes import TRIAGE
    from tests.services.modelling.test_drafts import AMBER_NEW, AMBER_OLD, amber_tests_updated, edit, manager
    from tests.support.flow import Flow

    def to_amber(flow):
        flow.intake()
        flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
        flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "unclear"})
        return flow.instance()

    older = Flow(client)
    before = to_amber(older)
    assert before["rag"] == "AMBER" and before["version"] == 1

    draft = edit(drafts_create(sm), "dmn/rag_timescales.dmn", AMBER_OLD, AMBER_NEW, sm)
    draft = amber_tests_updated(draft, sm)
    from app.services.modelling import drafts

    draft = drafts.submit(draft.id, draft.lock_version, sm, "AMBER outcome within 4 working hours")
    v2 = drafts.approve(draft.id, manager("sm2"))

    newer = Flow(client)
    after = to_amber(newer)
    assert after["version"] == v2.version
    # same times of day, so the deadlines differ only by the timescale: 4 working hours instead of a working day
    assert after["outcome_due_at"] < before["outcome_due_at"]
    assert older.instance()["outcome_due_at"] == before["outcome_due_at"] and older.instance()["version"] == 1

    open_before = {(t["bpmn_id"], t["due_at"]) for t in older.instance()["ready_tasks"]}
    (candidate,) = [c for c in migration.preview("front_door", v2.version) if c.instance_id == older.instance_id]
    assert candidate.can_move, candidate.reason
    (result,) = migration.migrate([older.instance_id], v2.version, sm)
    assert result.moved
    moved = older.instance()
    assert moved["version"] == v2.version and moved["outcome_due_at"] == before["outcome_due_at"]
    assert {(t["bpmn_id"], t["due_at"]) for t in moved["ready_tasks"]} == open_before
    older.do(
        "mgr",
        "sign_off_social_care",
        {"manager_decision": "agree", "family_notification": "send", "agreed_rag": "AMBER"},
    )  # carries on, on the new version


def drafts_create(actor):
    from app.services.modelling import drafts

    return drafts.create(actor)
