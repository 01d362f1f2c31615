"""A contact being recorded in the browser (issue 14): its answers kept on the server between the
question pages, then recorded with the same service as POST /api/v1/contacts.

A draft belongs to the web session that started it: another browser, or the same person after
signing in again, cannot open it. Only raw answers are kept, never logged; the draft is deleted
once the contact is recorded, and drafts of ended or day-old sessions are purged whenever a new one
starts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import Contact, ContactDraft, ProcessInstance, TaskRecord, User, WebSession
from app.services.cases import contacts, worklist
from app.services.core.errors import Forbidden, NotFound
from app.services.core.transaction import unit_of_work

MAX_AGE = timedelta(hours=24)
GONE = (
    "We could not find this contact. It may have been recorded already (look for it in your inbox), "
    "or you signed out before finishing it."
)


def _require(user: User) -> None:
    if not contacts.may_start_contact(user):
        raise Forbidden("Only a MASH officer can record a contact")


def start(user: User, web_session: WebSession, answers: dict[str, Any]) -> ContactDraft:
    _require(user)
    now = CLOCK.now()
    with unit_of_work():
        _purge(now)
        draft = ContactDraft(
            web_session_id=web_session.id,
            user_id=user.id,
            state="open",
            answers=answers,
            created_at=now,
            updated_at=now,
        )
        db.session.add(draft)
    return draft


def _purge(now) -> None:
    ended = select(WebSession.id).where(WebSession.ended_at.is_not(None))
    db.session.execute(
        delete(ContactDraft).where((ContactDraft.web_session_id.in_(ended)) | (ContactDraft.updated_at < now - MAX_AGE))
    )


def get(user: User, web_session: WebSession, draft_id: int) -> ContactDraft:
    """The open draft of this browser session; NotFound for anyone else's (or one already recorded)."""
    _require(user)
    draft = db.session.get(ContactDraft, draft_id)
    if draft is None or draft.web_session_id != web_session.id or draft.user_id != user.id or draft.state != "open":
        raise NotFound(GONE)
    return draft


def save(draft: ContactDraft, answers: dict[str, Any]) -> None:
    with unit_of_work():
        draft.answers = answers
        draft.updated_at = CLOCK.now()


def record(user: User, draft: ContactDraft, contact: dict[str, Any]) -> tuple[Contact, list[ProcessInstance]]:
    """Record the contact (contacts.start_contact: one front-door case per child) and delete the draft.

    The draft is claimed first (open → submitting, in one statement), so pressing the button twice
    records one contact; if recording fails the draft is open again with every answer kept."""
    with unit_of_work():
        claimed = db.session.execute(
            update(ContactDraft)
            .where(ContactDraft.id == draft.id, ContactDraft.state == "open")
            .values(state="submitting")
        ).rowcount  # type: ignore[attr-defined]  # an UPDATE answers a CursorResult
    if claimed != 1:
        raise NotFound(GONE)
    try:
        record_, instances = contacts.start_contact(user, contact)
    except BaseException:
        with unit_of_work():
            db.session.execute(update(ContactDraft).where(ContactDraft.id == draft.id).values(state="open"))
        raise
    with unit_of_work():
        db.session.execute(delete(ContactDraft).where(ContactDraft.id == draft.id))
    return record_, instances


def next_task(user: User, instance_id: int) -> TaskRecord | None:
    """The first ready task of the case this user may work on (the child's Record contact)."""
    ready = worklist.ready_tasks_for(user, instance_id)
    return next((t for t in ready if t.bpmn_id == "record_contact"), ready[0] if ready else None)


def discard(draft: ContactDraft) -> None:
    with unit_of_work():
        db.session.execute(delete(ContactDraft).where(ContactDraft.id == draft.id))
