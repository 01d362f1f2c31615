"""Picking up a task is atomic: of many people picking it up at once exactly one holds it, the others
are told who does (409); completing a task someone else holds is refused, naming them."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from app.extensions import db
from app.models import TaskRecord
from app.services.audit import audit
from app.services.cases import completion, contacts, worklist
from app.services.core import history
from app.services.core.errors import Conflict
from app.services.people import users
from tests.support import PASSWORD, Api, make_people
from tests.support.flow import RECORD, contact
from tests.support.pages import Browser, soup

FULL_RECORD = {
    **RECORD,
    "child": contact()["child"],
    "referrer": contact()["referrer"],
    "summary": contact()["summary"],
}
PICKERS = [f"masho{n}" for n in range(6)]


def _start_case() -> tuple[int, str]:
    make_people(["masho", "mgr"])
    for name in PICKERS:
        users.create_user(name, PASSWORD, ["masho"], display_name=f"Worker {name[-1]}")
    body = contact()
    body["received_at"] = datetime.fromisoformat(body["received_at"])
    _, (instance,) = contacts.start_contact(users.get_by_username("masho"), body)
    (task,) = [
        t
        for t in worklist.ready_tasks_for(users.get_by_username("masho"), instance.id)
        if t.bpmn_id == "record_contact"
    ]
    return instance.id, task.id


def _race(ctx, actions) -> list[tuple[str, object]]:
    """Run each action in its own thread (own app context and session), all released at once."""
    db.session.remove()
    barrier = threading.Barrier(len(actions))
    outcomes: list[tuple[str, object]] = []

    def worker(action):
        with ctx.app_context():
            try:
                prepared = action[0]()
                db.session.commit()  # end the read: on SQLite every transaction holds the write lock
                barrier.wait()
                action[1](prepared)
                outcomes.append(("ok", action))
            except Conflict as err:
                outcomes.append(("conflict", err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_six_people_picking_up_one_task_at_once_exactly_one_holds_it(ctx):
    instance_id, task_id = _start_case()
    actions = [(lambda n=name: users.get_by_username(n), lambda u: worklist.claim(u, task_id)) for name in PICKERS]
    outcomes = _race(ctx, actions)
    assert sorted(o for o, _ in outcomes) == ["conflict"] * 5 + ["ok"]
    holder = db.session.get(TaskRecord, task_id).claimed_by
    holder_name = users.get_by_username(next(n for n in PICKERS if users.get_by_username(n).id == holder)).display_name
    for outcome, err in outcomes:
        if outcome == "conflict":
            assert err.status == 409 and holder_name in err.message and err.details == {"claimed_by": holder_name}
    claims = [e for e in history.for_instance(instance_id) if e.type == "task_claimed"]
    assert len(claims) == 1 and claims[0].actor_id == holder
    assert audit.verify_instance(instance_id) is None  # the chain `mash audit verify` checks is intact


def test_a_claim_and_a_completion_at_once_never_both_win(ctx):
    instance_id, task_id = _start_case()
    actions = [
        (lambda: users.get_by_username("masho0"), lambda u: worklist.claim(u, task_id)),
        (lambda: users.get_by_username("masho1"), lambda u: completion.complete_task(u, task_id, dict(FULL_RECORD))),
    ]
    outcomes = _race(ctx, actions)
    assert sorted(o for o, _ in outcomes) == ["conflict", "ok"]
    task = db.session.get(TaskRecord, task_id)
    claimed = [e for e in history.for_instance(instance_id) if e.type == "task_claimed"]
    if task.state == "completed":  # the completion won: nobody holds a finished task
        assert task.completed_by == users.get_by_username("masho1").id and not claimed
    else:  # the claim won: the completion was refused naming the holder
        assert task.claimed_by == users.get_by_username("masho0").id and len(claimed) == 1
        (err,) = [e for o, e in outcomes if o == "conflict"]
        assert "Worker 0" in err.message


def test_completing_a_task_someone_else_holds_is_refused_naming_them(ctx):
    _, task_id = _start_case()
    worklist.claim(users.get_by_username("masho0"), task_id)
    with pytest.raises(Conflict) as refused:
        completion.complete_task(users.get_by_username("masho1"), task_id, dict(FULL_RECORD))
    err = refused.value
    assert err.status == 409 and "Worker 0" in err.message and err.details["claimed_by"] == "Worker 0"
    assert db.session.get(TaskRecord, task_id).state == "ready"
    # a manager may still hand it over; then the new holder completes it
    worklist.assign(users.get_by_username("mgr"), task_id, "masho1")
    completion.complete_task(users.get_by_username("masho1"), task_id, dict(FULL_RECORD))
    assert db.session.get(TaskRecord, task_id).state == "completed"


def test_picking_up_again_is_harmless_and_a_finished_task_cannot_be_picked_up(ctx):
    instance_id, task_id = _start_case()
    me = users.get_by_username("masho0")
    worklist.claim(me, task_id)
    worklist.claim(me, task_id)
    assert len([e for e in history.for_instance(instance_id) if e.type == "task_claimed"]) == 1
    completion.complete_task(me, task_id, dict(FULL_RECORD))
    with pytest.raises(Conflict) as refused:
        worklist.claim(users.get_by_username("masho1"), task_id)
    assert "already been completed" in refused.value.message


def test_the_api_claim_gives_409_with_who_holds_it_and_completion_too(client):
    _, task_id = _start_case()
    make_people(["police"])
    api = Api(client)
    first = api.post("masho0", f"/api/v1/tasks/{task_id}/claim")
    assert first.status_code == 200 and first.json["id"] == task_id
    second = api.post("masho1", f"/api/v1/tasks/{task_id}/claim")
    assert second.status_code == 409
    assert second.json["error"] == "conflict" and "Worker 0" in second.json["message"]
    assert second.json["details"] == {"claimed_by": "Worker 0"}
    done = api.post("masho1", f"/api/v1/tasks/{task_id}/complete", {"data": FULL_RECORD})
    assert done.status_code == 409 and done.json["details"]["claimed_by"] == "Worker 0"
    assert api.post("police", f"/api/v1/tasks/{task_id}/claim").status_code == 403
    assert api.post("masho1", "/api/v1/tasks/no-such-task/claim").status_code == 404


def test_the_task_page_refuses_completing_a_task_someone_else_holds_naming_them(ctx):
    _, task_id = _start_case()
    worklist.claim(users.get_by_username("masho0"), task_id)
    browser = Browser(ctx)
    browser.sign_in("masho1")
    response = browser.post(f"/tasks/{task_id}", {"consent": "obtained"})
    assert response.status_code == 409 and "Worker 0" in soup(response).get_text()
    picked = browser.post(f"/tasks/{task_id}/claim", {}, csrf_url=f"/tasks/{task_id}")
    assert picked.status_code == 409 and "Worker 0" in soup(picked).get_text()
    assert db.session.get(TaskRecord, task_id).state == "ready"
