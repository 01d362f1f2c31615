"""The MASH calendar (spec §5) on concrete 2026 dates.

2026 reference: Thu 19 Nov, Fri 20 Nov, Sat 21 Nov, Mon 23 Nov; BST ends Sun 25 Oct;
bank holidays Fri 25 Dec and Mon 28 Dec (Boxing Day observed).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.engine.calendar import LONDON, Duration, MashCalendar, add_elapsed, parse_duration

CAL = MashCalendar()
UTC = UTC


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def test_bank_holidays_come_from_the_package():
    assert not CAL.is_working_day(date(2026, 12, 25))
    assert not CAL.is_working_day(date(2026, 12, 28))
    assert CAL.is_working_day(date(2026, 12, 24))


# ---------------------------------------------------------------- is_open / next_opening


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 11, 19, 17, 10), True),  # Thursday closes 17:30
        (utc(2026, 11, 20, 17, 10), False),  # Friday closes 17:00
        (utc(2026, 11, 20, 9, 0), True),  # opening instant is open
        (utc(2026, 11, 19, 17, 30), False),  # closing instant is closed
        (utc(2026, 11, 21, 12, 0), False),  # Saturday
        (utc(2026, 12, 25, 12, 0), False),  # Christmas Day
        (utc(2026, 7, 1, 8, 30), True),  # 09:30 BST
        (utc(2026, 7, 1, 16, 45), False),  # 17:45 BST
    ],
)
def test_is_open(at, expected):
    assert CAL.is_open(at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 11, 19, 10, 0), utc(2026, 11, 19, 10, 0)),  # open: itself
        (utc(2026, 11, 23, 8, 0), utc(2026, 11, 23, 9, 0)),  # before opening
        (utc(2026, 11, 23, 17, 30), utc(2026, 11, 24, 9, 0)),  # at closing
        (utc(2026, 11, 20, 17, 0), utc(2026, 11, 23, 9, 0)),  # Friday closing -> Monday
        (utc(2026, 11, 21, 12, 0), utc(2026, 11, 23, 9, 0)),  # Saturday -> Monday
        (utc(2026, 12, 24, 18, 0), utc(2026, 12, 29, 9, 0)),  # Christmas
        (utc(2026, 7, 1, 6, 0), utc(2026, 7, 1, 8, 0)),  # BST: 09:00 local = 08:00 UTC
    ],
)
def test_next_opening(at, expected):
    assert CAL.next_opening(at) == expected


def test_next_opening_accepts_any_offset_and_returns_utc():
    result = CAL.next_opening(london(2026, 11, 21, 12, 0))
    assert result == utc(2026, 11, 23, 9, 0) and result.tzinfo is UTC


# ---------------------------------------------------------------- add_working


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        # PT1H from Friday 16:30 -> Monday 09:30
        (utc(2026, 11, 20, 16, 30), "PT1H", utc(2026, 11, 23, 9, 30)),
        # P1D from Thursday 17:00 -> Friday 17:00 (Friday closes 17:00: allowed)
        (utc(2026, 11, 19, 17, 0), "P1D", utc(2026, 11, 20, 17, 0)),
        # P1D from Thursday 17:20 -> Friday closing 17:00
        (utc(2026, 11, 19, 17, 20), "P1D", utc(2026, 11, 20, 17, 0)),
        # P1D from Thursday 17:40 (closed) -> next opening Fri 09:00 -> Monday 09:00
        (utc(2026, 11, 19, 17, 40), "P1D", utc(2026, 11, 23, 9, 0)),
        # Saturday start is based on Monday 09:00
        (utc(2026, 11, 21, 11, 0), "P1D", utc(2026, 11, 24, 9, 0)),
        (utc(2026, 11, 21, 11, 0), "PT1H", utc(2026, 11, 23, 10, 0)),
        (utc(2026, 11, 21, 11, 0), "PT30M", utc(2026, 11, 23, 9, 30)),
        # Christmas: Thu 24 Dec -> skip Fri 25 (BH), weekend, Mon 28 (BH observed) -> Tue 29
        (utc(2026, 12, 24, 17, 0), "P1D", utc(2026, 12, 29, 17, 0)),
        (utc(2026, 12, 24, 17, 0), "PT1H", utc(2026, 12, 29, 9, 30)),
        # hours within a day, exactly to closing, and spilling over
        (utc(2026, 11, 23, 9, 0), "PT8H", utc(2026, 11, 23, 17, 0)),
        (utc(2026, 11, 23, 9, 0), "PT8H30M", utc(2026, 11, 23, 17, 30)),
        (utc(2026, 11, 23, 9, 0), "PT9H", utc(2026, 11, 24, 9, 30)),
        (utc(2026, 11, 23, 9, 0), "PT16H", utc(2026, 11, 24, 16, 30)),
        # mixed: days first, then hours (Thu 16:00 +1D = Fri 16:00, +2H = Fri 17:00 then Mon 10:00)
        (utc(2026, 11, 19, 16, 0), "P1DT2H", utc(2026, 11, 23, 10, 0)),
        (utc(2026, 11, 19, 10, 0), "P5D", utc(2026, 11, 26, 10, 0)),
        # zero duration leaves the start alone
        (utc(2026, 11, 21, 11, 0), "PT0H", utc(2026, 11, 21, 11, 0)),
    ],
)
def test_add_working(start, duration, expected):
    assert CAL.add_working(start, duration) == expected


def test_add_working_skips_closure_days():
    cal = MashCalendar(closure_days=[date(2026, 11, 20)])
    assert cal.add_working(utc(2026, 11, 19, 10, 0), "P1D") == utc(2026, 11, 23, 10, 0)
    assert cal.add_working(utc(2026, 11, 19, 17, 0), "PT1H") == utc(2026, 11, 23, 9, 30)
    assert not cal.is_open(utc(2026, 11, 20, 12, 0))


def test_add_working_across_bst_end():
    # Fri 23 Oct 16:30 BST (15:30 UTC) + PT1H -> Mon 26 Oct 09:30 GMT (09:30 UTC)
    assert CAL.add_working(utc(2026, 10, 23, 15, 30), "PT1H") == utc(2026, 10, 26, 9, 30)
    # P1D keeps *local* clock time: Fri 10:00 BST (09:00 UTC) -> Mon 10:00 GMT (10:00 UTC)
    assert CAL.add_working(utc(2026, 10, 23, 9, 0), "P1D") == utc(2026, 10, 26, 10, 0)


def test_add_working_across_bst_start():
    # Fri 27 Mar 10:00 GMT -> Mon 30 Mar 10:00 BST = 09:00 UTC
    assert CAL.add_working(utc(2026, 3, 27, 10, 0), "P1D") == utc(2026, 3, 30, 9, 0)


def test_add_working_refuses_weeks_and_naive():
    with pytest.raises(ValueError, match="PnD"):
        CAL.add_working(utc(2026, 11, 19, 10, 0), "P1W")
    with pytest.raises(ValueError, match="offset"):
        CAL.add_working(datetime(2026, 11, 19, 10, 0), "P1D")
    with pytest.raises(ValueError, match="offset"):
        CAL.next_opening(datetime(2026, 11, 19, 10, 0))


# ---------------------------------------------------------------- elapsed


def test_add_elapsed_is_plain_clock_time():
    assert add_elapsed(utc(2026, 11, 20, 16, 30), "PT4H") == utc(2026, 11, 20, 20, 30)
    assert MashCalendar.add_elapsed(utc(2026, 11, 21, 11, 0), "PT4H") == utc(2026, 11, 21, 15, 0)
    # absolute interval across the clock change (P1D = 24 hours)
    assert add_elapsed(utc(2026, 10, 24, 23, 0), "P1D") == utc(2026, 10, 25, 23, 0)
    assert add_elapsed(london(2026, 7, 1, 10, 0), "PT1H").tzinfo is UTC


# ---------------------------------------------------------------- parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT4H", Duration(0, timedelta(hours=4))),
        ("PT30M", Duration(0, timedelta(minutes=30))),
        ("PT45S", Duration(0, timedelta(seconds=45))),
        ("P1D", Duration(1, timedelta(0))),
        ("P1DT2H", Duration(1, timedelta(hours=2))),
        ("PT1H30M", Duration(0, timedelta(hours=1, minutes=30))),
        ("PT1.5H", Duration(0, timedelta(hours=1, minutes=30))),
        (" P2D ", Duration(2, timedelta(0))),
        ("P2W", Duration(14, timedelta(0), weeks=True)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


def test_duration_total():
    assert parse_duration("P1DT1H").total == timedelta(hours=25)


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "P1DT", "1H", "PT1X", "-PT1H", "PT1H30", "pt1h", "P1.5D", "P1Y", "P1M", "4 hours", "P99999D"],
)
def test_parse_duration_errors(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_parse_duration_explains_months():
    with pytest.raises(ValueError, match="years and months"):
        parse_duration("P1M")


def test_parse_duration_rejects_non_text():
    with pytest.raises(ValueError, match="text"):
        parse_duration(None)  # type: ignore[arg-type]


def test_christmas_2026_closes_the_25th_26th_and_28th():
    assert not CAL.is_working_day(date(2026, 12, 26))  # Boxing Day falls on a Saturday; the 28th is its substitute
    assert CAL.add_working(utc(2026, 12, 24, 16, 30), "PT8H") == utc(2026, 12, 29, 16, 0)
    assert CAL.add_working(utc(2026, 12, 24, 10, 0), "P1D") == utc(2026, 12, 29, 10, 0)


# ---------------------------------------------------------------- next_closing / closed_from (spec §11.3)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 11, 19, 10, 0), utc(2026, 11, 19, 17, 30)),  # Thursday, open: today's closing
        (utc(2026, 11, 20, 16, 59), utc(2026, 11, 20, 17, 0)),  # Friday 16:59: closes at 17:00
        (utc(2026, 11, 20, 17, 0), utc(2026, 11, 23, 17, 30)),  # Friday closing instant: Monday's closing
        (utc(2026, 11, 22, 3, 55), utc(2026, 11, 23, 17, 30)),  # Sunday night: Monday's closing
        (utc(2026, 12, 24, 18, 0), utc(2026, 12, 29, 17, 30)),  # Christmas and Boxing Day observed
        (utc(2026, 7, 1, 8, 30), utc(2026, 7, 1, 16, 30)),  # BST: 17:30 local = 16:30 UTC
    ],
)
def test_next_closing(at, expected):
    assert CAL.next_closing(at) == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 11, 19, 10, 0), utc(2026, 11, 19, 17, 30)),  # open: closes at 17:30
        (utc(2026, 11, 20, 16, 59), utc(2026, 11, 20, 17, 0)),  # Friday 16:59: a minute later
        (utc(2026, 11, 22, 3, 55), utc(2026, 11, 20, 17, 0)),  # Sunday: closed since Friday 17:00
        (utc(2026, 11, 23, 8, 0), utc(2026, 11, 20, 17, 0)),  # Monday before opening: still Friday's closure
        (utc(2026, 11, 24, 18, 0), utc(2026, 11, 24, 17, 30)),  # Tuesday evening: since 17:30
        (utc(2026, 12, 25, 12, 0), utc(2026, 12, 24, 17, 30)),  # bank holiday: since Christmas Eve's closing
    ],
)
def test_closed_from(at, expected):
    assert CAL.closed_from(at) == expected


def test_model_functions_for_out_of_hours():
    from app.engine.functions import build_functions

    fns = build_functions(lambda: utc(2026, 11, 20, 16, 59), CAL)
    assert fns["mash_open"]("2026-11-20T16:59:00+00:00") is True
    assert fns["mash_open"]("2026-11-22T03:55:00+00:00") is False
    assert fns["next_closing"]("2026-11-20T16:59:00+00:00") == "2026-11-20T17:00:00+00:00"
    assert fns["closed_from"]("2026-11-22T03:55:00+00:00") == "2026-11-20T17:00:00+00:00"
    assert (
        fns["latest"](None, "2026-11-20T10:00:00+00:00", ["2026-11-21T10:00:00+00:00"]) == "2026-11-21T10:00:00+00:00"
    )
    assert fns["latest"](None) is None
