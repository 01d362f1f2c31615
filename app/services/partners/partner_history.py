"""Earlier information sharing about the same child (seed §12): when the MASH last asked partner
agencies, and, for a partner, its own agency's earlier answer to the same request.

Children are linked across contacts through the case index (the matches confirmed at the history
check). A partner only ever reaches answers its own agency gave, never another agency's, and the
sensitive fields stay out even then: soft information lives inside the MASH.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import IndexContact, ProcessInstance, TaskRecord, User
from app.services.access import access, permissions
from app.services.core import engine_host, forms, history
from app.services.core.errors import NotFound
from app.services.core.events import EventType
from app.services.core.states import TaskState
from app.services.core.transaction import unit_of_work


def earlier_sharing(instance_ids: Iterable[int]) -> list[dict[str, Any]]:
    """One entry per earlier case that asked partner agencies: when, and which agencies answered."""
    ids = [i for i in set(instance_ids) if i is not None]
    if not ids:
        return []
    rows = db.session.execute(
        select(TaskRecord).where(TaskRecord.instance_id.in_(ids), TaskRecord.agency.is_not(None))
    ).scalars()
    by_case: dict[int, dict[str, Any]] = {}
    for task in rows:
        entry = by_case.setdefault(
            task.instance_id, {"instance_id": task.instance_id, "requested_at": task.created_at, "agencies": set()}
        )
        entry["requested_at"] = min(entry["requested_at"], task.created_at)
        if task.state == TaskState.COMPLETED:
            entry["agencies"].add(task.agency)
    found = sorted(by_case.values(), key=lambda e: e["requested_at"], reverse=True)
    return [
        {
            "instance_id": e["instance_id"],
            "requested_at": e["requested_at"].isoformat(),
            "agencies": sorted(e["agencies"]),
        }
        for e in found
    ]


def _linked_instances(instance: ProcessInstance) -> list[int]:
    """Other cases about the same child, through the index matches confirmed for this one."""
    matches = []
    for match in (instance.case_data or {}).get("confirmed_matches") or []:
        try:
            matches.append(int(match))
        except (TypeError, ValueError):
            continue
    if not matches:
        return []
    rows = db.session.execute(
        select(IndexContact.instance_id).where(
            IndexContact.child_id.in_(matches),
            IndexContact.instance_id.is_not(None),
            IndexContact.instance_id != instance.id,
        )
    ).scalars()
    return sorted({row for row in rows if row is not None})


def earlier_answers(user: User, task: TaskRecord) -> list[dict[str, Any]]:
    """Earlier answers by the user's own agency to the same request about the same child."""
    if task.agency is None or not access.may_work(user, task):
        return []
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    linked = _linked_instances(instance)
    if not linked:
        return []
    rows = db.session.execute(
        select(TaskRecord)
        .where(
            TaskRecord.instance_id.in_(linked),
            TaskRecord.bpmn_id == task.bpmn_id,
            TaskRecord.agency == task.agency,
            TaskRecord.state == TaskState.COMPLETED,
        )
        .order_by(TaskRecord.completed_at.desc())
    ).scalars()
    return [{"task_id": row.id, "answered_at": row.completed_at} for row in rows]


def earlier_answer(user: User, task_id: str, earlier_task_id: str) -> dict[str, Any]:
    """The agency's own earlier answer, without sensitive fields. Reading it is recorded on that case."""
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    if earlier_task_id not in {a["task_id"] for a in earlier_answers(user, task)}:
        permissions.deny(
            user,
            "open_earlier_answer",
            instance_id=task.instance_id,
            message="That answer is not one your agency gave about this child",
            task_id=task_id,
        )
    earlier = db.session.get_one(TaskRecord, earlier_task_id)
    instance = db.session.get_one(ProcessInstance, earlier.instance_id)
    bundle = engine_host.bundle_for(instance.deployment_id)
    schema = bundle.forms.get(earlier.form or "") or {}
    sensitive = forms.sensitive_fields_of(bundle)
    answer = access.redact(dict(earlier.form_data or {}), sensitive)
    with unit_of_work():
        history.record(
            EventType.EARLIER_ANSWER_VIEWED,
            instance_id=earlier.instance_id,
            actor=user,
            task_id=earlier.id,
            bpmn_id=earlier.bpmn_id,
            detail={"from_task": task_id, "agency": earlier.agency},
        )
    return {
        "task": earlier,
        "answered_at": earlier.completed_at,
        "answer": answer,
        "schema": schema,
        "had_sensitive": _has_any(earlier.form_data or {}, sensitive),
    }


def _has_any(value: Any, names: frozenset[str]) -> bool:
    if isinstance(value, dict):
        return any((k in names and v) or _has_any(v, names) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_any(v, names) for v in value)
    return False


def latest(entries: list[dict[str, Any]]) -> datetime | None:
    return datetime.fromisoformat(entries[0]["requested_at"]) if entries else None
