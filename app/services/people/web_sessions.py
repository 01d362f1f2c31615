"""Server-side browser sessions with idle and absolute timeouts (ASVS 7.3, 7.4).

The cookie holds a random token; the row holds its hash, the CSRF token and the times. Sign-out
and expiry end the row, so a cookie copied before sign-out no longer opens anything.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import User, WebSession
from app.services.core import history
from app.services.core.errors import Unauthorised
from app.services.core.events import EventType
from app.services.core.transaction import unit_of_work


class SessionExpired(Unauthorised):
    code = "session_expired"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User) -> tuple[str, WebSession]:
    token = secrets.token_urlsafe(32)
    with unit_of_work():
        row = WebSession(
            token_hash=_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=CLOCK.now(),
            last_seen_at=CLOCK.now(),
        )
        db.session.add(row)
        history.record(EventType.LOGIN, actor=user, detail={"method": "web"})
    return token, row


def resolve(token: str, *, idle_minutes: int, absolute_hours: int) -> WebSession:
    """The live session for a cookie, touched; SessionExpired if it timed out (and ends it)."""
    row = db.session.execute(select(WebSession).where(WebSession.token_hash == _hash(token))).scalar_one_or_none()
    if row is None or row.ended_at is not None or not row.user.active:
        raise Unauthorised("Sign in to continue")
    now = CLOCK.now()
    reason = None
    if now - row.last_seen_at > timedelta(minutes=idle_minutes):
        reason = "idle"
    elif now - row.created_at > timedelta(hours=absolute_hours):
        reason = "absolute"
    with unit_of_work():
        if reason:
            row.ended_at, row.end_reason = now, reason
            history.record(EventType.SESSION_EXPIRED, actor=row.user, detail={"reason": reason})
        else:
            row.last_seen_at = now
    if reason:
        raise SessionExpired("Your session has ended because you were inactive or signed in for too long")
    return row


def end(token: str) -> None:
    with unit_of_work():
        row = db.session.execute(select(WebSession).where(WebSession.token_hash == _hash(token))).scalar_one_or_none()
        if row is not None and row.ended_at is None:
            row.ended_at, row.end_reason = CLOCK.now(), "signed_out"
            history.record(EventType.LOGOUT, actor=row.user, detail={"method": "web"})
