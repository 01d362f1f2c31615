"""The MASH firewall on a multi-agency process: each agency sees only its own request and answer;
sensitive/soft information (forms mark it "x-sensitive") never reaches anyone outside the MASH."""

import json

from app.extensions import db
from app.services.core.transaction import unit_of_work
from app.services.people import users
from tests.support import Api, make_people
from tests.support.firewall import CANARY, deploy_and_start


def _leaks(response) -> bool:
    return CANARY in response.get_data(as_text=True)


def test_agencies_see_only_their_own_request_and_nothing_sensitive_leaves_the_mash(client):
    make_people(["police", "dm", "daat", "auditor"])
    users.create_user("nurse", "a-long-password-1", ["partner"], agency="health")
    instance_id = deploy_and_start()
    api = Api(client)
    api.tokens["nurse"] = client.post(
        "/api/v1/auth/token", json={"username": "nurse", "password": "a-long-password-1"}
    ).json["access_token"]

    (police_task,) = api.get("police", "/api/v1/tasks").json
    (health_task,) = api.get("nurse", "/api/v1/tasks").json
    assert (police_task["agency"], health_task["agency"]) == ("police", "health")
    # agency A cannot complete agency B's task
    assert (
        api.post(
            "police", f"/api/v1/tasks/{health_task['id']}/complete", {"data": {"agency_response": {"information": "x"}}}
        ).status_code
        == 403
    )

    answer = {
        "agency_response": {
            "information": "Known to PVP: two call-outs this year.",
            "sensitive_information": CANARY,
            "sensitive_holder": "DS Smith, PVP",
        }
    }
    assert api.post("police", f"/api/v1/tasks/{police_task['id']}/complete", {"data": answer}).status_code == 200
    # the health practitioner still sees only their own request: no police answer, no canary
    (health_task,) = api.get("nurse", "/api/v1/tasks").json
    assert "Known to PVP" not in json.dumps(health_task) and CANARY not in json.dumps(health_task)
    assert not _leaks(api.get("nurse", f"/api/v1/instances/{instance_id}"))
    assert not _leaks(api.get("nurse", f"/api/v1/instances/{instance_id}/history"))
    api.post(
        "nurse",
        f"/api/v1/tasks/{health_task['id']}/complete",
        {"data": {"agency_response": {"information": "Health visitor: no concerns."}}},
    )

    # inside the MASH the decision maker sees both answers, sensitive included
    (collate,) = api.get("dm", "/api/v1/tasks").json
    responses = collate["data"]["agency_responses"]
    assert CANARY in json.dumps(responses) and "Health visitor" in json.dumps(responses)
    assert (
        api.post("dm", f"/api/v1/tasks/{collate['id']}/complete", {"data": {"rationale": "Agreed"}}).status_code == 200
    )

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
    instance_id = deploy_and_start()
    api = Api(client)
    api.tokens["nurse"] = client.post(
        "/api/v1/auth/token", json={"username": "nurse", "password": "a-long-password-1"}
    ).json["access_token"]
    for username, answer in (
        (
            "police",
            {"information": "Two call-outs.", "sensitive_information": CANARY, "sensitive_holder": "DS Smith, PVP"},
        ),
        ("nurse", {"information": "No concerns."}),
    ):
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
    from tests.support.pages import Browser

    page = Browser(client.application, "daat").get(f"/cases/{instance_id}/handover")
    assert page.status_code == 200 and CANARY not in page.get_data(as_text=True)
    assert "Sensitive information is held inside the MASH" in page.get_data(as_text=True)
