"""Jinja filters for plain words on every page: times, days, durations and stored values by their labels.
The one place pages turn instants into London time and deadlines into words.

    {{ task.due_at | london }}          6 December 2026, 10:05
    {{ task.due_at | due }}             Due in 23 hours / Due tomorrow at 9:30am / Overdue by 2 hours
    {{ child.date_of_birth | long_date }}  1 April 2016
    {{ "PT4H" | duration }}             4 hours     ({{ "P1D" | duration("working") }} → 1 working day)
    {{ case.route | label("route") }}   Section 47 strategy discussion
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g

from app.services.core import labels
from app.services.core.clock import now
from app.web import bp


@bp.app_template_filter("london")
def london(moment: datetime | str | None) -> str:
    """ "6 December 2026, 10:05" (London); "" for nothing."""
    if isinstance(moment, datetime) and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stored instants are UTC
    return labels.london(moment)


@bp.app_template_filter("due")
def due_phrase(due_at: datetime | None) -> str:
    """ "Due in 23 hours", "Due tomorrow at 9:30am", "Overdue by 2 hours", "No deadline" (against the host clock)."""
    return labels.due_phrase(due_at, now())


@bp.app_template_filter("long_date")
def _long_date(value) -> str:
    return labels.long_date(value)


@bp.app_template_filter("duration")
def _duration(value, calendar: str | None = None) -> str:
    return labels.duration(value, calendar)


def _labels() -> labels.Labels:
    """The newest deployed forms' labels, looked up once per request."""
    if "plain_labels" not in g:
        g.plain_labels = labels.latest()
    return g.plain_labels


@bp.app_template_filter("label")
def _label(value: Any, field: str) -> str:
    """A stored value by its form label (the newest deployed forms, then the host's own words)."""
    return _labels().value(field, value)


@bp.app_template_filter("rule_description")
def _rule_description(text: str | None) -> str:
    return labels.rule_description(text)
