"""A partner escalates heightened risk from an open request: a message into the running process."""
from app.services import history, users
from tests.services.test_firewall import ANSWER_FORM
from tests.support import Api, deploy_with, make_people, start_processes

ESCALATE_FORM = {"type": "object", "properties": {
    "phoned_manager": {"type": "boolean", "title": "Have you phoned the MASH manager?"},
    "told_whom": {"type": "string", "title": "Who did you tell?"},
    "reason": {"type": "string", "title": "Why the risk is heightened", "minLength": 1}},
    "required": ["phoned_manager", "reason"]}
ACT_FORM = {"type": "object", "properties": {"protective_action": {"type": "string", "title": "Action taken now"}},
            "required": ["protective_action"]}

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org">
  <bpmn:message id="heightened_risk" name="heightened_risk"/>
  <bpmn:collaboration id="c"><bpmn:participant id="p1" processRef="ask_with_escalation"/></bpmn:collaboration>
  <bpmn:process id="ask_with_escalation" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_partner" name="partner"><bpmn:flowNodeRef>answer</bpmn:flowNodeRef><bpmn:flowNodeRef>risk</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_mgr" name="mash_manager"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>act_now</bpmn:flowNodeRef>
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
        <bpmn:inputDataItem id="agency" name="agency"/><bpmn:outputDataItem id="agency_response" name="agency_response"/>
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


def _start():
    deployment = deploy_with("ask_with_escalation.bpmn", PROCESS, {
        "test_partner_answer": ANSWER_FORM, "test_escalate": ESCALATE_FORM, "test_act": ACT_FORM})
    (instance_id,) = start_processes(deployment, "ask_with_escalation", {"agencies": ["police", "health"]})
    return instance_id


def test_a_partner_escalates_heightened_risk_and_the_manager_gets_a_task_at_once(client):
    make_people(["police", "mgr"])
    users.create_user("nurse", "a-long-password-1", ["partner"], agency="health")
    instance_id = _start()
    api = Api(client)
    (police_task,) = api.get("police", "/api/v1/tasks").json
    url = f"/api/v1/tasks/{police_task['id']}/message"

    bad = api.post("police", url, {"data": {"phoned_manager": False}})
    assert bad.status_code == 422 and "reason" in bad.json["details"]["errors"]
    nurse_token = client.post("/api/v1/auth/token", json={"username": "nurse", "password": "a-long-password-1"}).json
    forged = client.post(url, json={"data": {"phoned_manager": False, "reason": "x"}},
                         headers={"Authorization": f"Bearer {nurse_token['access_token']}"})
    assert forged.status_code == 403  # another agency cannot escalate from police's request

    response = api.post("police", url, {"data": {"phoned_manager": False, "reason": "Father released today"}})
    assert response.status_code == 200, response.json
    (act,) = [t for t in api.get("mgr", "/api/v1/tasks").json if t["bpmn_id"] == "act_now"]
    assert act["data"]["escalation"]["reason"] == "Father released today"
    assert act["data"]["escalation"]["agency"] == "police"
    assert [t["bpmn_id"] for t in api.get("police", "/api/v1/tasks").json] == ["answer"]  # the request stays open
    sent = [e for e in history.for_instance(instance_id) if e.type == "message_sent"]
    assert len(sent) == 1 and sent[0].actor == "police"
