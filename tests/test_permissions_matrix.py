"""Every route (API and pages) × every role, anonymous, a partner of another agency and a receiving team
of another team, compared with the one permissions table (app/services/access/permissions.py).

Each route declares a capability. Role capabilities are answered by the table alone; rule capabilities
("case.read", "task.work", …) by the service's object-level rule on a seeded case, task, draft or
break-glass event, which the role does or does not work on. The answer's class is compared: allowed
(2xx, 3xx, 400, 409, 422) or denied (401, 403, 404, or a redirect to sign in).
"""

from __future__ import annotations

import json
import os
import re
from datetime import date

import pytest

from app.services.access import permissions
from app.services.core.roles import ROLES
from tests.support import PASSWORD, Api, make_people

ANONYMOUS = "anonymous"
# actor: (roles, agency, team)
ACTORS: dict[str, tuple[list[str], str | None, str | None]] = {
    **{
        f"as_{role}": (
            [role],
            "police" if role in ("partner", "partner_manager") else None,
            "daat" if role in ("receiving_team", "receiving_team_manager") else None,
        )
        for role in ROLES
    },
    "partner_other_agency": (["partner"], "health", None),
    "receiving_team_other_team": (["receiving_team"], None, "first_response"),
    ANONYMOUS: ([], None, None),
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Routes that change what later requests see run last, in this order (sign-out ends the session).
LAST = (
    "web.record_contact_cancel",
    "web.submit_draft",
    "web.approve_draft",
    "web.reject_draft",
    "web.discard_draft",
    "deployments.approve",
    "deployments.reject",
    "web.complete",
    "tasks.complete",
    "web.release",
    "web.signed_out",
    "web.session_expired",
    "web.sign_in",
    "web.sign_out",
    "auth.logout",
)
ALLOWED, DENIED = "allowed", "denied"
# Valid bodies where the API validates before the view runs (otherwise every role would get the same 422).
BODIES = {
    "audit_api.open_case": {"reason": "Checking a sibling's referral today"},
    "audit_api.review": {"outcome": "appropriate", "note": "Reason checked with the officer"},
    "deployments.approve": {"content_hash": "0" * 64},
    "deployments.reject": {"note": "Not yet"},
    "disputes.raise_dispute": {"disputed_decision": "The outcome", "position": "It needs a strategy discussion"},
    "tasks.complete": {"data": {}},
    "tasks.send_message": {"data": {}},
    "auth.token": {"username": "masho", "password": PASSWORD},
    "contacts.create": "contact",
}
PAIRS: list[int] = []
QUERIES = {"web.audit_open": "?case={instance_id}"}
# The seeded task has no earlier answer, no letter and no message to send: these answer 403/404 to
# everyone, whatever the rule.
NOT_THERE = {"web.earlier_answer", "web.task_letter_pdf", "tasks.send_message"}


def routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route, in an order that keeps state-changing ones last."""
    found = [
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods or ())
        if method in METHODS
    ]

    def order(item):
        endpoint, method, rule = item
        return (endpoint in LAST, LAST.index(endpoint) if endpoint in LAST else 0, method != "GET", rule)

    return sorted(found, key=order)


def test_every_route_declares_a_capability(app):
    undeclared = sorted(
        {
            f"{method} {rule} ({endpoint})"
            for endpoint, method, rule in routes(app)
            if permissions.capability_of(app.view_functions[endpoint], endpoint) is None
        }
    )
    assert undeclared == [], "declare with @permissions.requires(...): " + ", ".join(undeclared)
    declared = {permissions.capability_of(app.view_functions[e], e) for e, _, _ in routes(app)}
    assert declared <= set(permissions.CAPABILITIES), declared - set(permissions.CAPABILITIES)


def _seed(ctx, client) -> dict:
    """One case at its first task (the MASH officer's), a models draft, a break-glass event, a closure day."""
    from app.services.access import break_glass
    from app.services.cases import processes
    from app.services.modelling import calendar_admin, drafts
    from app.services.people import users
    from app.services.reporting import oversight

    make_people(["masho"])
    for name in ("seed_sm", "seed_dm"):
        if users.get_by_username(name) is None:
            users.create_user(name, PASSWORD, ["service_manager" if name == "seed_sm" else "decision_maker"])
    api = Api(client)
    from tests.support.flow import contact

    response = api.post("masho", "/api/v1/contacts", contact())
    assert response.status_code == 201, response.json
    instance_id = response.json["instance_id"]
    tasks = api.get("masho", f"/api/v1/tasks?instance_id={instance_id}").json
    sm, dm = users.get_by_username("seed_sm"), users.get_by_username("seed_dm")
    draft = drafts.create(sm)
    grant = break_glass.open_case(dm, instance_id, "Checking a sibling's referral today")
    calendar_admin.add_closure(date(2026, 12, 29), "Christmas closure", actor=sm)
    figures = oversight.dashboard(sm, oversight.parse_period({}))
    flat = [f for item in figures for f in (item if isinstance(item, list) else [item])]
    startable = sorted({p["id"] for role in ROLES for p in _startable(processes, users, role)})
    return {
        "instance_id": instance_id,
        "task_id": tasks[0]["id"],
        "earlier_id": tasks[0]["id"],
        "draft_id": draft.id,
        "event_id": grant.event_id,
        "day": "2026-12-29",
        "figure_id": flat[0].id,
        "process_id": startable[0] if startable else "front_door",
        "path": "processes/front_door.bpmn",
        "step": "child",
        "filename": "app.css",
    }


def _startable(processes, users, role):
    name = f"start_{role}"
    _, agency, team = ACTORS[f"as_{role}"]
    user = users.get_by_username(name) or users.create_user(name, PASSWORD, [role], agency=agency, team=team)
    return processes.startable(user)


def _url(rule: str, endpoint: str, seed: dict) -> str:
    def fill(match):
        name = match.group(2)
        if name == "draft_id" and endpoint.startswith("web.record_contact"):
            return "999999"  # a contact draft belongs to the web session that began it: nobody else's
        return str(seed[name])

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule)


def _oracle(user, capability: str, seed: dict) -> bool:
    """What the table (and, for rule capabilities, the object-level rule) says this user gets."""
    from app.extensions import db
    from app.models import ProcessInstance, TaskRecord
    from app.services.access import access, break_glass
    from app.services.audit import audit
    from app.services.cases import handover, processes

    if capability == permissions.PUBLIC:
        return True
    if user is None:
        return False
    if capability not in permissions.RULES:
        return permissions.allows(user, capability)
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, seed["instance_id"])
    task = db.session.get(TaskRecord, seed["task_id"])
    rule = {
        "case.find": lambda: permissions.allows(user, capability),
        "case.read": lambda: access.may_view(user, instance),
        "case.break_glass": lambda: access.may_view(user, instance) or break_glass.may_break_glass(user),
        "case.timeline": lambda: access.may_view(user, instance) and audit.may_read_timeline(user, instance.id),
        "case.handover": lambda: handover.may_receive(user, instance),
        "case.dispute": lambda: permissions.allows(user, "disputes.raise") and access.may_view(user, instance),
        "task.work": lambda: task is not None and access.may_work(user, task),
        "task.read": lambda: (
            task is not None and (access.may_work(user, task) or access.may_work_as_manager(user, task))
        ),
        "task.assign": lambda: (
            task is not None and permissions.allows(user, "tasks.assign") and access.may_work_as_manager(user, task)
        ),
        "task.release": lambda: (
            task is not None
            and (
                task.claimed_by == user.id
                or (permissions.allows(user, "tasks.assign") and access.may_work_as_manager(user, task))
            )
        ),
        "agency.answer": lambda: False,  # no partner has answered on the seeded case
        "process.start": lambda: seed["process_id"] in {p["id"] for p in processes.startable(user)},
        "draft.own": lambda: False,  # the contact draft id is nobody's
    }[capability]
    return bool(rule())


def _body(endpoint: str):
    from tests.support.flow import contact

    body = BODIES.get(endpoint, {})
    return contact() if body == "contact" else body


def _answer_class(response) -> str:
    status = response.status_code
    if 300 <= status < 400 and re.search(r"/(sign-in|session-expired)", response.headers.get("Location", "")):
        return DENIED
    if status in (401, 403, 404):
        return DENIED
    assert status < 500, f"server error {status}: {response.get_data(as_text=True)[:300]}"
    return ALLOWED


@pytest.mark.parametrize("actor", list(ACTORS))
def test_every_route_answers_as_the_permissions_table_says(ctx, actor):
    from app.services.people import users

    client = ctx.test_client()
    seed = _seed(ctx, client)
    user = None
    headers: dict[str, str] = {}
    web = ctx.test_client()
    if actor != ANONYMOUS:
        roles, agency, team = ACTORS[actor]
        user = users.create_user(actor, PASSWORD, roles, agency=agency, team=team)
        token = Api(client).token(actor)
        headers = {"Authorization": f"Bearer {token}"}
        csrf_page = web.get("/sign-in").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', csrf_page).group(1)
        signed = web.post("/sign-in", data={"username": actor, "password": PASSWORD, "csrf_token": csrf})
        assert signed.status_code == 302
    page = web.get("/account/name" if user else "/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    mismatches, observed = [], {}
    for endpoint, method, rule in routes(ctx):
        capability = permissions.capability_of(ctx.view_functions[endpoint], endpoint)
        url = _url(rule, endpoint, seed) + QUERIES.get(endpoint, "").format(**seed)
        expected = ALLOWED if endpoint not in NOT_THERE and _oracle(user, capability, seed) else DENIED
        if rule.startswith("/api/"):
            response = client.open(
                url, method=method, headers=headers, json=_body(endpoint) if method != "GET" else None
            )
        else:
            response = web.open(url, method=method, data={"csrf_token": csrf} if method != "GET" else None)
        got = _answer_class(response)
        observed[f"{method} {rule}"] = response.status_code
        if got != expected:
            mismatches.append(f"{method} {rule} [{capability}]: expected {expected}, got {response.status_code}")
    PAIRS.append(len(observed))
    record = os.environ.get("MASH_MATRIX_RECORD")  # a directory: each actor's observed statuses (for diffs)
    if record:
        with open(os.path.join(record, f"{actor}.json"), "w") as out:
            json.dump(observed, out, indent=1, sort_keys=True)
    print(f"{actor}: {len(observed)} route × role pairs checked (total so far {sum(PAIRS)})")
    assert mismatches == [], f"{actor}:\n" + "\n".join(mismatches)


def test_deny_records_access_denied_then_raises(ctx):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import HistoryEvent
    from app.services.core.errors import Forbidden, NotFound
    from app.services.people import users

    make_people(["police"])
    police = users.get_by_username("police")
    with pytest.raises(Forbidden):
        permissions.deny(police, "models.edit")
    with pytest.raises(NotFound, match="No such case"):
        permissions.deny(police, "view_instance", status=404, message="No such case", reason="firewall")
    db.session.rollback()  # what the caller was doing is gone; the refusals were kept (their own unit of work)
    events = db.session.execute(select(HistoryEvent).where(HistoryEvent.type == "access_denied")).scalars().all()
    assert [e.detail for e in events] == [{"action": "models.edit"}, {"action": "view_instance", "reason": "firewall"}]
    assert not permissions.allows(None, "signed_in") and permissions.allows(None, "public")
    assert permissions.allows(police, "signed_in") and not permissions.allows(police, "models.edit")
