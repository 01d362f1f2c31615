"""The host clock for the outer layers (pages show "due in …" against the same clock as the engine)."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.engine.clock import CLOCK

LONDON = ZoneInfo("Europe/London")  # the MASH's own time: every page, letter, export and London-day count


def now() -> datetime:
    return CLOCK.now()


def parse_instant(value: Any) -> datetime | None:
    """An aware datetime from case data (ISO 8601 with an offset), or None for anything else: case
    data holds instants as strings, and a naive or malformed one must never pass as a time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else None
