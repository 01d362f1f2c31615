"""What SpiffWorkflow 3.2 does with the one overdue pattern (issue 16), checked before the host builds on it.

A "Work overdue" event sub-process (`triggeredByEvent`) with a non-interrupting message start `task_overdue`:
each message starts one more instance beside the running work, with the payload in the message variable; the
process finishes only when every started instance has; and starting one never changes the shared spec objects,
so a case started later from the same (cached) specs is not affected (`app.engine.overdue.wire`)."""

from datetime import UTC, datetime

import pytest

from app.engine import overdue
from app.engine.calendar import MashCalendar
from app.engine.clock import CLOCK, install_in_spiff
from app.engine.evaluator import RestrictedEvaluator
from app.engine.functions import build_functions
from app.engine.loader import build_bundle, fresh_specs
from app.engine.runtime import FeelDecisionEngine, Runtime

FORM = (
    '<spiffworkflow:property name="formJsonSchemaFilename" value="f.schema.json"/>'
    '<spiffworkflow:property name="formUiSchemaFilename" value="f.uischema.json"/>'
)


def model(with_listener: bool = True) -> bytes:
    listener = (
        f"""
    <bpmn:subProcess id="work_overdue" name="Work overdue" triggeredByEvent="true">
      <bpmn:startEvent id="task_overdue" name="A task passed its due time" isInterrupting="false">
        <bpmn:outgoing>g1</bpmn:outgoing>
        <bpmn:messageEventDefinition id="task_overdue_definition" messageRef="message_task_overdue">
          <bpmn:extensionElements><spiffworkflow:messageVariable>overdue</spiffworkflow:messageVariable></bpmn:extensionElements>
        </bpmn:messageEventDefinition>
      </bpmn:startEvent>
      <bpmn:userTask id="overdue_review" name="Overdue: review late work">
        <bpmn:extensionElements><spiffworkflow:properties>{FORM}
        <spiffworkflow:property name="title" value="&quot;Overdue: &quot; + overdue[&quot;task&quot;]"/>
        </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="overdue_review_done"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="task_overdue" targetRef="overdue_review"/>
      <bpmn:sequenceFlow id="g2" sourceRef="overdue_review" targetRef="overdue_review_done"/>
    </bpmn:subProcess>"""
        if with_listener
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org">
  <bpmn:message id="message_task_overdue" name="task_overdue"/>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_masho" name="masho">
        <bpmn:flowNodeRef>a</bpmn:flowNodeRef><bpmn:flowNodeRef>b</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_mash_manager" name="mash_manager">
        <bpmn:flowNodeRef>work_overdue</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="a" name="Record contact"><bpmn:extensionElements><spiffworkflow:properties>{FORM}
      <spiffworkflow:property name="dueAt" value="a_due_at"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="b" name="Check history"><bpmn:extensionElements><spiffworkflow:properties>{FORM}
      <spiffworkflow:property name="dueAt" value="a_due_at"/>
      <spiffworkflow:property name="overdueReview" value="review_b"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="end"/>{listener}
  </bpmn:process>
</bpmn:definitions>
""".encode()


SEED = {"a_due_at": "2026-11-24T10:30:00+00:00", "review_b": True, "child": {"first_name": "Jamie"}}


@pytest.fixture
def make():
    install_in_spiff()
    evaluator = RestrictedEvaluator(build_functions(CLOCK.now, MashCalendar()))
    CLOCK.freeze(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))

    def build(with_listener: bool = True):
        files = {
            "processes/p.bpmn": model(with_listener),
            "forms/f.schema.json": b'{"type": "object"}',
            "forms/f.uischema.json": b"{}",
        }
        bundle = build_bundle(
            files,
            check_expression=evaluator.check,
            engine_factory=FeelDecisionEngine,
            known_roles=["masho", "mash_manager"],
        )
        return bundle, evaluator

    yield build
    CLOCK.reset()


def _ready(runtime, workflow, case_data=None):
    return {(t.bpmn_id, t.title): t for t in runtime.ready_tasks(workflow, case_data)}


def _late(runtime, workflow, bpmn_id, payload, case_data=None):
    (task,) = [t for t in runtime.ready_tasks(workflow) if t.bpmn_id == bpmn_id]
    found = overdue.listener(workflow.spec, workflow.subprocess_specs)
    assert overdue.eligible(runtime, workflow, task.id, case_data or {})
    overdue.send(runtime, workflow, found, task.id, payload)
    assert not overdue.eligible(runtime, workflow, task.id, case_data or {})  # once per task instance
    return task


def _other_worker(bundle, evaluator, workflow, runtime):
    """The case as another worker restores it: spec objects parsed afresh, a new runtime."""
    state = runtime.dump(workflow)
    again = Runtime(fresh_specs(bundle, FeelDecisionEngine, ["masho", "mash_manager"]), evaluator)
    return again, again.restore("p", state)


def test_each_message_starts_one_more_review_beside_the_work_with_its_own_payload(make):
    bundle, evaluator = make()
    runtime = Runtime(bundle, evaluator)
    workflow = runtime.start("p", SEED)
    assert overdue.listener(workflow.spec, workflow.subprocess_specs) == overdue.Listener(
        "work_overdue", "task_overdue", "overdue"
    )
    _late(
        runtime, workflow, "a", {"task": "Record contact", "held_by": "MASH officer", "due": "24 November 2026, 10:30"}
    )
    runtime, workflow = _other_worker(bundle, evaluator, workflow, runtime)
    ready = _ready(runtime, workflow)
    assert set(ready) == {("a", "Record contact"), ("overdue_review", "Overdue: Record contact")}
    review = ready[("overdue_review", "Overdue: Record contact")]
    assert review.role == "mash_manager"  # the event sub-process's lane
    assert review.data["overdue"]["held_by"] == "MASH officer" and review.data["child"] == {"first_name": "Jamie"}

    # the work carries on; the next late task gets a second review, the first keeps its own payload
    runtime.complete_task(workflow, ready[("a", "Record contact")].id, {})
    _late(
        runtime, workflow, "b", {"task": "Check history", "held_by": "MASH officer", "due": "24 November 2026, 10:30"}
    )
    runtime, workflow = _other_worker(bundle, evaluator, workflow, runtime)
    assert set(_ready(runtime, workflow)) == {
        ("b", "Check history"),
        ("overdue_review", "Overdue: Record contact"),
        ("overdue_review", "Overdue: Check history"),
    }
    # the payload is each review's own: never the case's (a second review would rename the first)
    assert overdue.local_names(overdue.listener(workflow.spec, workflow.subprocess_specs)) == {"overdue"}


def test_the_case_finishes_only_when_its_reviews_are_done_whichever_finishes_last(make):
    bundle, evaluator = make()
    for review_last in (True, False):
        runtime = Runtime(bundle, evaluator)
        workflow = runtime.start("p", SEED)
        _late(runtime, workflow, "a", {"task": "Record contact", "held_by": "x", "due": "y"})
        runtime, workflow = _other_worker(bundle, evaluator, workflow, runtime)
        order = ["a", "b", "overdue_review"] if review_last else ["overdue_review", "a", "b"]
        for step in order:
            assert not workflow.is_completed()
            (task,) = [t for t in runtime.ready_tasks(workflow) if t.bpmn_id == step]
            runtime.complete_task(workflow, task.id, {"action_taken": "Chased."})
            runtime, workflow = _other_worker(bundle, evaluator, workflow, runtime)
        assert workflow.is_completed()
        assert runtime.ready_tasks(workflow) == []


def test_a_review_leaves_the_shared_specs_alone_so_later_cases_still_finish(make):
    """SpiffWorkflow's first trigger connects the start task to the event sub-process in the spec itself; every
    case started afterwards from those (cached) specs would then open a waiting sub-process at once and never
    finish. `overdue.wire` makes the connection's other half first, so the trigger leaves the spec as it was."""
    bundle, evaluator = make()
    runtime = Runtime(bundle, evaluator)
    first = runtime.start("p", SEED)
    _late(runtime, first, "a", {"task": "Record contact", "held_by": "x", "due": "y"})
    spec = bundle.process_specs["p"]
    assert [s.name for s in spec.start.outputs] == ["start"]
    later = runtime.start("p", SEED)  # same spec objects, after a trigger
    assert later.subprocesses == {}
    for step in ("a", "b"):
        (task,) = [t for t in runtime.ready_tasks(later) if t.bpmn_id == step]
        runtime.complete_task(later, task.id, {})
    assert later.is_completed()


def test_who_gets_a_review(make):
    bundle, evaluator = make()
    runtime = Runtime(bundle, evaluator)
    workflow = runtime.start("p", {**SEED, "review_b": False})
    (a,) = runtime.ready_tasks(workflow)
    runtime.complete_task(workflow, a.id, {})
    (b,) = runtime.ready_tasks(workflow)
    assert not overdue.eligible(runtime, workflow, b.id, {})  # overdueReview gives false: opted out
    assert overdue.eligible(runtime, workflow, b.id, {"review_b": True})  # the case as it stands decides
    _late(runtime, workflow, "b", {"task": "Check history", "held_by": "x", "due": "y"}, {"review_b": True})
    (review,) = [t for t in runtime.ready_tasks(workflow) if t.bpmn_id == "overdue_review"]
    assert not overdue.eligible(runtime, workflow, review.id, {})  # a review is never itself reviewed

    assert overdue.is_due("2026-11-24T10:00:00+00:00", CLOCK.now())
    assert not overdue.is_due("2026-11-24T10:00:01+00:00", CLOCK.now())
    assert not overdue.is_due("2026-11-24T09:00:00", CLOCK.now())  # no offset: no due time, as in the inbox
    assert not overdue.is_due(None, CLOCK.now())

    bare, _ = make(with_listener=False)
    plain = Runtime(bare, evaluator).start("p", SEED)
    assert overdue.listener(plain.spec, plain.subprocess_specs) is None  # a diagram without one gets none
    assert overdue.local_names(None) == frozenset()
