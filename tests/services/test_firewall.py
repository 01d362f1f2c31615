"""The MASH firewall on a multi-agency process: each agency sees only its own request and answer;
sensitive/soft information (forms mark it "x-sensitive") never reaches anyone outside the MASH."""
import json

from app.extensions import db
from app.services import users
from app.services.transaction import unit_of_work
from tests.support import Api, deploy_with, make_people, start_processes

CANARY = "CANARY-7f3a9c-SOFT-INTEL"

ASK_AGENCIES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://example.org">
  <bpmn:collaboration id="c"><bpmn:participant id="p1" processRef="ask_agencies"/></bpmn:collaboration>
  <bpmn:process id="ask_agencies" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_partner" name="partner"><bpmn:flowNodeRef>answer</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_dm" name="decision_maker"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>collate</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_rt" name="receiving_team"><bpmn:flowNodeRef>handover</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
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
        <bpmn:inputDataItem id="agency" name="agency"/><bpmn:outputDataItem id="agency_response" name="agency_response"/>
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
ANSWER_FORM = {"type": "object", "properties": {
    "agency_response": {"type": "object", "title": "Your agency's answer", "properties": {
        "information": {"type": "string", "title": "Information held"},
        "sensitive_information": {"type": "string", "title": "Sensitive or soft information", "x-sensitive": True},
        "sensitive_holder": {"type": "string", "title": "Who holds it"}},
        "required": ["information"]}},
    "required": ["agency_response"]}
COLLATE_FORM = {"type": "object", "properties": {"rationale": {"type": "string", "title": "Rationale"}},
                "required": ["rationale"]}


def _deploy_and_start():
    deployment = deploy_with("ask_agencies.bpmn", ASK_AGENCIES,
                             {"test_partner_answer": ANSWER_FORM, "test_collate": COLLATE_FORM})
    (instance_id,) = start_processes(deployment, "ask_agencies",
                                     {"agencies": ["police", "health"], "child": {"first_name": "Ava"}})
    return instance_id


def _leaks(response) -> bool:
    return CANARY in response.get_data(as_text=True)


def test_agencies_see_only_their_own_request_and_nothing_sensitive_leaves_the_mash(client):
    make_people(["police", "dm", "daat", "auditor"])
    users.create_user("nurse", "a-long-password-1", ["partner"], agency="health")
    instance_id = _deploy_and_start()
    api = Api(client)
    api.tokens["nurse"] = client.post("/api/v1/auth/token", json={"username": "nurse",
                                                                   "password": "a-long-password-1"}).json["access_token"]

    (police_task,) = api.get("police", "/api/v1/tasks").json
    (health_task,) = api.get("nurse", "/api/v1/tasks").json
    assert (police_task["agency"], health_task["agency"]) == ("police", "health")
    # agency A cannot complete agency B's task
    assert api.post("police", f"/api/v1/tasks/{health_task['id']}/complete",
                    {"data": {"agency_response": {"information": "x"}}}).status_code == 403

    answer = {"agency_response": {"information": "Known to PVP: two call-outs this year.",
                                  "sensitive_information": CANARY, "sensitive_holder": "DS Smith, PVP"}}
    assert api.post("police", f"/api/v1/tasks/{police_task['id']}/complete", {"data": answer}).status_code == 200
    # the health practitioner still sees only their own request: no police answer, no canary
    (health_task,) = api.get("nurse", "/api/v1/tasks").json
    assert "Known to PVP" not in json.dumps(health_task) and CANARY not in json.dumps(health_task)
    assert not _leaks(api.get("nurse", f"/api/v1/instances/{instance_id}"))
    assert not _leaks(api.get("nurse", f"/api/v1/instances/{instance_id}/history"))
    api.post("nurse", f"/api/v1/tasks/{health_task['id']}/complete",
             {"data": {"agency_response": {"information": "Health visitor: no concerns."}}})

    # inside the MASH the decision maker sees both answers, sensitive included
    (collate,) = api.get("dm", "/api/v1/tasks").json
    responses = collate["data"]["agency_responses"]
    assert CANARY in json.dumps(responses) and "Health visitor" in json.dumps(responses)
    assert api.post("dm", f"/api/v1/tasks/{collate['id']}/complete", {"data": {"rationale": "Agreed"}}).status_code == 200

    # outside it: the receiving team, the partners and the API never carry the canary
    (handover,) = api.get("daat", "/api/v1/tasks").json
    assert CANARY not in json.dumps(handover)
    for username in ("daat", "police", "nurse"):
        for url in (f"/api/v1/instances/{instance_id}", f"/api/v1/instances/{instance_id}/history", "/api/v1/tasks"):
            response = api.get(username, url)
            assert not _leaks(response), (username, url)
    assert _leaks(api.get("auditor", f"/api/v1/instances/{instance_id}"))  # auditors read the full record


def test_the_handover_package_leaves_out_sensitive_information_and_records_the_disclosure(client):
    make_people(["police", "dm", "daat", "fr", "auditor"])
    users.create_user("nurse", "a-long-password-1", ["partner"], agency="health")
    instance_id = _deploy_and_start()
    api = Api(client)
    api.tokens["nurse"] = client.post("/api/v1/auth/token", json={"username": "nurse",
                                                                   "password": "a-long-password-1"}).json["access_token"]
    for username, answer in (("police", {"information": "Two call-outs.", "sensitive_information": CANARY,
                                         "sensitive_holder": "DS Smith, PVP"}),
                             ("nurse", {"information": "No concerns."})):
        (task,) = api.get(username, "/api/v1/tasks").json
        api.post(username, f"/api/v1/tasks/{task['id']}/complete", {"data": {"agency_response": answer}})
    from app.models import ProcessInstance
    with unit_of_work():  # the case is handed to DAAT (as the front door's outcome would say)
        row = db.session.get(ProcessInstance, instance_id)
        row.case_data = {**row.case_data, "receiving_team": "daat"}
    response = api.get("daat", f"/api/v1/instances/{instance_id}/handover")
    assert response.status_code == 200
    assert CANARY not in response.get_data(as_text=True)
    assert "Two call-outs." in response.get_data(as_text=True)
    assert response.json["sensitive_information_held"]
    assert api.get("fr", f"/api/v1/instances/{instance_id}/handover").status_code == 404  # another team
    assert api.get("police", f"/api/v1/instances/{instance_id}/handover").status_code == 404
    events = api.get("auditor", f"/api/v1/instances/{instance_id}/history").json
    (disclosed,) = [e for e in events if e["type"] == "disclosed"]
    assert disclosed["actor"] == "daat" and disclosed["detail"]["lawful_basis"]
    from tests.web.pages import Browser
    page = Browser(client.application, "daat").get(f"/cases/{instance_id}/handover")
    assert page.status_code == 200 and CANARY not in page.get_data(as_text=True)
    assert "Sensitive information is held inside the MASH" in page.get_data(as_text=True)
