"""The handover package: what leaves the MASH for the receiving team, and the record of it.

The package's fields are listed in forms/handover_package.json (service managers edit it); values
marked x-sensitive never appear — the package says that sensitive information exists and who holds
it. Every view by someone outside the MASH is recorded as a disclosure (App. F rule 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance, TaskRecord, User
from app.services.access import access, permissions
from app.services.core import engine_host, forms, history
from app.services.core.errors import NotFound
from app.services.core.events import EventType
from app.services.core.roles import TEAM_ROLES
from app.services.core.states import TaskState
from app.services.core.transaction import unit_of_work
from app.services.partners import agency_answers

PACKAGE_FILE = "handover_package.json"


def _holders(value: Any, sensitive: frozenset[str], holder_keys: Mapping[str, str]) -> list[dict]:
    """Where sensitive information exists, who to ask (the form names the holder field with x-sensitive-holder)."""
    found: list[dict] = []
    if isinstance(value, dict):
        for key in sensitive:
            if value.get(key):
                found.append(
                    {
                        "held_by": value.get(holder_keys.get(key, ""), None) or "ask the MASH",
                        "agency": value.get("agency"),
                    }
                )
        for item in value.values():
            found.extend(_holders(item, sensitive, holder_keys))
    elif isinstance(value, list):
        for item in value:
            found.extend(_holders(item, sensitive, holder_keys))
    return found


def _holder_keys(bundle_forms: Mapping[str, Any]) -> dict[str, str]:
    keys: dict[str, str] = {}

    def walk(schema: Any) -> None:
        if not isinstance(schema, Mapping):
            return
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, Mapping) and sub.get("x-sensitive-holder"):
                keys[name] = sub["x-sensitive-holder"]
            walk(sub)
        walk(schema.get("items"))

    for document in bundle_forms.values():
        walk(document)
    return keys


def may_receive(user: User, instance: ProcessInstance) -> bool:
    """MASH staff and auditors by the same rule as the case itself (access.may_view: need-to-know,
    or a MASH user's active break-glass access); the receiving team the case is handed to. Being
    inside the MASH firewall is not enough: outside the case's need-to-know it is 404, as for the
    case. Partners never receive the package (it is for the receiving team)."""
    if access.inside_firewall(user):
        return access.may_view(user, instance)
    if not user.roles & TEAM_ROLES or not user.team:
        return False
    if (instance.case_data or {}).get("receiving_team") == user.team:
        return True
    # a team holding an open task on the case (e.g. the out-of-hours team, spec §11.3) gets the same package
    return (
        db.session.execute(
            select(TaskRecord.id).where(
                TaskRecord.instance_id == instance.id,
                TaskRecord.state == TaskState.READY,
                TaskRecord.team == user.team,
                TaskRecord.role.in_(sorted(user.roles & TEAM_ROLES)),
            )
        ).first()
        is not None
    )


def package(user: User, instance_id: int) -> dict:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or not may_receive(user, instance):
        if instance is not None:
            permissions.deny(
                user,
                "handover",
                instance_id=instance_id,
                status=404,
                message="No handover package for you on this case",
            )
        raise NotFound("No handover package for you on this case")
    bundle = engine_host.bundle_for(instance.deployment_id)
    spec = bundle.forms.get(PACKAGE_FILE) or {"fields": list(access.SUMMARY_KEYS)}
    sensitive = forms.sensitive_fields_of(bundle)
    data = instance.case_data or {}
    contents = access.redact({k: data[k] for k in spec["fields"] if k in data}, sensitive)
    if isinstance(contents.get("agency_responses"), list):  # each agency may have withheld parts of its answer
        contents["agency_responses"] = agency_answers.apply_to_package(
            contents["agency_responses"], data.get("agencies") or [], data.get(agency_answers.WITHHELD_KEY) or {}
        )
    source = {k: data[k] for k in spec["fields"] if k in data}
    if isinstance(source.get("agency_responses"), list):  # name each answer's agency for "whom to ask"
        source["agency_responses"] = agency_answers.apply_to_package(
            source["agency_responses"], data.get("agencies") or [], {}
        )
    holders = _holders(source, sensitive, _holder_keys(bundle.forms))
    result = {
        "instance_id": instance.id,
        "contact_id": instance.contact_id,
        "package": contents,
        "sensitive_information_held": holders,
        "lawful_basis": spec.get("lawful_basis"),
        "purpose": spec.get("purpose"),
    }
    if not access.inside_firewall(user):
        with unit_of_work():
            history.record(
                EventType.DISCLOSED,
                instance_id=instance.id,
                actor=user,
                detail={
                    "to": {"user": user.username, "team": user.team, "roles": sorted(user.roles)},
                    "what": sorted(contents),
                    "why": spec.get("purpose"),
                    "lawful_basis": spec.get("lawful_basis"),
                    "consent": data.get("consent"),
                    "consent_override_rationale": data.get("consent_override_rationale"),
                },
            )
    return result
