"""Completing a task: checks (who may, four eyes, claims), validation, the engine run and its history in one
transaction; and the preview of the decision a task's answers would give."""

from __future__ import annotations

from typing import Any

from app.engine import dmn
from app.engine.clock import CLOCK
from app.engine.errors import ProcessError, TaskStateError
from app.engine.evaluator import ExpressionError
from app.extensions import db
from app.models import ProcessInstance, TaskRecord, User
from app.services.access import access
from app.services.cases import letters, worklist
from app.services.cases.case_view import deny, view_of, visible_data
from app.services.cases.persist import persist_run
from app.services.cases.runs import operations_for
from app.services.cases.task_forms import form_of
from app.services.core import engine_host, forms, history
from app.services.core.errors import Conflict, Forbidden, NotFound, ProcessFailed
from app.services.core.events import EventType
from app.services.core.states import TaskState
from app.services.core.transaction import unit_of_work


def complete_task(user: User, task_id: str, data: dict[str, Any]) -> ProcessInstance:
    return _complete_task(user, task_id, data)[0]


def complete_task_and_view(user: User, task_id: str, data: dict[str, Any]) -> dict:
    """Complete the task and answer with the case as the caller now sees it (what `view_instance`
    gives), built inside the same transaction from the rows it already holds: nothing is read back
    after the commit, and no second transaction is opened only to read. Whoever may not view the case
    (access.may_view, e.g. a partner) has the task completed and gets 404, as view_instance answers."""
    answer = _complete_task(user, task_id, data, view=True)[1]
    if answer is None:  # _complete_task has already refused (404) whoever may not view the case
        raise NotFound("No such case")
    return answer


def _complete_task(
    user: User, task_id: str, data: dict[str, Any], *, view: bool = False
) -> tuple[ProcessInstance, dict | None]:
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    if not access.may_work(user, task):
        deny(user, task.instance_id, "complete_task", task_id=task_id, bpmn_id=task.bpmn_id)
        raise Forbidden("This task belongs to another role, team or agency")
    if task.exclude_actors_of:
        earlier = [
            e
            for e in history.for_instance(task.instance_id)
            if e.type == EventType.TASK_COMPLETED and e.bpmn_id in task.exclude_actors_of and e.actor_id == user.id
        ]
        if earlier:
            deny(user, task.instance_id, "complete_task", task_id=task_id, bpmn_id=task.bpmn_id, reason="four_eyes")
            raise Forbidden("A different manager must do this: you completed an earlier step of this decision")
    if task.state != TaskState.READY:
        raise Conflict(f"This task is already {task.state}: it cannot be completed again")
    with unit_of_work():
        worklist.check_claim_for_completion(user, task)  # 409 naming the holder; a manager may assign it
        instance = db.session.get_one(ProcessInstance, task.instance_id)
        alerts: list[dict] = []
        runtime = engine_host.runtime(instance.deployment_id, operations_for(instance, alerts))
        workflow = engine_host.restore(runtime, instance)  # the live workflow when it is the state read
        engine_task = runtime.find_task(workflow, task_id)
        if engine_task is None:
            raise Conflict("This task is no longer part of the case")
        form = form_of(instance.deployment_id, task.form)
        data = forms.validate_submission(form["schema"], engine_task.data, data, form["ui_schema"])
        try:
            runtime.complete_task(workflow, task_id, data)
        except TaskStateError as err:
            raise Conflict(str(err)) from None
        except ProcessError as err:
            raise ProcessFailed(err.message, {"bpmn_id": err.bpmn_id}) from None
        now = CLOCK.now()
        task.state = TaskState.COMPLETED
        task.completed_at = now
        task.completed_by = user.id
        task.form_data = data  # what this person answered (e.g. an agency's own earlier answer, seed §12)
        history.record(
            EventType.TASK_COMPLETED,
            instance_id=instance.id,
            actor=user,
            bpmn_id=task.bpmn_id,
            task_id=task.id,
            detail={
                "title": task.title,
                "fields": sorted(data),
                "values": data,
                "before": {k: (instance.case_data or {}).get(k) for k in data},
            },
        )
        letters.record_sent(user, instance, task)  # task property `letter`: a letter_sent event
        engine_host.task_completed(user, task, engine_task.data, data)  # e.g. audit_sampling.record_finding
        ready = persist_run(instance, runtime, workflow, user, alerts)
        answer = None
        if view and access.may_view(user, instance):  # what view_instance checks, before reading
            answer = view_of(user, instance, ready, visible_data(user, instance))
    if view and answer is None:
        deny(user, instance.id, "view_instance")
        raise NotFound("No such case")  # existence itself must not leak
    return instance, answer


def preview_decision(user: User, task_id: str, data: dict[str, Any]) -> dict | None:
    """What the task's decision table would propose for the data entered so far (task property
    `previewDecision`), with the rule that produced it; None when the task has no preview or the
    data is not complete enough yet. Nothing is saved."""
    task = db.session.get(TaskRecord, task_id)
    if task is None or not access.may_work(user, task):
        raise NotFound("No such task")
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    bundle = engine_host.bundle_for(instance.deployment_id)
    decision_id = bundle.task_properties(task.bpmn_id).get("previewDecision")
    table = bundle.decisions.get(decision_id or "")
    if table is None:
        return None
    try:
        result = dmn.evaluate_decision(table, {**(instance.case_data or {}), **data}, engine_host.evaluator().evaluate)
    except (dmn.DecisionError, ExpressionError) as err:
        return {"decision_id": decision_id, "error": str(err)}
    return {
        "decision_id": decision_id,
        "outputs": result.outputs,
        "rules": result.matched_rule_ids,
        "descriptions": [r.description for r in table.rules if r.id in result.matched_rule_ids],
    }
