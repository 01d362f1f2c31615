"""Use cases on process instances: start a contact, complete a task, read a case and its history.

Each public function is one transaction: engine state, inbox projection and history commit
together or not at all. The engine runs inside the transaction, so a decision that finds no
rule or a missing input rolls everything back and the user sees why.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from app.engine import dmn
from app.engine.clock import CLOCK
from app.engine.errors import ProcessError, TaskStateError
from app.engine.evaluator import ExpressionError
from app.engine.runtime import Runtime
from app.extensions import db
from app.models import Contact, Deployment, HistoryEvent, ProcessInstance, TaskRecord, TimerRecord, User
from app.services import permissions
from app.services import (access, audit_sampling, case_index, deployments, engine_host, form_options, forms, history,
                          household, letters, worklist)
from app.services.clock import parse_instant
from app.services.errors import Conflict, Forbidden, NotFound, ProcessFailed
from app.services.transaction import unit_of_work

FRONT_DOOR = "front_door"
START_ROLES = permissions.roles_for("contacts.start")


_instant = parse_instant


def operations_for(instance: ProcessInstance, alerts: list[dict]) -> dict:
    """The host operations service tasks call, bound to one instance and run."""
    def raise_alert(role: str, team: str | None = None, reason: str | None = None) -> dict:
        alerts.append({"role": role, "team": team, "reason": reason})
        return {"alerted": True}

    return {
        "case_index.search": case_index.search,
        "case_index.summarise": case_index.summarise,
        "case_index.record_outcome": functools.partial(case_index.record_outcome, instance_id=instance.id),
        "alert.raise": raise_alert,
        # the case as it stood when this step began, across every branch (a branch's own data may be older)
        "case.read": lambda names: {name: (instance.case_data or {}).get(name) for name in names},
        # another child of the same contact gets an instance of its own at once (App. D 2.7, spec §11.10)
        "contacts.add_children": functools.partial(add_children, instance),
        **audit_sampling.OPERATIONS,  # audit_sampling.next_draw / .draw (processes/audit_sampling.bpmn)
    }


def _deny(user: User, instance_id: int | None, what: str, **detail) -> None:
    with unit_of_work():
        history.record("access_denied", instance_id=instance_id, actor=user, detail={"action": what, **detail})


def persist_run(instance: ProcessInstance, runtime: Runtime, workflow, actor: User | None,
                alerts: list[dict]) -> list[TaskRecord]:
    """Write state, case data, inbox projection and history for one engine run. Returns the case's
    ready task rows as they now stand (what the answer to the caller shows, without reading them back)."""
    now = CLOCK.now()
    case_data = dict(instance.case_data or {})
    case_data.update(runtime.log.changed)
    withdrawn = runtime.withdraw_tasks(workflow, case_data)
    case_data.update(runtime.log.changed)
    if case_data.get("rag") != instance.rag:  # when the RAG last changed: timers may follow it (spec §11.3)
        case_data["rag_changed_at"] = now.astimezone(timezone.utc).isoformat()
    runtime.follow_case_dates(workflow, case_data)
    instance.state = runtime.dump(workflow)
    instance.case_data = case_data
    if case_data.get("rag") != instance.rag:  # the case's RAG before → after, for the audit timeline
        history.record("rag_changed", instance_id=instance.id, actor=actor,
                       detail={"from": instance.rag, "to": case_data.get("rag")})
    instance.rag = case_data.get("rag")
    instance.outcome = case_data.get("outcome")
    instance.outcome_due_at = _instant(case_data.get("outcome_due_at"))
    waiting = runtime.waiting_timers(workflow)  # one scan serves next_timer_at and the timer rows
    had_waiting_timers = instance.next_timer_at is not None  # as the last run left it (see _sync_timers)
    instance.next_timer_at = min((due for _, _, due in waiting), default=None)
    instance.updated_at = now
    version = engine_host_version(instance.deployment_id)
    for bpmn_id, result in runtime.log.decisions:
        history.record("decision_evaluated", instance_id=instance.id, bpmn_id=bpmn_id, actor=actor, detail={
            "decision_id": result.decision_id, "table_id": result.table_id, "hit_policy": result.hit_policy,
            "inputs": result.inputs, "outputs": result.outputs, "matched_rules": result.matched_rule_ids,
            "deployment_version": version,
        })
    for route in runtime.log.routes:
        history.record("route_taken", instance_id=instance.id, bpmn_id=route["bpmn_id"], actor=actor,
                       detail={"gateway": route["name"], "to": route["to"]})
    for alert in alerts:
        history.record("alert_raised", instance_id=instance.id, actor=actor, detail=alert)
    for task in withdrawn:
        history.record("task_withdrawn", instance_id=instance.id, bpmn_id=task.bpmn_id, task_id=task.id, actor=actor,
                       detail={"role": task.role, "team": task.team, "agency": task.agency})
    ready_rows = _sync_tasks(instance, runtime, workflow, now, withdrawn={t.id for t in withdrawn}, actor=actor)
    if had_waiting_timers or waiting or runtime.log.timers_fired:
        _sync_timers(instance, waiting, runtime.log.timers_fired)
    # else: nothing waits now, nothing fired, and nothing waited before (each run leaves next_timer_at
    # the earliest of exactly the rows it leaves waiting): there is no timer row to read or write
    if workflow.is_completed() and instance.status != "completed":
        instance.status = "completed"
        instance.ended_at = now
        history.record("instance_ended", instance_id=instance.id, actor=actor,
                       detail={"outcome": instance.outcome, "rag": instance.rag})
    return ready_rows


@functools.lru_cache(maxsize=64)
def engine_host_version(deployment_id: int) -> int:
    from app.models import Deployment
    return db.session.get(Deployment, deployment_id).version


def _sync_timers(instance: ProcessInstance, waiting: list[tuple[str, str, datetime]],
                 fired: list[tuple[str, str, datetime | None]] = ()) -> None:
    """One row per waiting timer, in the same transaction as the state (the scheduler fires rows).

    `fired` are the timers the run itself fired. One already due when its case started (or its task
    began) never waited, so it has no row: it gets one, and its `timer_fired` event, like any other."""
    rows = {t.task_id: t for t in db.session.execute(
        select(TimerRecord).where(TimerRecord.instance_id == instance.id, TimerRecord.state == "waiting")).scalars()}
    now = CLOCK.now()
    fired_now = {task_id: (bpmn_id, due_at) for task_id, bpmn_id, due_at in fired}
    for task_id, bpmn_id, due_at in waiting:
        row = rows.pop(task_id, None)
        if row is None:
            row = TimerRecord(instance_id=instance.id, task_id=task_id, bpmn_id=bpmn_id, due_at=due_at)
            db.session.add(row)
        elif task_id in fired_now:  # a cycle fired and waits for its next time
            _timer_fired(instance, row, now)
        if row.due_at != due_at:
            row.due_at = due_at
        fired_now.pop(task_id, None)
    for row in rows.values():  # no longer waiting: it fired (its time came) or the process moved on
        if fired_now.pop(row.task_id, None) is not None or row.due_at <= now:
            row.state, row.fired_at = "fired", now
            _timer_fired(instance, row, now)
        else:
            row.state = "cancelled"
    for task_id, (bpmn_id, due_at) in fired_now.items():  # fired in this run without ever waiting
        row = TimerRecord(instance_id=instance.id, task_id=task_id, bpmn_id=bpmn_id, due_at=due_at or now,
                          state="fired", fired_at=now)
        db.session.add(row)
        db.session.flush()
        _timer_fired(instance, row, now)


def _timer_fired(instance: ProcessInstance, row: TimerRecord, now: datetime) -> None:
    history.record("timer_fired", instance_id=instance.id, bpmn_id=row.bpmn_id, task_id=row.task_id,
                   detail={"timer_id": row.id, "due_at": (row.due_at or now).isoformat()})


def _sync_tasks(instance: ProcessInstance, runtime: Runtime, workflow, now: datetime,
                withdrawn: frozenset[str] | set[str] = frozenset(), actor: User | None = None) -> list[TaskRecord]:
    """The inbox projection of the engine's ready user tasks. Returns the ready rows in the order a
    read of them would give (those already stored as the database returned them, then the new ones)."""
    existing = {t.id: t for t in db.session.execute(
        select(TaskRecord).where(TaskRecord.instance_id == instance.id, TaskRecord.state == "ready")).scalars()}
    stored = dict(existing)
    added: list[TaskRecord] = []
    ready = runtime.ready_tasks(workflow, instance.case_data)
    steps_done: dict[str, str] | None = None  # who completed each step, read once if a new task asks (`assignTo`)
    for task in ready:
        row = existing.pop(task.id, None)
        if row is not None and row.due_at != _instant(task.due_at):
            history.record("task_due_changed", instance_id=instance.id, bpmn_id=task.bpmn_id, task_id=task.id,
                           detail={"from": row.due_at, "to": task.due_at})
            row.due_at = _instant(task.due_at)
        if row is None:
            fields = forms.declared_fields(runtime.bundle.forms.get(task.form) or {})
            row = TaskRecord(id=task.id, instance_id=instance.id, bpmn_id=task.bpmn_id, title=task.title,
                             role=task.role, team=task.team, agency=task.agency, state="ready",
                             due_at=_instant(task.due_at), form=task.form,
                             form_data={k: v for k, v in task.data.items() if k in fields and v is not None},
                             exclude_actors_of=list(task.exclude_actors_of) or None, created_at=now)
            db.session.add(row)
            added.append(row)
            history.record("task_ready", instance_id=instance.id, bpmn_id=task.bpmn_id, task_id=task.id,
                           detail={"role": task.role, "team": task.team, "agency": task.agency, "due_at": task.due_at})
            assign_to = runtime.bundle.task_properties(task.bpmn_id).get("assignTo")
            if assign_to:  # the diagram names who does it (e.g. the decision maker the manager allocated to)
                if steps_done is None:
                    steps_done = worklist.completed_by(instance.id)
                worklist.assign_by_model(row, assign_to, {**task.data, **(instance.case_data or {}),
                                                          "completed_by": steps_done},
                                         runtime.evaluator.evaluate, actor)
        row.rag = instance.rag
    for row in existing.values():  # no longer ready and not completed by a person: withdrawn or cancelled
        row.state = "withdrawn" if row.id in withdrawn else "cancelled"
        row.completed_at = now
    return [row for task_id, row in stored.items() if task_id not in existing] + added


def may_start_contact(user: User | None) -> bool:
    """Who may record a contact (the API, and the web's "Record a contact" pages)."""
    return bool(user is not None and user.roles & START_ROLES)


def start_contact(user: User, contact: dict[str, Any]) -> tuple[Contact, list[ProcessInstance]]:
    """Record a contact; one linked front-door instance per child (spec §3.1)."""
    if not may_start_contact(user):
        _deny(user, None, "start_contact")
        raise Forbidden("Only a MASH officer can record a contact")
    return _start(user, contact)


def start_online_referral(contact: dict[str, Any]) -> Contact:
    """A referral from the public online form (no sign-in). The caller learns only its reference."""
    record, _ = _start(None, {**contact, "channel": "online_form"})
    return record


def reference(contact: Contact) -> str:
    return f"MASH-{contact.received_at:%Y%m%d}-{contact.id:06d}"


def _start(user: User | None, contact: dict[str, Any]) -> tuple[Contact, list[ProcessInstance]]:
    deployment = deployments.latest()
    if deployment is None:
        raise ProcessFailed("No process is deployed yet: run `mash deploy`")
    received_at = contact.get("received_at") or CLOCK.now()
    children = contact.get("children") or ([contact["child"]] if contact.get("child") else [])
    with unit_of_work():
        record = Contact(received_at=received_at, channel=contact["channel"], created_by=user.id if user else None,
                         payload=_json_safe({k: v for k, v in contact.items() if k not in ("received_at",)}))
        db.session.add(record)
        db.session.flush()
        instances = []
        for number, child in enumerate(children):
            # the referrer is acknowledged once per contact: the diagram reads the flag (spec §11.10)
            seed = _child_seed(record.id, received_at, contact, child, acknowledges_contact=number == 0)
            instances.append(start_instance_in_transaction(
                deployment, FRONT_DOOR, seed, user, contact_id=record.id,
                started_detail={"contact_id": record.id, "channel": contact["channel"]}))
    return record, instances


def _child_seed(contact_id: int, received_at: Any, contact: dict[str, Any], child: dict[str, Any], *,
                acknowledges_contact: bool) -> dict[str, Any]:
    """What a child's front-door instance starts with: the shared contact plus this child's own facts."""
    at = received_at if isinstance(received_at, datetime) else _instant(received_at)
    return {
        "contact_id": contact_id,
        "received_at": at.astimezone(CLOCK.now().tzinfo).isoformat(),
        "channel": contact["channel"], "referrer": contact.get("referrer") or {},
        "child": {k: v for k, v in child.items()
                  if k not in ("request_type", "information_only", "red_criteria", "manager_attention_criteria")},
        "adults": contact.get("adults") or [], "summary": contact.get("summary"),
        "request_type": child.get("request_type", contact.get("request_type")),
        "information_only": bool(child.get("information_only", contact.get("information_only", False))),
        "red_criteria": list(child.get("red_criteria", contact.get("red_criteria")) or []),
        "manager_attention_criteria": list(child.get("manager_attention_criteria",
                                                     contact.get("manager_attention_criteria")) or []),
        "consent": contact.get("consent"),
        "acknowledges_contact": acknowledges_contact,
    }


CHILD_FIELDS = ("first_name", "last_name", "date_of_birth", "expected_date_of_delivery", "gender", "address")


def add_children(instance: ProcessInstance, children: list[dict] | None) -> list[dict]:
    """Service operator `contacts.add_children`: each child gets an instance of its own at once, of the
    calling instance's process and deployed version, linked to the same contact and seeded from it (the
    referrer is already acknowledged for this contact). Runs inside the calling run's unit of work; each
    new instance is in history (`instance_started` with where it came from) and so is the link on the
    calling case (`child_added`)."""
    if not children:
        return []
    if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
        raise ProcessError("contacts.add_children needs a list of children")
    contact = db.session.get(Contact, instance.contact_id) if instance.contact_id else None
    if contact is None:
        raise ProcessError("contacts.add_children: this case has no contact to add a child to")
    deployment = db.session.get(Deployment, instance.deployment_id)
    actor = db.session.get(User, instance.created_by) if instance.created_by else None
    payload = {"channel": contact.channel, **(contact.payload or {})}

    def key(c: dict) -> tuple:
        return (str(c.get("first_name") or "").strip().casefold(), str(c.get("last_name") or "").strip().casefold(),
                c.get("date_of_birth") or c.get("expected_date_of_delivery"))

    existing = {key((i.case_data or {}).get("child") or {}): i.id for i in db.session.execute(
        select(ProcessInstance).where(ProcessInstance.contact_id == contact.id,
                                      ProcessInstance.process_id == instance.process_id)).scalars()}
    added = []
    for child in children:
        own = {k: child.get(k) for k in CHILD_FIELDS if child.get(k) not in (None, "")}
        if not own.get("first_name") or not own.get("last_name"):
            raise ProcessError("contacts.add_children: each child needs a first and last name")
        if key(own) in existing:  # already has a record on this contact (e.g. named by a sibling's record too)
            added.append({"instance_id": existing[key(own)], "first_name": own["first_name"],
                          "last_name": own["last_name"], "existing": True})
            continue
        seed = _child_seed(contact.id, contact.received_at, payload, own, acknowledges_contact=False)
        seed["added_from_instance_id"] = instance.id
        new = start_instance_in_transaction(
            deployment, instance.process_id, seed, actor, contact_id=contact.id,
            started_detail={"contact_id": contact.id, "channel": contact.channel,
                            "added_from_instance_id": instance.id, "via": "contacts.add_children"})
        history.record("child_added", instance_id=instance.id, actor=actor,
                       detail={"instance_id": new.id, "contact_id": contact.id})
        existing[key(own)] = new.id
        added.append({"instance_id": new.id, "first_name": own["first_name"], "last_name": own["last_name"],
                      "existing": False})
    return added


def start_instance_in_transaction(deployment, process_id: str, seed: dict[str, Any], actor: User | None, *,
                                  contact_id: int | None = None, parent_instance_id: int | None = None,
                                  started_detail: dict | None = None) -> ProcessInstance:
    """Start any deployed process inside the caller's unit of work (state, inbox, timers, history)."""
    now = CLOCK.now()
    instance = ProcessInstance(deployment_id=deployment.id, process_id=process_id, contact_id=contact_id,
                               parent_instance_id=parent_instance_id, status="running", state="{}", case_data={},
                               created_by=actor.id if actor else None, created_at=now, updated_at=now)
    db.session.add(instance)
    db.session.flush()
    history.new_chain(instance.id)  # a new case: no history to lock or chain from yet
    alerts: list[dict] = []
    runtime = engine_host.runtime(deployment.id, operations_for(instance, alerts))
    try:
        workflow = runtime.start(process_id, _json_safe({**seed, "instance_id": instance.id}))
    except ProcessError as err:
        raise ProcessFailed(err.message, {"bpmn_id": err.bpmn_id}) from None
    history.record("instance_started", instance_id=instance.id, actor=actor,
                   detail={"process_id": process_id, "deployment_version": deployment.version, **(started_detail or {})})
    persist_run(instance, runtime, workflow, actor, alerts)
    return instance


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def ready_tasks_for(user: User, instance_id: int | None = None) -> list[TaskRecord]:
    """Every ready task the user may work on, of one case or all (a long list: use `inbox`, which pages)."""
    return list(db.session.execute(worklist.ready_tasks(user, instance_id).order_by(*worklist.DUE_ORDER)).scalars())


def inbox(user: User, instance_id: int | None = None, *, limit: int = 100, cursor: str | None = None,
          include_form: bool = False) -> tuple[list[dict], worklist.TaskPage]:
    """One page of the ready tasks the user may work on, each with the case data the user may see and
    its form by name (the schemas themselves only with `include_form`: they are large and repeat).

    Loads the page's instances in one query, without their engine state.
    """
    page = worklist.page_of_tasks(user, instance_id=instance_id, limit=limit, cursor=cursor)
    ids = sorted({t.instance_id for t in page.tasks})
    if not ids:
        return [], page
    instances = {i.id: i for i in db.session.execute(select(ProcessInstance).where(ProcessInstance.id.in_(ids))
                                                     .options(defer(ProcessInstance.state))).scalars()}
    data: dict[int, dict] = {}
    for iid, instance in instances.items():
        bundle = engine_host.bundle_for(instance.deployment_id)
        data[iid] = access.visible_data(user, instance, set(), forms.sensitive_fields_of(bundle))
    outside = not access.inside_firewall(user)
    items = [{"id": t.id, "instance_id": t.instance_id, "bpmn_id": t.bpmn_id, "title": t.title, "role": t.role,
              "team": t.team, "agency": t.agency, "due_at": t.due_at, "rag": t.rag,
              "form": {"name": t.form, **(_form_of(instances[t.instance_id].deployment_id, t.form)
                                          if include_form else {})},
              # outside the MASH a task shows the case summary plus its own answers, never another's
              "data": {**data[t.instance_id], **(t.form_data or {})} if outside else data[t.instance_id]}
             for t in page.tasks]
    return items, page


def form_for_task(user: User, task_id: str) -> dict:
    """A task's form (what a task list item refers to), for whoever may work or manage the task."""
    task = db.session.get(TaskRecord, task_id)
    if task is None or not (access.may_work(user, task) or access.may_work_as_manager(user, task)):
        raise NotFound("No such task")
    return {"name": task.form, **task_form(task)}


def _form_of(deployment_id: int, form: str | None) -> dict:
    bundle = engine_host.bundle_for(deployment_id)
    ui_name = (form or "").replace(".schema.json", ".uischema.json")
    # choices only the host knows (`x-options-source`, e.g. the people who hold a role) filled in
    return {"schema": form_options.resolve(bundle.forms.get(form) or {}), "ui_schema": bundle.forms.get(ui_name) or {}}


def form_values(user: User, task: TaskRecord) -> dict[str, Any]:
    """What the task's own form starts with: the task's data for the form's fields (a challenged
    triage shows the earlier answers; a second overdue review starts empty)."""
    if not access.may_work(user, task) and not access.may_work_as_manager(user, task):
        raise Forbidden("This task belongs to another role, team or agency")
    instance = db.session.get(ProcessInstance, task.instance_id)
    runtime = engine_host.runtime(instance.deployment_id, {})
    engine_task = runtime.find_task(runtime.restore(instance.process_id, instance.state), task.id)
    if engine_task is None:
        return {}
    fields = forms.declared_fields(_form_of(instance.deployment_id, task.form)["schema"])
    return {k: v for k, v in engine_task.data.items() if k in fields and v is not None}


def task_form(task: TaskRecord) -> dict:
    return _form_of(db.session.get(ProcessInstance, task.instance_id).deployment_id, task.form)


def visible_data(user: User, instance: ProcessInstance) -> dict:
    bundle = engine_host.bundle_for(instance.deployment_id)
    fields: set[str] = set()
    if not access.inside_firewall(user):  # inside the MASH the whole case shows: no fields to look up
        for task in access.involved_tasks(user, instance.id):
            fields |= forms.declared_fields(bundle.forms.get(task.form) or {})
    return access.visible_data(user, instance, fields, forms.sensitive_fields_of(bundle))


def complete_task(user: User, task_id: str, data: dict[str, Any]) -> ProcessInstance:
    return _complete_task(user, task_id, data)[0]


def complete_task_and_view(user: User, task_id: str, data: dict[str, Any]) -> dict:
    """Complete the task and answer with the case as the caller now sees it (what `view_instance`
    gives), built inside the same transaction from the rows it already holds: nothing is read back
    after the commit, and no second transaction is opened only to read. Whoever may not view the case
    (access.may_view, e.g. a partner) has the task completed and gets 404, as view_instance answers."""
    return _complete_task(user, task_id, data, view=True)[1]


def _complete_task(user: User, task_id: str, data: dict[str, Any], *,
                   view: bool = False) -> tuple[ProcessInstance, dict | None]:
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    if not access.may_work(user, task):
        _deny(user, task.instance_id, "complete_task", task_id=task_id, bpmn_id=task.bpmn_id)
        raise Forbidden("This task belongs to another role, team or agency")
    if task.exclude_actors_of:
        earlier = [e for e in history.for_instance(task.instance_id)
                   if e.type == "task_completed" and e.bpmn_id in task.exclude_actors_of and e.actor_id == user.id]
        if earlier:
            _deny(user, task.instance_id, "complete_task", task_id=task_id, bpmn_id=task.bpmn_id, reason="four_eyes")
            raise Forbidden("A different manager must do this: you completed an earlier step of this decision")
    if task.state != "ready":
        raise Conflict(f"This task is already {task.state}: it cannot be completed again")
    with unit_of_work():
        worklist.check_claim_for_completion(user, task)  # 409 naming the holder; a manager may assign it
        instance = db.session.get(ProcessInstance, task.instance_id)
        alerts: list[dict] = []
        runtime = engine_host.runtime(instance.deployment_id, operations_for(instance, alerts))
        workflow = runtime.restore(instance.process_id, instance.state)
        engine_task = runtime.find_task(workflow, task_id)
        if engine_task is None:
            raise Conflict("This task is no longer part of the case")
        form = _form_of(instance.deployment_id, task.form)
        data = forms.validate_submission(form["schema"], engine_task.data, data, form["ui_schema"])
        try:
            runtime.complete_task(workflow, task_id, data)
        except TaskStateError as err:
            raise Conflict(str(err)) from None
        except ProcessError as err:
            raise ProcessFailed(err.message, {"bpmn_id": err.bpmn_id}) from None
        now = CLOCK.now()
        task.state = "completed"
        task.completed_at = now
        task.completed_by = user.id
        task.form_data = data  # what this person answered (e.g. an agency's own earlier answer, seed §12)
        history.record("task_completed", instance_id=instance.id, actor=user, bpmn_id=task.bpmn_id, task_id=task.id,
                       detail={"title": task.title, "fields": sorted(data), "values": data,
                               "before": {k: (instance.case_data or {}).get(k) for k in data}})
        letters.record_sent(user, instance, task)  # task property `letter`: a letter_sent event
        audit_sampling.record_finding(user, task, engine_task.data, data)  # property `relatedCase`
        ready = persist_run(instance, runtime, workflow, user, alerts)
        answer = None
        if view and access.may_view(user, instance):  # what view_instance checks, before reading
            answer = _view(user, instance, ready, visible_data(user, instance))
    if view and answer is None:
        _deny(user, instance.id, "view_instance")
        raise NotFound("No such case")  # existence itself must not leak
    return instance, answer


def preview_decision(user: User, task_id: str, data: dict[str, Any]) -> dict | None:
    """What the task's decision table would propose for the data entered so far (task property
    `previewDecision`), with the rule that produced it; None when the task has no preview or the
    data is not complete enough yet. Nothing is saved."""
    task = db.session.get(TaskRecord, task_id)
    if task is None or not access.may_work(user, task):
        raise NotFound("No such task")
    instance = db.session.get(ProcessInstance, task.instance_id)
    bundle = engine_host.bundle_for(instance.deployment_id)
    decision_id = bundle.task_properties(task.bpmn_id).get("previewDecision")
    table = bundle.decisions.get(decision_id or "")
    if table is None:
        return None
    try:
        result = dmn.evaluate_decision(table, {**(instance.case_data or {}), **data}, engine_host.evaluator().evaluate)
    except (dmn.DecisionError, ExpressionError) as err:
        return {"decision_id": decision_id, "error": str(err)}
    return {"decision_id": decision_id, "outputs": result.outputs, "rules": result.matched_rule_ids,
            "descriptions": [r.description for r in table.rules if r.id in result.matched_rule_ids]}


def decisions_so_far(instance_id: int) -> list[dict]:
    return [{"at": e.at, "decision_id": e.detail.get("decision_id"), "outputs": e.detail.get("outputs"),
             "rules": e.detail.get("matched_rules"), "bpmn_id": e.bpmn_id}
            for e in history.for_instance(instance_id) if e.type == "decision_evaluated"]


def steps_so_far(user: User, instance_id: int) -> list[dict]:
    """The case's steps for the case page (no field values: those stay in the auditor's history)."""
    get_instance(user, instance_id)
    shown = {"instance_started", "task_completed", "decision_evaluated", "alert_raised",
             "task_claimed", "task_assigned", "instance_ended"}  # gateways and flows stay in the auditor's history
    events = [e for e in history.for_instance(instance_id) if e.type in shown]
    names = dict(db.session.execute(select(User.id, User.display_name).where(
        User.id.in_(sorted({e.actor_id for e in events if e.actor_id})))).all())
    return [{"at": e.at, "type": e.type, "actor": names.get(e.actor_id) or e.actor, "bpmn_id": e.bpmn_id,
             "title": (e.detail or {}).get("title") or (e.detail or {}).get("decision_id") or (e.detail or {}).get("gateway"),
             "rules": (e.detail or {}).get("matched_rules"), "outputs": (e.detail or {}).get("outputs"),
             "to": (e.detail or {}).get("to"), "role": (e.detail or {}).get("role"), "team": (e.detail or {}).get("team")}
            for e in events]


def task_message(task: TaskRecord) -> dict | None:
    """The message a task lets its worker send into the process (task properties `message` and
    `messageForm`), e.g. a partner escalating heightened risk from their open request."""
    instance = db.session.get(ProcessInstance, task.instance_id)
    bundle = engine_host.bundle_for(instance.deployment_id)
    properties = bundle.task_properties(task.bpmn_id)
    if not properties.get("message"):
        return None
    form = properties.get("messageForm")
    return {"name": properties["message"], "schema": bundle.forms.get(form) or {},
            "ui_schema": bundle.forms.get((form or "").replace(".schema.json", ".uischema.json")) or {}}


def send_task_message(user: User, task_id: str, data: dict[str, Any]) -> ProcessInstance:
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    if not access.may_work(user, task):
        _deny(user, task.instance_id, "send_message", task_id=task_id, bpmn_id=task.bpmn_id)
        raise Forbidden("This task belongs to another role, team or agency")
    if task.state != "ready":
        raise Conflict(f"This task is already {task.state}")
    message = task_message(task)
    if message is None:
        raise NotFound("This task has nothing to send")
    data = forms.validate_submission(message["schema"], {}, data, message["ui_schema"])
    with unit_of_work():
        instance = db.session.get(ProcessInstance, task.instance_id)
        alerts: list[dict] = []
        runtime = engine_host.runtime(instance.deployment_id, operations_for(instance, alerts))
        workflow = runtime.restore(instance.process_id, instance.state)
        try:
            runtime.send_message(workflow, message["name"], {**data, "sent_by": user.username,
                                                             "agency": task.agency, "sent_at": CLOCK.now().isoformat()})
        except TaskStateError as err:
            raise Conflict(str(err)) from None
        except ProcessError as err:
            raise ProcessFailed(err.message, {"bpmn_id": err.bpmn_id}) from None
        history.record("message_sent", instance_id=instance.id, actor=user, bpmn_id=task.bpmn_id, task_id=task.id,
                       detail={"message": message["name"], "agency": task.agency, "fields": sorted(data),
                               "values": data})
        persist_run(instance, runtime, workflow, user, alerts)
    return instance


def get_instance(user: User, instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("No such case")
    if not access.may_view(user, instance):
        _deny(user, instance_id, "view_instance")
        raise NotFound("No such case")  # existence itself must not leak
    return instance


def view_instance(user: User, instance_id: int, *, log_view: bool = True) -> dict:
    """The case as the caller may see it. Every page/API read of it is recorded as `viewed` by the request
    hook (app/web/audit.py); `log_view` is no longer used (the completion echo is a POST, never recorded)."""
    instance = get_instance(user, instance_id)
    data = visible_data(user, instance)
    ready = [t for t in db.session.execute(select(TaskRecord).where(
        TaskRecord.instance_id == instance.id, TaskRecord.state == "ready")).scalars()]
    return _view(user, instance, ready, data)


def _view(user: User, instance: ProcessInstance, ready: list[TaskRecord], data: dict) -> dict:
    """The case as `view_instance` answers it, from the instance, its ready task rows and the data the
    user may see (plain values only: it stays valid after the transaction ends)."""
    version = engine_host_version(instance.deployment_id)
    return {
        "id": instance.id, "process_id": instance.process_id, "version": version, "status": instance.status,
        "rag": instance.rag, "route": data.get("route"), "contact_route": data.get("contact_route"),
        "outcome": instance.outcome, "outcome_due_at": instance.outcome_due_at,
        "decision_due_at": data.get("decision_due_at"), "is_referral": bool(data.get("is_referral")),
        "contact_id": instance.contact_id,
        "ready_tasks": [{"id": t.id, "bpmn_id": t.bpmn_id, "title": t.title, "role": t.role, "team": t.team,
                         "agency": t.agency, "due_at": t.due_at} for t in ready],
        "data": data,
        "agency_tasks": (_agency_tasks(instance.id) if access.inside_firewall(user)
                         and _has_agency_tasks(instance.deployment_id) else []),
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
        select(TaskRecord, User.display_name).outerjoin(User, User.id == TaskRecord.completed_by)
        .where(TaskRecord.instance_id == instance_id, TaskRecord.agency.is_not(None))
        .order_by(TaskRecord.created_at, TaskRecord.id)).all()
    revised = {e.task_id: {"version": (e.detail or {}).get("version"), "by": e.actor, "at": e.at}
               for e in db.session.execute(select(HistoryEvent).where(
                   HistoryEvent.instance_id == instance_id, HistoryEvent.type == "answer_revised")
                   .order_by(HistoryEvent.id)).scalars()}  # the latest revision wins
    return [{"agency": t.agency, "bpmn_id": t.bpmn_id, "title": t.title, "state": t.state, "due_at": t.due_at,
             "completed_at": t.completed_at, "completed_by": name, "revised": revised.get(t.id)} for t, name in rows]


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
        result.append({"at": event.at, "type": event.type, "actor": event.actor, "bpmn_id": event.bpmn_id,
                       "detail": detail})
    return result
