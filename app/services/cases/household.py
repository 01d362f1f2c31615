"""The household of a case: the children of the same contact, shown together (App. D 2.7, spec §11.10).

Each child of a contact has a front-door instance of its own (its own routing, RAG and outcome); every
page of each child's case shows them as one household. Need-to-know still holds: a sibling's name and
a link to it appear only where the viewer may see that sibling's case; inside the MASH a sibling the
viewer is not involved in is listed without its name, and outside the MASH it is left out.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import defer

from app.extensions import db
from app.models import ProcessInstance, User
from app.services.access import access


def for_case(user: User, instance: ProcessInstance) -> list[dict]:
    """The children of the case's contact (this one included, in the order they were opened), or [] when
    the contact has only this child. Each: id, this, may_view, and name/date of birth/status/outcome when
    the viewer may see that case."""
    if instance.contact_id is None or instance.parent_instance_id is not None:
        return []
    rows = list(
        db.session.execute(
            select(ProcessInstance)
            .where(
                ProcessInstance.contact_id == instance.contact_id,
                ProcessInstance.process_id == instance.process_id,
                ProcessInstance.parent_instance_id.is_(None),
            )
            .order_by(ProcessInstance.id)
            # never the engine state (the largest column): a household row needs the case's facts only,
            # and every completion's answer reads this
            .options(defer(ProcessInstance.state))
        ).scalars()
    )
    if len(rows) < 2:
        return []
    inside = access.inside_firewall(user)
    household = []
    for row in rows:
        this = row.id == instance.id
        visible = this or access.may_view(user, row)
        if not visible and not inside:
            continue  # outside the MASH a case the viewer has no part in is not even listed
        child = (row.case_data or {}).get("child") or {}
        name = " ".join(p for p in (child.get("first_name"), child.get("last_name")) if p) or None
        household.append(
            {
                "id": row.id,
                "this": this,
                "may_view": visible,
                "name": name if visible else None,
                "date_of_birth": (child.get("date_of_birth") or child.get("expected_date_of_delivery"))
                if visible
                else None,
                "status": row.status if visible else None,
                "outcome": row.outcome if visible else None,
            }
        )
    return household if len(household) > 1 else []
