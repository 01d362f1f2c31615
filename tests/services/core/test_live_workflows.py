"""The engine host's live workflows (issue 17): a run continues from the workflow this worker committed last only
when that is the state the database holds, a run that does not commit keeps nothing, and a case another worker
changed is restored from the database and continues from there. LIVE_WORKFLOWS_VERIFY is on in the test
configuration, so every hit here is also checked against the stored state and a restore of it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from app.config import Config
from app.engine.live_workflows import LiveWorkflows
from app.extensions import db
from app.models import ProcessInstance
from app.services.cases import completion
from app.services.core import engine_host
from app.services.core.errors import Conflict
from app.services.core.transaction import after_commit, unit_of_work
from tests.support.flow import HISTORY, RECORD, Flow

# MASH_FRESH_BUNDLES=1: every run has its own freshly parsed bundle, so nothing is kept and every run restores
needs_cache = pytest.mark.skipif(Config.FRESH_BUNDLES, reason="MASH_FRESH_BUNDLES: every run restores by design")


def _cache() -> LiveWorkflows:
    return engine_host.live_cache()


def _counts() -> tuple[int, int]:
    return _cache().hits, _cache().misses


def _stored_state(instance_id: int) -> str:
    db.session.expire_all()
    return db.session.get_one(ProcessInstance, instance_id).state


@needs_cache
def test_each_completion_continues_from_the_workflow_the_last_commit_kept(client):
    flow = Flow(client)  # starting the case keeps its workflow
    assert flow.instance_id in _cache()
    hits, misses = _counts()
    flow.do("masho", "record_contact", RECORD)
    flow.do("masho", "history_check", HISTORY)
    assert _counts() == (hits + 2, misses)
    assert flow.instance_id in _cache()
    assert [t["bpmn_id"] for t in flow.ready("mgr")] == ["allocate"]


@needs_cache
def test_a_case_another_worker_changed_is_restored_from_the_database(client, monkeypatch):
    flow = Flow(client)
    flow.do("masho", "record_contact", RECORD)
    mine = _cache()
    assert flow.instance_id in mine
    # another worker (its own cache) completes the next step and commits
    monkeypatch.setattr(engine_host, "_live", LiveWorkflows(32))
    flow.do("masho", "history_check", HISTORY)
    monkeypatch.setattr(engine_host, "_live", mine)
    assert flow.instance_id in mine  # this worker still holds the state before that step
    hits, misses = _counts()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    assert _counts() == (hits, misses + 1)  # the text no longer matched: restored from the database
    assert [t["bpmn_id"] for t in flow.ready("dm")] == ["triage_social_care"]
    history = [e["bpmn_id"] for e in flow.history() if e["type"] == "task_completed"]
    assert history == ["record_contact", "history_check", "allocate"]


@needs_cache
def test_a_direct_update_of_the_state_is_a_miss(client):
    flow = Flow(client)
    state = _stored_state(flow.instance_id)
    same_content = json.dumps(json.loads(state), indent=1)  # what it says is unchanged; the text is not
    db.session.execute(
        text("UPDATE process_instances SET state = :state WHERE id = :id"),
        {"state": same_content, "id": flow.instance_id},
    )
    db.session.commit()
    hits, misses = _counts()
    flow.do("masho", "record_contact", RECORD)
    assert _counts() == (hits, misses + 1)
    flow.do("masho", "history_check", HISTORY)  # kept again after that commit
    assert _counts() == (hits + 1, misses + 1)


@needs_cache
def test_a_completion_that_fails_validation_keeps_nothing(client):
    flow = Flow(client)
    assert flow.instance_id in _cache()
    task = flow.task("masho", "record_contact")
    answer = flow.api.post("masho", f"/api/v1/tasks/{task['id']}/complete", {"data": {"no_such_field": 1}})
    assert answer.status_code == 422
    assert flow.instance_id not in _cache()  # taken by the failed run, dropped with its rollback
    hits, misses = _counts()
    flow.do("masho", "record_contact", RECORD)
    assert _counts() == (hits, misses + 1)
    assert flow.instance_id in _cache()


@needs_cache
def test_a_run_rolled_back_after_its_state_was_written_keeps_nothing(client, monkeypatch):
    flow = Flow(client)
    before = _stored_state(flow.instance_id)
    real = completion.persist_run

    def then_conflict(*args, **kwargs):
        real(*args, **kwargs)  # the state is dumped and offered to the cache...
        raise Conflict("someone else saved first")  # ...and the transaction rolls back

    monkeypatch.setattr(completion, "persist_run", then_conflict)
    flow.do("masho", "record_contact", RECORD, status=409)
    assert flow.instance_id not in _cache()
    assert _stored_state(flow.instance_id) == before
    monkeypatch.setattr(completion, "persist_run", real)
    hits, misses = _counts()
    flow.do("masho", "record_contact", RECORD)
    assert _counts() == (hits, misses + 1)
    assert [t["bpmn_id"] for t in flow.ready("masho")] == ["history_check"]


def test_fresh_bundles_always_restore(client):
    engine_host.use_fresh_bundles(True)
    try:
        flow = Flow(client)
        hits = _cache().hits
        flow.do("masho", "record_contact", RECORD)
        assert _cache().hits == hits and flow.instance_id not in _cache()
    finally:
        engine_host.use_fresh_bundles(Config.FRESH_BUNDLES)


def test_size_zero_turns_the_cache_off(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "LIVE_WORKFLOWS", 0)
    flow = Flow(client)
    hits = _cache().hits
    flow.do("masho", "record_contact", RECORD)
    assert _cache().hits == hits and len(_cache()) == 0


@needs_cache
def test_the_bound_comes_from_the_configuration(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "LIVE_WORKFLOWS", 1)
    first, second = Flow(client), Flow(client)
    assert first.instance_id not in _cache() and second.instance_id in _cache()


@needs_cache
def test_forget_all_empties_the_cache(client):
    flow = Flow(client)
    assert flow.instance_id in _cache()
    engine_host.forget_all()
    assert len(_cache()) == 0


def test_after_commit_runs_only_once_the_transaction_committed(ctx):
    ran: list[str] = []
    with unit_of_work():
        after_commit(lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]

    def failing_use_case() -> None:
        with unit_of_work():
            db.session.execute(text("SELECT 1"))
            after_commit(lambda: ran.append("rolled back"))
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        failing_use_case()
    with unit_of_work():
        pass
    assert ran == ["committed"]

    with unit_of_work():  # a caller's own rollback (timers.py does so) drops it too
        db.session.execute(text("SELECT 1"))
        after_commit(lambda: ran.append("rolled back by hand"))
        db.session.rollback()
        with unit_of_work():  # and a unit of work after it, inside the first, commits without it
            db.session.execute(text("SELECT 1"))
    assert ran == ["committed"]
