"""A multi-agency test process behind the MASH firewall, with soft information marked by a canary."""

from __future__ import annotations

from tests.support import deploy_with, start_processes

CANARY = "CANARY-7f3a9c-SOFT-INTEL"


ASK_AGENCIES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org">
  <bpmn:collaboration id="c"><bpmn:participant id="p1" processRef="ask_agencies"/></bpmn:collaboration>
  <bpmn:process id="ask_agencies" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_partner" name="partner"><bpmn:flowNodeRef>answer</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_dm" name="decision_maker"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>collate</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_rt" name="receiving_team"><bpmn:flowNodeRef>handover</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:dataObject id="agencies"/><bpmn:dataObject id="agency_responses"/>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="answer" name="Answer the information request">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="test_partner_answer.schema.json"/>
        <spiffworkflow:property name="formUiSchemaFilename" value="test_partner_answer.uischema.json"/>
        <spiffworkflow:property name="agency" value="agency"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>agencies</bpmn:loopDataInputRef><bpmn:loopDataOutputRef>agency_responses</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="agency" name="agency"/>
          <bpmn:outputDataItem id="agency_response" name="agency_response"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:userTask id="collate" name="Collate the answers">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="test_collate.schema.json"/>
        <spiffworkflow:property name="formUiSchemaFilename" value="test_collate.uischema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="handover" name="Receive the handover">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="handover.schema.json"/>
        <spiffworkflow:property name="formUiSchemaFilename" value="handover.uischema.json"/>
        <spiffworkflow:property name="team" value="'daat'"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="collate"/>
    <bpmn:sequenceFlow id="f3" sourceRef="collate" targetRef="handover"/>
    <bpmn:sequenceFlow id="f4" sourceRef="handover" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


ANSWER_FORM = {
    "type": "object",
    "properties": {
        "agency_response": {
            "type": "object",
            "title": "Your agency's answer",
            "properties": {
                "information": {"type": "string", "title": "Information held"},
                "sensitive_information": {
                    "type": "string",
                    "title": "Sensitive or soft information",
                    "x-sensitive": True,
                },
                "sensitive_holder": {"type": "string", "title": "Who holds it"},
            },
            "required": ["information"],
        }
    },
    "required": ["agency_response"],
}


COLLATE_FORM = {
    "type": "object",
    "properties": {"rationale": {"type": "string", "title": "Rationale"}},
    "required": ["rationale"],
}


def deploy_and_start():
    deployment = deploy_with(
        "ask_agencies.bpmn", ASK_AGENCIES, {"test_partner_answer": ANSWER_FORM, "test_collate": COLLATE_FORM}
    )
    (instance_id,) = start_processes(
        deployment, "ask_agencies", {"agencies": ["police", "health"], "child": {"first_name": "Ava"}}
    )
    return instance_id
