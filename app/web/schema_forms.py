"""Turn a task's JSON Schema + UI schema into GOV.UK form fields, and a POST back into typed JSON.

Why generic: any form a service manager deploys in forms/ must render and validate with no code
change. Names are dotted paths ("child.first_name", "household_members.0.name") — the same keys
the server-side validator reports errors under — so every error lands on its field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
ACTION_FIELD = "_action"


@dataclass
class Choice:
    value: str
    text: str
    checked: bool = False


@dataclass
class Field:
    name: str
    kind: str  # text textarea integer number date datetime boolean radios select checkboxes lines object array
    label: str
    hint: str | None = None
    required: bool = False
    value: str = ""
    choices: list[Choice] = field(default_factory=list)
    error: str | None = None
    children: list["Field"] = field(default_factory=list)
    items: list[list["Field"]] = field(default_factory=list)
    item_label: str = "item"
    rows: int = 5

    @property
    def id(self) -> str:
        return field_id(self.name)


def field_id(name: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _type(schema: Mapping) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and (schema.get("enum") or schema.get("oneOf")):
        return "string"
    return kind


def _choices(schema: Mapping, ui: Mapping) -> list[tuple[str, str]] | None:
    if schema.get("enum"):
        names = ui.get("ui:enumNames") or schema.get("enumNames") or []
        return [(str(v), names[i] if i < len(names) else _humanise(str(v))) for i, v in enumerate(schema["enum"])
                if v is not None]
    options = [o for o in schema.get("oneOf") or [] if "const" in o]
    if options:
        return [(_scalar(o["const"]), o.get("title") or _humanise(str(o["const"]))) for o in options]
    return None


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _humanise(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _ordered(properties: Mapping, ui: Mapping) -> list[str]:
    order = list(ui.get("ui:order") or [])
    names = list(properties)
    if not order:
        return names
    rest = [n for n in names if n not in order]
    result = []
    for name in order:
        if name == "*":
            result.extend(rest)
        elif name in properties:
            result.append(name)
    if "*" not in order:
        result.extend(rest)
    return result


def _display(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "datetime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(LONDON).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return _scalar(value)


def _kind(schema: Mapping, ui: Mapping) -> str:
    widget = ui.get("ui:widget")
    kind = _type(schema)
    if kind == "object":
        return "object"
    if kind == "array":
        items = schema.get("items") or {}
        if _type(items) == "object":
            return "array"
        if _choices(items, {}) or (ui.get("ui:options") or {}).get("choicesFrom"):
            return "checkboxes"
        return "lines"
    if kind == "boolean":
        return "boolean"
    if kind in ("integer", "number"):
        return kind
    if _choices(schema, ui):
        return "select" if widget == "select" else "radios"
    if schema.get("format") == "date-time" or widget == "datetime":
        return "datetime"
    if schema.get("format") == "date" or widget == "date":
        return "date"
    if widget == "textarea":
        return "textarea"
    return "text"


def build_fields(schema: Mapping, ui_schema: Mapping, values: Mapping, errors: Mapping[str, list[str]],
                 prefix: str = "", data: Mapping | None = None) -> list[Field]:
    """The fields of an object schema, in UI order, filled with values and their errors."""
    data = values if data is None else data
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields = []
    for key in _ordered(properties, ui_schema):
        sub, ui = properties[key], ui_schema.get(key) or {}
        if ui.get("ui:widget") == "hidden" or sub.get("readOnly"):
            continue
        name = f"{prefix}{key}"
        kind = _kind(sub, ui)
        value = (values or {}).get(key)
        found = errors.get(name)
        fld = Field(name=name, kind=kind, label=sub.get("title") or _humanise(key),
                    hint=ui.get("ui:help") or sub.get("description"), required=key in required,
                    error=found[0] if found else None, rows=int((ui.get("ui:options") or {}).get("rows", 5)))
        if kind == "object":
            fld.children = build_fields(sub, ui, value or {}, errors, f"{name}.", data)
        elif kind == "array":
            item_ui = ui.get("items") or {}
            fld.item_label = ((sub.get("items") or {}).get("title") or "item").lower()
            fld.items = [build_fields(sub["items"], item_ui, item or {}, errors, f"{name}.{i}.", data)
                         for i, item in enumerate(value or [])]
        elif kind == "checkboxes":
            chosen = {_scalar(v) for v in (value or [])}
            options = _choices(sub.get("items") or {}, ui) or _choices_from(ui, data)
            fld.choices = [Choice(v, t, v in chosen) for v, t in options]
        elif kind == "boolean":
            fld.choices = [Choice("true", "Yes", value is True), Choice("false", "No", value is False)]
        elif kind in ("radios", "select"):
            fld.choices = [Choice(v, t, v == _scalar(value)) for v, t in _choices(sub, ui) or []]
        else:
            fld.value = _display(value, kind)
        if kind == "date":
            fld.hint = " ".join(p for p in (fld.hint, "For example, 2016-04-27.") if p)
        if kind == "datetime":
            fld.hint = " ".join(p for p in (fld.hint, "UK time, for example 2026-11-24 14:30.") if p)
        fields.append(fld)
    return fields


def _choices_from(ui: Mapping, data: Mapping) -> list[tuple[str, str]]:
    """Options listed from case data, e.g. the case-index matches a MASHO confirms."""
    options = ui.get("ui:options") or {}
    source = data.get(options.get("choicesFrom", "")) or []
    value_key, label_key = options.get("value", "id"), options.get("label", "name")
    result = []
    for item in source:
        if isinstance(item, Mapping):
            extra = ", ".join(str(item[k]) for k in options.get("details", []) if item.get(k))
            text = f"{item.get(label_key)}" + (f" ({extra})" if extra else "")
            result.append((_scalar(item.get(value_key)), text))
    return result


def error_summary(fields: list[Field]) -> list[tuple[str, str]]:
    """(href, message) pairs in page order, for the GOV.UK error summary."""
    pairs: list[tuple[str, str]] = []
    for fld in fields:
        if fld.error:
            pairs.append((f"#{fld.id}", fld.error))
        pairs.extend(error_summary(fld.children))
        for item in fld.items:
            pairs.extend(error_summary(item))
    return pairs


def unplaced_errors(fields: list[Field], errors: Mapping[str, list[str]]) -> list[str]:
    """Errors that match no rendered field (e.g. a rule across fields): shown in the summary too."""
    placed = set()

    def walk(items):
        for fld in items:
            placed.add(fld.name)
            walk(fld.children)
            for item in fld.items:
                walk(item)
    walk(fields)
    return [m for key, messages in errors.items() if key not in placed for m in messages]
