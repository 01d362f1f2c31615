"""An agency withholds parts of its own answer from the handover package (issue 5): the MASH still
sees everything, the receiving team does not get what was withheld, other agencies cannot touch it,
and once the package has gone it can no longer be changed."""

import json

from tests.support.pages import Browser, soup
from tests.support.stage2 import PARTNER_PASSWORD, partner_answer, request_agencies, to_stage2


def _through_stage2(client):
    flow = to_stage2(client)
    request_agencies(flow, ["police", "health"])
    police_task = flow.task("police", "partner_answer")["id"]
    flow.do("police", "partner_answer", partner_answer("Two domestic call-outs this year"))
    flow.do("nurse", "partner_answer", partner_answer("Health visitor: missed appointments"))
    return flow, police_task


def _finish(flow):
    flow.do(
        "dm",
        "stage2_collation",
        {
            "revised_rag": "RED",
            "rag_reason": "Police information",
            "recommended_outcome": "s47_strategy",
            "rationale": "Significant harm",
        },
    )
    flow.do("mgr", "stage2_review", {"manager_decision": "agree", "manager_comments": None})


def test_an_agency_withholds_part_of_its_answer_from_the_handover(app, client):
    flow, task_id = _through_stage2(client)
    police = Browser(app, "police")
    listing = soup(police.get("/agency/answers")).get_text(" ", strip=True)
    assert "Not yet sent" in listing
    url = f"/agency/answers/{task_id}"
    page = soup(police.get(url))
    assert "Neighbour reports shouting" in page.get_text()

    refused = police.post(url, {"facts": "1", "fields": "recommendation", "reason": ""})
    assert refused.status_code == 422
    assert "Enter why this must not go to the receiving team" in soup(refused).get_text()
    saved = police.post(url, {"facts": "1", "fields": "recommendation", "reason": "Protects a neighbour's identity"})
    assert saved.status_code == 302

    nurse = Browser(app)
    nurse.sign_in("nurse", PARTNER_PASSWORD)
    assert nurse.get(url).status_code == 403
    assert nurse.post(url, {"facts": "0", "reason": "x"}, csrf_url="/agency/answers").status_code == 403

    _finish(flow)
    assert "Neighbour reports shouting" in json.dumps(flow.instance())  # the MASH still sees it all
    package = flow.api.get("daat", f"/api/v1/instances/{flow.instance_id}/handover").json
    json.dumps(package)
    police_answer = next(r for r in package["package"]["agency_responses"] if r["agency"] == "police")
    assert [f["text"] for f in police_answer["information"]] == ["Two domestic call-outs this year"]
    assert "recommendation" not in police_answer and police_answer["withheld_by_agency"] is True
    health_answer = next(r for r in package["package"]["agency_responses"] if r["agency"] == "health")
    assert health_answer["recommendation"] == "Assessment" and len(health_answer["information"]) == 2
    events = [e for e in flow.history() if e["type"] == "answer_withheld_from_handover"]
    assert [(e["actor"], e["detail"]["facts"], e["detail"]["fields"]) for e in events] == [
        ("police", [1], ["recommendation"])
    ]

    # the package has gone: too late to change
    late = police.post(url, {"facts": "0", "reason": "Second thoughts"})
    assert late.status_code == 409
    form = _fields(soup(police.get(f"{url}/revise")))
    assert police.post(f"{url}/revise", form, csrf_url=url).status_code == 409
    assert "Sent" in soup(police.get("/agency/answers")).get_text()


def _fields(page) -> dict:
    """What a browser would post for the form on the page, as it stands."""
    values = {}
    for el in page.find("main").find_all(["input", "textarea"]):
        name = el.get("name")
        if not name or name == "csrf_token" or (el.get("type") == "radio" and not el.has_attr("checked")):
            continue
        values[name] = el.get_text() if el.name == "textarea" else el.get("value", "")
    return values


def test_an_agency_revises_its_answer_every_version_kept_and_the_decision_maker_alerted(app, client):
    flow, task_id = _through_stage2(client)
    police = Browser(app, "police")
    url = f"/agency/answers/{task_id}/revise"
    form = _fields(soup(police.get(url)))

    # an emptied required field: refused, nothing changed
    refused = police.post(url, {**form, "agency_response.analysis": ""})
    assert refused.status_code == 422 and "There is a problem" in soup(refused).get_text()

    # add the information still awaited (Add another without JavaScript, then fill it in)
    added = soup(police.post(url, {**form, "_action": "add:agency_response.awaiting"}))
    form = {
        **_fields(added),
        "agency_response.awaiting.0.from_name": "Ms Patel",
        "agency_response.awaiting.0.designation": "PVP sergeant",
        "agency_response.analysis": "Call-outs involve the father: risk to the child",
    }
    saved = police.post(url, form)
    assert saved.status_code == 302, soup(saved).get_text()[:800]

    case = flow.instance()
    police_answer = case["data"]["agency_responses"][0]
    assert police_answer["analysis"] == "Call-outs involve the father: risk to the child"
    assert police_answer["awaiting"][0]["from_name"] == "Ms Patel"
    events = flow.history()
    revised = [e for e in events if e["type"] == "answer_revised"]
    assert [(e["actor"], e["detail"]["version"]) for e in revised] == [("police", 2)]
    assert set(revised[0]["detail"]["fields"]) == {"analysis", "awaiting"}
    first = next(e for e in events if e["type"] == "task_completed" and e["actor"] == "police")
    assert first["detail"]["values"]["agency_response"]["analysis"].startswith("Two domestic")  # version 1 kept
    assert any(e["type"] == "alert_raised" and e["detail"]["role"] == "decision_maker" for e in events)

    dm = Browser(app, "dm")
    collation = soup(dm.get(f"/tasks/{flow.task('dm', 'stage2_collation')['id']}")).get_text(" ", strip=True)
    assert "revised (version 2) by police" in collation and "Ms Patel (PVP sergeant)" in collation
