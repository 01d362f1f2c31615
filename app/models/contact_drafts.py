"""A contact being recorded in the browser, kept on the server between its question pages.

It belongs to one web session (the browser that started it) and holds only the raw answers; it
is deleted when the contact is recorded, and drafts of ended or old sessions are purged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UtcDateTime, utcnow


class ContactDraft(Model):
    __tablename__ = "contact_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    web_session_id: Mapped[int] = mapped_column(ForeignKey("web_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | submitting
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
