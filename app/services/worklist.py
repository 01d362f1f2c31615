"""The practitioner's inbox: views (mine / unclaimed / all my roles), filters, claims and assignment."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import Contact, ProcessInstance, TaskRecord, User
from app.services import access, history
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.transaction import unit_of_work

VIEWS = ("mine", "unclaimed", "all")
SORTS = ("due", "rag")
RAG_ORDER = {"RED": 0, "AMBER": 1, "GREEN": 2, "NONE": 3, None: 4}
ASSIGNING_ROLES = frozenset({"mash_manager", "eh_manager", "receiving_team_manager", "partner_manager"})


@dataclass(frozen=True)
class InboxRow:
    task: TaskRecord
    instance: ProcessInstance
    channel: str | None
    child_name: str
    claimed_by_name: str | None


@dataclass(frozen=True)
class InboxQuery:
    view: str = "all"
    sort: str = "due"
    rag: str | None = None
    channel: str | None = None
    task_type: str | None = None


def rows(user: User, query: InboxQuery) -> list[InboxRow]:
    stmt = (select(TaskRecord, ProcessInstance, Contact)
            .join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
            .outerjoin(Contact, Contact.id == ProcessInstance.contact_id)
            .where(TaskRecord.state == "ready", TaskRecord.role.in_(sorted(user.roles)))
            .order_by(TaskRecord.due_at.asc().nulls_last(), TaskRecord.created_at).limit(1000))
    if query.view == "mine":
        stmt = stmt.where(TaskRecord.claimed_by == user.id)
    elif query.view == "unclaimed":
        stmt = stmt.where(TaskRecord.claimed_by.is_(None))
    if query.rag:
        stmt = stmt.where(TaskRecord.rag == query.rag)
    if query.channel:
        stmt = stmt.where(Contact.channel == query.channel)
    if query.task_type:
        stmt = stmt.where(TaskRecord.bpmn_id == query.task_type)
    names = {}
    result = []
    for task, instance, contact in db.session.execute(stmt).all():
        if not access.may_work(user, task):
            continue
        if task.claimed_by and task.claimed_by not in names:
            names[task.claimed_by] = db.session.get(User, task.claimed_by).display_name
        child = (instance.case_data or {}).get("child") or {}
        result.append(InboxRow(task, instance, contact.channel if contact else None,
                               " ".join(p for p in (child.get("first_name"), child.get("last_name")) if p) or "Unnamed child",
                               names.get(task.claimed_by)))
    if query.sort == "rag":
        result.sort(key=lambda r: (RAG_ORDER.get(r.task.rag, 4), r.task.due_at or datetime.max.replace(tzinfo=CLOCK.now().tzinfo)))
    return result


def _task_for(user: User, task_id: str) -> TaskRecord:
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    return task


def claim(user: User, task_id: str) -> TaskRecord:
    task = _task_for(user, task_id)
    if not access.may_work(user, task):
        raise Forbidden("This task belongs to another role, team or agency")
    if task.state != "ready":
        raise Conflict("This task has already been completed")
    if task.claimed_by not in (None, user.id):
        raise Conflict("Someone else has already picked up this task")
    with unit_of_work():
        task.claimed_by = user.id
        history.record("task_claimed", instance_id=task.instance_id, actor=user, bpmn_id=task.bpmn_id, task_id=task.id)
    return task


def unclaim(user: User, task_id: str) -> TaskRecord:
    task = _task_for(user, task_id)
    if task.claimed_by != user.id and not (user.roles & ASSIGNING_ROLES and access.may_work_as_manager(user, task)):
        raise Forbidden("Only the person who picked up this task, or a manager, can release it")
    with unit_of_work():
        task.claimed_by = None
        history.record("task_unclaimed", instance_id=task.instance_id, actor=user, bpmn_id=task.bpmn_id, task_id=task.id)
    return task


def assignees(task: TaskRecord) -> list[User]:
    """People who could do this task: the choices a manager assigns from."""
    candidates = db.session.execute(select(User).where(User.active.is_(True)).order_by(User.display_name)).scalars()
    return [u for u in candidates if access.may_work(u, task)]


def assign(manager: User, task_id: str, username: str) -> TaskRecord:
    task = _task_for(manager, task_id)
    if not (manager.roles & ASSIGNING_ROLES and access.may_work_as_manager(manager, task)):
        raise Forbidden("Only a manager of this work can assign it")
    if task.state != "ready":
        raise Conflict("This task has already been completed")
    target = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if target is None or not access.may_work(target, task):
        raise Invalid({"assignee": ["Choose someone who can do this task"]})
    with unit_of_work():
        task.claimed_by = target.id
        history.record("task_assigned", instance_id=task.instance_id, actor=manager, bpmn_id=task.bpmn_id,
                       task_id=task.id, detail={"assignee": target.username})
    return task
