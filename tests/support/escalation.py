"""A partner's open request on the firewall test process, ready to escalate heightened risk."""

from __future__ import annotations

from tests.support import deploy_with, start_processes
from tests.support.firewall import ANSWER_FORM

ESCALATE_FORM = {
    "type": "object",
    "properties": {
        "phoned_manager": {"type": "boolean", "title": "Have you phoned the MASH manager?"},
        "told_whom": {"type": "string", "title": "Who did you tell?"},
        "reason": {"type": "string", "title": "Why the risk is heightened", "minLength": 1},
    },
    "required": ["phoned_manager", "reason"],
}


ACT_FORM = {
    "type": "object",
    "properties": {"protective_action": {"type": "string", "title": "Action taken now"}},
    "required": ["protective_action"],
}


PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org">
  <bpmn:message id="heightened_risk" name="heightened_risk"/>
  <bpmn:collaboration id="c"><bpmn:participant id="p1" processRef="ask_with_escalation"/></bpmn:collaboration>
  <bpmn:process id="ask_with_escalation" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_partner" name="partner"><bpmn:flowNodeRef>answer</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>risk</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_mgr" name="mash_manager"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>act_now</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef><bpmn:flowNodeRef>end_risk</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:dataObject id="agencies"/><bpmn:dataObject id="agency_responses"/>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="answer" name="Answer the information request">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="test_partner_answer.schema.json"/>
        <spiffworkflow:property name="formUiSchemaFilename" value="test_partner_answer.uischema.json"/>
        <spiffworkflow:property name="agency" value="agency"/>
        <spiffworkflow:property name="message" value="heightened_risk"/>
        <spiffworkflow:property name="messageForm" value="test_escalate.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>agencies</bpmn:loopDataInputRef><bpmn:loopDataOutputRef>agency_responses</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="agency" name="agency"/>
          <bpmn:outputDataItem id="agency_response" name="agency_response"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="risk" name="Heightened risk" attachedToRef="answer" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:messageEventDefinition id="risk_def" messageRef="heightened_risk">
        <bpmn:extensionElements><spiffworkflow:messageVariable>escalation</spiffworkflow:messageVariable></bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="act_now" name="Act on heightened risk now">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="test_act.schema.json"/>
        <spiffworkflow:property name="formUiSchemaFilename" value="test_act.uischema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end_risk"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="risk" targetRef="act_now"/>
    <bpmn:sequenceFlow id="f4" sourceRef="act_now" targetRef="end_risk"/>
  </bpmn:process>
</bpmn:definitions>
"""


def start_escalation_case():
    deployment = deploy_with(
        "ask_with_escalation.bpmn",
        PROCESS,
        {"test_partner_answer": ANSWER_FORM, "test_escalate": ESCALATE_FORM, "test_act": ACT_FORM},
    )
    (instance_id,) = start_processes(deployment, "ask_with_escalation", {"agencies": ["police", "health"]})
    return instance_id
