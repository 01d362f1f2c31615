"""Drive a case through the API as the people who would really do each step."""

from __future__ import annotations

from tests.support import Api, make_people

__all__ = ["AGREE", "HISTORY", "RECORD", "Flow", "contact"]


def contact(**overrides) -> dict:
    body = {
        "received_at": "2026-11-24T09:30:00+00:00",
        "channel": "phone",
        "referrer": {
            "name": "Ann Teacher",
            "agency": "education",
            "role": "DSL",
            "phone": "01604 000000",
            "relationship": "teacher",
            "anonymous": False,
        },
        "child": {
            "first_name": "Jamie",
            "last_name": "Doe",
            "date_of_birth": "2016-04-01",
            "gender": "male",
            "address": "1 High Street",
        },
        "summary": "Bruise on the arm, unexplained.",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


RECORD = {
    "appendix_a_q1": "Unexplained bruising seen by the teacher.",
    "consent": "obtained",
    "consent_given_by": "Mother",
    "safety_scale": 5,
    "request_type": "service_request",
    "information_only": False,
    "red_criteria": [],
    "manager_attention_criteria": [],
}
HISTORY = {"confirmed_matches": [], "case_system_checks": [], "synopsis": "No previous involvement found."}
AGREE = {"manager_decision": "agree", "family_notification": "send"}


def prefilled(task: dict, data: dict | None) -> dict:
    fields = (task["form"]["schema"].get("properties") or {}).keys()
    known = {k: task["data"][k] for k in fields if task["data"].get(k) is not None}
    return {**known, **(data or {})}


class Flow:
    def __init__(self, client, **contact_overrides):
        make_people()
        self.api = Api(client)
        response = self.api.post("masho", "/api/v1/contacts", contact(**contact_overrides))
        assert response.status_code == 201, response.json
        self.contact = response.json
        self.instance_id = response.json["instance_id"]

    def ready(self, username: str) -> list[dict]:
        response = self.api.get(username, f"/api/v1/tasks?instance_id={self.instance_id}&include=form")
        assert response.status_code == 200, response.json
        return response.json

    def task(self, username: str, bpmn_id: str) -> dict:
        tasks = [t for t in self.ready(username) if t["bpmn_id"] == bpmn_id]
        assert tasks, f"{username} has no ready {bpmn_id}; case is waiting on {self.waiting()}"
        return tasks[0]

    def waiting(self) -> list[tuple[str, str]]:
        instance = self.api.get("auditor", f"/api/v1/instances/{self.instance_id}").json
        return [(t["bpmn_id"], t["role"]) for t in instance.get("ready_tasks", [])] or [("?", str(instance))]

    def do(self, username: str, bpmn_id: str, data: dict | None = None, status: int = 200) -> dict:
        """Complete a task as a form client would: the whole form, prefilled from the case, then edited."""
        task = self.task(username, bpmn_id)
        response = self.api.post(username, f"/api/v1/tasks/{task['id']}/complete", {"data": prefilled(task, data)})
        assert response.status_code == status, (bpmn_id, response.json)
        return response.json

    def instance(self) -> dict:
        return self.api.get("auditor", f"/api/v1/instances/{self.instance_id}").json

    def history(self) -> list[dict]:
        return self.api.get("auditor", f"/api/v1/instances/{self.instance_id}/history").json

    def intake(self, record: dict | None = None) -> None:
        self.do("masho", "record_contact", {**RECORD, **(record or {})})
        self.do("masho", "history_check", HISTORY)
