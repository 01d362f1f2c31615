"""App. D 2.7 ("identified any other children living in the household ... recorded their details, and
made sure they are safe"), spec §3.1 and §11.10: siblings are real. Three children of one contact —
two named by the referrer, one the MASHO adds while recording — each get a case of their own at once,
linked to the contact; the referrer is acknowledged once for the contact; every page of each child's
case shows the household, with names and links only where the viewer may see that child's case."""

import pytest

from app.extensions import db
from app.models import HistoryEvent, ProcessInstance
from tests.support.flow import AGREE, HISTORY, RECORD, Flow, prefilled
from tests.support.pages import Browser, soup
from tests.support.stage1 import TRIAGE

pytestmark = pytest.mark.restart_between_steps  # every step as if on another worker (MASH_FRESH_BUNDLES)

JAMIE = {
    "first_name": "Jamie",
    "last_name": "Doe",
    "date_of_birth": "2016-04-01",
    "gender": "male",
    "address": "1 High Street",
}
MIA = {
    "first_name": "Mia",
    "last_name": "Doe",
    "date_of_birth": "2018-09-12",
    "gender": "female",
    "address": "1 High Street",
}
NOAH = {"first_name": "Noah", "last_name": "Doe", "date_of_birth": "2021-02-02", "gender": "male"}
OTHER_CHILDREN = [
    {**NOAH, "name": None, "action": "open_record", "reason": None, "address": None},
    {
        "name": "Ella Doe",
        "date_of_birth": "2009-06-30",
        "action": "not_needed",
        "reason": "Lives with her father in another county; no concerns raised",
    },
]


def _tasks(flow, username, instance_id):
    response = flow.api.get(username, f"/api/v1/tasks?instance_id={instance_id}&include=form")
    assert response.status_code == 200, response.json
    return response.json


def _do(flow, username, instance_id, bpmn_id, data, status=200):
    (task,) = [t for t in _tasks(flow, username, instance_id) if t["bpmn_id"] == bpmn_id]
    response = flow.api.post(username, f"/api/v1/tasks/{task['id']}/complete", {"data": prefilled(task, data)})
    assert response.status_code == status, (bpmn_id, response.json)
    return response.json


def _case(flow, username, instance_id):
    response = flow.api.get(username, f"/api/v1/instances/{instance_id}")
    return response


def _three_children(client):
    flow = Flow(client, child=None, children=[JAMIE, MIA])
    jamie, mia = flow.contact["instance_ids"]
    # a record needs a name for the child it opens
    _do(
        flow,
        "masho",
        jamie,
        "record_contact",
        {
            **RECORD,
            "other_children": [{"name": None, "first_name": "Noah", "last_name": None, "action": "open_record"}],
        },
        status=422,
    )
    _do(flow, "masho", jamie, "record_contact", {**RECORD, "other_children": OTHER_CHILDREN})
    rows = list(
        db.session.execute(
            db.select(ProcessInstance)
            .where(ProcessInstance.contact_id == flow.contact["contact_id"], ProcessInstance.process_id == "front_door")
            .order_by(ProcessInstance.id)
        ).scalars()
    )
    assert len(rows) == 3
    noah = rows[2].id
    return flow, jamie, mia, noah


def test_app_d_2_7_a_child_added_while_recording_gets_its_own_linked_case_at_once(client):
    flow, jamie, _mia, noah = _three_children(client)
    case = _case(flow, "masho", noah).json
    assert case["contact_id"] == flow.contact["contact_id"]
    assert case["data"]["child"] == {**NOAH, "address": "1 High Street"}  # the household's address
    assert case["data"]["received_at"] == _case(flow, "masho", jamie).json["data"]["received_at"]
    assert case["data"]["referrer"]["name"] == "Ann Teacher"
    assert [t["bpmn_id"] for t in _tasks(flow, "masho", noah)] == ["record_contact"]  # its own record, at once
    # audited: the new case says where it came from, and Jamie's case records the child it added
    started = db.session.execute(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == noah, HistoryEvent.type == "instance_started")
    ).scalar_one()
    assert started.detail["added_from_instance_id"] == jamie and started.detail["via"] == "contacts.add_children"
    added = db.session.execute(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == jamie, HistoryEvent.type == "child_added")
    ).scalar_one()
    assert added.detail == {"instance_id": noah, "contact_id": flow.contact["contact_id"]}
    # the child recorded as needing no record gets none
    names = [
        (r.case_data or {}).get("child", {}).get("first_name")
        for r in db.session.execute(
            db.select(ProcessInstance).where(ProcessInstance.contact_id == flow.contact["contact_id"])
        ).scalars()
    ]
    assert "Ella" not in names


def test_app_d_2_7_the_referrer_is_acknowledged_once_per_contact(client):
    flow, jamie, mia, noah = _three_children(client)
    for child in (mia, noah):
        _do(flow, "masho", child, "record_contact", RECORD)
    for child in (jamie, mia, noah):
        _do(flow, "masho", child, "history_check", HISTORY)
    acknowledgements = {
        child: [t for t in _tasks(flow, "bs", child) if t["bpmn_id"] == "send_acknowledgement"]
        for child in (jamie, mia, noah)
    }
    assert [len(acknowledgements[c]) for c in (jamie, mia, noah)] == [1, 0, 0]
    _do(
        flow,
        "bs",
        jamie,
        "send_acknowledgement",
        {"acknowledged_at": "2026-11-24T11:00:00+00:00", "acknowledgement_method": "phone"},
    )
    assert all(t["bpmn_id"] != "send_acknowledgement" for c in (jamie, mia, noah) for t in _tasks(flow, "bs", c))
    # every child still gets its own decision
    for child in (jamie, mia, noah):
        assert [t["bpmn_id"] for t in _tasks(flow, "mgr", child)] == ["allocate"]


def test_app_d_2_7_each_childs_pages_show_the_household_on_a_need_to_know_basis(client, ctx):
    flow, jamie, mia, noah = _three_children(client)
    for child in (mia, noah):
        _do(flow, "masho", child, "record_contact", RECORD)
    for child in (jamie, mia, noah):
        _do(flow, "masho", child, "history_check", HISTORY)
    # Jamie's case goes to First Response; Mia's and Noah's stay in the MASH
    _do(flow, "mgr", jamie, "allocate", {"allocate_to": "decision_maker"})
    _do(flow, "dm", jamie, "triage_social_care", {**TRIAGE, "threshold": "s17"})
    _do(flow, "mgr", jamie, "sign_off_social_care", {**AGREE, "agreed_rag": "GREEN"})

    # API: the MASHO (who opened all three) sees every child, named, from each child's case
    for child in (jamie, mia, noah):
        household = _case(flow, "masho", child).json["household"]
        assert [h["id"] for h in household] == [jamie, mia, noah]
        assert [h["name"] for h in household] == ["Jamie Doe", "Mia Doe", "Noah Doe"]
        assert [h["this"] for h in household] == [c == child for c in (jamie, mia, noah)]
    # the decision maker works only on Jamie: the other children are listed but not named
    household = _case(flow, "dm", jamie).json["household"]
    assert [(h["id"], h["may_view"], h["name"]) for h in household] == [
        (jamie, True, "Jamie Doe"),
        (mia, False, None),
        (noah, False, None),
    ]
    # the receiving team is outside the MASH: only what it may see
    assert _case(flow, "fr", jamie).json["household"] == []
    assert "Mia" not in _case(flow, "fr", jamie).get_data(as_text=True)

    # pages: the case page and a task page of each child show the household with links
    browser = Browser(ctx, "mgr")
    for child in (jamie, mia, noah):
        page = soup(browser.get(f"/cases/{child}"))
        section = page.find(id="household-heading").find_next("ul")
        links = {a.get_text(strip=True): a["href"] for a in section.find_all("a")}
        others = {jamie: "Jamie Doe", mia: "Mia Doe", noah: "Noah Doe"}
        assert links == {name: f"/cases/{c}" for c, name in others.items() if c != child}
        assert others[child] in section.get_text()
    task = next(t for t in _tasks(flow, "mgr", mia) if t["bpmn_id"] == "allocate")
    page = soup(browser.get(f"/tasks/{task['id']}"))
    section = page.find(id="household-heading").find_next("ul")
    assert {a.get_text(strip=True) for a in section.find_all("a")} == {"Jamie Doe", "Noah Doe"}
    # the decision maker's page names no child it has no part in
    dm = Browser(ctx, "dm")
    text = dm.get(f"/cases/{jamie}").get_data(as_text=True)
    assert "Mia Doe" not in text and "Noah Doe" not in text and "Another child of this contact" in text
    # the First Response practitioner's handover task page shows no sibling at all
    fr = Browser(ctx, "fr")
    handover = next(t for t in _tasks(flow, "fr", jamie) if t["bpmn_id"] == "handover")
    text = fr.get(f"/tasks/{handover['id']}").get_data(as_text=True)
    assert "Mia" not in text and "Noah" not in text


def test_app_d_2_7_a_child_already_on_the_contact_is_not_opened_twice(client):
    """App. D 2.7: when Mia's record names Noah (already opened from Jamie's), no second case is opened."""
    flow, _jamie, mia, noah = _three_children(client)
    _do(
        flow,
        "masho",
        mia,
        "record_contact",
        {
            **RECORD,
            "other_children": [{**NOAH, "name": None, "action": "open_record", "reason": None, "address": None}],
        },
    )
    rows = db.session.execute(
        db.select(ProcessInstance.id).where(
            ProcessInstance.contact_id == flow.contact["contact_id"], ProcessInstance.process_id == "front_door"
        )
    ).all()
    assert len(rows) == 3
    assert _case(flow, "masho", mia).json["data"]["sibling_records"] == [
        {"instance_id": noah, "first_name": "Noah", "last_name": "Doe", "existing": True}
    ]
