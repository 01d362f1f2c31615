"""Rate limits shared by every worker: one row per counted attempt (a failed sign-in, a referral).

The key is a keyed hash (HMAC with the secret key) of what is limited (a username, a client
address), so the table holds no personal data; rows older than the longest window are deleted as
new ones are written.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UtcDateTime, utcnow


class ThrottleHit(Model):
    __tablename__ = "throttle_hits"
    __table_args__ = (Index("ix_throttle_hits_scope_key_at", "scope", "key_hash", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(30))
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
