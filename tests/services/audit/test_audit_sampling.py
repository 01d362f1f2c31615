"""Monthly audit sampling (seed §16): the BPMN cycle, the draw's counts, the auditor's tasks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Contact, HistoryEvent, ProcessInstance, TaskRecord
from app.services.audit import audit_sampling
from app.services.core import timers
from app.services.core.transaction import unit_of_work
from app.services.modelling import deployments
from app.services.people import users
from tests.support import Api, make_people
from tests.support.audit_sampling import FORM
from tests.support.pages import Browser, soup

pytestmark = pytest.mark.restart_between_steps  # a restart / another worker between every step
UTC = UTC


def seed_case(received_at: datetime, outcome: str | None, *, workers=(), **data) -> int:
    """A finished front-door case as rows (the draw reads rows only): contact, instance, completed tasks."""
    deployment = deployments.latest()
    with unit_of_work():
        contact = Contact(received_at=received_at, channel="phone", payload={"referrer": {"agency": "education"}})
        db.session.add(contact)
        db.session.flush()
        instance = ProcessInstance(
            deployment_id=deployment.id,
            process_id="front_door",
            contact_id=contact.id,
            status="completed",
            state="{}",
            outcome=outcome,
            rag="NONE",
            case_data={"outcome": outcome, "received_at": received_at.isoformat(), **data},
            created_at=received_at,
            updated_at=received_at,
            ended_at=received_at,
        )
        db.session.add(instance)
        db.session.flush()
        for username, lane in workers:
            db.session.add(
                TaskRecord(
                    id=str(uuid.uuid4()),
                    instance_id=instance.id,
                    bpmn_id=f"work_{lane}",
                    title="Work",
                    role=lane,
                    state="completed",
                    created_at=received_at,
                    completed_at=received_at,
                    completed_by=users.get_by_username(username).id,
                )
            )
    return instance.id


def seed_november() -> dict:
    make_people(["masho", "dm", "dm2", "ehdm", "auditor"])
    day = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    ids = {"nfa": [], "referral_nfa": [], "other": []}
    for n in range(10):  # ten NFA contacts, spread over four workers
        worker = [("dm", "decision_maker"), ("dm2", "decision_maker"), ("ehdm", "eh_decision_maker")][n % 3]
        ids["nfa"].append(seed_case(day + timedelta(days=n), "nfa", workers=[("masho", "masho"), worker]))
    for n in range(2):  # referrals for assessment that ended in NFA
        ids["referral_nfa"].append(
            seed_case(day + timedelta(days=12 + n), "s17_assessment", is_referral=True, assessment_outcome="nfa")
        )
    ids["other"].append(
        seed_case(day + timedelta(days=14), "s17_assessment", is_referral=True, assessment_outcome="continuing")
    )
    ids["downgrade"] = seed_case(day + timedelta(days=15), "early_help", on_urgent_downgrade_audit=True)
    seed_case(datetime(2026, 10, 30, 12, 0, tzinfo=UTC), "nfa", workers=[("dm", "decision_maker")])  # October
    seed_case(datetime(2026, 12, 1, 0, 30, tzinfo=UTC), "nfa")  # December (UK time): not November's
    return ids


def test_the_draw_gives_the_protocols_counts_for_a_seeded_month(ctx):
    ids = seed_november()
    drawn = audit_sampling.draw("2026-11-01", "2026-11-30")
    counts = drawn["counts"]
    assert counts["cases"] == 14
    assert (counts["workers"], counts["worker_samples"]) == (4, 4)  # masho, dm, dm2, ehdm: one case each
    assert (counts["nfa_contacts"], counts["nfa_samples"]) == (10, 2)  # 20 % of 10
    assert counts["referral_nfa"] == 2 and counts["urgent_downgrades"] == 1
    by_reason = {
        r: [s["case_id"] for s in drawn["samples"] if r in s["reasons"]]
        for r in ("worker", "nfa", "referral_nfa", "urgent_downgrade")
    }
    assert len(by_reason["worker"]) == 4 and len({s["worker"] for s in drawn["samples"] if s["worker"]}) == 4
    assert set(by_reason["nfa"]) <= set(ids["nfa"]) and len(by_reason["nfa"]) == 2
    assert sorted(by_reason["referral_nfa"]) == sorted(ids["referral_nfa"])
    assert by_reason["urgent_downgrade"] == [ids["downgrade"]]
    case_ids = [s["case_id"] for s in drawn["samples"]]
    assert len(case_ids) == len(set(case_ids)) == counts["audit_tasks"]  # one audit per case, reasons merged
    again = audit_sampling.draw("2026-11-01", "2026-11-30")
    assert again["samples"] == drawn["samples"]  # reproducible: seeded by the month


def test_twenty_percent_rounds_up_and_an_empty_month_draws_nothing(ctx):
    make_people(["dm"])
    seed_case(datetime(2026, 9, 3, 10, 0, tzinfo=UTC), "nfa")
    assert audit_sampling.draw("2026-09-01", "2026-09-30")["counts"]["nfa_samples"] == 1  # 20 % of 1, rounded up
    empty = audit_sampling.draw("2026-08-01", "2026-08-31")
    assert empty["samples"] == [] and empty["counts"]["audit_tasks"] == 0


def test_the_next_draw_is_the_first_of_the_month_in_uk_time():
    assert audit_sampling.next_draw("2026-11-24T10:00:00+00:00") == {
        "draw_at": "2026-12-01T00:00:00+00:00",
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "month": "2026-11",
    }
    # British Summer Time: midnight on 1 July is 23:00 UTC on 30 June
    assert audit_sampling.next_draw("2026-06-30T23:30:00+00:00")["draw_at"] == "2026-07-31T23:00:00+00:00"
    assert audit_sampling.next_draw("2026-06-10T12:00:00+00:00")["draw_at"] == "2026-06-30T23:00:00+00:00"


def _audit_tasks():
    return list(
        db.session.execute(
            select(TaskRecord).where(TaskRecord.bpmn_id == "audit_case", TaskRecord.state == "ready")
        ).scalars()
    )


NAMED = {
    "worker": None,
    "nfa": "service_manager",
    "urgent_downgrade": "service_manager",
    "referral_nfa": "first_response_service_manager",
}


def _named_managers(sample):
    """Spec §11.11 / protocol §16: who audits a sample (the worker's team manager for a dip sample)."""
    roles = {
        NAMED[r] or ("eh_manager" if sample["worker_lane"] == "eh_decision_maker" else "mash_manager")
        for r in sample["reasons"]
    }
    return sorted(roles)


def test_the_process_draws_each_month_and_the_named_managers_record_findings_against_the_case(ctx):
    """§16 (spec §11.11 changed this test: the audits go to the named managers, no longer the auditor)."""
    seed_november()
    for username, role in (("sm", "service_manager"), ("frsm", "first_response_service_manager")):
        if users.get_by_username(username) is None:
            users.create_user(username, "correct-horse-battery", [role])
    make_people(["mgr", "ehmgr"])
    instance, started = audit_sampling.start()
    assert started and audit_sampling.start()[1] is False  # one long-running instance
    assert instance.next_timer_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert _audit_tasks() == []

    assert timers.fire_due(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == 0
    assert timers.fire_due(datetime(2026, 12, 1, 0, 1, tzinfo=UTC)) == 1
    tasks = _audit_tasks()
    expected = audit_sampling.draw("2026-11-01", "2026-11-30")
    wanted = sorted((s["case_id"], role) for s in expected["samples"] for role in _named_managers(s))
    assert len(tasks) == len(wanted) > expected["counts"]["audit_tasks"]  # a case sampled twice is audited twice
    assert {t.role for t in tasks} == {
        "mash_manager",
        "eh_manager",
        "service_manager",
        "first_response_service_manager",
    }
    # ten working days from the draw (Tuesday 1 December 00:01 → opens 09:00 → Tuesday 15 December 09:00)
    assert {t.due_at for t in tasks} == {datetime(2026, 12, 15, 9, 0, tzinfo=UTC)}
    db.session.refresh(instance)
    assert instance.next_timer_at == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)  # the cycle goes on
    assert instance.case_data["draw"]["counts"]["referral_nfa"] == 2

    # the MASH manager opens a dip-sample task: it links to the sampled case, which they may now read
    browser = Browser(ctx, "mgr")
    task = next(t for t in tasks if t.role == "mash_manager")
    response = browser.get(f"/tasks/{task.id}")
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    page = soup(response)
    link = page.find("a", string=lambda s: s and s.startswith("Open case"))
    assert link is not None
    case_id = int(link["href"].rsplit("/", 1)[1])
    assert case_id in {s["case_id"] for s in expected["samples"]}
    assert browser.get(link["href"]).status_code == 200

    api = Api(ctx.test_client())
    assert api.post("auditor", f"/api/v1/tasks/{task.id}/complete", {"data": FORM}).status_code == 403
    response = api.post("mgr", f"/api/v1/tasks/{task.id}/complete", {"data": {**FORM, "standard_2_8": "not_met"}})
    assert response.status_code == 200, response.json
    finding = db.session.execute(
        select(HistoryEvent).where(HistoryEvent.instance_id == case_id, HistoryEvent.type == "audit_finding_recorded")
    ).scalar_one()
    assert finding.actor == "mgr" and finding.detail["values"]["standard_2_8"] == "not_met"
    assert len(_audit_tasks()) == len(wanted) - 1
    assert browser.get(link["href"]).status_code == 200  # the finding's author still reads the case

    # a required standard left out is refused
    other = next(t for t in _audit_tasks() if t.role == "service_manager")
    response = api.post(
        "sm", f"/api/v1/tasks/{other.id}/complete", {"data": {k: v for k, v in FORM.items() if k != "standard_2_1"}}
    )
    assert response.status_code == 422 and "standard_2_1" in response.json["details"]["errors"]

    # December's draw a month later adds December's audits; November's stay as they were
    seed_case(datetime(2026, 12, 3, 10, 0, tzinfo=UTC), "nfa")
    assert timers.fire_due(datetime(2027, 1, 1, 0, 5, tzinfo=UTC)) == 1
    after = _audit_tasks()
    assert len(after) == len(wanted) - 1 + 1  # December: 20 % of its 2 NFA contacts, rounded up
    assert datetime(2026, 12, 15, 9, 0, tzinfo=UTC) in {t.due_at for t in after}
