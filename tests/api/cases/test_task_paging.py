"""GET /api/v1/tasks pages: limit and an opaque keyset cursor, Link rel=next and X-Total-Count, only the
tasks the caller may work on, forms by reference (inline with ?include=form), and one list event per call."""

from __future__ import annotations

import re
from datetime import timedelta

from app.extensions import db
from app.models import TaskRecord
from app.services.audit import audit
from app.services.core import history
from app.services.people import users
from tests.support import T0, make_people, seed_tasks
from tests.support.flow import Flow, contact
from tests.support.pages import Browser


def next_link(response) -> str | None:
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return match.group(1) if match else None


def _cases(client, n: int = 3) -> tuple[Flow, list[int]]:
    flow = Flow(client)
    ids = [flow.instance_id]
    for _ in range(n - 1):
        ids.append(flow.api.post("masho", "/api/v1/contacts", contact()).json["instance_id"])
    return flow, ids


def test_paging_through_250_tasks_returns_each_exactly_once_in_order(client):
    flow, ids = _cases(client)
    seed_tasks(ids, 247)
    seed_tasks(ids, 20, agency="police")  # not the caller's: never counted, never shown
    seed_tasks(ids, 5, team="daat")
    expected = {
        t.id for t in db.session.query(TaskRecord).filter_by(state="ready", role="masho", agency=None, team=None)
    }
    assert len(expected) == 250  # 247 seeded + the 3 cases' own record_contact tasks
    seen, pages, url = [], [], "/api/v1/tasks?limit=100"
    while url:
        response = flow.api.get("masho", url)
        assert response.status_code == 200, response.json
        assert response.headers["X-Total-Count"] == ("250" if not pages else "251")  # 251: the one added below
        pages.append(len(response.json))
        seen += response.json
        if len(pages) == 1:  # a task added before the cursor does not shift the later pages
            seed_tasks(ids, 1, due_at=T0 - timedelta(days=1))
        url = next_link(response)
    assert pages == [100, 100, 50]
    assert [t["id"] for t in seen if t["id"] in expected] == [t["id"] for t in seen]
    assert sorted(t["id"] for t in seen) == sorted(expected)
    keys = [(t["due_at"] is None, t["due_at"] or "") for t in seen]
    assert keys == sorted(keys)  # due first, no due time last


def test_the_next_link_keeps_the_filters_and_the_last_page_has_none(client):
    flow, ids = _cases(client)
    seed_tasks([ids[0]], 30)
    first = flow.api.get("masho", f"/api/v1/tasks?instance_id={ids[0]}&limit=20&include=form")
    assert first.headers["X-Total-Count"] == "31" and len(first.json) == 20
    link = next_link(first)
    assert f"instance_id={ids[0]}" in link and "include=form" in link and "limit=20" in link
    second = flow.api.get("masho", link)
    assert len(second.json) == 11 and next_link(second) is None and "Link" not in second.headers
    assert {t["instance_id"] for t in first.json + second.json} == {ids[0]}
    assert "schema" in second.json[0]["form"]
    assert flow.api.get("masho", "/api/v1/tasks").headers["X-Total-Count"] == "33"
    assert flow.api.get("police", "/api/v1/tasks").headers["X-Total-Count"] == "0"


def test_bad_limits_and_cursors_get_a_clear_4xx_never_a_500(client):
    flow, _ = _cases(client, 1)
    for query, field in (
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("limit=lots", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=" + "A" * 40, "cursor"),
        ("cursor=WzEsMiwzXQ", "cursor"),
        ("include=everything", "include"),
    ):
        response = flow.api.get("masho", f"/api/v1/tasks?{query}")
        assert response.status_code == 422, (query, response.status_code)
        assert response.json["error"] == "invalid" and field in response.json["details"]["errors"], response.json
    too_many = flow.api.get("masho", "/api/v1/tasks?limit=501").json["details"]["errors"]["limit"]
    assert "500" in " ".join(too_many)
    assert flow.api.get("masho", "/api/v1/tasks?limit=500").status_code == 200


def test_forms_come_by_reference_unless_included(client):
    flow, _ = _cases(client, 1)
    (task,) = flow.api.get("masho", "/api/v1/tasks").json
    assert task["form"] == {"name": "record_contact.schema.json", "href": f"/api/v1/tasks/{task['id']}/form"}
    form = flow.api.get("masho", task["form"]["href"])
    assert form.status_code == 200 and form.json["schema"]["properties"] and "ui_schema" in form.json
    (inline,) = flow.api.get("masho", "/api/v1/tasks?include=form").json
    assert inline["form"]["schema"] == form.json["schema"] and inline["form"]["ui_schema"] == form.json["ui_schema"]
    assert flow.api.get("police", task["form"]["href"]).status_code == 404  # not theirs to work
    assert not any(
        e.type == "viewed" and e.detail.get("route") == "tasks.task_form"
        for e in history.for_instance(flow.instance_id)
    )


def test_one_list_event_per_list_call_naming_the_cases_shown(client, ctx):
    flow, ids = _cases(client)
    seed_tasks(ids, 7)
    before = len(audit.lists_naming(ids))
    response = flow.api.get("masho", "/api/v1/tasks?limit=5")
    shown = sorted({t["instance_id"] for t in response.json})
    events = audit.lists_naming(ids)[before:]
    assert len(events) == 1
    (event,) = events
    assert event.type == "list_viewed" and event.instance_id is None and event.actor == "masho"
    assert event.detail["instances"] == shown
    assert event.detail["page"] == {"limit": 5, "cursor": None, "total": 10}
    assert event.detail["route"] == "tasks.list_tasks" and event.detail["via"] == "api"
    # the case's history shows the list among who saw it; the chains stay intact
    timeline = audit.timeline(users.get_by_username("auditor"), shown[0])
    listed = [e for e in timeline["entries"] if e.type == "list_viewed"]
    assert listed and listed[-1].actor == "masho" and listed[-1].label == "Seen in a list"
    assert timeline["chain_intact"] and not audit.verify().breaks
    make_people(["auditor"])
    page = Browser(ctx, "auditor").get(f"/cases/{shown[0]}/timeline").get_data(as_text=True)
    assert "Seen in a list" in page and "API: tasks" in page
    hidden = Browser(ctx, "auditor").get(f"/cases/{shown[0]}/timeline?views=hide").get_data(as_text=True)
    assert "Seen in a list" not in hidden
    assert "Seen in a list" in flow.api.get("auditor", f"/api/v1/instances/{shown[0]}/export?format=csv").get_data(
        as_text=True
    )
