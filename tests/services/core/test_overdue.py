"""Overdue reviews start exactly once (issue 16): at the task's due time, after downtime, after a crash
mid-send, with two schedulers, at once for a task that starts late; never for a task done in time, one that
opts out, or a process without the "Work overdue" event sub-process."""

import threading
from datetime import timedelta

import pytest

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import OverdueRecord, TaskRecord
from app.services.cases import completion, worklist
from app.services.core import history, timers
from tests.support import deploy_with, start_processes

WORK_FORM = {"type": "object", "properties": {"note": {"type": "string"}}}
LISTENER = """
    <bpmn:subProcess id="late_work_overdue" name="Work overdue" triggeredByEvent="true">
      <bpmn:startEvent id="late_work_task_overdue" name="A task passed its due time" isInterrupting="false">
        <bpmn:outgoing>g1</bpmn:outgoing>
        <bpmn:messageEventDefinition id="late_work_task_overdue_definition" messageRef="message_task_overdue">
          <bpmn:extensionElements><spiffworkflow:messageVariable>overdue</spiffworkflow:messageVariable></bpmn:extensionElements>
        </bpmn:messageEventDefinition>
      </bpmn:startEvent>
      <bpmn:userTask id="late_work_review" name="Overdue: review late work">
        <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="overdue_review.schema.json"/>
        <spiffworkflow:property name="formUiSchemaFilename" value="overdue_review.uischema.json"/>
        <spiffworkflow:property name="title" value="&quot;Overdue: &quot; + overdue[&quot;task&quot;]"/>
        </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="late_work_review_done"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="late_work_task_overdue" targetRef="late_work_review"/>
      <bpmn:sequenceFlow id="g2" sourceRef="late_work_review" targetRef="late_work_review_done"/>
    </bpmn:subProcess>"""


def process(listener: bool = True, opt_out: str | None = None) -> str:
    extra = f'<spiffworkflow:property name="overdueReview" value="{opt_out}"/>' if opt_out else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org">
  <bpmn:collaboration id="c"><bpmn:participant id="p1" processRef="late_work"/></bpmn:collaboration>
  <bpmn:message id="message_task_overdue" name="task_overdue"/>
  <bpmn:process id="late_work" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="masho"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>work</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="mash_manager"><bpmn:flowNodeRef>late_work_overdue</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Do the work"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="work.schema.json"/>
      <spiffworkflow:property name="formUiSchemaFilename" value="work.uischema.json"/>
      <spiffworkflow:property name="dueAt" value="work_due"/>{extra}
      </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>{LISTENER if listener else ""}
  </bpmn:process>
</bpmn:definitions>
"""


def _start(count=1, due=None, **kwargs):
    deployment = deploy_with("late_work.bpmn", process(**kwargs), {"work": WORK_FORM})
    seed = {"work_due": (due or CLOCK.now() + timedelta(hours=4)).isoformat()}
    return start_processes(deployment, "late_work", seed, count)


def _people():
    from app.services.people import users
    from tests.support import make_people

    make_people(["mgr", "masho"])
    return users.get_by_username("mgr"), users.get_by_username("masho")


def _ready(instance_id):
    manager, masho = _people()
    tasks = worklist.ready_tasks_for(manager, instance_id) + worklist.ready_tasks_for(masho, instance_id)
    return sorted(t.title for t in tasks)


def _overdue_events(instance_id):
    return [e for e in history.for_instance(instance_id) if e.type == "task_overdue"]


def _rows(instance_id):
    return db.session.query(OverdueRecord).filter_by(instance_id=instance_id).all()


def test_a_late_task_gets_one_review_at_its_due_time_and_history_says_so(ctx):
    (instance_id,) = _start()
    (row,) = _rows(instance_id)
    (work,) = db.session.query(TaskRecord).filter_by(instance_id=instance_id, bpmn_id="work").all()
    assert (row.state, row.task_id, row.due_at) == ("waiting", work.id, work.due_at)  # the inbox's due time
    CLOCK.advance(timedelta(hours=3, minutes=59))
    assert timers.fire_due() == 0 and _ready(instance_id) == ["Do the work"]
    CLOCK.advance(timedelta(minutes=2))
    assert timers.fire_due() == 1
    assert _ready(instance_id) == ["Do the work", "Overdue: Do the work"]  # the work carries on
    assert timers.fire_due() == 0
    CLOCK.advance(timedelta(days=2))
    assert timers.fire_due() == 0
    (event,) = _overdue_events(instance_id)
    assert (event.bpmn_id, event.task_id, event.detail["title"], event.detail["role"]) == (
        "work",
        work.id,
        "Do the work",
        "masho",
    )
    (review,) = db.session.query(TaskRecord).filter_by(instance_id=instance_id, bpmn_id="late_work_review").all()
    assert event.detail["reviews"] == [review.id] and review.role == "mash_manager"
    assert review.form_data["overdue"] == {
        "task": "Do the work",
        "held_by": "MASH officer",
        "due": "24 November 2026, 14:00",
    }
    assert _rows(instance_id)[0].state == "sent"


def test_reviews_missed_while_the_scheduler_was_down_start_on_restart(ctx):
    (instance_id,) = _start()
    CLOCK.advance(timedelta(days=3))
    assert timers.fire_due() == 1
    assert _ready(instance_id) == ["Do the work", "Overdue: Do the work"]


def test_a_crash_mid_send_loses_nothing_and_the_review_starts_once_later(ctx, monkeypatch):
    (instance_id,) = _start()
    CLOCK.advance(timedelta(hours=5))
    from app.services.core import overdue

    original = overdue.sync

    def crash(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt("killed mid-send")

    monkeypatch.setattr(overdue, "sync", crash)
    with pytest.raises(KeyboardInterrupt):
        timers.fire_due()
    db.session.remove()
    assert [r.state for r in _rows(instance_id)] == ["waiting"]
    assert _ready(instance_id) == ["Do the work"] and _overdue_events(instance_id) == []
    monkeypatch.setattr(overdue, "sync", original)
    assert timers.fire_due() == 1
    assert _ready(instance_id) == ["Do the work", "Overdue: Do the work"] and len(_overdue_events(instance_id)) == 1


def test_two_schedulers_never_start_the_same_review_twice(ctx):
    ids = _start(count=12)
    CLOCK.advance(timedelta(hours=5))
    db.session.remove()
    counts: list[int] = []

    def scheduler():
        with ctx.app_context():
            try:
                counts.append(timers.fire_due())
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(counts) == 12
    for instance_id in ids:
        assert len(_overdue_events(instance_id)) == 1
        assert _ready(instance_id) == ["Do the work", "Overdue: Do the work"]


def test_a_task_that_starts_late_gets_its_review_in_the_same_step(ctx):
    (instance_id,) = _start(due=CLOCK.now() - timedelta(hours=1))
    assert _ready(instance_id) == ["Do the work", "Overdue: Do the work"]
    assert len(_overdue_events(instance_id)) == 1 and [r.state for r in _rows(instance_id)] == ["sent"]
    assert timers.fire_due() == 0


def test_work_done_in_time_opted_out_or_without_the_pattern_gets_no_review(ctx):
    (done,) = _start()
    _, masho = _people()
    (work,) = worklist.ready_tasks_for(masho, done)
    completion.complete_task(masho, work.id, {"note": "Done in time."})
    assert [r.state for r in _rows(done)] == ["cancelled"]
    (opted_out,) = _start(opt_out="False")
    (without,) = _start(listener=False)
    assert _rows(opted_out) == [] and _rows(without) == []
    CLOCK.advance(timedelta(days=1))
    assert timers.fire_due() == 0
    for instance_id in (done, opted_out, without):
        assert _overdue_events(instance_id) == []
    assert _ready(opted_out) == ["Do the work"] and _ready(without) == ["Do the work"]
