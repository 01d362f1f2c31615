"""Two people completing the same task at the same moment: one wins, the other gets a conflict."""

import json
import threading

import pytest
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import ProcessInstance
from app.services.cases import completion, contacts, persist, worklist
from app.services.core import history
from app.services.core.errors import Conflict
from app.services.modelling import deployments
from app.services.people import users
from tests.support import make_people, models_dir
from tests.support.flow import RECORD, contact

FULL_RECORD = {
    **RECORD,
    "child": contact()["child"],
    "referrer": contact()["referrer"],
    "summary": contact()["summary"],
}


def _start_case():
    make_people(["masho", "mgr"])
    masho = users.get_by_username("masho")
    body = contact()
    body["received_at"] = __import__("datetime").datetime.fromisoformat(body["received_at"])
    _, (instance,) = contacts.start_contact(masho, body)
    (task,) = [t for t in worklist.ready_tasks_for(masho, instance.id) if t.bpmn_id == "record_contact"]
    return instance.id, task.id


def test_simultaneous_completion_one_wins_one_conflicts(ctx):
    instance_id, task_id = _start_case()
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        with ctx.app_context():
            user = users.get_by_username("masho")
            db.session.commit()  # end the read: on SQLite every transaction holds the write lock
            barrier.wait()
            try:
                completion.complete_task(user, task_id, dict(FULL_RECORD))
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "ok"]
    completions = [e for e in history.for_instance(instance_id) if e.type == "task_completed"]
    assert len(completions) == 1


def test_stale_write_is_refused_and_changes_nothing(ctx):
    instance_id, task_id = _start_case()
    db.session.remove()
    other = Session(db.engine, expire_on_commit=False)
    stale = other.get(ProcessInstance, instance_id)
    other.commit()  # keep the row as read, release the connection
    completion.complete_task(users.get_by_username("masho"), task_id, dict(FULL_RECORD))
    stale.state = "{}"
    with pytest.raises(StaleDataError):
        other.commit()
    other.rollback()
    other.close()
    db.session.remove()
    assert db.session.get(ProcessInstance, instance_id).state != "{}"


def test_running_instances_stay_on_the_version_they_started_on(ctx, tmp_path):
    instance_id, _ = _start_case()
    files = deployments.read_model_dir(models_dir())
    schema = json.loads(files["forms/allocate.schema.json"])
    schema["title"] = "Allocate (v2)"
    files["forms/allocate.schema.json"] = json.dumps(schema).encode()
    deployment, created = deployments.deploy(files, actor_name="tests", note="retitle allocate")
    assert created and deployment.version == 2
    old = db.session.get(ProcessInstance, instance_id)
    assert persist.engine_host_version(old.deployment_id) == 1
    new_id, _ = _start_case()
    assert persist.engine_host_version(db.session.get(ProcessInstance, new_id).deployment_id) == 2
