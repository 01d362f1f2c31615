"""POST /api/v1/deployments: same checks as every deploy path, two-person rule, and a process drawn
in Camunda Modeler (no app extensions, unquoted timer) that deploys and runs through the inbox."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from app.engine.clock import CLOCK
from app.services.core import timers
from app.services.modelling import deployments
from app.services.people import users
from tests.support import PASSWORD, Api, make_people
from tests.support.pages import Browser, soup

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CAMUNDA = (FIXTURES / "camunda_approval.bpmn").read_text()

TINY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://example.org">
  <bpmn:process id="tiny" name="Tiny" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane" name="LANE"><bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
      </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check it">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="FORM"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="calc" name="Calculate"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" name="End"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="calc"/>
    <bpmn:sequenceFlow id="f3" sourceRef="calc" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def tiny(script="x = 1", lane="mash_manager", form="record_contact.schema.json", prefix="") -> str:
    return prefix + TINY.replace("SCRIPT", script).replace("LANE", lane).replace("FORM", form)


@pytest.fixture
def api(client):
    make_people(["mgr", "auditor"])
    for name in ("sm1", "sm2"):
        if users.get_by_username(name) is None:
            users.create_user(name, PASSWORD, ["service_manager"])
    return Api(client)


def refused(api, files: dict) -> list[dict]:
    response = api.post("sm1", "/api/v1/deployments", files)
    assert response.status_code == 422, response.json
    assert deployments.latest().version == 1  # nothing deployed, no draft waiting
    return [p for p in response.json["details"]["problems"] if p["severity"] == "error"]


def test_only_service_managers_deploy(api):
    response = api.post("mgr", "/api/v1/deployments", {"processes/tiny.bpmn": tiny()})
    assert response.status_code == 403


def test_refused_models_each_say_what_is_wrong(api, tmp_path):
    (problem,) = refused(api, {"processes/tiny.bpmn": tiny(lane="nobody")})
    assert problem["element_id"] == "check" and problem["element_name"] == "Check it"
    assert "lane 'nobody' is not a role id" in problem["message"] and problem["line"]

    (problem,) = refused(api, {"processes/tiny.bpmn": tiny(form="missing.schema.json")})
    assert "forms/missing.schema.json" in problem["message"] and "does not exist" in problem["message"]

    (problem,) = refused(api, {"processes/tiny.bpmn": tiny(script="x = ().__class__.__base__.__subclasses__()")})
    assert problem["element_id"] == "calc" and problem["message"].startswith("script:")

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = tiny().replace(
        "<bpmn:definitions", f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<bpmn:definitions', 1
    )
    (problem,) = refused(api, {"processes/tiny.bpmn": xxe.replace("Check it", "&xxe;")})
    assert "DOCTYPE" in problem["message"] and "TOP-SECRET" not in str(problem)

    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">' for i in range(1, 10)
    )
    (problem,) = refused(
        api, {"processes/bomb.bpmn": f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{entities}]>\n<lolz>&lol9;</lolz>'}
    )
    assert "DOCTYPE" in problem["message"]

    response = api.post("sm1", "/api/v1/deployments", {"processes/big.bpmn": " " * (3 * 1024 * 1024)})
    assert response.status_code == 413 and response.json["error"] == "too_large"  # refused before it is read


def test_a_valid_upload_waits_for_a_second_manager_then_becomes_a_version(api):
    response = api.post("sm1", "/api/v1/deployments", {"files": {"processes/tiny.bpmn": tiny()}, "note": "tiny"})
    assert response.status_code == 201, response.json
    draft = response.json
    assert draft["status"] == "awaiting_approval" and "processes/tiny.bpmn: new file" in draft["diff"]
    assert draft["authors"] == ["sm1"]
    reviewed = {"content_hash": draft["content_hash"]}
    assert api.post("sm1", f"/api/v1/deployments/drafts/{draft['id']}/approve", reviewed).status_code == 403
    response = api.post("sm2", f"/api/v1/deployments/drafts/{draft['id']}/approve", {"note": "ok", **reviewed})
    assert response.status_code == 201, response.json
    assert response.json["version"] == 2 and response.json["publisher"] == "sm1" and response.json["approver"] == "sm2"
    listed = api.get("sm2", "/api/v1/deployments").json
    assert [d["version"] for d in listed] == [2, 1] and listed[0]["bundle_hash"] == response.json["bundle_hash"]


def test_a_camunda_modeler_process_deploys_starts_and_runs_through_the_inbox(api, ctx):
    response = api.client.post(
        "/api/v1/deployments",
        headers={"Authorization": f"Bearer {api.token('sm1')}"},
        data={"files": (io.BytesIO(CAMUNDA.encode()), "camunda_approval.bpmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert "processes/camunda_approval.bpmn" in response.json["files"]
    assert (
        api.post(
            "sm2",
            f"/api/v1/deployments/drafts/{response.json['id']}/approve",
            {"content_hash": response.json["content_hash"]},
        ).status_code
        == 201
    )

    assert [p["process_id"] for p in api.get("mgr", "/api/v1/processes").json] == ["leaflet_approval"]
    assert api.post("auditor", "/api/v1/processes/leaflet_approval/instances", {"data": {}}).status_code == 403
    started = api.post("mgr", "/api/v1/processes/leaflet_approval/instances", {"data": {"leaflet": "Winter"}})
    assert started.status_code == 201, started.json
    instance_id = started.json["id"]
    (task,) = api.get("mgr", f"/api/v1/tasks?instance_id={instance_id}").json
    assert task["bpmn_id"] == "Activity_approve" and task["role"] == "mash_manager"

    # the unquoted PT2H timer (as Camunda Modeler writes it) fires two hours later
    CLOCK.freeze(CLOCK.now() + timedelta(hours=2, minutes=1))
    timers.fire_due()
    assert {t["bpmn_id"] for t in api.get("mgr", f"/api/v1/tasks?instance_id={instance_id}").json} == {
        "Activity_approve",
        "Activity_chase",
    }

    browser = Browser(ctx, "mgr")
    page = soup(browser.get(f"/tasks/{task['id']}"))
    assert "Read the draft leaflet for families" in page.text
    assert page.find("button", string=lambda s: s and s.strip() == "Complete") is not None
    response = browser.post(f"/tasks/{task['id']}", {"_action": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    remaining = api.get("mgr", f"/api/v1/tasks?instance_id={instance_id}").json
    assert [t["bpmn_id"] for t in remaining] == ["Activity_chase"]


def test_dedicated_and_called_processes_are_not_started_generically(api):
    make_people(["masho"])
    assert api.post("masho", "/api/v1/processes/front_door/instances", {"data": {}}).status_code == 403
    assert api.post("mgr", "/api/v1/processes/stage2_infosharing/instances", {"data": {}}).status_code == 403
    assert api.post("mgr", "/api/v1/processes/nope/instances", {"data": {}}).status_code == 404


def test_mash_deploy_prints_every_problem_and_exits_non_zero(api, ctx, tmp_path):
    from app.cli import main

    bad = tmp_path / "tiny.bpmn"
    bad.write_text(tiny(lane="nobody", form="missing.schema.json"))
    result = ctx.test_cli_runner().invoke(main, ["deploy", str(bad)])
    assert result.exit_code == 2
    assert (
        "error: processes/tiny.bpmn:" in result.output
        and "(Check it): the lane 'nobody' is not a role id" in result.output
    )
    assert "forms/missing.schema.json" in result.output and "deploy refused" in result.output
    assert deployments.latest().version == 1
    good = tmp_path / "camunda_approval.bpmn"
    good.write_text(CAMUNDA)
    result = ctx.test_cli_runner().invoke(main, ["deploy", str(good)])
    assert result.exit_code == 0 and "deployed version 2" in result.output, result.output


def test_validate_lists_problems_without_deploying(api):
    response = api.post("sm1", "/api/v1/deployments/validate", {"processes/tiny.bpmn": tiny(lane="nobody")})
    assert response.status_code == 200
    assert [p["element_id"] for p in response.json if p["severity"] == "error"] == ["check"]
    assert deployments.latest().version == 1


def test_the_start_page_lists_what_a_person_may_start_and_starts_it(api, ctx):
    draft = api.post("sm1", "/api/v1/deployments", {"processes/camunda_approval.bpmn": CAMUNDA}).json
    assert (
        api.post(
            "sm2", f"/api/v1/deployments/drafts/{draft['id']}/approve", {"content_hash": draft["content_hash"]}
        ).status_code
        == 201
    )
    browser = Browser(ctx, "mgr")
    page = soup(browser.get("/processes"))
    assert "Leaflet approval" in page.text
    response = browser.post("/processes/leaflet_approval/start", {}, csrf_url="/processes")
    assert response.status_code == 302 and "/cases/" in response.headers["Location"]
    make_people(["masho"])
    assert "There is no process you can start here" in soup(Browser(ctx, "masho").get("/processes")).text
