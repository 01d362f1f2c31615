"""Read a posted task form back into typed JSON following the form's JSON Schema.

Empty answers are left out (so `required` reports them); numbers and booleans are typed, and
text that is not a number is kept as text so the validator names the problem. Add another /
Remove buttons post `_action` and the page is shown again with the data kept — no JavaScript.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping

from app.web.schema_forms import ACTION_FIELD, LONDON, _kind

_ACTION = re.compile(r"^(add|remove):([\w.]+?)(?::(\d+))?$")


def _number(text: str, kind: str) -> Any:
    try:
        return int(text) if kind == "integer" else float(text)
    except ValueError:
        return text


def _instant(text: str) -> str:
    """UK local time as entered → an ISO 8601 instant with offset (what the schema's date-time wants)."""
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=LONDON).isoformat()
        except ValueError:
            continue
    return text  # already ISO, or wrong: the validator decides


def _indices(form, prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.")
    return sorted({int(m.group(1)) for key in form.keys() if (m := pattern.match(key))})


def _parse_object(schema: Mapping, ui_schema: Mapping, form, prefix: str) -> dict:
    data: dict[str, Any] = {}
    for key, sub in (schema.get("properties") or {}).items():
        ui = ui_schema.get(key) or {}
        if ui.get("ui:widget") == "hidden" or sub.get("readOnly"):
            continue
        name = f"{prefix}{key}"
        kind = _kind(sub, ui)
        if kind == "object":
            value = _parse_object(sub, ui, form, f"{name}.")
            if value:
                data[key] = value
        elif kind == "array":
            items = [_parse_object(sub.get("items") or {}, ui.get("items") or {}, form, f"{name}.{i}.")
                     for i in _indices(form, name)]
            if items or f"{name}.present" in form:
                data[key] = items
        elif kind == "checkboxes":
            if name in form or f"{name}.present" in form:
                data[key] = [v for v in form.getlist(name) if v]
        elif kind == "lines":
            text = form.get(name, "")
            if text.strip() or f"{name}.present" in form:
                data[key] = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            text = (form.get(name) or "").strip()
            if text == "":
                continue
            if kind == "boolean":
                data[key] = {"true": True, "false": False}.get(text, text)
            elif kind in ("integer", "number"):
                data[key] = _number(text, kind)
            elif kind == "datetime":
                data[key] = _instant(text)
            else:
                data[key] = text
    return data


def _apply(data: dict, action: str) -> None:
    match = _ACTION.match(action)
    if not match:
        return
    verb, path, index = match.groups()
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    items = target.setdefault(last, [])
    if verb == "add":
        items.append({})
    elif index is not None and int(index) < len(items):
        items.pop(int(index))


def parse_submission(schema: Mapping, ui_schema: Mapping, form) -> tuple[dict, str | None]:
    """(data, action): action is None for a normal submit, else "preview" / "add:x" / "remove:x:2"."""
    data = _parse_object(schema, ui_schema, form, "")
    action = (form.get(ACTION_FIELD) or "").strip() or None
    if action and action.startswith(("add:", "remove:")):
        _apply(data, action)
    return data, action
