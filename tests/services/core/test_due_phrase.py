"""Deadlines in plain words (GOV.UK style), as the inbox, case file, task and partner pages show them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.services.core.clock import LONDON
from app.services.core.labels import clock_time, due_phrase

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=LONDON)  # a Monday, 10am in London (GMT)


@pytest.mark.parametrize(
    ("due_at", "phrase"),
    [
        (None, "No deadline"),
        (NOW + timedelta(seconds=30), "Due in less than a minute"),
        (NOW + timedelta(minutes=1), "Due in 1 minute"),
        (NOW + timedelta(minutes=40), "Due in 40 minutes"),
        (NOW + timedelta(hours=1, minutes=59), "Due in 1 hour"),
        (NOW + timedelta(hours=23, minutes=30), "Due in 23 hours"),
        (datetime(2026, 12, 8, 12, 0, tzinfo=LONDON), "Due tomorrow at midday"),
        (datetime(2026, 12, 8, 17, 45, tzinfo=LONDON), "Due tomorrow at 5:45pm"),
        (datetime(2026, 12, 9, 9, 30, tzinfo=LONDON), "Due in 2 days"),
        (NOW + timedelta(days=10), "Due in 10 days"),
        (NOW - timedelta(seconds=1), "Overdue by 1 minute"),
        (NOW - timedelta(minutes=40), "Overdue by 40 minutes"),
        (NOW - timedelta(hours=2, minutes=10), "Overdue by 2 hours"),
        (NOW - timedelta(days=1), "Overdue by 1 day"),
        (NOW - timedelta(days=3, hours=5), "Overdue by 3 days"),
    ],
)
def test_a_deadline_in_plain_words(due_at, phrase):
    assert due_phrase(due_at, NOW) == phrase


def test_tomorrow_is_a_london_day_and_stored_times_are_utc():
    early = datetime(2026, 12, 7, 8, 0, tzinfo=LONDON)
    assert due_phrase(datetime(2026, 12, 8, 9, 30, tzinfo=LONDON), early) == "Due tomorrow at 9:30am"
    assert due_phrase(datetime(2026, 12, 8, 9, 30), early) == "Due tomorrow at 9:30am"  # naive = UTC (GMT in winter)
    summer = datetime(2026, 7, 6, 8, 0, tzinfo=LONDON)
    assert due_phrase(datetime(2026, 7, 7, 8, 30, tzinfo=UTC), summer) == "Due tomorrow at 9:30am"  # BST


@pytest.mark.parametrize(
    ("hour", "minute", "words"),
    [
        (0, 0, "midnight"),
        (12, 0, "midday"),
        (9, 30, "9:30am"),
        (17, 0, "5pm"),
        (0, 5, "12:05am"),
        (12, 45, "12:45pm"),
    ],
)
def test_times_of_day_as_gov_uk_writes_them(hour, minute, words):
    assert clock_time(datetime(2026, 12, 7, hour, minute, tzinfo=LONDON)) == words
