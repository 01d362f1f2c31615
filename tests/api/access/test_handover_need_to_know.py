"""Issue 13 finding 2: the handover package follows the case's need-to-know, not the MASH firewall.

Before the fix every MASH-internal role read any case's package (child, address, referrer, the
partners' answers) while the case itself answered them 404.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import ProcessInstance
from app.services.core.transaction import unit_of_work
from app.services.people import users
from tests.support import PASSWORD
from tests.support.flow import Flow
from tests.support.pages import Browser

EXTRA = {"sm": ["service_manager"], "strategic": ["strategic_manager"], "ad": ["assistant_director"]}


@pytest.fixture
def case(client):
    flow = Flow(client)
    for name, roles in EXTRA.items():
        users.create_user(name, PASSWORD, roles)
    with unit_of_work():  # handed to DAAT, as the front door's outcome would say
        row = db.session.get(ProcessInstance, flow.instance_id)
        row.case_data = {**row.case_data, "receiving_team": "daat"}
    return flow


def _status(flow, username: str) -> int:
    return flow.api.get(username, f"/api/v1/instances/{flow.instance_id}/handover").status_code


@pytest.mark.parametrize("username", ["masho", "auditor", "daat", "daat_mgr"])
def test_those_who_may_see_the_case_receive_its_package(case, username):
    assert _status(case, username) == 200


@pytest.mark.parametrize("username", ["dm", "ehdm", "bs", "mgr", "ehmgr", "sm", "strategic", "ad", "fr", "police"])
def test_everyone_else_gets_404_as_for_the_case(case, username):
    assert case.api.get(username, f"/api/v1/instances/{case.instance_id}").status_code == 404
    assert _status(case, username) == 404


def test_a_refusal_is_recorded_and_names_no_content(case):
    assert _status(case, "ehdm") == 404
    events = case.api.get("auditor", f"/api/v1/instances/{case.instance_id}/history").json
    denied = [e for e in events if e["type"] == "access_denied" and e["actor"] == "ehdm"]
    assert denied and denied[-1]["detail"] == {"action": "handover"}


def test_mash_staff_get_it_with_break_glass_and_the_view_carries_the_reason(case):
    assert _status(case, "sm") == 404
    opened = case.api.post(
        "sm", f"/api/v1/instances/{case.instance_id}/break-glass", {"reason": "Checking the handover for a complaint"}
    )
    assert opened.status_code == 201 and opened.json["needed"] is True
    assert _status(case, "sm") == 200
    events = case.api.get("auditor", f"/api/v1/instances/{case.instance_id}/history").json
    (view,) = [
        e
        for e in events
        if e["type"] == "viewed" and e["actor"] == "sm" and e["detail"].get("route") == "instances.handover_package"
    ]
    assert view["detail"]["purpose"] == "Checking the handover for a complaint"


def test_partners_never_get_break_glass_or_the_package(case):
    response = case.api.post(
        "police", f"/api/v1/instances/{case.instance_id}/break-glass", {"reason": "I would like to see it please"}
    )
    assert response.status_code == 404
    assert _status(case, "police") == 404


def test_the_page_follows_the_same_rule(case, client):
    url = f"/cases/{case.instance_id}/handover"
    assert Browser(client.application, "masho").get(url).status_code == 200
    assert Browser(client.application, "daat").get(url).status_code == 200
    dm = Browser(client.application, "dm")
    assert dm.get(url).status_code == 404
    response = dm.post(f"/cases/{case.instance_id}/break-glass", {"reason": "Covering for a colleague today"})
    assert response.status_code == 302
    assert dm.get(url).status_code == 200
