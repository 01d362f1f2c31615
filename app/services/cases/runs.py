"""Running the engine on a case: starting an instance of any deployed process (also a child added by a running
case), and the host operations its service tasks may call during a run."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.engine.errors import ProcessError
from app.extensions import db
from app.models import Contact, Deployment, ProcessInstance, User
from app.services.cases import case_index
from app.services.cases.persist import persist_run
from app.services.core import engine_host, history
from app.services.core.clock import parse_instant
from app.services.core.errors import ProcessFailed
from app.services.core.events import EventType
from app.services.core.states import InstanceStatus


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
        # registered by the features that own them (engine_host.register_operations), e.g.
        # audit_sampling.next_draw / .draw (processes/audit_sampling.bpmn)
        **engine_host.registered_operations(),
    }


def child_seed(
    contact_id: int, received_at: Any, contact: dict[str, Any], child: dict[str, Any], *, acknowledges_contact: bool
) -> dict[str, Any]:
    """What a child's front-door instance starts with: the shared contact plus this child's own facts."""
    at = received_at if isinstance(received_at, datetime) else parse_instant(received_at)
    if at is None:
        raise ValueError(f"received_at is not an instant with an offset: {received_at!r}")
    return {
        "contact_id": contact_id,
        "received_at": at.astimezone(CLOCK.now().tzinfo).isoformat(),
        "channel": contact["channel"],
        "referrer": contact.get("referrer") or {},
        "child": {
            k: v
            for k, v in child.items()
            if k not in ("request_type", "information_only", "red_criteria", "manager_attention_criteria")
        },
        "adults": contact.get("adults") or [],
        "summary": contact.get("summary"),
        "request_type": child.get("request_type", contact.get("request_type")),
        "information_only": bool(child.get("information_only", contact.get("information_only", False))),
        "red_criteria": list(child.get("red_criteria", contact.get("red_criteria")) or []),
        "manager_attention_criteria": list(
            child.get("manager_attention_criteria", contact.get("manager_attention_criteria")) or []
        ),
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
        return (
            str(c.get("first_name") or "").strip().casefold(),
            str(c.get("last_name") or "").strip().casefold(),
            c.get("date_of_birth") or c.get("expected_date_of_delivery"),
        )

    existing = {
        key((i.case_data or {}).get("child") or {}): i.id
        for i in db.session.execute(
            select(ProcessInstance).where(
                ProcessInstance.contact_id == contact.id, ProcessInstance.process_id == instance.process_id
            )
        ).scalars()
    }
    added = []
    for child in children:
        own = {k: child.get(k) for k in CHILD_FIELDS if child.get(k) not in (None, "")}
        if not own.get("first_name") or not own.get("last_name"):
            raise ProcessError("contacts.add_children: each child needs a first and last name")
        if key(own) in existing:  # already has a record on this contact (e.g. named by a sibling's record too)
            added.append(
                {
                    "instance_id": existing[key(own)],
                    "first_name": own["first_name"],
                    "last_name": own["last_name"],
                    "existing": True,
                }
            )
            continue
        seed = child_seed(contact.id, contact.received_at, payload, own, acknowledges_contact=False)
        seed["added_from_instance_id"] = instance.id
        new = start_instance_in_transaction(
            deployment,
            instance.process_id,
            seed,
            actor,
            contact_id=contact.id,
            started_detail={
                "contact_id": contact.id,
                "channel": contact.channel,
                "added_from_instance_id": instance.id,
                "via": "contacts.add_children",
            },
        )
        history.record(
            EventType.CHILD_ADDED,
            instance_id=instance.id,
            actor=actor,
            detail={"instance_id": new.id, "contact_id": contact.id},
        )
        existing[key(own)] = new.id
        added.append(
            {"instance_id": new.id, "first_name": own["first_name"], "last_name": own["last_name"], "existing": False}
        )
    return added


def start_instance_in_transaction(
    deployment,
    process_id: str,
    seed: dict[str, Any],
    actor: User | None,
    *,
    contact_id: int | None = None,
    parent_instance_id: int | None = None,
    started_detail: dict | None = None,
) -> ProcessInstance:
    """Start any deployed process inside the caller's unit of work (state, inbox, timers, history)."""
    now = CLOCK.now()
    instance = ProcessInstance(
        deployment_id=deployment.id,
        process_id=process_id,
        contact_id=contact_id,
        parent_instance_id=parent_instance_id,
        status=InstanceStatus.RUNNING,
        state="{}",
        case_data={},
        created_by=actor.id if actor else None,
        created_at=now,
        updated_at=now,
    )
    db.session.add(instance)
    db.session.flush()
    history.new_chain(instance.id)  # a new case: no history to lock or chain from yet
    alerts: list[dict] = []
    runtime = engine_host.runtime(deployment.id, operations_for(instance, alerts))
    try:
        workflow = runtime.start(process_id, json_safe({**seed, "instance_id": instance.id}))
    except ProcessError as err:
        raise ProcessFailed(err.message, {"bpmn_id": err.bpmn_id}) from None
    history.record(
        EventType.INSTANCE_STARTED,
        instance_id=instance.id,
        actor=actor,
        detail={"process_id": process_id, "deployment_version": deployment.version, **(started_detail or {})},
    )
    persist_run(instance, runtime, workflow, actor, alerts)
    return instance


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
