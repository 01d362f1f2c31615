"""A partner escalates heightened risk from an open request: a message into the running process."""

from app.services.core import history
from app.services.people import users
from tests.support import Api, make_people
from tests.support.escalation import start_escalation_case


def test_a_partner_escalates_heightened_risk_and_the_manager_gets_a_task_at_once(client):
    make_people(["police", "mgr"])
    users.create_user("nurse", "a-long-password-1", ["partner"], agency="health")
    instance_id = start_escalation_case()
    api = Api(client)
    (police_task,) = api.get("police", "/api/v1/tasks").json
    url = f"/api/v1/tasks/{police_task['id']}/message"

    bad = api.post("police", url, {"data": {"phoned_manager": False}})
    assert bad.status_code == 422 and "reason" in bad.json["details"]["errors"]
    nurse_token = client.post("/api/v1/auth/token", json={"username": "nurse", "password": "a-long-password-1"}).json
    forged = client.post(
        url,
        json={"data": {"phoned_manager": False, "reason": "x"}},
        headers={"Authorization": f"Bearer {nurse_token['access_token']}"},
    )
    assert forged.status_code == 403  # another agency cannot escalate from police's request

    response = api.post("police", url, {"data": {"phoned_manager": False, "reason": "Father released today"}})
    assert response.status_code == 200, response.json
    (act,) = [t for t in api.get("mgr", "/api/v1/tasks").json if t["bpmn_id"] == "act_now"]
    assert act["data"]["escalation"]["reason"] == "Father released today"
    assert act["data"]["escalation"]["agency"] == "police"
    assert [t["bpmn_id"] for t in api.get("police", "/api/v1/tasks").json] == ["answer"]  # the request stays open
    sent = [e for e in history.for_instance(instance_id) if e.type == "message_sent"]
    assert len(sent) == 1 and sent[0].actor == "police"
