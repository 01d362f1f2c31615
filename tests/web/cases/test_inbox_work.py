"""The inbox as a MASH team works it (issue 14 item 7): a task returned by the manager's challenge says so
and goes back to whoever did it; the manager may allocate to a named decision maker (task property
`assignTo`, the allocate form's people from `x-options-source`); "Assign to" lists everyone who holds
the task's role; the inbox searches by the child's name (tolerant) or the case's reference, and keeps the
search in its paging links without ever recording what was typed."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from app.extensions import db
from app.models import Contact, ProcessInstance, TaskRecord, User
from app.services.audit import audit
from app.services.cases import contacts
from app.services.core.transaction import unit_of_work
from app.services.people import users
from tests.api.cases.test_stage1_routes import TRIAGE
from tests.support import PASSWORD, make_people, seed_tasks
from tests.support.flow import RECORD, Flow
from tests.support.pages import Browser, soup

RETURNED = "Returned by the manager"


def _to_allocate(client, **contact_overrides) -> Flow:
    flow = Flow(client, **contact_overrides)
    flow.intake(RECORD)
    return flow


def _rows(page) -> list[dict]:
    """The inbox table as text: task, tag, child, who holds it (or a Pick up button)."""
    found = []
    for row in page.select("tbody tr"):
        cells = row.select("td")
        tag = cells[0].select_one(".govuk-tag")
        found.append(
            {
                "task": cells[0].select_one("a").get_text(strip=True),
                "tag": tag.get_text(strip=True) if tag else None,
                "href": cells[0].select_one("a")["href"],
                "child": cells[1].get_text(strip=True),
                "held_by": cells[-1].get_text(" ", strip=True),
            }
        )
    return found


def _holder(task_id: str) -> str | None:
    db.session.expire_all()
    held = db.session.get(TaskRecord, task_id).claimed_by
    return db.session.get(User, held).username if held else None


def test_a_task_returned_by_the_managers_challenge_is_tagged_and_goes_back_to_whoever_did_it(client, ctx):
    flow = _to_allocate(client)
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    first = flow.task("dm", "triage_social_care")
    dm = Browser(ctx, "dm")
    (row,) = [r for r in _rows(soup(dm.get("/inbox"))) if r["href"] == f"/tasks/{first['id']}"]
    assert row["tag"] is None and "Pick up" in row["held_by"]  # new and unassigned: nobody was named
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    flow.do("mgr", "sign_off_social_care", {"manager_decision": "challenge", "manager_comments": "Look again"})
    again = flow.task("dm", "triage_social_care")
    assert again["id"] != first["id"] and _holder(again["id"]) == "dm"  # back with the decision maker who triaged
    mine = _rows(soup(dm.get("/inbox?view=mine")))
    assert [(r["task"], r["tag"]) for r in mine] == [("Triage (social care)", RETURNED)]
    assert not [r for r in _rows(soup(dm.get("/inbox?view=unclaimed"))) if r["href"] == f"/tasks/{again['id']}"]
    page = soup(dm.get(f"/tasks/{again['id']}"))
    assert page.select_one("h1 .govuk-tag").get_text(strip=True) == RETURNED
    assigned = [e for e in flow.history() if e["type"] == "task_assigned"]
    assert assigned[-1]["detail"] == {"assignee": "dm", "via": "assignTo"} and assigned[-1]["actor"] == "mgr"
    # agreed the second time: no triage is open, and the tag went with it
    flow.do("dm", "triage_social_care", {**TRIAGE, "threshold": "s17"})
    assert flow.task("mgr", "sign_off_social_care")
    assert not [r for r in _rows(soup(Browser(ctx, "mgr").get("/inbox"))) if r["tag"]]


def test_the_manager_allocates_to_a_named_decision_maker_and_it_is_in_their_mine_view(client, ctx):
    flow = _to_allocate(client)
    make_people(["dm", "dm2", "ehdm", "mgr_dm"])
    allocate = flow.task("mgr", "allocate")
    mgr = Browser(ctx, "mgr")
    page = soup(mgr.get(f"/tasks/{allocate['id']}"))
    select = page.select_one("select[name=allocated_decision_maker]")
    assert select is not None, "the allocate form offers a named decision maker"
    offered = {o["value"]: o.get_text(strip=True) for o in select.select("option")}
    assert {"", "dm", "dm2", "ehdm", "mgr_dm"} <= set(offered) and "mgr" not in offered and "masho" not in offered
    assert "Early Help decision maker" in offered["ehdm"]
    refused = mgr.post(
        f"/tasks/{allocate['id']}",
        {"allocate_to": "decision_maker", "allocated_decision_maker": "masho", "allocation_notes": ""},
    )
    assert refused.status_code == 422  # only someone offered may be named
    done = mgr.post(
        f"/tasks/{allocate['id']}",
        {"allocate_to": "decision_maker", "allocated_decision_maker": "dm2", "allocation_notes": ""},
    )
    assert done.status_code == 302, soup(done).get_text(" ", strip=True)[:400]
    triage = flow.task("dm2", "triage_social_care")
    assert _holder(triage["id"]) == "dm2"
    mine = _rows(soup(Browser(ctx, "dm2").get("/inbox?view=mine")))
    assert [r["href"] for r in mine] == [f"/tasks/{triage['id']}"]
    dm = Browser(ctx, "dm")
    (row,) = [r for r in _rows(soup(dm.get("/inbox"))) if r["href"] == f"/tasks/{triage['id']}"]
    dm2_name = users.get_by_username("dm2").display_name
    assert row["held_by"] == dm2_name  # claimed: no Pick up button for the others
    assert not _rows(soup(dm.get("/inbox?view=unclaimed")))
    assert not _rows(soup(dm.get("/inbox?view=mine")))
    assert any(e["type"] == "task_assigned" and e["detail"].get("assignee") == "dm2" for e in flow.history())


def test_the_case_file_shows_the_named_decision_maker_by_name(client, ctx):
    flow = _to_allocate(client)
    users.create_user("dm_named", PASSWORD, ["decision_maker"], display_name="Nadia Named")
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker", "allocated_decision_maker": "dm_named"})
    text = (
        soup(Browser(ctx, "mgr").get(f"/cases/{flow.instance_id}")).select_one("#case-file").get_text(" ", strip=True)
    )
    assert "Nadia Named" in text and "dm_named" not in text and "Dm named" not in text


def test_a_named_person_who_cannot_do_the_task_leaves_it_in_the_shared_inbox(client, ctx):
    flow = _to_allocate(client)
    make_people(["dm", "ehdm"])
    flow.do("mgr", "allocate", {"allocate_to": "eh_decision_maker", "allocated_decision_maker": "dm"})
    triage = flow.task("ehdm", "triage_early_help")
    assert _holder(triage["id"]) is None


def test_assign_to_lists_everyone_who_holds_the_tasks_role(client, ctx):
    flow = _to_allocate(client)
    make_people(["dm", "dm2", "ehdm", "mgr_dm", "mgr2"])
    users.create_user("dm_left", PASSWORD, ["decision_maker"], display_name="Left Already")
    with unit_of_work():
        users.get_by_username("dm_left").active = False
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    triage = flow.task("dm", "triage_social_care")
    page = soup(Browser(ctx, "mgr").get(f"/tasks/{triage['id']}"))
    offered = [o["value"] for o in page.select("select#assignee option")]
    assert sorted(offered) == ["dm", "dm2", "mgr_dm"]  # every decision maker, the manager who is one too; nobody else
    allocate_like = soup(Browser(ctx, "mgr2").get(f"/tasks/{triage['id']}"))
    assert sorted(o["value"] for o in allocate_like.select("select#assignee option")) == ["dm", "dm2", "mgr_dm"]


def test_the_inbox_finds_a_child_by_a_misspelt_name_or_by_reference_and_keeps_the_search(client, ctx):
    jamie = _to_allocate(client)
    sam = Flow(
        client,
        child={
            "first_name": "Samira",
            "last_name": "Khan",
            "date_of_birth": "2015-02-03",
            "gender": "female",
            "address": "2 Low Road",
        },
    )
    sam.intake(RECORD)
    mgr = Browser(ctx, "mgr")

    def children(url):
        page = soup(mgr.get(url))
        return {r["child"] for r in _rows(page)}, page

    assert children("/inbox")[0] == {"Jamie Doe", "Samira Khan"}
    for typed in ("Jamie Doe", "jamy doe", "Doe", "Jamie", "DOE, Jamie"):
        found, page = children(f"/inbox?q={typed}")
        assert found == {"Jamie Doe"}, typed
        assert page.select_one("input#q")["value"] == typed  # what was typed is kept
    instance = db.session.get(ProcessInstance, sam.instance_id)
    reference = contacts.reference(db.session.get(Contact, instance.contact_id))
    assert children(f"/inbox?q={reference}")[0] == {"Samira Khan"}
    assert children(f"/inbox?q={reference.lower().replace('-', ' ')}")[0] == {"Samira Khan"}
    assert children(f"/inbox?q={sam.instance_id}")[0] == {"Samira Khan"}
    wrong_day = reference.replace(reference[5:13], "20200101")
    none, page = children(f"/inbox?q={wrong_day}")
    assert none == set() and "no tasks here that match this search" in page.get_text()
    assert children("/inbox?q=Nobody Atall")[0] == set()
    # the search stays in the paging links, the view links and with the filters
    seed_tasks([jamie.instance_id], 60, role="mash_manager", bpmn_id="allocate", title="Allocate")
    page = soup(mgr.get("/inbox?q=jamy+doe&sort=rag"))
    assert "Page 1 of 2" in page.select_one("caption").get_text()
    query = parse_qs(urlparse(page.select_one(".govuk-pagination__next a")["href"]).query)
    assert query["q"] == ["jamy doe"] and query["page"] == ["2"] and query["sort"] == ["rag"]
    second = soup(mgr.get(page.select_one(".govuk-pagination__next a")["href"]))
    assert {r["child"] for r in _rows(second)} == {"Jamie Doe"}
    views = {a.get_text(strip=True): a["href"] for a in page.select("nav[aria-label='Inbox views'] a")}
    assert parse_qs(urlparse(views["Mine"]).query)["q"] == ["jamy doe"]


def test_a_search_is_never_recorded_only_the_cases_shown(client, ctx):
    jamie = _to_allocate(client)
    other = Flow(client, child={"first_name": "Samira", "last_name": "Khan", "date_of_birth": "2015-02-03"})
    before = len(audit.lists_naming([jamie.instance_id, other.instance_id]))
    Browser(ctx, "mgr").get("/inbox?q=Jamie+Doe")
    (event,) = audit.lists_naming([jamie.instance_id, other.instance_id])[before:]
    assert event.detail["instances"] == [jamie.instance_id]
    assert "jamie" not in str(event.detail).lower() and "doe" not in str(event.detail).lower()


def test_the_api_claims_a_task_the_allocation_names_too(client):
    flow = _to_allocate(client)
    make_people(["dm", "dm2"])
    allocate = flow.task("mgr", "allocate")
    people = {o.get("const") for o in allocate["form"]["schema"]["properties"]["allocated_decision_maker"]["oneOf"]}
    assert {"dm", "dm2", None} <= people | {None}
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker", "allocated_decision_maker": "dm"})
    triage = flow.task("dm", "triage_social_care")
    claimed = flow.api.post("dm2", f"/api/v1/tasks/{triage['id']}/claim")
    assert (
        claimed.status_code == 409 and claimed.json["details"]["claimed_by"] == users.get_by_username("dm").display_name
    )
