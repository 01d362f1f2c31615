"""Reading a case as the caller may see it: the case, its history, its steps and decisions so far. Every refusal
is recorded (`access_denied`) before it is raised."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import HistoryEvent, ProcessInstance, TaskRecord, User
from app.services.access import access
from app.services.cases import household
from app.services.cases.persist import engine_host_version
from app.services.core import engine_host, forms, history
from app.services.core.errors import NotFound
from app.services.core.events import EventType
from app.services.core.states import TaskState
from app.services.core.transaction import unit_of_work


def deny(user: User, instance_id: int | None, what: str, **detail) -> None:
    with unit_of_work():
        history.record(EventType.ACCESS_DENIED, instance_id=instance_id, actor=user, detail={"action": what, **detail})


def visible_data(user: User, instance: ProcessInstance) -> dict:
    bundle = engine_host.bundle_for(instance.deployment_id)
    fields: set[str] = set()
    if not access.inside_firewall(user):  # inside the MASH the whole case shows: no fields to look up
        for task in access.involved_tasks(user, instance.id):
            fields |= forms.declared_fields(bundle.forms.get(task.form or "") or {})
    return access.visible_data(user, instance, fields, forms.sensitive_fields_of(bundle))


def decisions_so_far(instance_id: int) -> list[dict]:
    return [
        {
            "at": e.at,
            "decision_id": e.detail.get("decision_id"),
            "outputs": e.detail.get("outputs"),
            "rules": e.detail.get("matched_rules"),
            "bpmn_id": e.bpmn_id,
        }
        for e in history.for_instance(instance_id)
        if e.type == EventType.DECISION_EVALUATED
    ]


def steps_so_far(user: User, instance_id: int) -> list[dict]:
    """The case's steps for the case page (no field values: those stay in the auditor's history)."""
    get_instance(user, instance_id)
    shown = {
        "instance_started",
        "task_completed",
        "decision_evaluated",
        "alert_raised",
        "task_claimed",
        "task_assigned",
        "instance_ended",
    }  # gateways and flows stay in the auditor's history
    events = [e for e in history.for_instance(instance_id) if e.type in shown]
    names: dict[int | None, str] = dict(
        db.session.execute(
            select(User.id, User.display_name).where(User.id.in_(sorted({e.actor_id for e in events if e.actor_id})))
        ).all()
    )
    return [
        {
            "at": e.at,
            "type": e.type,
            "actor": names.get(e.actor_id) or e.actor,
            "bpmn_id": e.bpmn_id,
            "title": (e.detail or {}).get("title")
            or (e.detail or {}).get("decision_id")
            or (e.detail or {}).get("gateway"),
            "rules": (e.detail or {}).get("matched_rules"),
            "outputs": (e.detail or {}).get("outputs"),
            "to": (e.detail or {}).get("to"),
            "role": (e.detail or {}).get("role"),
            "team": (e.detail or {}).get("team"),
        }
        for e in events
    ]


def get_instance(user: User, instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("No such case")
    if not access.may_view(user, instance):
        deny(user, instance_id, "view_instance")
        raise NotFound("No such case")  # existence itself must not leak
    return instance


def view_instance(user: User, instance_id: int) -> dict:
    """The case as the caller may see it. Every page/API read of it is recorded as `viewed` by the request
    hook (app/web/audit/audit.py)."""
    instance = get_instance(user, instance_id)
    data = visible_data(user, instance)
    ready = list(
        db.session.execute(
            select(TaskRecord).where(TaskRecord.instance_id == instance.id, TaskRecord.state == TaskState.READY)
        ).scalars()
    )
    return view_of(user, instance, ready, data)


def view_of(user: User, instance: ProcessInstance, ready: list[TaskRecord], data: dict) -> dict:
    """The case as `view_instance` answers it, from the instance, its ready task rows and the data the
    user may see (plain values only: it stays valid after the transaction ends)."""
    version = engine_host_version(instance.deployment_id)
    return {
        "id": instance.id,
        "process_id": instance.process_id,
        "version": version,
        "status": instance.status,
        "rag": instance.rag,
        "route": data.get("route"),
        "contact_route": data.get("contact_route"),
        "outcome": instance.outcome,
        "outcome_due_at": instance.outcome_due_at,
        "decision_due_at": data.get("decision_due_at"),
        "is_referral": bool(data.get("is_referral")),
        "contact_id": instance.contact_id,
        "ready_tasks": [
            {
                "id": t.id,
                "bpmn_id": t.bpmn_id,
                "title": t.title,
                "role": t.role,
                "team": t.team,
                "agency": t.agency,
                "due_at": t.due_at,
            }
            for t in ready
        ],
        "data": data,
        "agency_tasks": (
            _agency_tasks(instance.id)
            if access.inside_firewall(user) and _has_agency_tasks(instance.deployment_id)
            else []
        ),
        "household": household.for_case(user, instance),  # the contact's other children (App. D 2.7)
    }


_AGENCY_TASKS: dict[str, bool] = {}


def _has_agency_tasks(deployment_id: int) -> bool:
    """Whether any user task of the deployed models has an `agency` property: only those make task rows
    with an agency, so a case of a version without any has no agency tasks to read."""
    bundle = engine_host.bundle_for(deployment_id)
    found = _AGENCY_TASKS.get(bundle.bundle_hash)
    if found is None:
        found = _AGENCY_TASKS[bundle.bundle_hash] = bundle.has_task_property("agency")
    return found


def _agency_tasks(instance_id: int) -> list[dict]:
    """Every request to a partner agency with its provenance (agency, person, time), so the collation
    shows who said what and when, and which requests were withdrawn. Inside the MASH only."""
    rows = db.session.execute(
        select(TaskRecord, User.display_name)
        .outerjoin(User, User.id == TaskRecord.completed_by)
        .where(TaskRecord.instance_id == instance_id, TaskRecord.agency.is_not(None))
        .order_by(TaskRecord.created_at, TaskRecord.id)
    ).all()
    revised = {
        e.task_id: {"version": (e.detail or {}).get("version"), "by": e.actor, "at": e.at}
        for e in db.session.execute(
            select(HistoryEvent)
            .where(HistoryEvent.instance_id == instance_id, HistoryEvent.type == EventType.ANSWER_REVISED)
            .order_by(HistoryEvent.id)
        ).scalars()
    }  # the latest revision wins
    return [
        {
            "agency": t.agency,
            "bpmn_id": t.bpmn_id,
            "title": t.title,
            "state": t.state,
            "due_at": t.due_at,
            "completed_at": t.completed_at,
            "completed_by": name,
            "revised": revised.get(t.id),
        }
        for t, name in rows
    ]


def instance_history(user: User, instance_id: int) -> list[dict]:
    instance = get_instance(user, instance_id)
    mash_reader = access.inside_firewall(user)
    events = history.for_instance(instance.id)
    result = []
    for event in events:
        detail = dict(event.detail or {})
        if not mash_reader:
            for key in ("values", "inputs", "before", "reason", "purpose", "note"):  # field values, free text
                detail.pop(key, None)
        result.append(
            {"at": event.at, "type": event.type, "actor": event.actor, "bpmn_id": event.bpmn_id, "detail": detail}
        )
    return result
