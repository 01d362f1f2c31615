"""Times as practitioners read them: "6 December 2026, 10:05" in Europe/London, and "Due in 3 h 20 min" /
"Overdue by 40 min"."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from app.services import labels
from app.services.clock import now

LONDON = ZoneInfo("Europe/London")


def london(moment: datetime | str | None) -> str:
    """"6 December 2026, 10:05" (London); "" for nothing."""
    if isinstance(moment, datetime) and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # stored instants are UTC
    return labels.london(moment)


def _span(minutes: int) -> str:
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{mins} min" if mins or not (days or hours) else ""]
    return " ".join(p for p in parts if p)


def due_phrase(due_at: datetime | None) -> str:
    if due_at is None:
        return "No deadline"
    minutes = int((due_at - now()).total_seconds() // 60)
    return f"Due in {_span(minutes)}" if minutes >= 0 else f"Overdue by {_span(-minutes)}"
