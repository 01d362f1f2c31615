"""A partner agency's request, as the partner sees it (spec §6.1, §11, App. F).

The firewall runs both ways: a partner never opens the case (access.partner_only), only the task it
works. Its request page shows what is asked (the concerns and what is needed, its own agency's
reason, when the answer is due), the child's identifying details needed to find its records, and the
answer form; after answering it reaches its answer through "Our answers" (app/services/partners/agency_answers.py).
No other agency, no internal step, no decision table or rule and no RAG history reaches it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance, TaskRecord, User
from app.services.access import access, permissions
from app.services.cases import task_forms
from app.services.cases.case_view import visible_data
from app.services.core.clock import LONDON, parse_instant
from app.services.core.errors import NotFound
from app.services.core.states import TaskState

ASK_FIELD = "agency_ask"  # the request's own data on the partner's task (processes/stage2_infosharing.bpmn)
CHILD_KEYS = ("first_name", "last_name", "date_of_birth", "expected_date_of_delivery", "gender", "address")


def applies(user: User | None) -> bool:
    return user is not None and access.partner_only(user)


def case_view(user: User, instance: ProcessInstance) -> dict[str, Any]:
    """What the partner's task page carries of the case: the task's own reach (the case summary and the
    partner's own forms' fields, as before), without the case's steps, tasks, other agencies or household.
    The caller has checked the user may work (or manage) a task of the case."""
    return {
        "id": instance.id,
        "status": instance.status,
        "rag": None,
        "outcome": None,
        "route": None,
        "ready_tasks": [],
        "agency_tasks": [],
        "household": [],
        "data": visible_data(user, instance),
    }


def echo(user: User, instance: ProcessInstance) -> dict[str, Any]:
    """The answer to a partner's write (complete, escalate now) through the API: the case number and the
    partner's own requests still open on it; nothing else of the case."""
    mine = [
        t
        for t in db.session.execute(
            select(TaskRecord).where(TaskRecord.instance_id == instance.id, TaskRecord.state == TaskState.READY)
        ).scalars()
        if access.may_work(user, t)
    ]
    return {
        "id": instance.id,
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
            for t in mine
        ],
        "data": {"child": child(instance.case_data or {})},
    }


def child(data: dict) -> dict[str, Any]:
    found = data.get("child") or {}
    return {k: found[k] for k in CHILD_KEYS if isinstance(found, dict) and found.get(k) not in (None, "")}


def ask(user: User, task: TaskRecord) -> dict[str, Any] | None:
    """The request as asked of this agency: its reason, the concerns and what is needed, when asked."""
    if task.state == TaskState.READY:
        found = task_forms.form_values(user, task).get(ASK_FIELD)
    else:  # answered: the request as the process recorded it for this agency (never another agency's)
        instance = db.session.get_one(ProcessInstance, task.instance_id)
        found = next(
            (
                a
                for a in (instance.case_data or {}).get(ASK_FIELD + "s") or []
                if isinstance(a, dict) and task.agency and a.get("agency") == task.agency
            ),
            None,
        )
    if not isinstance(found, dict):
        return None
    return {
        "agency": found.get("agency") or task.agency,
        "reason": found.get("reason"),
        "request_details": found.get("request_details"),
        "requested_at": parse_instant(found["requested_at"]) if found.get("requested_at") else None,
    }


def by_when(moment: datetime | str | None) -> str:
    """A due time in words, London time: "by 3pm on Tuesday 24 November 2026" ("" for none)."""
    if moment in (None, ""):
        return ""
    if isinstance(moment, str):
        moment = parse_instant(moment)
        if moment is None:
            return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stored instants are UTC
    local = moment.astimezone(LONDON)
    if (local.hour, local.minute) == (12, 0):
        time = "midday"
    elif (local.hour, local.minute) == (0, 0):
        time = "midnight"
    else:
        hour = local.hour % 12 or 12
        time = f"{hour}{f':{local.minute:02d}' if local.minute else ''}{'am' if local.hour < 12 else 'pm'}"
    return f"by {time} on {local:%A} {local.day} {local:%B %Y}"


def own_case(user: User, instance_id: int) -> ProcessInstance:
    """The case of one of the partner's own requests (open or answered), for what a partner may do about
    it without reading it (raise a dispute, spec §11.13); 404 otherwise, as for the case."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("No such case")
    if not access.involved_tasks(user, instance_id):
        permissions.deny(user, "view_instance", instance_id=instance_id, status=404, message="No such case")
    return instance
