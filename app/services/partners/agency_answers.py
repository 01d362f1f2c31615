"""A partner agency's own answers, after it gave them: list them, revise them, and withhold parts of
them from the handover (spec §6.2, §6.8).

An agency may decide, before the handover, that part of what it told the MASH must not go on to the
receiving team (a fact that would identify a source, say). It can only ever narrow what leaves the
MASH, never what the MASH itself sees, and only for its own answer. It may also revise its answer
(e.g. add information still awaited, and the decision maker is alerted): every version is kept in
the case's history, the case and the package use the latest. Each change is recorded with the
agency, person and time; once the package has been disclosed nothing can be changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import HistoryEvent, ProcessInstance, TaskRecord, User
from app.services.access import permissions
from app.services.cases import task_forms, worklist
from app.services.core import forms, history
from app.services.core.errors import Conflict, Invalid, NotFound
from app.services.core.events import EventType
from app.services.core.roles import AGENCY_ROLES
from app.services.core.states import TaskState
from app.services.core.transaction import unit_of_work
from app.services.partners import partner_request

WITHHELD_KEY = "handover_withheld"  # case data: {agency: {"facts": [i, ...], "fields": [name, ...]}}
WITHHOLDABLE_FIELDS = ("analysis", "recommendation", "awaiting")


def _own(user: User, task: TaskRecord | None) -> TaskRecord:
    if task is None or task.agency is None:
        raise NotFound("No such answer")
    if not (user.roles & AGENCY_ROLES) or user.agency != task.agency:
        permissions.deny(
            user,
            "open_agency_answer",
            instance_id=task.instance_id,
            message="This answer belongs to another agency",
            task_id=task.id,
        )
    if task.state != TaskState.COMPLETED:
        raise NotFound("Your agency has not answered this request yet")
    return task


def disclosed(instance_id: int) -> bool:
    """Whether the handover package has already left the MASH (a receiving-team read was recorded)."""
    return (
        db.session.execute(
            select(HistoryEvent.id)
            .where(HistoryEvent.instance_id == instance_id, HistoryEvent.type == EventType.DISCLOSED)
            .limit(1)
        ).first()
        is not None
    )


def my_answers(user: User, page: int = 1, page_size: int = worklist.PAGE_SIZE) -> worklist.InboxPage:
    """One page of the user's agency's completed answers, newest first, with whether they can still be
    changed, and how many there are (nothing cut off)."""
    if not (user.roles & AGENCY_ROLES) or not user.agency:
        return worklist.InboxPage([], 0, 1, 1)
    mine = select(TaskRecord).where(TaskRecord.agency == user.agency, TaskRecord.state == TaskState.COMPLETED)
    total = db.session.execute(select(func.count()).select_from(mine.subquery())).scalar_one()
    page, pages = worklist.page_bounds(total, page, page_size)
    rows = db.session.execute(
        mine.order_by(TaskRecord.completed_at.desc(), TaskRecord.id).offset((page - 1) * page_size).limit(page_size)
    ).scalars()
    result = []
    for task in rows:
        instance = db.session.get_one(ProcessInstance, task.instance_id)
        child = (instance.case_data or {}).get("child") or {}
        result.append(
            {
                "task": task,
                "child": f"{child.get('first_name', '')} {child.get('last_name', '')}".strip(),
                "open": not disclosed(task.instance_id),
            }
        )
    return worklist.InboxPage(result, total, page, pages)


def answer(user: User, task_id: str) -> dict[str, Any]:
    task = _own(user, db.session.get(TaskRecord, task_id))
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    withheld = ((instance.case_data or {}).get(WITHHELD_KEY) or {}).get(task.agency) or {"facts": [], "fields": []}
    return {
        "task": task,
        "answer": (task.form_data or {}).get("agency_response") or {},
        "withheld": withheld,
        "open": not disclosed(task.instance_id),
        "ask": partner_request.ask(user, task),
    }


def withhold(user: User, task_id: str, facts: list[int], fields: list[str], reason: str) -> dict[str, Any]:
    """Set which of the agency's facts and fields stay out of the handover package (replacing the earlier choice)."""
    task = _own(user, db.session.get(TaskRecord, task_id))
    given = (task.form_data or {}).get("agency_response") or {}
    errors: dict[str, list[str]] = {}
    count = len(given.get("information") or [])
    if any(not isinstance(i, int) or not 0 <= i < count for i in facts):
        errors["facts"] = ["Choose facts from your answer"]
    if any(f not in WITHHOLDABLE_FIELDS for f in fields):
        errors["fields"] = ["Choose parts of your answer"]
    if not (reason or "").strip():
        errors["reason"] = ["Enter why this must not go to the receiving team"]
    if errors:
        raise Invalid(errors)
    with unit_of_work():
        instance = db.session.get_one(ProcessInstance, task.instance_id)
        if disclosed(instance.id):
            raise Conflict("The handover package has already gone to the receiving team: ask the MASH manager")
        data = dict(instance.case_data or {})
        withheld = dict(data.get(WITHHELD_KEY) or {})
        withheld[task.agency] = {
            "facts": sorted(set(facts)),
            "fields": sorted(set(fields)),
            "by": user.username,
            "at": CLOCK.now().isoformat(),
        }
        data[WITHHELD_KEY] = withheld
        instance.case_data = data
        history.record(
            EventType.ANSWER_WITHHELD_FROM_HANDOVER,
            instance_id=instance.id,
            actor=user,
            task_id=task.id,
            bpmn_id=task.bpmn_id,
            detail={
                "agency": task.agency,
                "facts": sorted(set(facts)),
                "fields": sorted(set(fields)),
                "reason": reason.strip(),
            },
        )
    return answer(user, task_id)


def apply_to_package(responses: list[Any], agencies: list[Any], withheld: dict[str, Any]) -> list[Any]:
    """The agencies' answers as they may leave the MASH: what each agency withheld is left out."""
    result = []
    for index, response in enumerate(responses):
        if not isinstance(response, dict):
            result.append(response)
            continue
        agency = response.get("agency") or (agencies[index] if index < len(agencies) else None)
        choice = (withheld.get(agency) if agency else None) or {}
        kept = {k: v for k, v in response.items() if k not in set(choice.get("fields") or [])}
        if choice.get("facts") and isinstance(kept.get("information"), list):
            kept["information"] = [f for i, f in enumerate(kept["information"]) if i not in set(choice["facts"])]
        if choice.get("facts") or choice.get("fields"):
            kept["withheld_by_agency"] = True
        result.append({"agency": agency, **kept} if agency else kept)
    return result


def answer_form(user: User, task_id: str) -> dict[str, Any]:
    """The answer form (the task's own schema) to revise the agency's answer."""
    task = _own(user, db.session.get(TaskRecord, task_id))
    return {
        "task": task,
        **task_forms.task_form(task),
        "values": dict(task.form_data or {}),
        "open": not disclosed(task.instance_id),
    }


def revise(user: User, task_id: str, submission: dict[str, Any]) -> int:
    """Replace the agency's answer with a new version (validated like the task itself). Returns the
    version number; version 1 is the answer as first given (its task_completed event)."""
    task = _own(user, db.session.get(TaskRecord, task_id))
    if disclosed(task.instance_id):  # the more useful answer than any form error
        raise Conflict("The handover package has gone to the receiving team: ask the MASH manager")
    form = task_forms.task_form(task)
    data = forms.validate_submission(form["schema"], {}, submission, form["ui_schema"])
    with unit_of_work():
        instance = db.session.get_one(ProcessInstance, task.instance_id)
        if disclosed(instance.id):
            raise Conflict("The handover package has gone to the receiving team: ask the MASH manager")
        case = dict(instance.case_data or {})
        responses = list(case.get("agency_responses") or [])
        agencies = case.get("agencies") or []
        index = next(
            (
                i
                for i, r in enumerate(responses)
                if isinstance(r, dict)
                and (r.get("agency") or (agencies[i] if i < len(agencies) else None)) == task.agency
            ),
            None,
        )
        new_answer = data.get("agency_response") or {}
        old_answer = (task.form_data or {}).get("agency_response") or {}
        if index is not None:
            responses[index] = new_answer
            case["agency_responses"] = responses
            instance.case_data = case
        task.form_data = data
        version = 2 + sum(
            1 for e in history.for_instance(instance.id) if e.type == EventType.ANSWER_REVISED and e.task_id == task.id
        )
        history.record(
            EventType.ANSWER_REVISED,
            instance_id=instance.id,
            actor=user,
            task_id=task.id,
            bpmn_id=task.bpmn_id,
            detail={
                "agency": task.agency,
                "version": version,
                "values": data,
                "fields": sorted(
                    k for k in set(new_answer) | set(old_answer) if new_answer.get(k) != old_answer.get(k)
                ),
            },
        )
        if len(new_answer.get("awaiting") or []) > len(old_answer.get("awaiting") or []):
            history.record(
                EventType.ALERT_RAISED,
                instance_id=instance.id,
                actor=user,
                detail={
                    "role": "decision_maker",
                    "team": None,
                    "reason": f"{task.agency}: information still awaited was added to its answer",
                },
            )
    return version
