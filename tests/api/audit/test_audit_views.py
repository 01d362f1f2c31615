"""Every API read of a case is in its history as `viewed` (who, which endpoint, no case content);
refused reads stay `access_denied`; the history records fields before → after and RAG changes."""

from __future__ import annotations

from app.extensions import db
from app.models import ProcessInstance
from app.services.audit import audit
from app.services.core import history
from app.services.core.transaction import unit_of_work
from tests.support.flow import RECORD, Flow


def test_every_api_read_of_a_case_is_recorded_as_a_view_with_ids_and_route_only(client):
    flow = Flow(client)
    flow.intake()
    with unit_of_work():  # as the front door's outcome would say: handed to DAAT
        row = db.session.get(ProcessInstance, flow.instance_id)
        row.case_data = {**row.case_data, "receiving_team": "daat"}
    before = max(e.id for e in history.for_instance(flow.instance_id))
    iid = flow.instance_id
    reads = [
        ("mgr", f"/api/v1/instances/{iid}", "instances.get"),
        ("auditor", f"/api/v1/instances/{iid}/history", "instances.history"),
        ("daat", f"/api/v1/instances/{iid}/handover", "instances.handover_package"),
        ("mgr", f"/api/v1/tasks?instance_id={iid}", "tasks.list_tasks"),
    ]
    for username, url, _ in reads:
        assert flow.api.get(username, url).status_code == 200
    assert flow.api.get("mgr", "/api/v1/tasks").status_code == 200  # a list: one list_viewed, on no case's chain
    events = [e for e in history.for_instance(iid) if e.id > before]
    views = [e for e in events if e.type == "viewed"]
    assert [(v.actor, v.detail["route"]) for v in views] == [(u, r) for u, _, r in reads]
    (listed,) = [e for e in audit.lists_naming([iid]) if e.id > before]
    assert listed.actor == "mgr" and listed.instance_id is None and listed.detail["instances"] == [iid]
    for view in views:
        assert set(view.detail) == {"route", "via"} and view.detail["via"] == "api"
    assert any(e.type == "disclosed" and e.actor == "daat" for e in events)  # the handover stays a disclosure too


def test_a_refused_read_is_recorded_as_denied_not_viewed(client):
    flow = Flow(client)
    assert flow.api.get("police", f"/api/v1/instances/{flow.instance_id}").status_code == 404
    history = flow.history()
    assert any(e["type"] == "access_denied" and e["actor"] == "police" for e in history)
    assert not any(e["type"] == "viewed" and e["actor"] == "police" for e in history)


def test_completing_a_task_is_not_a_view_but_the_fields_are_recorded_before_and_after(client):
    flow = Flow(client)
    flow.do("masho", "record_contact", {**RECORD, "safety_scale": 3})
    completed = next(e for e in flow.history() if e["type"] == "task_completed")
    assert completed["detail"]["values"]["safety_scale"] == 3
    assert completed["detail"]["before"]["safety_scale"] is None
    assert completed["detail"]["before"]["consent"] is None  # the contact left consent unrecorded
    views = [e for e in flow.history() if e["type"] == "viewed" and e["actor"] == "masho"]
    assert {v["detail"]["route"] for v in views} == {"tasks.list_tasks"}  # the task list read, not the completion


def test_a_rag_change_is_its_own_event(client):
    flow = Flow(client)
    flow.intake({"red_criteria": ["child_found_alone"]})
    rag = [e for e in flow.history() if e["type"] == "rag_changed"]
    assert rag and rag[-1]["detail"]["to"] == flow.instance()["rag"]


def test_the_api_gives_the_timeline_exports_and_break_glass(client):
    from app.services.people import users
    from tests.support import PASSWORD

    flow = Flow(client)
    flow.intake()
    iid = flow.instance_id
    timeline = flow.api.get("auditor", f"/api/v1/instances/{iid}/timeline")
    assert timeline.status_code == 200 and timeline.json[0]["label"] == "Started"
    completed = [e for e in timeline.json if e["type"] == "task_completed"]
    consent = {"field": "consent", "before": "(empty)", "after": "obtained", "restricted": False}
    assert consent in completed[0]["changes"]
    csv = flow.api.get("auditor", f"/api/v1/instances/{iid}/export?format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert flow.api.get("auditor", f"/api/v1/instances/{iid}/export?format=pdf").get_data().startswith(b"%PDF")
    assert flow.api.get("masho", f"/api/v1/instances/{iid}/timeline").status_code == 200  # works on the case
    assert flow.api.get("police", f"/api/v1/instances/{iid}/timeline").status_code == 404  # no part in it
    # break-glass over the API: MASH staff only, with a reason; then the service manager reviews it
    refused = flow.api.post("police", f"/api/v1/instances/{iid}/break-glass", {"reason": "Just curious"})
    assert refused.status_code == 404
    assert flow.api.get("ehdm", f"/api/v1/instances/{iid}").status_code == 404
    short = flow.api.post("ehdm", f"/api/v1/instances/{iid}/break-glass", {"reason": "urgent"})
    assert short.status_code == 422 and "reason" in short.json["details"]["errors"]
    opened = flow.api.post("ehdm", f"/api/v1/instances/{iid}/break-glass", {"reason": "Urgent call from the school"})
    assert opened.status_code == 201 and opened.json["needed"] and opened.json["grant"]["active"]
    assert flow.api.get("ehdm", f"/api/v1/instances/{iid}").status_code == 200
    users.create_user("sm", PASSWORD, ["service_manager"])
    (waiting,) = flow.api.get("sm", "/api/v1/break-glass").json["waiting"]
    assert waiting["user"] == "ehdm" and waiting["reason"] == "Urgent call from the school"
    reviewed = flow.api.post(
        "sm",
        f"/api/v1/break-glass/{waiting['event_id']}/review",
        {"outcome": "not_appropriate", "note": "Should have asked the allocated worker"},
    )
    assert reviewed.status_code == 200 and reviewed.json["review"]["outcome"] == "not_appropriate"
    assert flow.api.get("ehdm", "/api/v1/break-glass").status_code == 403
    types = [e["type"] for e in flow.api.get("auditor", f"/api/v1/instances/{iid}/timeline").json]
    assert types.count("exported") == 2 and "break_glass_opened" in types and "break_glass_reviewed" in types
