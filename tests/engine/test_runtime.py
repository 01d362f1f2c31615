"""The runtime: unquoted timer literals, guarded task completion, restore keeps the safe engine."""

from datetime import UTC, datetime, timedelta

import pytest

from app.engine.calendar import MashCalendar
from app.engine.clock import CLOCK, install_in_spiff
from app.engine.errors import ProcessError, TaskStateError
from app.engine.evaluator import RestrictedEvaluator
from app.engine.functions import build_functions
from app.engine.loader import build_bundle
from app.engine.runtime import FeelDecisionEngine, Runtime

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org">
"""
FORM = (
    "<bpmn:extensionElements><spiffworkflow:properties>"
    '<spiffworkflow:property name="formJsonSchemaFilename" value="f.schema.json"/>'
    '<spiffworkflow:property name="formUiSchemaFilename" value="f.uischema.json"/>'
    "</spiffworkflow:properties></bpmn:extensionElements>"
)
TIMER = (
    HEAD
    + f"""  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Wait four hours"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT4H</bpmn:timeDuration>
        </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="review" name="Review">{FORM}<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      </bpmn:userTask>
    <bpmn:scriptTask id="calc"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>total = sum([x * 2 for x in values])</bpmn:script></bpmn:scriptTask>
    <bpmn:businessRuleTask id="decide"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>band</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="calc"/>
    <bpmn:sequenceFlow id="f4" sourceRef="calc" targetRef="decide"/>
    <bpmn:sequenceFlow id="f5" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
)
DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_band" name="Band" namespace="http://example.org">
  <decision id="band" name="Band">
    <decisionTable id="band_table" hitPolicy="FIRST">
      <input id="in_total" label="Total"><inputExpression id="ie_total" typeRef="number"><text>total</text>
        </inputExpression></input>
      <output id="out_band" name="band" typeRef="string"/>
      <rule id="band_high"><inputEntry id="e1"><text>&gt;= 10</text></inputEntry>
        <outputEntry id="o1"><text>"high"</text></outputEntry></rule>
      <rule id="band_low"><inputEntry id="e2"><text>[0..10)</text></inputEntry><outputEntry id="o2"><text>"low"</text>
        </outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.fixture
def runtime():
    install_in_spiff()
    evaluator = RestrictedEvaluator(build_functions(CLOCK.now, MashCalendar()))
    files = {
        "processes/p.bpmn": TIMER.encode(),
        "dmn/band.dmn": DMN.encode(),
        "forms/f.schema.json": b'{"type": "object", "properties": {"values": {"type": "array"}}}',
        "forms/f.uischema.json": b"{}",
    }
    bundle = build_bundle(files, check_expression=evaluator.check, engine_factory=FeelDecisionEngine)
    CLOCK.freeze(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    yield Runtime(bundle, evaluator)
    CLOCK.reset()


def test_unquoted_timer_literal_waits_then_fires(runtime):
    workflow = runtime.start("p", {})
    assert runtime.ready_tasks(workflow) == []
    assert runtime.next_timer_due(workflow) == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    CLOCK.advance(timedelta(hours=4, minutes=1))
    runtime.fire_timers(workflow)
    assert [t.bpmn_id for t in runtime.ready_tasks(workflow)] == ["review"]


def test_state_round_trip_keeps_the_restricted_engine_and_finishes_with_a_decision(runtime):
    workflow = runtime.start("p", {})
    state = runtime.dump(workflow)
    assert '"spec"' not in state  # the spec is stored once per version, not per instance
    CLOCK.advance(timedelta(hours=5))
    restored = runtime.restore("p", state)
    assert restored.script_engine is runtime.script_engine
    runtime.fire_timers(restored)
    (task,) = runtime.ready_tasks(restored)
    runtime.complete_task(restored, task.id, {"values": [1, 2, 3]})
    assert restored.is_completed()
    assert restored.last_task.data["band"] == "high"
    ((bpmn_id, result),) = runtime.log.decisions
    assert (bpmn_id, result.matched_rule_ids, result.inputs) == ("decide", ["band_high"], {"total": 12})


def test_only_a_ready_user_task_can_be_completed(runtime):
    workflow = runtime.start("p", {})
    review = next(t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "review")
    with pytest.raises(TaskStateError, match="not ready"):
        runtime.complete_task(workflow, str(review.id), {"values": []})
    with pytest.raises(TaskStateError):
        runtime.complete_task(workflow, "00000000-0000-0000-0000-000000000000", {})


def test_a_decision_with_no_matching_rule_stops_the_process_with_a_reason(runtime):
    workflow = runtime.start("p", {})
    CLOCK.advance(timedelta(hours=5))
    runtime.fire_timers(workflow)
    (task,) = runtime.ready_tasks(workflow)
    with pytest.raises(ProcessError) as err:
        runtime.complete_task(workflow, task.id, {"values": [-5]})
    assert "no rule matched" in err.value.message.lower() or "no matching rule" in err.value.message.lower()


FOLLOW = (
    HEAD
    + f"""  <bpmn:process id="follow" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Work">{FORM}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      </bpmn:userTask>
    <bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false"><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate xsi:type="bpmn:tFormalExpression">outcome_due_at</bpmn:timeDate>
        </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="chase" name="Chase">{FORM}<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      </bpmn:userTask>
    <bpmn:endEvent id="end1"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end2"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end2"/>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="chase"/>
    <bpmn:sequenceFlow id="f4" sourceRef="chase" targetRef="end1"/>
  </bpmn:process>
</bpmn:definitions>
"""
)


def test_a_date_timer_follows_the_case_when_its_deadline_moves():
    install_in_spiff()
    evaluator = RestrictedEvaluator(build_functions(CLOCK.now, MashCalendar()))
    files = {
        "processes/follow.bpmn": FOLLOW.encode(),
        "forms/f.schema.json": b'{"type": "object"}',
        "forms/f.uischema.json": b"{}",
    }
    runtime = Runtime(
        build_bundle(files, check_expression=evaluator.check, engine_factory=FeelDecisionEngine), evaluator
    )
    CLOCK.freeze(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    try:
        workflow = runtime.start("follow", {"outcome_due_at": "2026-11-25T10:00:00+00:00"})
        assert runtime.next_timer_due(workflow) == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        runtime.follow_case_dates(workflow, {"outcome_due_at": "2026-11-24T14:00:00+00:00"})  # RAG raised to RED
        assert runtime.next_timer_due(workflow) == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
        CLOCK.advance(timedelta(hours=4, minutes=1))
        runtime.fire_timers(workflow)
        assert {t.bpmn_id for t in runtime.ready_tasks(workflow)} == {"work", "chase"}
    finally:
        CLOCK.reset()


def test_engine_log_records_never_carry_case_data(runtime, caplog):
    """SpiffWorkflow attaches task data to its records below INFO; the runtime pins its loggers."""
    import logging

    caplog.set_level(logging.DEBUG)
    workflow = runtime.start("p", {"child_name": "LOG-CANARY-Jamie"})
    CLOCK.advance(timedelta(hours=5))
    runtime.fire_timers(workflow)
    (task,) = runtime.ready_tasks(workflow)
    runtime.complete_task(workflow, task.id, {"values": [1, 2, 3]})
    assert caplog.records  # Spiff did log the run
    assert all("LOG-CANARY" not in repr(record.__dict__) for record in caplog.records)
