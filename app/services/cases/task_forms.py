"""A task's form (JSON Schema and UI schema, with host-filled choices) and the values it starts with."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import ProcessInstance, TaskRecord, User
from app.services.access import access
from app.services.core import engine_host, form_options, forms
from app.services.core.errors import Forbidden, NotFound


def form_for_task(user: User, task_id: str) -> dict:
    """A task's form (what a task list item refers to), for whoever may work or manage the task."""
    task = db.session.get(TaskRecord, task_id)
    if task is None or not (access.may_work(user, task) or access.may_work_as_manager(user, task)):
        raise NotFound("No such task")
    return {"name": task.form, **task_form(task)}


def form_of(deployment_id: int, form: str | None) -> dict:
    bundle = engine_host.bundle_for(deployment_id)
    ui_name = (form or "").replace(".schema.json", ".uischema.json")
    # choices only the host knows (`x-options-source`, e.g. the people who hold a role) filled in
    return {
        "schema": form_options.resolve(bundle.forms.get(form or "") or {}),
        "ui_schema": bundle.forms.get(ui_name) or {},
    }


def form_values(user: User, task: TaskRecord) -> dict[str, Any]:
    """What the task's own form starts with: the task's data for the form's fields (a challenged
    triage shows the earlier answers; a second overdue review starts empty)."""
    if not access.may_work(user, task) and not access.may_work_as_manager(user, task):
        raise Forbidden("This task belongs to another role, team or agency")
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    runtime = engine_host.runtime(instance.deployment_id, {})
    engine_task = runtime.find_task(runtime.restore(instance.process_id, instance.state), task.id)
    if engine_task is None:
        return {}
    fields = forms.declared_fields(form_of(instance.deployment_id, task.form)["schema"])
    return {k: v for k, v in engine_task.data.items() if k in fields and v is not None}


def task_form(task: TaskRecord) -> dict:
    return form_of(db.session.get_one(ProcessInstance, task.instance_id).deployment_id, task.form)
