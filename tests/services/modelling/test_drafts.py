"""Drafts: edit a working copy, see every problem, two-person publishing, what-if on decisions."""

from __future__ import annotations

import pytest

from app.services.core.errors import Conflict, Forbidden, Invalid
from app.services.modelling import deployments, drafts
from app.services.people import users
from tests.support import models_dir
from tests.support.drafts import AMBER_NEW, AMBER_OLD, RAG, amber_tests_updated, edit, manager
from tests.support.flow import Flow


@pytest.fixture
def sm(ctx):
    return manager("sm1")


@pytest.fixture
def sm2(ctx):
    return manager("sm2")


def test_a_draft_is_a_copy_of_the_newest_version(sm):
    draft = drafts.create(sm)
    assert draft.status == "editing" and draft.base_version == 1
    assert drafts.draft_files(draft) == deployments.read_model_dir(models_dir())
    assert [p for p in drafts.validate(draft.id) if p.severity == "error"] == []
    assert drafts.diff_summary(draft.id) == []


def test_only_service_managers_create_drafts(ctx):
    from tests.support import make_people

    make_people(["mgr"])
    with pytest.raises(Forbidden):
        drafts.create(users.get_by_username("mgr"))


def test_two_managers_saving_the_same_draft_get_a_conflict_not_a_lost_change(sm, sm2):
    draft = drafts.create(sm)
    seen_by_both = draft.lock_version
    drafts.save_file(draft.id, "forms/extra.schema.json", b'{"type": "object"}', seen_by_both, sm)
    with pytest.raises(Conflict) as err:
        drafts.save_file(draft.id, "forms/extra.schema.json", b'{"type": "string"}', seen_by_both, sm2)
    assert err.value.status == 409
    assert drafts.draft_files(drafts.get(draft.id))["forms/extra.schema.json"] == b'{"type": "object"}'


@pytest.mark.parametrize(
    "path", ["../etc/passwd", "processes/a/b.bpmn", "scripts/x.py", "processes/x.txt", "forms/.json"]
)
def test_bad_file_names_are_refused(sm, path):
    draft = drafts.create(sm)
    with pytest.raises(Invalid) as err:
        drafts.save_file(draft.id, path, b"{}", draft.lock_version, sm)
    assert err.value.status == 422


def test_files_can_be_added_and_deleted(sm):
    draft = drafts.create(sm)
    draft = drafts.save_file(draft.id, "forms/extra.schema.json", b'{"type": "object"}', draft.lock_version, sm)
    assert "forms/extra.schema.json" in drafts.draft_files(draft)
    assert "forms/extra.schema.json: new file" in drafts.diff_summary(draft.id)
    draft = drafts.delete_file(draft.id, "forms/extra.schema.json", draft.lock_version, sm)
    assert "forms/extra.schema.json" not in drafts.draft_files(draft)


def test_publishing_needs_a_second_service_manager_and_records_who_and_what(sm, sm2):
    draft = drafts.create(sm)
    draft = edit(draft, RAG, AMBER_OLD, AMBER_NEW, sm)
    problems = [p for p in drafts.validate(draft.id) if p.severity == "error"]
    assert [p.rule for p in problems] == ["dmn-test"]  # the AMBER example still expects P1D
    assert "AMBER failed" in problems[0].message and "PT4H" in problems[0].message
    with pytest.raises(Invalid):
        drafts.submit(draft.id, draft.lock_version, sm, "AMBER within 4 hours")
    draft = amber_tests_updated(draft, sm)
    summary = drafts.diff_summary(draft.id)
    assert any("changed rule rag_timescales_amber" in line and '"P1D" → "PT4H"' in line for line in summary), summary
    draft = drafts.submit(draft.id, draft.lock_version, sm, "AMBER within 4 hours")
    assert draft.status == "awaiting_approval"
    with pytest.raises(Conflict):  # no more edits once submitted
        drafts.save_file(draft.id, RAG, b"x", draft.lock_version, sm)

    with pytest.raises(Forbidden) as err:
        drafts.approve(draft.id, sm)
    assert "different service manager" in err.value.message
    assert deployments.latest().version == 1

    deployment = drafts.approve(draft.id, sm2, "agreed at the MASH board")
    assert deployment.version == 2
    published = drafts.get(draft.id)
    assert published.status == "published" and published.deployment_id == deployment.id
    (latest, *_) = drafts.publications()
    assert latest["version"] == 2 and latest["publisher"] == "sm1" and latest["approver"] == "sm2"
    assert latest["bundle_hash"] == deployment.bundle_hash and latest["diff"] == summary


def test_a_rejected_draft_goes_back_to_editing_with_the_reason(sm, sm2):
    draft = drafts.create(sm)
    draft = drafts.save_file(draft.id, "forms/extra.schema.json", b'{"type": "object"}', draft.lock_version, sm)
    draft = drafts.submit(draft.id, draft.lock_version, sm, "new form")
    with pytest.raises(Invalid):
        drafts.reject(draft.id, sm2, "")
    draft = drafts.reject(draft.id, sm2, "Not needed yet")
    assert draft.status == "editing" and draft.review_note == "Not needed yet"


def test_discarded_drafts_cannot_be_changed(sm):
    draft = drafts.create(sm)
    draft = drafts.discard(draft.id, draft.lock_version, sm)
    assert draft.status == "discarded"
    with pytest.raises(Conflict):
        drafts.save_file(draft.id, "forms/x.schema.json", b"{}", draft.lock_version, sm)


def test_what_if_replays_recorded_decisions_against_the_draft(ctx, sm):
    flow = Flow(ctx.test_client())
    flow.intake()  # contact_routing is evaluated on the way
    draft = drafts.create(sm)
    unchanged = drafts.what_if(draft.id, "contact_routing")
    assert unchanged.evaluated >= 1 and unchanged.changed == 0
    routing = drafts.draft_files(draft)["dmn/contact_routing.dmn"].decode()
    # the catch-all rule r6 now sends service requests to information_only
    rule6 = routing[routing.index('<rule id="contact_routing_r6"') :]
    first_output = rule6[rule6.index("<outputEntry") :]
    old_text = first_output[first_output.index("<text>") : first_output.index("</text>") + 7]
    new_routing = routing.replace(rule6, rule6.replace(old_text, '<text>"information_only"</text>', 1))
    draft = drafts.save_file(draft.id, "dmn/contact_routing.dmn", new_routing.encode(), draft.lock_version, sm)
    changed = drafts.what_if(draft.id, "contact_routing", last_n=10)
    assert changed.evaluated == unchanged.evaluated and changed.changed == 1
    (change,) = changed.changes
    assert change.instance_id == flow.instance_id
    assert change.old_outputs["contact_route"] == "triage" and change.new_outputs["contact_route"] == "information_only"


def test_oversized_files_are_refused_when_saved_and_when_validated(sm):
    from app.services.modelling import model_checks

    draft = drafts.create(sm)
    big = b" " * (2 * 1024 * 1024 + 1)
    with pytest.raises(Invalid) as err:
        drafts.save_file(draft.id, "processes/big.bpmn", big, draft.lock_version, sm)
    assert "larger than 2048 KB" in err.value.message
    (problem,) = [
        p
        for p in model_checks.problems({**drafts.draft_files(draft), "processes/big.bpmn": big})
        if p.severity == "error"
    ]
    assert problem.file == "processes/big.bpmn" and "larger than 2048 KB" in problem.message


def test_a_draft_started_before_a_newer_version_cannot_undo_it(sm, sm2):
    stale = drafts.create(sm)
    stale = drafts.save_file(stale.id, "forms/a.schema.json", b'{"type": "object"}', stale.lock_version, sm)
    fresh = drafts.create(sm)
    fresh = drafts.save_file(fresh.id, "forms/b.schema.json", b'{"type": "object"}', fresh.lock_version, sm)
    fresh = drafts.submit(fresh.id, fresh.lock_version, sm, "form b")
    assert drafts.approve(fresh.id, sm2).version == 2
    with pytest.raises(Conflict) as err:
        drafts.submit(stale.id, stale.lock_version, sm, "form a")
    assert "version 2 has been published since" in err.value.message
