"""The practitioner's inbox: views (mine / unclaimed / all my roles), filters, search, paging, claims and
assignment, and two things the diagrams ask of it through task properties (docs/modelling.md):
`assignTo` (a new task is picked up at once for a named person) and `tag` / `tagWhen` (a tag such as
"Returned by the manager" on the task in the inbox and on its page).

Lists are filtered, counted and paged in SQL over exactly the tasks the user may work on
(`access.workable`), so no list is ever cut off silently. A search by name narrows the cases in Python
(the history check's tolerant match) before the SQL count and page.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.orm import aliased, defer

from app.engine.evaluator import ExpressionError
from app.extensions import db
from app.models import Contact, ProcessInstance, TaskRecord, User, UserRole
from app.services.access import access, permissions
from app.services.cases import case_search, task_forms
from app.services.core import engine_host, forms, history
from app.services.core.clock import LONDON, parse_instant
from app.services.core.errors import Conflict, Forbidden, Invalid, NotFound, ProcessFailed
from app.services.core.events import EventType
from app.services.core.states import TaskState
from app.services.core.transaction import unit_of_work

VIEWS = ("mine", "unclaimed", "all")
SORTS = ("due", "rag")
RAG_ORDER = {"RED": 0, "AMBER": 1, "GREEN": 2, "NONE": 3}
ASSIGNING_ROLES = permissions.roles_for("tasks.assign")
PAGE_SIZE = 50  # inbox rows per page
# Due first (no due time last), then oldest first; the id makes the order total, so keyset paging is exact.
# Spelt `due_at IS NULL, due_at` (not NULLS LAST) to match the index ix_tasks_ready_order on both databases.
DUE_ORDER = (
    TaskRecord.due_at.is_(None).asc(),
    TaskRecord.due_at.asc(),
    TaskRecord.created_at.asc(),
    TaskRecord.id.asc(),
)


@dataclass(frozen=True)
class InboxRow:
    task: TaskRecord
    instance: ProcessInstance
    channel: str | None
    child_name: str
    claimed_by_name: str | None
    tag: str | None = None  # task properties `tag` / `tagWhen`, e.g. "Returned by the manager"


SEARCH_LIMIT = 200  # characters of a search; longer is cut


@dataclass(frozen=True)
class InboxQuery:
    view: str = "all"
    sort: str = "due"
    rag: str | None = None
    channel: str | None = None
    task_type: str | None = None
    page: int = 1
    search: str = ""  # the child's name (tolerant) or the case's reference or number; never recorded
    instance_id: int | None = None  # one case's tasks (the API's ?instance_id)
    keyset: bool = False  # the API's pages: after `cursor` in DUE_ORDER, no page numbers, filter menu or tags
    cursor: str | None = None  # keyset paging: the position the previous page ended at (encode_cursor)

    @property
    def filtered(self) -> bool:
        return bool(self.rag or self.channel or self.task_type or self.search or self.instance_id is not None)


@dataclass(frozen=True)
class InboxPage:
    rows: list
    total: int
    page: int
    pages: int
    task_types: tuple[tuple[str, str, int], ...] = ()  # (bpmn_id, title, how many) in the whole inbox
    next_cursor: str | None = None  # keyset paging: the next page's cursor (None on the last page)


def ready_tasks(user: User, instance_id: int | None = None) -> Select:
    """Ready tasks the user may work on (optionally of one case), unordered."""
    stmt = select(TaskRecord).where(TaskRecord.state == TaskState.READY, access.workable(user))
    return stmt if instance_id is None else stmt.where(TaskRecord.instance_id == instance_id)


# ---- keyset positions (the API's task list) ----------------------------------------------------------


def encode_cursor(task: TaskRecord) -> str:
    """An opaque position after `task` in DUE_ORDER (stable when tasks are added before or after it)."""
    key = [task.due_at.isoformat() if task.due_at else None, task.created_at.isoformat(), task.id]
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, datetime, str]:
    """The position a cursor names; ValueError when it is not one this service gave out."""
    try:
        due, created, task_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        due_at, created_at = parse_instant(due), parse_instant(created)
        if not isinstance(task_id, str) or created_at is None or (due is not None and due_at is None):
            raise ValueError
        return due_at, created_at, task_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValueError("Not a cursor from this list: start again without one") from None


def _after(position: tuple[datetime | None, datetime, str]):
    """Tasks after `position` in DUE_ORDER (due time nulls last, created, id)."""
    due, created, task_id = position
    later_same_due = or_(
        TaskRecord.created_at > created, and_(TaskRecord.created_at == created, TaskRecord.id > task_id)
    )
    if due is None:
        return and_(TaskRecord.due_at.is_(None), later_same_due)
    return or_(TaskRecord.due_at.is_(None), TaskRecord.due_at > due, and_(TaskRecord.due_at == due, later_same_due))


# ---- the inbox: one query for the page and the API ---------------------------------------------------


def _filtered(user: User, query: InboxQuery) -> Select:
    """The ids of the inbox's tasks for this view and these filters (joins only what a filter needs)."""
    stmt = select(TaskRecord.id).where(TaskRecord.state == TaskState.READY, access.workable(user))
    if query.instance_id is not None:
        stmt = stmt.where(TaskRecord.instance_id == query.instance_id)
    if query.view == "mine":
        stmt = stmt.where(TaskRecord.claimed_by == user.id)
    elif query.view == "unclaimed":
        stmt = stmt.where(TaskRecord.claimed_by.is_(None))
    if query.rag:
        stmt = stmt.where(TaskRecord.rag == query.rag)
    if query.channel:
        stmt = (
            stmt.join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
            .join(Contact, Contact.id == ProcessInstance.contact_id)
            .where(Contact.channel == query.channel)
        )
    if query.task_type:
        stmt = stmt.where(TaskRecord.bpmn_id == query.task_type)
    if query.search:
        stmt = stmt.where(TaskRecord.instance_id.in_(_cases_found(user, query.search) or [-1]))
    return stmt


def _cases_found(user: User, text: str) -> list[int]:
    """The cases with a task in this user's inbox that the search names: by the contact's reference
    (MASH-20261206-000002) or the case number, else by the child's name, matched as the history check
    and Find a case match it (a typo or a sound-alike surname still finds the child)."""
    text = text.strip()[:SEARCH_LIMIT]
    mine = select(TaskRecord.instance_id).where(TaskRecord.state == TaskState.READY, access.workable(user)).distinct()
    parsed = case_search.parse_case(text)
    if parsed is not None:
        reference, number = parsed
        if number is not None:
            return list(db.session.execute(mine.where(TaskRecord.instance_id == number)).scalars())
        if reference is None:
            return []
        rows = db.session.execute(
            select(ProcessInstance.id, Contact.received_at)
            .join(Contact, Contact.id == ProcessInstance.contact_id)
            .where(ProcessInstance.contact_id == reference[1], ProcessInstance.id.in_(mine))
        ).all()
        return [
            iid
            for iid, received in rows
            if received is not None and reference[0] in {f"{received:%Y%m%d}", f"{received.astimezone(LONDON):%Y%m%d}"}
        ]
    if not any(c.isalpha() for c in text):
        return []
    rows = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.case_data["child"]).where(ProcessInstance.id.in_(mine))
    ).all()
    return [
        iid
        for iid, child in rows
        if case_search.name_distance(child if isinstance(child, dict) else {}, text) is not None
    ]


def page_bounds(total: int, page: int, page_size: int) -> tuple[int, int]:
    """The page to show (a page past the end shows the last) and how many pages there are."""
    pages = max(1, -(-total // page_size))
    return min(max(1, page), pages), pages


def inbox(user: User, query: InboxQuery, page_size: int = PAGE_SIZE) -> InboxPage:
    """One page of the user's inbox: the tasks they may work on in this view and with these filters, how
    many there are, and (numbered pages, the web) the task types of the whole inbox for the Task filter
    menu, with counts; the unfiltered inbox's total is then the sum of those counts, one pass over the
    index whatever the inbox size. Keyset pages (the API) continue after `query.cursor` and give the next
    page's cursor. The page's task ids come first (an index-ordered query), then only those rows are
    joined and loaded, without the cases' engine state."""
    stmt = _filtered(user, query)
    types: tuple[tuple[str, str, int], ...] = ()
    if not query.keyset:
        types = tuple(
            sorted(
                (
                    (b, t, n)
                    for b, t, n in db.session.execute(
                        ready_tasks(user)
                        .with_only_columns(TaskRecord.bpmn_id, TaskRecord.title, func.count())
                        .group_by(TaskRecord.bpmn_id, TaskRecord.title)
                    ).all()
                ),
                key=lambda type_: (type_[1], type_[0]),
            )
        )
    if not query.keyset and query.view == "all" and not query.filtered:
        total = sum(n for _, _, n in types)
    else:
        total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    more = False
    if query.keyset:
        if query.cursor:
            try:
                stmt = stmt.where(_after(decode_cursor(query.cursor)))
            except ValueError as err:
                raise Invalid({"cursor": [str(err)]}, "This cursor is not valid") from None
        page, pages = 1, 1
        ids = list(db.session.execute(stmt.order_by(*DUE_ORDER).limit(page_size + 1)).scalars())
        more, ids = len(ids) > page_size, ids[:page_size]
    else:
        page, pages = page_bounds(total, query.page, page_size)
        order: tuple[Any, ...] = DUE_ORDER
        if query.sort == "rag":
            order = (case(RAG_ORDER, value=TaskRecord.rag, else_=4), *DUE_ORDER)
        ids = list(db.session.execute(stmt.order_by(*order).offset((page - 1) * page_size).limit(page_size)).scalars())
    claimer = aliased(User)
    loaded = (
        {
            task.id: (task, instance, channel, name)
            for task, instance, channel, name in db.session.execute(
                select(TaskRecord, ProcessInstance, Contact.channel, claimer.display_name)
                .join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
                .outerjoin(Contact, Contact.id == ProcessInstance.contact_id)
                .outerjoin(claimer, claimer.id == TaskRecord.claimed_by)
                .options(defer(ProcessInstance.state))  # the engine state is large and not shown
                .where(TaskRecord.id.in_(ids))
            ).all()
        }
        if ids
        else {}
    )
    result = []
    for task, instance, channel, claimed_by_name in (loaded[i] for i in ids if i in loaded):
        child = (instance.case_data or {}).get("child") or {}
        name = " ".join(p for p in (child.get("first_name"), child.get("last_name")) if p) or "Unnamed child"
        tag = None if query.keyset else tag_of(task, instance.deployment_id, instance.case_data)
        result.append(InboxRow(task, instance, channel, name, claimed_by_name, tag))
    next_cursor = encode_cursor(result[-1].task) if more and result else None
    return InboxPage(result, total, page, pages, types, next_cursor)


def task_items(user: User, rows: list[InboxRow], *, include_form: bool = False) -> list[dict]:
    """The API's task list items for inbox rows: each with the case data the user may see and its form
    by name (the schemas themselves only with `include_form`: they are large and repeat)."""
    data: dict[int, dict] = {}
    for row in rows:
        if row.instance.id not in data:
            bundle = engine_host.bundle_for(row.instance.deployment_id)
            data[row.instance.id] = access.visible_data(user, row.instance, set(), forms.sensitive_fields_of(bundle))
    outside = not access.inside_firewall(user)
    return [
        {
            "id": t.id,
            "instance_id": t.instance_id,
            "bpmn_id": t.bpmn_id,
            "title": t.title,
            "role": t.role,
            "team": t.team,
            "agency": t.agency,
            "due_at": t.due_at,
            "rag": t.rag,
            "form": {
                "name": t.form,
                **(task_forms.form_of(row.instance.deployment_id, t.form) if include_form else {}),
            },
            # outside the MASH a task shows the case summary plus its own answers, never another's; inside, the
            # case plus the task's own facts the case does not hold (an overdue review's `overdue`, issue 16)
            "data": {**data[t.instance_id], **(t.form_data or {})}
            if outside
            else {**(t.form_data or {}), **data[t.instance_id]},
        }
        for row in rows
        for t in (row.task,)
    ]


def ready_tasks_for(user: User, instance_id: int | None = None) -> list[TaskRecord]:
    """Every ready task the user may work on, of one case or all (a long list: use `inbox`, which pages)."""
    return list(db.session.execute(ready_tasks(user, instance_id).order_by(*DUE_ORDER)).scalars())


# ---- tags the diagram puts on a task (task properties `tag` and `tagWhen`) ---------------------------

_tag_rules: dict[tuple[str, str], tuple[str | None, str | None]] = {}


def tag_of(task: TaskRecord, deployment_id: int, case_data: dict | None) -> str | None:
    """The task's tag (property `tag`) while its `tagWhen` holds over the case as it stands now (always,
    without one). A condition that cannot be evaluated yet (a name the case does not hold) shows no tag."""
    bundle = engine_host.bundle_for(deployment_id)
    key = (bundle.bundle_hash, task.bpmn_id)
    if key not in _tag_rules:
        properties = bundle.task_properties(task.bpmn_id)
        _tag_rules[key] = (properties.get("tag"), properties.get("tagWhen"))
    tag, when = _tag_rules[key]
    if not tag:
        return None
    if when:
        try:
            if not engine_host.evaluator().evaluate(when, dict(case_data or {})):
                return None
        except ExpressionError:
            return None
    return tag


def tag_for(task: TaskRecord) -> str | None:
    instance = db.session.get(ProcessInstance, task.instance_id)
    return tag_of(task, instance.deployment_id, instance.case_data) if instance else None


# ---- claims -----------------------------------------------------------------------------------------


def _task_for(user: User, task_id: str) -> TaskRecord:
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    return task


def holder_name(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return db.session.execute(select(User.display_name).where(User.id == user_id)).scalar_one_or_none()


def held_by_someone_else(holder_id: int | None) -> Conflict:
    name = holder_name(holder_id) or "someone else"
    return Conflict(
        f"{name} has already picked up this task: ask them or a manager to release it", {"claimed_by": name}
    )


def claim(user: User, task_id: str) -> TaskRecord:
    """Pick up a task. One conditional UPDATE decides: of any number of people picking it up at the
    same moment exactly one holds it; the others are told who does (409)."""
    task = _task_for(user, task_id)
    if not access.may_work(user, task):
        raise Forbidden("This task belongs to another role, team or agency")
    with unit_of_work():
        history.lock_chain(task.instance_id)  # the case's writers take its chain first: no deadlock with a completion
        won = db.session.execute(
            update(TaskRecord)
            .where(TaskRecord.id == task_id, TaskRecord.state == TaskState.READY, TaskRecord.claimed_by.is_(None))
            .values(claimed_by=user.id)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won:
            history.record(
                EventType.TASK_CLAIMED, instance_id=task.instance_id, actor=user, bpmn_id=task.bpmn_id, task_id=task.id
            )
        else:  # read what the winner committed (PostgreSQL: the update waited for it)
            state, holder = db.session.execute(
                select(TaskRecord.state, TaskRecord.claimed_by).where(TaskRecord.id == task_id)
            ).one()
            if state != TaskState.READY:
                raise Conflict("This task has already been completed")
            if holder != user.id:
                raise held_by_someone_else(holder)
    db.session.expire(task)
    return task


def check_claim_for_completion(user: User, task: TaskRecord) -> None:
    """Inside the completing transaction: lock the task row and refuse (409, naming the holder) when
    someone else holds it, so a claim committed a moment earlier is never overtaken. An unclaimed
    task may be completed by anyone who may work it."""
    history.lock_chain(task.instance_id)  # as a claim does, before the task row (same lock order)
    holder = db.session.execute(
        select(TaskRecord.claimed_by).where(TaskRecord.id == task.id).with_for_update()
    ).scalar_one_or_none()
    if holder not in (None, user.id):
        raise held_by_someone_else(holder)


def unclaim(user: User, task_id: str) -> TaskRecord:
    task = _task_for(user, task_id)
    if task.claimed_by != user.id and not (user.roles & ASSIGNING_ROLES and access.may_work_as_manager(user, task)):
        raise Forbidden("Only the person who picked up this task, or a manager, can release it")
    with unit_of_work():
        task.claimed_by = None
        history.record(
            EventType.TASK_UNCLAIMED, instance_id=task.instance_id, actor=user, bpmn_id=task.bpmn_id, task_id=task.id
        )
    return task


def barred(task: TaskRecord) -> set[int]:
    """Who may not do this task although they hold its role: whoever completed a step its
    `excludeActorsOf` names in this case (four eyes)."""
    if not task.exclude_actors_of:
        return set()
    return {
        i
        for i in db.session.execute(
            select(TaskRecord.completed_by).where(
                TaskRecord.instance_id == task.instance_id,
                TaskRecord.state == TaskState.COMPLETED,
                TaskRecord.bpmn_id.in_(list(task.exclude_actors_of)),
                TaskRecord.completed_by.is_not(None),
            )
        ).scalars()
        if i is not None
    }


def may_take(user: User, task: TaskRecord, excluded: set[int] | None = None) -> bool:
    """Whether this person could do the task: an active holder of its role (lane), in its team and
    agency, not barred by four eyes."""
    return (
        user.active and access.may_work(user, task) and user.id not in (barred(task) if excluded is None else excluded)
    )


def assignees(task: TaskRecord) -> list[User]:
    """People who could do this task: every active holder of its role (in its team and agency), less
    anyone four eyes bars. The choices a manager assigns from."""
    if not task.role:
        return []
    candidates = db.session.execute(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role == task.role)
        .order_by(User.display_name, User.id)
    ).scalars()
    excluded = barred(task)
    return [u for u in candidates if may_take(u, task, excluded)]


def assign(manager: User, task_id: str, username: str) -> TaskRecord:
    task = _task_for(manager, task_id)
    if not (manager.roles & ASSIGNING_ROLES and access.may_work_as_manager(manager, task)):
        raise Forbidden("Only a manager of this work can assign it")
    if task.state != TaskState.READY:
        raise Conflict("This task has already been completed")
    target = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if target is None or not may_take(target, task):
        raise Invalid({"assignee": ["Choose someone who can do this task"]})
    with unit_of_work():
        task.claimed_by = target.id
        history.record(
            EventType.TASK_ASSIGNED,
            instance_id=task.instance_id,
            actor=manager,
            bpmn_id=task.bpmn_id,
            task_id=task.id,
            detail={"assignee": target.username},
        )
    return task


# ---- the diagram names who does a new task (task property `assignTo`) -------------------------------


def completed_by(instance_id: int) -> dict[str, str]:
    """Who last completed each step of a case: {BPMN id: username}. `assignTo` reads it as
    `completed_by`, e.g. to give a returned triage back to whoever triaged."""
    rows = db.session.execute(
        select(TaskRecord.bpmn_id, User.username)
        .join(User, User.id == TaskRecord.completed_by)
        .where(TaskRecord.instance_id == instance_id, TaskRecord.state == TaskState.COMPLETED)
        .order_by(TaskRecord.completed_at, TaskRecord.id)
    ).all()
    return dict(rows)


def assign_by_model(task: TaskRecord, expression: str, names: dict, evaluate, actor: User | None) -> User | None:
    """Task property `assignTo`: an expression giving a username, or a list of them in order of
    preference. The new task is picked up at once for the first active person on it who could do it (a
    `task_assigned` event, `via: assignTo`); when nobody on it can (or it gives nothing) the task waits in
    the shared inbox. Runs in the run's own unit of work."""
    try:
        value = evaluate(expression, names)
    except ExpressionError as err:
        raise ProcessFailed(f"task {task.bpmn_id}: property assignTo: {err}", {"bpmn_id": task.bpmn_id}) from None
    wanted = value if isinstance(value, (list, tuple)) else [value]
    usernames = [str(v).strip() for v in wanted if isinstance(v, str) and v.strip()]
    if not usernames:
        return None
    people = {u.username: u for u in db.session.execute(select(User).where(User.username.in_(usernames))).scalars()}
    excluded = barred(task)
    for username in usernames:
        person = people.get(username)
        if person is not None and may_take(person, task, excluded):
            task.claimed_by = person.id
            history.record(
                EventType.TASK_ASSIGNED,
                instance_id=task.instance_id,
                actor=actor,
                bpmn_id=task.bpmn_id,
                task_id=task.id,
                detail={"assignee": person.username, "via": "assignTo"},
            )
            return person
    return None
