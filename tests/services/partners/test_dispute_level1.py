"""Protocol §14 ("disputes ... discussed and resolved by the relevant Team Managers"), spec §7 and
§11.13: dispute level 1 is both sides — the MASH manager AND the manager on the other side (the
receiving_team_manager of the team, or the partner_manager of the agency, that raised the dispute or
is named in it). Whole cases through the API with the right person at each step."""

from datetime import timedelta

import pytest

from app.engine.clock import CLOCK
from app.services.core import timers
from app.services.people import users
from tests.support import PASSWORD
from tests.support.flow import AGREE, Flow
from tests.support.stage1 import TRIAGE
from tests.support.stage2 import to_stage2

pytestmark = pytest.mark.restart_between_steps  # every step as if on another worker (MASH_FRESH_BUNDLES)

MANAGERS = {  # username: (roles, agency, team)
    "fr_mgr": (["receiving_team_manager"], None, "first_response"),
    "daat_mgr2": (["receiving_team_manager"], None, "daat"),
    "police_mgr": (["partner_manager"], "police", None),
    "health_mgr": (["partner_manager"], "health", None),
    "edu_mgr": (["partner_manager"], "education", None),
    "sm": (["service_manager"], None, None),
}


def _managers():
    for username, (roles, agency, team) in MANAGERS.items():
        if users.get_by_username(username) is None:
            users.create_user(username, PASSWORD, roles, agency=agency, team=team)


def _raise(flow, username, **extra):
    response = flow.api.post(
        username,
        f"/api/v1/instances/{flow.instance_id}/disputes",
        {
            "disputed_decision": "s17 assessment rather than a strategy discussion",
            "position": f"{username}: the injuries meet the s47 threshold.",
            **extra,
        },
    )
    assert response.status_code == 201, response.json
    return response.json["dispute_instance_id"]


def _tasks(flow, username, dispute_id):
    response = flow.api.get(username, f"/api/v1/tasks?instance_id={dispute_id}")
    assert response.status_code == 200, response.json
    return response.json


def _dispute(flow, dispute_id):
    return flow.api.get("auditor", f"/api/v1/instances/{dispute_id}").json


def _complete(flow, username, task, data, status=200):
    response = flow.api.post(username, f"/api/v1/tasks/{task['id']}/complete", {"data": data})
    assert response.status_code == status, response.json
    return response.json


def _handed_to_first_response(client):
    flow = Flow(client)
    _managers()
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})
    assert flow.task("fr", "handover")
    return flow


def test_s14_a_receiving_team_dispute_goes_to_the_mash_manager_and_that_teams_manager(client):
    """§14: raised by the First Response practitioner, level 1 is the MASH manager and the First
    Response team manager (not another team's manager); it is resolved only when both sides say so."""
    flow = _handed_to_first_response(client)
    dispute = _raise(flow, "fr")
    (mash,) = _tasks(flow, "mgr", dispute)
    (team,) = _tasks(flow, "fr_mgr", dispute)
    assert (mash["bpmn_id"], mash["role"]) == ("resolve_level_1", "mash_manager")
    assert (team["bpmn_id"], team["role"], team["team"]) == (
        "resolve_level_1_team",
        "receiving_team_manager",
        "first_response",
    )
    assert mash["due_at"] == team["due_at"]  # both sides have the same two working hours
    assert _tasks(flow, "daat_mgr2", dispute) == [] and _tasks(flow, "police_mgr", dispute) == []
    # the other team's manager cannot answer for First Response
    _complete(flow, "daat_mgr2", team, {"resolved": True, "resolution": "x"}, status=403)

    # the MASH side agrees first: the level waits for the other side
    _complete(
        flow,
        "mgr",
        mash,
        {
            "resolved": True,
            "resolution": "Strategy discussion today.",
            "other_position": "MASH accepts the threshold is met.",
        },
    )
    data = _dispute(flow, dispute)
    assert data["status"] == "running" and data["data"]["level"] == 1
    _complete(
        flow,
        "fr_mgr",
        team,
        {
            "resolved": True,
            "resolution": "Agreed: strategy discussion today.",
            "other_position": "First Response agrees.",
        },
    )
    data = _dispute(flow, dispute)
    assert data["status"] == "completed"
    facts = data["data"]
    assert (facts["outcome"], facts["resolved_level"]) == ("resolved", 1)
    assert facts["resolution"] == "Strategy discussion today."
    assert [(p["level"], p["role"]) for p in facts["positions"]] == [
        (0, "receiving_team"),
        (1, "mash_manager"),
        (1, "receiving_team_manager"),
    ]
    assert facts["level_1_result"]["other"]["resolution"] == "Agreed: strategy discussion today."


def test_s14_a_partner_dispute_goes_to_that_agencys_manager_and_one_side_can_escalate_at_once(client):
    """§14: raised by a police officer, level 1 is the MASH manager and the police partner manager (not
    health's); when the MASH side records it is not resolved, the police manager's task is withdrawn and
    the service managers have it at once (level 2)."""
    _managers()
    flow = to_stage2(client)
    flow.do(
        "dm",
        "stage2_request",
        {
            "agencies": ["police", "health"],
            "request_details": "Is the family known?",
            "agency_reasons": [
                {"agency": "police", "reason": "Domestic abuse history"},
                {"agency": "health", "reason": "Missed appointments"},
            ],
        },
    )
    dispute = _raise(flow, "police")
    (agency,) = _tasks(flow, "police_mgr", dispute)
    assert (agency["bpmn_id"], agency["role"], agency["agency"]) == (
        "resolve_level_1_agency",
        "partner_manager",
        "police",
    )
    assert _tasks(flow, "health_mgr", dispute) == [] and _tasks(flow, "fr_mgr", dispute) == []
    (mash,) = _tasks(flow, "mgr", dispute)
    _complete(flow, "mgr", mash, {"resolved": False, "other_position": "MASH stands by Stage 2 first."})
    assert _tasks(flow, "police_mgr", dispute) == []  # withdrawn
    (level2,) = _tasks(flow, "sm", dispute)
    assert level2["bpmn_id"] == "resolve_level_2"
    facts = _dispute(flow, dispute)["data"]
    assert facts["level"] == 2 and facts["levels"][0]["ended_by"] == "not_resolved"
    withdrawn = [
        e for e in flow.api.get("auditor", f"/api/v1/instances/{dispute}/history").json if e["type"] == "task_withdrawn"
    ]
    assert [e["bpmn_id"] for e in withdrawn] == ["resolve_level_1_agency"]


def test_s14_a_named_agency_joins_level_1_and_silence_on_one_side_escalates_by_itself(client):
    """§14 / spec §7: a MASH manager's dispute naming education brings in the education partner manager;
    the MASH side agrees but education never answers, so after two working hours the dispute goes to
    level 2 by itself (time limit) with what each side said kept."""
    flow = _handed_to_first_response(client)
    refused = flow.api.post(
        "mgr",
        f"/api/v1/instances/{flow.instance_id}/disputes",
        {"disputed_decision": "x", "position": "y", "named_agency": "carrier_pigeons"},
    )
    assert refused.status_code == 422
    dispute = _raise(flow, "mgr", named_agency="education")
    (agency,) = _tasks(flow, "edu_mgr", dispute)
    assert agency["agency"] == "education"
    assert _tasks(flow, "fr_mgr", dispute) == []  # the named agency is the other side, not the case's team
    (mash,) = _tasks(flow, "mgr", dispute)
    _complete(flow, "mgr", mash, {"resolved": True, "resolution": "Keep s17.", "other_position": "s17 is right."})
    CLOCK.advance(timedelta(hours=2, minutes=1))
    assert timers.fire_due() == 1
    flow.api.tokens.clear()
    assert _tasks(flow, "edu_mgr", dispute) == []
    (level2,) = _tasks(flow, "sm", dispute)
    assert level2["bpmn_id"] == "resolve_level_2"
    facts = _dispute(flow, dispute)["data"]
    assert facts["levels"][0]["ended_by"] == "time_limit"
    assert facts["level_1_result"]["mash"]["resolved"] is True and facts["level_1_result"]["other"] == {}


def test_s14_a_mash_dispute_about_a_handed_over_case_brings_in_the_receiving_teams_manager(client):
    """§14: with no team or agency named, a MASH manager's dispute about a case already with a receiving
    team has that team's manager on the other side."""
    flow = _handed_to_first_response(client)
    assert flow.instance()["data"]["receiving_team"] == "first_response"
    dispute = _raise(flow, "mgr")
    (team,) = _tasks(flow, "fr_mgr", dispute)
    assert team["team"] == "first_response"


def test_s14_the_case_page_raises_a_dispute_naming_the_other_side(client, ctx):
    """§14 on the case page: the MASH manager names the team the dispute is with; its manager joins level 1."""
    from tests.support.pages import Browser

    flow = _handed_to_first_response(client)
    browser = Browser(ctx, "mgr")
    response = browser.post(
        f"/cases/{flow.instance_id}/disputes",
        {"disputed_decision": "s17 rather than s47", "position": "The injuries meet s47.", "with_whom": "team:daat"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    (dispute,) = [d["id"] for d in flow.api.get("auditor", "/api/v1/disputes").json]
    (team,) = _tasks(flow, "daat_mgr2", dispute)
    assert team["team"] == "daat" and _tasks(flow, "fr_mgr", dispute) == []
