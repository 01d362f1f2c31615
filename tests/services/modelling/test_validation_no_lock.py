"""Issue 13, finding 1: validation never holds the database's write lock while it evaluates
author-written expressions. On SQLite every transaction is BEGIN IMMEDIATE (app.services.core.transaction),
so a validation inside one made every other user's sign-in wait and then fail.

Two kinds of test: every validation path evaluates with no transaction open (checked from inside the
evaluator), and, with events rather than timings, another user's write completes while a validation
is in the middle of evaluating."""

from __future__ import annotations

import json
import threading

import pytest

from app.engine.evaluator import RestrictedEvaluator
from app.extensions import db
from app.services.modelling import deployments, drafts, model_checks
from app.services.people import users
from tests.support import PASSWORD, Api, models_dir
from tests.support.flow import Flow

TESTS = "dmn/contact_routing.tests.json"


@pytest.fixture
def observed(monkeypatch):
    """Whether a transaction was open at each evaluation (a list of booleans)."""
    seen: list[bool] = []
    original = RestrictedEvaluator.evaluate

    def evaluate(self, source, names):
        seen.append(db.session().in_transaction())
        return original(self, source, names)

    monkeypatch.setattr(RestrictedEvaluator, "evaluate", evaluate)
    model_checks._cache.clear()  # validate for real, not from the per-content cache
    return seen


def renamed_examples(files: dict[str, bytes], suffix: str) -> bytes:
    """The same DMN table tests under other names: new content (so it is validated again), still passing."""
    examples = json.loads(files[TESTS])
    for example in examples:
        example["name"] = f"{example.get('name', 'example')} {suffix}"
    return json.dumps(examples).encode()


def manager(name: str):
    return users.get_by_username(name) or users.create_user(name, PASSWORD, ["service_manager"])


def test_api_validate_evaluates_with_no_transaction_open(client, observed):
    manager("sm1")
    api = Api(client)
    files = deployments.read_model_dir(models_dir())
    response = api.post("sm1", "/api/v1/deployments/validate", {TESTS: renamed_examples(files, "v").decode()})
    assert response.status_code == 200 and not [p for p in response.json if p["severity"] == "error"]
    assert observed and not any(observed)


def test_draft_checks_submit_and_approve_evaluate_with_no_transaction_open(ctx, observed):
    sm1, sm2 = manager("sm1"), manager("sm2")
    draft = drafts.create(sm1)
    files = drafts.draft_files(draft)
    draft = drafts.save_file(draft.id, TESTS, renamed_examples(files, "d"), draft.lock_version, sm1)
    assert not [p for p in drafts.validate(draft.id) if p.severity == "error"]
    assert observed and not any(observed)

    observed.clear()
    model_checks._cache.clear()
    draft = drafts.submit(draft.id, draft.lock_version, sm1)
    assert draft.status == "awaiting_approval"
    assert observed and not any(observed)

    observed.clear()
    model_checks._cache.clear()
    deployment = drafts.approve(draft.id, sm2, "fine", content_hash=draft.content_hash)
    assert deployment.version == 2
    assert observed and not any(observed)


def test_api_deploy_evaluates_with_no_transaction_open(client, observed):
    manager("sm1")
    files = deployments.read_model_dir(models_dir())
    response = Api(client).post("sm1", "/api/v1/deployments", {TESTS: renamed_examples(files, "p").decode()})
    assert response.status_code == 201, response.json
    assert observed and not any(observed)


def test_a_direct_deploy_evaluates_with_no_transaction_open(ctx, observed):
    files = deployments.read_model_dir(models_dir())
    files[TESTS] = renamed_examples(files, "cli")
    deployments.latest()  # a read first, as callers do: its transaction ends before the checks evaluate
    deployment, created = deployments.deploy(files, actor_name="tests")
    assert created and deployment.version == 2
    assert observed and not any(observed)


def test_what_if_evaluates_with_no_transaction_open(client, ctx, observed):
    flow = Flow(client)
    flow.intake()  # contact_routing decided and recorded once
    sm1 = manager("sm1")
    draft = drafts.create(sm1)
    source = drafts.draft_files(draft)["dmn/contact_routing.dmn"].decode()
    draft = drafts.save_file(
        draft.id,
        "dmn/contact_routing.dmn",
        source.replace("<text>request_type</text>", "<text>request_type + ''</text>", 1).encode(),
        draft.lock_version,
        sm1,
    )
    observed.clear()
    result = drafts.what_if(draft.id, "contact_routing")
    assert result.evaluated >= 1
    assert observed and not any(observed)


def test_validation_refuses_to_run_inside_a_unit_of_work_with_unsaved_changes(ctx):
    sm1 = manager("sm1")
    sm1.display_name = "changed but not saved"
    with pytest.raises(RuntimeError, match="before a unit of work"):
        model_checks.end_read_transaction()
    db.session.rollback()


def test_another_users_sign_in_completes_while_a_validation_is_evaluating(ctx, monkeypatch):
    """The validation thread stops inside its first evaluation until the sign-in has finished. If the
    validation held the write lock (SQLite: any open transaction), the sign-in could not write its token:
    it would fail after the busy timeout instead of succeeding here."""
    manager("sm1")
    make = Api(ctx.test_client())
    make.token("sm1")
    from tests.support import make_people

    make_people(["masho"])
    db.session.commit()
    db.session.remove()
    model_checks._cache.clear()

    evaluating, signed_in = threading.Event(), threading.Event()
    order: list[str] = []
    original = RestrictedEvaluator.evaluate

    def evaluate(self, source, names):
        if not evaluating.is_set():
            order.append("validation evaluating")
            evaluating.set()
            signed_in.wait(60)  # a safety net only: the sign-in sets it as soon as it returns
        return original(self, source, names)

    monkeypatch.setattr(RestrictedEvaluator, "evaluate", evaluate)
    files = deployments.read_model_dir(models_dir())
    body = {TESTS: renamed_examples(files, "t").decode()}
    outcome: dict = {}

    def validate():
        with ctx.app_context():
            client = ctx.test_client()
            response = client.post(
                "/api/v1/deployments/validate", json=body, headers={"Authorization": f"Bearer {make.tokens['sm1']}"}
            )
            outcome["validate"] = response.status_code
            order.append("validation finished")
            db.session.remove()

    thread = threading.Thread(target=validate)
    thread.start()
    try:
        assert evaluating.wait(120), "the validation never evaluated anything"
        response = ctx.test_client().post("/api/v1/auth/token", json={"username": "masho", "password": PASSWORD})
        order.append("sign-in finished")
        outcome["sign_in"] = response.status_code
    finally:
        signed_in.set()
        thread.join(120)
    assert outcome == {"sign_in": 200, "validate": 200}
    assert order == ["validation evaluating", "sign-in finished", "validation finished"]
