"""Everything the task page shows, gathered in one place so the view stays thin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.extensions import db
from app.models import ProcessInstance, TaskRecord, User
from app.services.access import access, permissions
from app.services.audit import audit_sampling
from app.services.cases import case_file, case_view, letters, task_forms, task_messages, worklist
from app.services.core import engine_host
from app.services.core.errors import NotFound
from app.services.partners import partner_history, partner_request


@dataclass
class TaskPage:
    task: TaskRecord
    case: dict
    schema: dict
    ui_schema: dict
    instructions: str | None
    has_preview: bool
    decisions: list[dict]
    assignees: list[User]
    may_assign: bool
    claimed_by_name: str | None
    message: dict | None = None
    documentation: str | None = None  # a user task without a form shows its documentation and a Complete button
    letter: dict | None = None  # task property `letter`: the letter this task sends (app/services/cases/letters.py)
    related_case: dict | None = None  # task property `relatedCase`: the case this task is about
    earlier_answers: list[dict] = field(default_factory=list)
    file: case_file.CaseFile | None = None  # the case file beside the form: what the decision rests on


def load(user: User, task_id: str) -> TaskPage:
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    if not access.may_work(user, task) and not access.may_work_as_manager(user, task):
        outside = partner_request.applies(user)  # outside the firewall a case's other tasks do not exist for them
        permissions.deny(
            user,
            "open_task",
            instance_id=task.instance_id,
            status=404 if outside else 403,
            message="No such task" if outside else "This task belongs to another role, team or agency",
            task_id=task_id,
            bpmn_id=task.bpmn_id,
        )
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    bundle = engine_host.bundle_for(instance.deployment_id)
    extensions = bundle.task_extensions(task.bpmn_id)
    form = task_forms.task_form(task)
    may_assign = bool(user.roles & worklist.ASSIGNING_ROLES) and access.may_work_as_manager(user, task)
    claimer = db.session.get(User, task.claimed_by) if task.claimed_by else None
    # a partner works its request without opening the case: the firewall runs both ways (access.partner_only)
    case = (
        partner_request.case_view(user, instance)
        if partner_request.applies(user)
        else case_view.view_instance(user, instance.id)
    )
    return TaskPage(
        task=task,
        case=case,
        schema=form["schema"],
        ui_schema=form["ui_schema"],
        instructions=extensions.get("instructionsForEndUser"),
        has_preview=bool((extensions.get("properties") or {}).get("previewDecision")),
        decisions=case_view.decisions_so_far(instance.id),
        assignees=worklist.assignees(task) if may_assign else [],
        may_assign=may_assign,
        claimed_by_name=claimer.display_name if claimer else None,
        message=task_messages.task_message(task) if access.may_work(user, task) else None,
        documentation=None if task.form else bundle.task_documentation(task.bpmn_id),
        letter=letters.for_task(user, task),
        related_case=audit_sampling.related_case(user, task),
        earlier_answers=partner_history.earlier_answers(user, task),
        file=case_file.build(user, instance, case["data"]),
    )


def prefill(user: User, page: TaskPage) -> dict[str, Any]:
    """The form starts from the task's own data for its fields (e.g. the earlier answers after a challenge)."""
    return task_forms.form_values(user, page.task)
