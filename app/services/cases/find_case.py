"""Find a case (issue 14): by the reference printed on letters and the referral confirmation
(MASH-20261206-000002), the case number, the child's name (the history check's tolerant match,
case_index.names_match) and date of birth (or an unborn baby's expected date of delivery).

Need-to-know is kept: a case the user may open is listed in full; a case a MASH user is not
working on is listed by its reference only, to open through break-glass with a reason; anything
else is not listed at all. The page records one `list_viewed` event naming the cases it showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Contact, ProcessInstance, User
from app.services.access import break_glass
from app.services.audit import audit
from app.services.cases import contacts
from app.services.cases.case_search import name_distance
from app.services.core.clock import LONDON
from app.services.core.states import InstanceStatus, ProcessId
from app.services.reporting import oversight

MAX_RESULTS = 50


def may_find(user: User | None) -> bool:
    """MASH staff (break-glass) and auditors and managers (history) may find cases."""
    return user is not None and (break_glass.may_break_glass(user) or audit.may_read_timeline(user))


@dataclass
class Query:
    reference: tuple[str, int] | None = None  # (yyyymmdd, contact id)
    case_number: int | None = None
    name: str = ""
    date_of_birth: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.reference or self.case_number or self.name or self.date_of_birth)


@dataclass
class Match:
    instance_id: int
    reference: str | None
    received_at: datetime | None
    may_open: bool  # False: a MASH user outside need-to-know, who sees only that it exists
    child_name: str | None = None
    date_of_birth: str | None = None
    expected_date_of_delivery: str | None = None
    rag: str | None = None
    status: str | None = None


def _status(status: str, outcome: str | None) -> str:
    if status == InstanceStatus.COMPLETED:
        return f"Closed: {oversight.display_label(outcome)}" if outcome else "Closed"
    return f"Open: {oversight.display_label(outcome)}" if outcome else "Open"


def search(user: User, query: Query) -> tuple[list[Match], bool]:
    """The cases matching every part of the query, as this user may see them (the best name matches
    first, then the newest), at most MAX_RESULTS; True when there were more."""
    child = ProcessInstance.case_data["child"]
    stmt = (
        select(
            ProcessInstance.id,
            ProcessInstance.contact_id,
            child,
            ProcessInstance.rag,
            ProcessInstance.status,
            ProcessInstance.outcome,
            ProcessInstance.created_at,
            Contact.received_at,
        )
        .outerjoin(Contact, Contact.id == ProcessInstance.contact_id)
        .where(ProcessInstance.process_id == ProcessId.FRONT_DOOR)
    )
    if query.reference:
        stmt = stmt.where(ProcessInstance.contact_id == query.reference[1])
    if query.case_number:
        stmt = stmt.where(ProcessInstance.id == query.case_number)
    if query.date_of_birth:
        day = query.date_of_birth.isoformat()
        stmt = stmt.where(
            or_(
                ProcessInstance.case_data[("child", "date_of_birth")].as_string() == day,
                ProcessInstance.case_data[("child", "expected_date_of_delivery")].as_string() == day,
            )
        )
    found = []
    for iid, contact_id, known, rag, status, outcome, created_at, received_at in db.session.execute(stmt):
        known = known if isinstance(known, dict) else {}
        if query.reference and (
            received_at is None
            or query.reference[0] not in {f"{received_at:%Y%m%d}", f"{received_at.astimezone(LONDON):%Y%m%d}"}
        ):
            continue  # the right number with the wrong date is not that reference
        distance = name_distance(known, query.name) if query.name else 0
        if distance is None:
            continue
        found.append(
            (
                distance,
                -(received_at or created_at).timestamp(),
                iid,
                contact_id,
                known,
                rag,
                status,
                outcome,
                received_at,
            )
        )
    found.sort(key=lambda row: row[:3])
    matches = []
    for _, _, iid, contact_id, known, rag, status, outcome, received_at in found:
        access = break_glass.status(user, iid)
        if access == "no":
            continue
        reference = contacts.reference_for(contact_id, received_at) if contact_id and received_at else None
        match = Match(instance_id=iid, reference=reference, received_at=received_at, may_open=access == "need_to_know")
        if match.may_open:
            name = " ".join(p for p in (known.get("first_name"), known.get("last_name")) if p)
            match.child_name, match.rag, match.status = name or "Name not recorded", rag, _status(status, outcome)
            match.date_of_birth = known.get("date_of_birth")
            match.expected_date_of_delivery = known.get("expected_date_of_delivery")
        matches.append(match)
        if len(matches) > MAX_RESULTS:
            break
    return matches[:MAX_RESULTS], len(matches) > MAX_RESULTS
