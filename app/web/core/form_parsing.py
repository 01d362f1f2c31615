"""Read a posted task form back into typed JSON following the form's JSON Schema.

Why schema-driven: only fields the form declares are read, so a crafted POST cannot set other
process variables. Empty answers are left out (so `required` reports them) but an explicit "No"
is kept; numbers, booleans and choices get their JSON type back; text that is not a number or a
date is kept as typed so the validator names the problem and the page shows it again.
Add another / Remove buttons post `_action` and the page is shown again with the data kept —
no JavaScript needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from app.services.core.clock import LONDON
from app.web.core.schema_forms import ACTION_FIELD, DATE_PARTS, TIME_PART, choice_options, kind_of

_ACTION = re.compile(r"^(add|remove):([\w.]+?)(?::(\d+))?$")
PRESENT = "present"  # hidden input "<name>.present": a list field was on the page (so no ticks = [])


def _number(text: str, kind: str) -> Any:
    try:
        return int(text) if kind == "integer" else float(text)
    except ValueError:
        return text


def _instant(text: str) -> str:
    """UK local time as entered → an ISO 8601 instant with offset (what `format: date-time` wants)."""
    for pattern in ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=LONDON).isoformat()
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # wrong: the validator says so and the text is shown again
    return (moment if moment.tzinfo else moment.replace(tzinfo=LONDON)).isoformat()


_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


def _day_of(day: str, month: str, year: str) -> tuple[date | None, str | None]:
    """A day from the three boxes, or the GOV.UK message for what is wrong with them."""
    missing = [name for name, value in zip(DATE_PARTS, (day, month, year), strict=False) if not value]
    if missing:
        return None, f"The date must include a {' and '.join(missing)}"
    if not (day.isdigit() and month.isdigit() and year.isdigit()):
        return None, "Enter a real date"
    if len(year) != 4:
        return None, "The year must include 4 numbers"
    try:
        return date(int(year), int(month), int(day)), None
    except ValueError:
        return None, "Enter a real date"


def _time_of(text: str) -> tuple[tuple[int, int] | None, str | None]:
    """(hour, minute) from "14:30", "14.30", "2:30pm", "2pm"; or the GOV.UK message."""
    if not text:
        return None, "Enter a time, like 14:30"
    match = _TIME.match(text.replace(" ", ""))
    if not match:
        return None, "Enter a real time, like 14:30"
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            return None, "Enter a real time, like 14:30"
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif match.group(2) is None:
        return None, "Enter a time with hours and minutes, like 14:30"
    if hour > 23 or minute > 59:
        return None, "Enter a real time, like 14:30"
    return (hour, minute), None


def _date(form, name: str, problems: dict | None = None) -> str | None:
    """A date from the GOV.UK day/month/year inputs (or one ISO or dd/mm/yyyy text input). When it is
    not a real date the parts come back as typed ("year-month-day") and `problems[name]` says why."""
    if any(f"{name}-{part}" in form for part in DATE_PARTS):
        day, month, year = ((form.get(f"{name}-{part}") or "").strip() for part in DATE_PARTS)
        if not (day or month or year):
            return None
        found, problem = _day_of(day, month, year)
        if found is not None:
            return found.isoformat()
        if problems is not None:
            problems[name] = [problem]
        return f"{year}-{month}-{day}"  # not a date: the parts are shown again as typed
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%d/%m/%Y").date().isoformat()
    except ValueError:
        return text


def _date_time(form, name: str, problems: dict | None = None) -> str | None:
    """An instant from the GOV.UK date input plus the time box, entered in London time (or one text
    input, as before). Not real: the parts come back as typed ("year-month-dayThh:mm") and
    `problems[name]` says why."""
    if not any(f"{name}-{part}" in form for part in (*DATE_PARTS, TIME_PART)):
        text = (form.get(name) or "").strip()
        return _instant(text) if text else None
    day, month, year, clock = ((form.get(f"{name}-{part}") or "").strip() for part in (*DATE_PARTS, TIME_PART))
    if not (day or month or year or clock):
        return None
    found, problem = (
        _day_of(day, month, year) if (day or month or year) else (None, "Enter the date as well as the time")
    )
    at, time_problem = _time_of(clock)
    if found is not None and at is not None:
        return datetime(found.year, found.month, found.day, at[0], at[1], tzinfo=LONDON).isoformat()
    if problems is not None:
        problems[name] = [problem or time_problem]
    return f"{year}-{month}-{day}T{clock}"


def _indices(form, prefix: str) -> list[int]:
    """The items of an array posted as "<array>.<i>.<field>"; the page's hidden "<array>.<i>._item" keeps
    an item whose answers are all blank."""
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.")
    return sorted({int(m.group(1)) for key in form if (m := pattern.match(key))})


def _choice(schema: Mapping, ui: Mapping, text: str) -> Any:
    """The JSON value of a posted option (e.g. "true" → True for a oneOf of boolean consts)."""
    for posted, _label, value in choice_options(schema, ui) or []:
        if posted == text:
            return value
    return text


def _scalar(sub: Mapping, ui: Mapping, kind: str, text: str) -> Any:
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if kind in ("radios", "select"):
        return _choice(sub, ui, text)
    if kind in ("integer", "number"):
        return _number(text, kind)
    if kind == "datetime":
        return _instant(text)
    return text


def _list(sub: Mapping, ui: Mapping, kind: str, form, name: str) -> list | None:
    if kind == "checkboxes":
        if name not in form and f"{name}.{PRESENT}" not in form:
            return None
        items = sub.get("items") or {}
        return [_choice(items, ui.get("items") or ui, v) for v in form.getlist(name) if v]
    text = form.get(name, "")
    if not text.strip() and f"{name}.{PRESENT}" not in form:
        return None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parse_object(schema: Mapping, ui_schema: Mapping, form, prefix: str, problems: dict | None = None) -> dict:
    data: dict[str, Any] = {}
    for key, sub in (schema.get("properties") or {}).items():
        ui = ui_schema.get(key) or {}
        name = f"{prefix}{key}"
        kind = kind_of(sub, ui)
        value: Any = None
        if kind == "readonly":
            continue  # shown, never posted: nobody can change it through the form
        if kind == "object":
            value = _parse_object(sub, ui, form, f"{name}.", problems) or None
        elif kind == "array":
            items = [
                _parse_object(sub.get("items") or {}, ui.get("items") or {}, form, f"{name}.{i}.", problems)
                for i in _indices(form, name)
            ]
            value = items if items or f"{name}.{PRESENT}" in form else None
        elif kind in ("checkboxes", "lines"):
            value = _list(sub, ui, kind, form, name)
        elif kind == "date":
            value = _date(form, name, problems)
        elif kind == "datetime":
            value = _date_time(form, name, problems)
        else:
            text = (form.get(name) or "").strip()
            value = _scalar(sub, ui, kind, text) if text else None
        if value is not None:
            data[key] = value
    return data


def _apply(data: dict, action: str) -> None:
    """Add an empty item to, or remove item i from, the array the button belongs to."""
    match = _ACTION.match(action)
    if not match:
        return
    verb, path, index = match.groups()
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        if isinstance(target, list):
            if not part.isdigit() or int(part) >= len(target):
                return
            target = target[int(part)]
        else:
            target = target.setdefault(part, {})
    if not isinstance(target, dict):
        return
    items = target.setdefault(last, [])
    if verb == "add":
        items.append({})
    elif index is not None and int(index) < len(items):
        items.pop(int(index))


def parse_submission(
    schema: Mapping, ui_schema: Mapping, form, problems: dict[str, list[str]] | None = None
) -> tuple[dict, str | None]:
    """(data, action): action is None for a normal submit, else "preview" / "add:x" / "remove:x:2".

    `form` is a werkzeug MultiDict (anything with get, getlist, keys and `in`). Dates and times that
    are not real are kept as typed; pass `problems` to get the GOV.UK message for each, by field name
    ("Enter a real date", "The date must include a year", "Enter a time, like 14:30").
    """
    data = _parse_object(schema, ui_schema, form, "", problems)
    action = (form.get(ACTION_FIELD) or "").strip() or None
    if action and action.startswith(("add:", "remove:")):
        _apply(data, action)
    return data, action
