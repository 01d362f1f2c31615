"""Recording a contact (spec §3.1): one front-door case per child, from the API, the "Record a contact" pages or
the public online referral form; and the reference it is known by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import Contact, ProcessInstance, User
from app.services.access import permissions
from app.services.cases.case_view import deny
from app.services.cases.runs import child_seed, json_safe, start_instance_in_transaction
from app.services.core.errors import Forbidden, ProcessFailed
from app.services.core.states import ProcessId
from app.services.core.transaction import unit_of_work
from app.services.modelling import deployments

START_ROLES = permissions.roles_for("contacts.start")


def may_start_contact(user: User | None) -> bool:
    """Who may record a contact (the API, and the web's "Record a contact" pages)."""
    return bool(user is not None and user.roles & START_ROLES)


def start_contact(user: User, contact: dict[str, Any]) -> tuple[Contact, list[ProcessInstance]]:
    """Record a contact; one linked front-door instance per child (spec §3.1)."""
    if not may_start_contact(user):
        deny(user, None, "start_contact")
        raise Forbidden("Only a MASH officer can record a contact")
    return _start(user, contact)


def start_online_referral(contact: dict[str, Any]) -> Contact:
    """A referral from the public online form (no sign-in). The caller learns only its reference."""
    record, _ = _start(None, {**contact, "channel": "online_form"})
    return record


def reference(contact: Contact) -> str:
    return reference_for(contact.id, contact.received_at)


def reference_for(contact_id: int, received_at: datetime) -> str:
    return f"MASH-{received_at:%Y%m%d}-{contact_id:06d}"


def _start(user: User | None, contact: dict[str, Any]) -> tuple[Contact, list[ProcessInstance]]:
    deployment = deployments.latest()
    if deployment is None:
        raise ProcessFailed("No process is deployed yet: run `mash deploy`")
    received_at = contact.get("received_at") or CLOCK.now()
    children = contact.get("children") or ([contact["child"]] if contact.get("child") else [])
    with unit_of_work():
        record = Contact(
            received_at=received_at,
            channel=contact["channel"],
            created_by=user.id if user else None,
            payload=json_safe({k: v for k, v in contact.items() if k not in ("received_at",)}),
        )
        db.session.add(record)
        db.session.flush()
        instances = []
        for number, child in enumerate(children):
            # the referrer is acknowledged once per contact: the diagram reads the flag (spec §11.10)
            seed = child_seed(record.id, received_at, contact, child, acknowledges_contact=number == 0)
            instances.append(
                start_instance_in_transaction(
                    deployment,
                    ProcessId.FRONT_DOOR,
                    seed,
                    user,
                    contact_id=record.id,
                    started_detail={"contact_id": record.id, "channel": contact["channel"]},
                )
            )
    return record, instances
