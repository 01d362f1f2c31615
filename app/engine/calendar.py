"""The MASH calendar (spec §5): opening hours, bank holidays, closure days, working time.

Why: decision and outcome deadlines are statutory-style timescales counted in *working* time
(Working Together), so "P1D" from a Thursday-evening contact means Friday, not Friday 24h
later. All arithmetic is done in Europe/London wall time (opening hours are local) and every
result is returned in UTC, which is how instants are stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from holidays import country_holidays

__all__ = ["LONDON", "Duration", "MashCalendar", "add_elapsed", "parse_duration"]

LONDON = ZoneInfo("Europe/London")

# weekday() -> (opens, closes); absent weekdays are closed.
OPENING_HOURS: dict[int, tuple[time, time]] = {
    0: (time(9, 0), time(17, 30)),
    1: (time(9, 0), time(17, 30)),
    2: (time(9, 0), time(17, 30)),
    3: (time(9, 0), time(17, 30)),
    4: (time(9, 0), time(17, 0)),
}

_MAX_DAYS = 3660  # ten years: a typo like P10000D should fail loudly, not loop
# No timescale in the spec is longer than a year; a longer one is a typo or an attempt to make a
# deadline calculation walk the calendar for a long time (issue 13). Counted on the calendar, so a
# working-time duration whose deadline lands more than a year ahead is refused as well.
MAX_DURATION_DAYS = 366
DURATION_CAP = "durations over 1 year are refused"


class Duration(NamedTuple):
    """An ISO 8601 duration split into its date part and its time part.

    Why split: for the working calendar ``P1D`` (a working day, keeping clock time) and
    ``PT24H`` (24 hours of opening time) mean very different things.
    """

    days: int
    time: timedelta
    weeks: bool = False

    @property
    def total(self) -> timedelta:
        return timedelta(days=self.days) + self.time


_DURATION_RE = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


def parse_duration(text: str) -> Duration:
    """Parse ``PnW``/``PnD``/``PTnHnMnS`` (and mixes such as ``P1DT2H``).

    Years and months are refused: their length varies, so a timescale written with them
    cannot be checked against the spec's fixed timescales.
    """
    if not isinstance(text, str):
        raise ValueError(f"duration must be text like 'PT4H' or 'P1D', not {type(text).__name__}")
    value = text.strip()
    match = _DURATION_RE.fullmatch(value)
    if not match or value in ("P", "PT") or value.endswith("T"):
        hint = (
            " (years and months are not supported; use days)"
            if re.fullmatch(r"P[\dYMWDTHS.]*", value) and ("Y" in value or re.match(r"P[^T]*M", value))
            else ""
        )
        raise ValueError(f"invalid ISO 8601 duration {text!r}: expected e.g. 'PT4H', 'PT30M', 'P1D', 'P1DT2H'{hint}")
    parts = match.groupdict()
    too_long = ValueError(f"duration {text!r} is longer than a year: {DURATION_CAP}")
    if any(part and len(part) > 20 for part in parts.values()):
        raise too_long
    weeks = int(parts["weeks"] or 0)
    days = int(parts["days"] or 0) + 7 * weeks
    seconds = float(parts["hours"] or 0) * 3600 + float(parts["minutes"] or 0) * 60 + float(parts["seconds"] or 0)
    if days * 86400 + seconds > MAX_DURATION_DAYS * 86400:
        raise too_long
    return Duration(days, timedelta(seconds=seconds), weeks=parts["weeks"] is not None)


def _aware(at: datetime, what: str = "instant") -> datetime:
    if not isinstance(at, datetime):
        raise ValueError(f"{what} must be a datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} {at.isoformat()} has no UTC offset")
    return at


def add_elapsed(start: datetime, duration: str | Duration) -> datetime:
    """Plain clock time: ``start`` + duration as an absolute interval (P1D = 24 hours), in UTC."""
    dur = parse_duration(duration) if isinstance(duration, str) else duration
    return _aware(start, "start").astimezone(UTC) + dur.total


class MashCalendar:
    """Opening hours Mon–Thu 09:00–17:30, Fri 09:00–17:00 (London time); closed weekends,
    England & Wales bank holidays and any administrator-added closure days."""

    def __init__(self, closure_days: Iterable[date] = ()):
        self.closure_days: frozenset[date] = frozenset(closure_days)
        this_year = date.today().year
        # Pre-populated so lookups do not mutate a shared object; later years expand lazily.
        self._bank_holidays = country_holidays("GB", subdiv="ENG", years=range(this_year - 5, this_year + 11))

    add_elapsed = staticmethod(add_elapsed)

    # -- days
    def is_working_day(self, day: date) -> bool:
        return day.weekday() in OPENING_HOURS and day not in self._bank_holidays and day not in self.closure_days

    def _hours(self, day: date) -> tuple[datetime, datetime]:
        opens, closes = OPENING_HOURS[day.weekday()]
        return datetime.combine(day, opens, LONDON), datetime.combine(day, closes, LONDON)

    def _next_working_day(self, day: date) -> date:
        for _ in range(_MAX_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_MAX_DAYS} days of {day}")

    # -- instants
    def is_open(self, at: datetime) -> bool:
        local = _aware(at).astimezone(LONDON)
        if not self.is_working_day(local.date()):
            return False
        opens, closes = self._hours(local.date())
        return opens <= local < closes

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) if open, else the next opening time."""
        local = _aware(at).astimezone(LONDON)
        day = local.date()
        if self.is_working_day(day):
            opens, closes = self._hours(day)
            if local < opens:
                return opens.astimezone(UTC)
            if local < closes:
                return local.astimezone(UTC)
        return self._hours(self._next_working_day(day))[0].astimezone(UTC)

    def next_closing(self, at: datetime) -> datetime:
        """The end of the opening period ``at`` falls in, or of the next one if the MASH is closed then (UTC).

        Why: a RED case still open at closing time goes to the out-of-hours team (spec §11.3)."""
        opening = self.next_opening(at)
        return self._hours(opening.astimezone(LONDON).date())[1].astimezone(UTC)

    def closed_from(self, at: datetime) -> datetime:
        """When the MASH is (or will next be) closed from, seen from ``at`` (UTC): if it is open at ``at``,
        that day's closing time; if it is closed, the closing time that began the closure (so a timer on it
        fires at once — a RED case arriving on a Sunday goes out of hours straight away, spec §11.3)."""
        at = _aware(at).astimezone(UTC)
        if self.is_open(at):
            return self.next_closing(at)
        local = at.astimezone(LONDON)
        day = local.date()
        if self.is_working_day(day) and local >= self._hours(day)[1]:
            return self._hours(day)[1].astimezone(UTC)
        for _ in range(_MAX_DAYS):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                return self._hours(day)[1].astimezone(UTC)
        raise ValueError(f"no working day within {_MAX_DAYS} days before {at.date()}")

    def add_working(self, start: datetime, duration: str | Duration) -> datetime:
        """Working-time deadline (spec §5): whole days first (keeping clock time, capped at that
        day's closing), then hours/minutes of opening time. Returned in UTC."""
        dur = parse_duration(duration) if isinstance(duration, str) else duration
        if dur.weeks:
            raise ValueError("working durations are counted in days or hours; use PnD instead of PnW")
        current = _aware(start, "start").astimezone(UTC)
        if dur.days == 0 and not dur.time:
            return current
        horizon = current + timedelta(days=MAX_DURATION_DAYS)
        shown = repr(duration) if isinstance(duration, str) else f"of {dur.days} days and {dur.time}"
        too_long = ValueError(f"working duration {shown} ends more than a year ahead: {DURATION_CAP}")
        current = self.next_opening(current)
        if dur.days:
            local = current.astimezone(LONDON)
            day = local.date()
            for _ in range(dur.days):
                day = self._next_working_day(day)
            if datetime.combine(day, time(0), LONDON) > horizon:
                raise too_long
            opens, closes = self._hours(day)
            # Re-localise the wall-clock time on the new day (DST-safe: 09:00–17:30 always exists).
            target = datetime.combine(day, local.time().replace(tzinfo=None), LONDON)
            current = min(max(target, opens), closes).astimezone(UTC)
        remaining = dur.time
        while remaining > timedelta(0):
            current = self.next_opening(current)
            if current > horizon:
                raise too_long
            closes = self._hours(current.astimezone(LONDON).date())[1].astimezone(UTC)
            available = closes - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = closes
        return current
