"""Times as practitioners read them: Europe/London, and "due in 3 h 20 min" / "overdue by 40 min"."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.services.clock import now

LONDON = ZoneInfo("Europe/London")


def london(moment: datetime | str | None) -> str:
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    return moment.astimezone(LONDON).strftime("%-d %b %Y %H:%M")


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
