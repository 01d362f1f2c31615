"""Cases with timers waiting, and their ready tasks."""

from __future__ import annotations

from app.services.cases import worklist
from tests.support import deploy_with, start_processes

TIMER_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org">
  <bpmn:collaboration id="c"><bpmn:participant id="p1" processRef="wait_then_review"/></bpmn:collaboration>
  <bpmn:process id="wait_then_review" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="mash_manager">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>wait</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Four hours"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT4H</bpmn:timeDuration>
        </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="review" name="Review after the wait"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="allocate.schema.json"/>
      <spiffworkflow:property name="formUiSchemaFilename" value="allocate.uischema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def start_timer_cases(count=1):
    return start_processes(deploy_with("wait_then_review.bpmn", TIMER_PROCESS), "wait_then_review", {}, count)


def ready_steps(instance_id):
    return [t.bpmn_id for t in worklist.ready_tasks_for(timer_manager(), instance_id)]


def timer_manager():
    from app.services.people import users
    from tests.support import make_people

    make_people(["mgr"])
    return users.get_by_username("mgr")
