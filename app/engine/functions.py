"""The function table models may call (docs/modelling.md, "Functions"), for the evaluator.

Why a fixed table: the evaluator refuses every call that is not a name in this table, so this
file *is* the model-facing API. Each function is pure except ``now()``, which reads the
injected clock (so tests and UAT can travel in time). Builtins are wrapped where Python's
version could allocate without bound or accept a callable.

Instants go in and out as ISO 8601 strings with an offset; outputs are UTC
``datetime.isoformat()`` (``2026-11-25T10:00:00+00:00``). Naive instants are errors: a
deadline computed from a time of unknown zone could be an hour out.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from app.engine.calendar import MashCalendar, parse_duration
from app.engine.calendar import add_elapsed as _add_elapsed
from app.engine.evaluator import charge, value_size

__all__ = ["build_functions", "iso", "to_instant"]

Instant = str | datetime

# Steps charged per calendar day a deadline calculation walks (docs/safety.md, "Limits"): with the
# one-year cap on durations this keeps a dozen long deadlines in one expression within its budget,
# and refuses `[add_working(now(), "PT2000H") for i in range(15)]`-style loops by cost.
DAY_COST = 30


def to_instant(value: Instant, what: str = "instant") -> datetime:
    """An aware datetime from an ISO 8601 string with offset (or an aware datetime)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{what} {value!r} is not an ISO 8601 date-time") from None
    else:
        raise ValueError(f"{what} must be an ISO 8601 date-time string, not {type(value).__name__}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{what} {value!r} has no UTC offset (write e.g. 2026-11-25T10:00:00+00:00)")
    return parsed


def iso(at: datetime) -> str:
    """The stored form of an instant: UTC, ``isoformat()``."""
    return at.astimezone(UTC).isoformat()


def _sum(values: Iterable[Any], start: int | float = 0) -> int | float:
    if type(start) not in (int, float):  # sum(lists, []) is quadratic; numbers only
        raise ValueError("sum() adds numbers only")
    return builtins.sum(values, start)


def _round(number: float, ndigits: int | None = None) -> float:
    if ndigits is not None and abs(ndigits) > 100:  # round(10, -10**9) computes 10**10**9
        raise ValueError("round() digits must be between -100 and 100")
    return builtins.round(number, ndigits)


def _sorted(values: Iterable[Any], *, reverse: bool = False) -> list[Any]:
    return builtins.sorted(values, reverse=reverse)


def _min(*args: Any, **kwargs: Any) -> Any:
    if "key" in kwargs:
        raise ValueError("min() takes no key function here")
    return builtins.min(*args, **kwargs)


def _max(*args: Any, **kwargs: Any) -> Any:
    if "key" in kwargs:
        raise ValueError("max() takes no key function here")
    return builtins.max(*args, **kwargs)


def _enumerate(values: Iterable[Any], start: int = 0) -> list[tuple[int, Any]]:
    return list(builtins.enumerate(values, start))


def _zip(*iterables: Iterable[Any]) -> list[tuple[Any, ...]]:
    return list(builtins.zip(*iterables, strict=False))


def _bounded_builtins(max_size: int) -> dict[str, Callable[..., Any]]:
    """Python builtins with the unbounded or callable-taking corners removed."""

    def _range(*args: int) -> list[int]:
        r = builtins.range(*args)
        if len(r) > max_size:
            raise ValueError(f"range longer than {max_size} items")
        return list(r)

    def _str(value: Any = "") -> str:
        if value_size(value, max_size * 10) > max_size * 10:
            raise ValueError("value too large to turn into text")
        return builtins.str(value)

    table: dict[str, Callable[..., Any]] = {
        name: getattr(builtins, name)
        for name in ("len", "any", "all", "abs", "int", "float", "bool", "list", "dict", "set", "tuple")
    }
    table.update(
        range=_range,
        str=_str,
        sum=_sum,
        round=_round,
        sorted=_sorted,
        min=_min,
        max=_max,
        enumerate=_enumerate,
        zip=_zip,
    )
    return table


def _instants(values: tuple[Instant | list[Any] | None, ...]) -> list[datetime]:
    """The instants given, one by one or in lists (earliest([a, b]) as well as earliest(a, b)); None left out."""
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, (list, tuple)) else [value])
    return [to_instant(v) for v in flat if v is not None]


def latest(*values: Instant | list[Any] | None) -> str | None:
    instants = _instants(values)
    return iso(builtins.max(instants)) if instants else None


def earliest(*values: Instant | list[Any] | None) -> str | None:
    instants = _instants(values)
    return iso(builtins.min(instants)) if instants else None


def days_between(a: Instant, b: Instant) -> int:
    """Whole 24-hour days from a to b, truncated towards zero (negative if b is earlier)."""
    return int((to_instant(b) - to_instant(a)) / timedelta(days=1))


def build_functions(
    clock: Callable[[], datetime], calendar: MashCalendar, *, max_size: int = 100_000
) -> dict[str, Callable[..., Any]]:
    """The table passed to ``RestrictedEvaluator`` (exactly the functions in docs/modelling.md)."""
    mash = calendar  # `calendar` is also deadline()'s keyword, as modellers write it

    def now() -> str:
        return iso(to_instant(clock(), "clock"))

    def add_elapsed(start: Instant, duration: str) -> str:
        charge(DAY_COST)
        return iso(_add_elapsed(to_instant(start, "start"), parse_duration(duration)))

    def add_working(start: Instant, duration: str) -> str:
        begin = to_instant(start, "start")
        end = mash.add_working(begin, parse_duration(duration))  # refuses a walk of more than a year
        charge(DAY_COST * (1 + max(0, (end - begin).days)))  # the days it walked
        return iso(end)

    def deadline(start: Instant, duration: str | None, calendar: str) -> str | None:
        if duration is None:
            return None
        if calendar == "elapsed":
            return add_elapsed(start, duration)
        if calendar == "working":
            return add_working(start, duration)
        raise ValueError(f"calendar must be 'elapsed' or 'working', not {calendar!r}")

    def next_opening(at: Instant) -> str:
        return iso(mash.next_opening(to_instant(at)))

    def mash_open(at: Instant) -> bool:
        return mash.is_open(to_instant(at))

    def next_closing(at: Instant) -> str:
        return iso(mash.next_closing(to_instant(at)))

    def closed_from(at: Instant) -> str:
        return iso(mash.closed_from(to_instant(at)))

    table = _bounded_builtins(max_size)
    table.update(
        now=now,
        add_elapsed=add_elapsed,
        add_working=add_working,
        deadline=deadline,
        next_opening=next_opening,
        earliest=earliest,
        days_between=days_between,
        mash_open=mash_open,
        next_closing=next_closing,
        closed_from=closed_from,
        latest=latest,
    )
    return table
