"""Restricted (x-sensitive) information on the case history: shown, marked, to auditors inside the
MASH; never in an export, never to partners through the history API or through break-glass."""

from __future__ import annotations

from app.services.audit import audit
from app.services.people import users
from tests.support import Api, make_people
from tests.support.firewall import CANARY, deploy_and_start
from tests.support.pages import Browser, soup


def _answered_case(client):
    make_people(["police", "auditor"])
    instance_id = deploy_and_start()
    api = Api(client)
    (task,) = [t for t in api.get("police", "/api/v1/tasks").json if t["instance_id"] == instance_id]
    answer = {
        "agency_response": {
            "information": "Two call-outs.",
            "sensitive_information": CANARY,
            "sensitive_holder": "DS Smith, PVP",
        }
    }
    assert api.post("police", f"/api/v1/tasks/{task['id']}/complete", {"data": answer}).status_code == 200
    return api, instance_id


def test_the_auditor_sees_restricted_information_marked_and_exports_leave_it_out(client, ctx):
    api, instance_id = _answered_case(client)
    browser = Browser(ctx, "auditor")
    page = soup(browser.get(f"/cases/{instance_id}/timeline"))
    row = next(r for r in page.select(".moj-timeline__item tbody tr") if "agency response" in r.th.get_text())
    assert CANARY in row.get_text() and "Restricted" in row.th.get_text()
    exported = browser.get(f"/cases/{instance_id}/timeline.csv").get_data(as_text=True)
    assert "Two call-outs." in exported and CANARY not in exported
    auditor = users.get_by_username("auditor")
    entries = audit.timeline(auditor, instance_id, for_export=True)["entries"]
    assert CANARY not in repr(entries)  # the PDF is built from these
    # the partner who gave it never reads the case or its history (issue 15: the firewall runs both ways)
    assert api.get("police", f"/api/v1/instances/{instance_id}/history").status_code == 404
    assert api.get("police", f"/api/v1/instances/{instance_id}/timeline").status_code == 404
