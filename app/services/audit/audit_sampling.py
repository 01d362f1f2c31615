"""Monthly audit sampling (seed §16, spec §8) — the host side of processes/audit_sampling.bpmn.

The diagram owns the cycle (a date timer at the start of each month, looping), the audit tasks
(one per sampled case, auditor lane, the Appendix D checklist) and their due times. The host gives
it two service operators:

- `audit_sampling.next_draw(after)` → `{draw_at, period_start, period_end, month}`: the next draw is
  at 00:00 UK time on the first day of the month after `after`, and samples the calendar month
  before it. (A BPMN `timeCycle` such as `R/…/P1M` is not used: SpiffWorkflow 3.2 turns the period
  into a fixed number of seconds taken from the first month, so the draw would drift off the 1st.)
- `audit_sampling.draw(period_start, period_end)` → `{month, drawn_at, counts, samples}`: front-door
  cases whose contact was received in the period (UK days, inclusive):
    * one case per worker (MASH officers and decision makers who completed a task on a case
      received in the period) — for the team managers' dip sample;
    * 20 % of NFA contacts, rounded up — for the MASH service manager;
    * every referral sent for assessment (`is_referral`) whose assessment ended in NFA
      (`assessment_outcome` = `nfa`, recorded by the receiving team) — for the First Response
      service manager;
    * every urgent downgrade (`on_urgent_downgrade_audit`, spec §3.8) — listed for the monthly audit.
  A case drawn for several reasons is one sample with all its reasons; a worker sample says the lane the
  worker worked it in (`worker_lane`). Who audits which sample is the diagram's decision (spec §11.11:
  the named managers), never this module's. Choices are random but
  reproducible: seeded by the month, so the same month always draws the same cases.

When the named manager completes an audit task whose diagram names the case (`relatedCase` property),
the finding is recorded in that case's own history (`audit_finding_recorded`), in the same unit of
work as the task.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import Contact, HistoryEvent, ProcessInstance, TaskRecord, User
from app.services.access import access
from app.services.cases.runs import start_instance_in_transaction
from app.services.core import engine_host, history
from app.services.core.clock import LONDON
from app.services.core.errors import ProcessFailed
from app.services.core.events import EventType
from app.services.core.states import InstanceStatus, ProcessId, TaskState
from app.services.core.transaction import unit_of_work
from app.services.modelling import deployments

WORKER_LANES = frozenset({"masho", "decision_maker", "eh_decision_maker"})
NFA_SHARE = 0.20


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LONDON).astimezone(UTC)


def _instant(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("an instant needs a UTC offset")
    return moment


# -- operators ------------------------------------------------------------------------------


def next_draw(after: Any) -> dict:
    """Service operator `audit_sampling.next_draw`."""
    local = _instant(after).astimezone(LONDON)
    first_next = (local.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    period_end = first_next - timedelta(days=1)
    return {
        "draw_at": _london_midnight(first_next).isoformat(),
        "period_start": period_end.replace(day=1).isoformat(),
        "period_end": period_end.isoformat(),
        "month": f"{period_end:%Y-%m}",
    }


def _cases(start: date, end: date) -> list[tuple[ProcessInstance, Contact]]:
    return list(
        db.session.execute(
            select(ProcessInstance, Contact)
            .join(Contact, ProcessInstance.contact_id == Contact.id)
            .where(
                ProcessInstance.process_id == ProcessId.FRONT_DOOR,
                Contact.received_at >= _london_midnight(start),
                Contact.received_at < _london_midnight(end + timedelta(days=1)),
            )
            .order_by(ProcessInstance.id)
        ).all()
    )


def draw(period_start: str, period_end: str) -> dict:
    """Service operator `audit_sampling.draw`: the month's samples (ids, codes and usernames only)."""
    start, end = date.fromisoformat(str(period_start)), date.fromisoformat(str(period_end))
    rng = random.Random(f"mash-audit-{start.isoformat()}-{end.isoformat()}")
    cases = _cases(start, end)
    by_id = {instance.id: (instance, contact) for instance, contact in cases}
    reasons: dict[int, list[str]] = defaultdict(list)
    workers_of: dict[int, str] = {}

    # one case per worker
    per_worker: dict[int, set[int]] = defaultdict(set)
    lanes_of: dict[tuple[int, int], set[str]] = defaultdict(set)  # (worker, case) -> the lanes they worked in
    if by_id:
        for task in db.session.execute(
            select(TaskRecord).where(
                TaskRecord.instance_id.in_(sorted(by_id)),
                TaskRecord.state == TaskState.COMPLETED,
                TaskRecord.role.in_(sorted(WORKER_LANES)),
                TaskRecord.completed_by.is_not(None),
            )
        ).scalars():
            worker = task.completed_by
            if worker is None or task.role is None:  # excluded by the query
                continue
            per_worker[worker].add(task.instance_id)
            lanes_of[(worker, task.instance_id)].add(task.role)
    names = {
        u.id: u.username
        for u in db.session.execute(select(User).where(User.id.in_(sorted(per_worker) or [-1]))).scalars()
    }
    worker_lane_of: dict[int, str] = {}
    for user_id in sorted(per_worker, key=lambda uid: names.get(uid, "")):
        fresh = sorted(per_worker[user_id] - set(workers_of))  # a case of their own where there is one
        chosen = rng.choice(fresh or sorted(per_worker[user_id]))
        if "worker" not in reasons[chosen]:
            reasons[chosen].append("worker")
        if chosen not in workers_of:
            workers_of[chosen] = names.get(user_id, str(user_id))
            # the lane the worker worked the case in: the diagram sends the dip sample to that team's manager
            lanes = lanes_of[(user_id, chosen)]
            worker_lane_of[chosen] = "eh_decision_maker" if "eh_decision_maker" in lanes else sorted(lanes)[0]

    # 20 % of NFA contacts
    nfa = [i for i, (instance, _) in by_id.items() if instance.outcome == "nfa"]
    nfa_sample = sorted(rng.sample(nfa, math.ceil(NFA_SHARE * len(nfa)))) if nfa else []
    for case_id in nfa_sample:
        reasons[case_id].append("nfa")

    # every referral for assessment that ended in NFA; every urgent downgrade
    referral_nfa, downgrades = [], []
    for case_id, (instance, _) in by_id.items():
        data = instance.case_data or {}
        if data.get("is_referral") and data.get("assessment_outcome") == "nfa":
            referral_nfa.append(case_id)
            reasons[case_id].append("referral_nfa")
        if data.get("on_urgent_downgrade_audit"):
            downgrades.append(case_id)
            reasons[case_id].append("urgent_downgrade")

    samples = []
    for case_id in sorted(reasons):
        instance, contact = by_id[case_id]
        samples.append(
            {
                "case_id": case_id,
                "reference": f"MASH-{contact.received_at:%Y%m%d}-{contact.id:06d}",
                "reasons": reasons[case_id],
                "worker": workers_of.get(case_id),
                "worker_lane": worker_lane_of.get(case_id),
                "outcome": instance.outcome,
            }
        )
    return {
        "month": f"{end:%Y-%m}",
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "drawn_at": CLOCK.now().isoformat(),
        "counts": {
            "cases": len(by_id),
            "workers": len(per_worker),
            "worker_samples": len(per_worker),
            "nfa_contacts": len(nfa),
            "nfa_samples": len(nfa_sample),
            "referral_nfa": len(referral_nfa),
            "urgent_downgrades": len(downgrades),
            "audit_tasks": len(samples),
        },
        "samples": samples,
    }


OPERATIONS: dict[str, Callable[..., Any]] = {"audit_sampling.next_draw": next_draw, "audit_sampling.draw": draw}
engine_host.register_operations(OPERATIONS)  # service tasks of processes/audit_sampling.bpmn call them


# -- starting the cycle ------------------------------------------------------------------------


def running() -> ProcessInstance | None:
    return db.session.execute(
        select(ProcessInstance)
        .where(ProcessInstance.process_id == ProcessId.AUDIT_SAMPLING, ProcessInstance.status == InstanceStatus.RUNNING)
        .order_by(ProcessInstance.id)
        .limit(1)
    ).scalar_one_or_none()


def start(actor: User | None = None) -> tuple[ProcessInstance, bool]:
    """Start the one long-running sampling instance (no-op if one is running). Returns (instance, started)."""
    current = running()
    if current is not None:
        return current, False
    deployment = deployments.latest()
    if deployment is None or ProcessId.AUDIT_SAMPLING not in engine_host.bundle_for(deployment.id).process_specs:
        raise ProcessFailed("processes/audit_sampling.bpmn is not deployed: run `mash deploy`")
    with unit_of_work():
        instance = start_instance_in_transaction(
            deployment, ProcessId.AUDIT_SAMPLING, {}, actor, started_detail={"purpose": "monthly audit sampling"}
        )
    return instance, True


# -- the task page and completion ---------------------------------------------------------------


def _task_data(task: TaskRecord) -> tuple[ProcessInstance, dict, str | None]:
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    source = engine_host.bundle_for(instance.deployment_id).task_properties(task.bpmn_id).get("relatedCase")
    if not source:
        return instance, {}, None
    runtime = engine_host.runtime(instance.deployment_id, {})
    engine_task = runtime.find_task(runtime.restore(instance.process_id, instance.state), task.id)
    return instance, (engine_task.data if engine_task is not None else {}), source


def _related_id(source: str, data: dict) -> int | None:
    try:
        value = engine_host.evaluator().evaluate(source, dict(data))
        return int(value) if value is not None else None
    except Exception:  # a model error shows no link rather than breaking the page
        return None


_related_ids_by_bundle: dict[str, frozenset[str]] = {}


def _tasks_with_related_case(bundle) -> frozenset[str]:
    """BPMN ids of the user tasks that carry a `relatedCase` property, worked out once per version."""
    found = _related_ids_by_bundle.get(bundle.bundle_hash)
    if found is None:
        specs = list(bundle.process_specs.values()) + [
            s for subs in bundle.subprocess_specs.values() for s in subs.values() if s is not None
        ]
        found = frozenset(
            t.bpmn_id
            for spec in specs
            for t in spec.task_specs.values()
            if ((getattr(t, "extensions", None) or {}).get("properties") or {}).get("relatedCase")
        )
        _related_ids_by_bundle[bundle.bundle_hash] = found
    return found


@access.also_need_to_know
def may_read_related_case(user: User, instance: ProcessInstance) -> bool:
    """Need-to-know through task property `relatedCase`: whoever may work an open task about a case (e.g.
    the manager auditing a sampled case) may read that case, and keeps reading it once they have
    recorded a finding on it. The related case is read from the task's own form data (`sample`)."""
    if (
        db.session.execute(
            select(HistoryEvent.id)
            .where(
                HistoryEvent.instance_id == instance.id,
                HistoryEvent.type == EventType.AUDIT_FINDING_RECORDED,
                HistoryEvent.actor_id == user.id,
            )
            .limit(1)
        ).first()
        is not None
    ):
        return True
    deployment = deployments.latest()
    if deployment is None:
        return False
    bpmn_ids = _tasks_with_related_case(engine_host.bundle_for(deployment.id))
    if not bpmn_ids:
        return False
    rows = db.session.execute(
        select(TaskRecord).where(
            TaskRecord.state == TaskState.READY,
            TaskRecord.role.in_(sorted(user.roles)),
            TaskRecord.bpmn_id.in_(sorted(bpmn_ids)),
        )
    ).scalars()
    for task in rows:
        if not task.form_data or not access.may_work(user, task):
            continue
        owner = db.session.get_one(ProcessInstance, task.instance_id)
        source = engine_host.bundle_for(owner.deployment_id).task_properties(task.bpmn_id).get("relatedCase")
        if source and _related_id(source, task.form_data) == instance.id:
            return True
    return False


def related_case(user: User, task: TaskRecord) -> dict | None:
    """The case a task is about (task property `relatedCase`), for a link on the task page."""
    if not access.may_work(user, task):
        return None
    _, data, source = _task_data(task)
    if source is None:
        return None
    case_id = _related_id(source, data)
    if case_id is None:
        return None
    sample = data.get("sample")
    if not isinstance(sample, dict):
        sample = {}
    return {
        "id": case_id,
        "reference": sample.get("reference"),
        "reasons": sample.get("reasons") or [],
        "worker": sample.get("worker"),
        "outcome": sample.get("outcome"),
    }


@engine_host.on_task_completed
def record_finding(user: User, task: TaskRecord, engine_data: dict, submitted: dict) -> None:
    """Inside the completing unit of work: the finding goes into the related case's history too."""
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    source = engine_host.bundle_for(instance.deployment_id).task_properties(task.bpmn_id).get("relatedCase")
    if not source:
        return
    case_id = _related_id(source, engine_data)
    if case_id is None or db.session.get(ProcessInstance, case_id) is None:
        return
    history.record(
        EventType.AUDIT_FINDING_RECORDED,
        instance_id=case_id,
        actor=user,
        bpmn_id=task.bpmn_id,
        task_id=task.id,
        detail={"audit_instance_id": instance.id, "fields": sorted(submitted), "values": submitted},
    )
