"""The engine clock: one source of "now" for the host, timers and the `now()` model function.

Why: deadlines and timers must be testable (and a UAT environment may need time travel), and
SpiffWorkflow reads `datetime.now` directly in its timer module, so the clock is injected there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer


class Clock:
    """Real time plus an offset, or a frozen instant."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def freeze(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("freeze() needs an aware datetime")
        self._frozen = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def reset(self) -> None:
        self._offset = timedelta(0)
        self._frozen = None


CLOCK = Clock()


def install_in_spiff() -> None:
    """Make SpiffWorkflow's timer module read CLOCK instead of the wall clock."""

    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]  # mirrors datetime.now
            current = CLOCK.now()
            return current if tz is None else current.astimezone(tz)

    spiff_timer.datetime = ClockDatetime
