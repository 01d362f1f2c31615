"""Messages a task lets its worker send into the running process (task properties `message` and `messageForm`),
e.g. a partner escalating heightened risk from an open request."""

from __future__ import annotations

from typing import Any

from app.engine.clock import CLOCK
from app.engine.errors import ProcessError, TaskStateError
from app.extensions import db
from app.models import ProcessInstance, TaskRecord, User
from app.services.access import access
from app.services.cases.case_view import deny
from app.services.cases.persist import persist_run
from app.services.cases.runs import operations_for
from app.services.core import engine_host, forms, history
from app.services.core.errors import Conflict, Forbidden, NotFound, ProcessFailed
from app.services.core.events import EventType
from app.services.core.states import TaskState
from app.services.core.transaction import unit_of_work


def task_message(task: TaskRecord) -> dict | None:
    """The message a task lets its worker send into the process (task properties `message` and
    `messageForm`), e.g. a partner escalating heightened risk from their open request."""
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    bundle = engine_host.bundle_for(instance.deployment_id)
    properties = bundle.task_properties(task.bpmn_id)
    if not properties.get("message"):
        return None
    form = properties.get("messageForm")
    return {
        "name": properties["message"],
        "schema": bundle.forms.get(form or "") or {},
        "ui_schema": bundle.forms.get((form or "").replace(".schema.json", ".uischema.json")) or {},
    }


def send_task_message(user: User, task_id: str, data: dict[str, Any]) -> ProcessInstance:
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    if not access.may_work(user, task):
        deny(user, task.instance_id, "send_message", task_id=task_id, bpmn_id=task.bpmn_id)
        raise Forbidden("This task belongs to another role, team or agency")
    if task.state != TaskState.READY:
        raise Conflict(f"This task is already {task.state}")
    message = task_message(task)
    if message is None:
        raise NotFound("This task has nothing to send")
    data = forms.validate_submission(message["schema"], {}, data, message["ui_schema"])
    with unit_of_work():
        instance = db.session.get_one(ProcessInstance, task.instance_id)
        alerts: list[dict] = []
        runtime = engine_host.runtime(instance.deployment_id, operations_for(instance, alerts))
        workflow = engine_host.restore(runtime, instance)  # the live workflow when it is the state read
        try:
            runtime.send_message(
                workflow,
                message["name"],
                {**data, "sent_by": user.username, "agency": task.agency, "sent_at": CLOCK.now().isoformat()},
            )
        except TaskStateError as err:
            raise Conflict(str(err)) from None
        except ProcessError as err:
            raise ProcessFailed(err.message, {"bpmn_id": err.bpmn_id}) from None
        history.record(
            EventType.MESSAGE_SENT,
            instance_id=instance.id,
            actor=user,
            bpmn_id=task.bpmn_id,
            task_id=task.id,
            detail={"message": message["name"], "agency": task.agency, "fields": sorted(data), "values": data},
        )
        persist_run(instance, runtime, workflow, user, alerts)
    return instance
