"""Turn a task's JSON Schema + UI schema into GOV.UK form fields (form_parsing.py reads the POST back).

Why generic: any form a service manager deploys in forms/ must render and validate with no code
change. Names are dotted paths ("child.first_name", "household_members.0.name") — the same keys
the server-side validator (app.services.core.forms) reports errors under — so every error lands on its
field, and the error summary links to the input that has to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.services.core.clock import LONDON
from app.services.core.labels import Labels, plain  # plain words: no protocol paragraphs, no stored codes

ACTION_FIELD = "_action"
DATE_PARTS = ("day", "month", "year")
TIME_PART = "time"  # a date-time is a GOV.UK date input plus a time box: "<name>-time", HH:MM in London time
NOT_ANSWERED = "Not answered"  # an optional radio's own choice that clears the answer


@dataclass
class Choice:
    value: str
    text: str
    checked: bool = False


@dataclass
class Field:
    """One question, ready for components/schema_form.html (no schema knowledge needed there)."""

    name: str  # HTML name and the validator's error key: "consent", "child.first_name", "adults.0.last_name"
    kind: str  # text textarea integer number date datetime boolean radios select checkboxes lines object array readonly
    label: str
    hint: str | None = None
    required: bool = False
    value: str = ""
    choices: list[Choice] = field(default_factory=list)
    error: str | None = None
    children: list[Field] = field(default_factory=list)
    items: list[list[Field]] = field(default_factory=list)
    may_clear: bool = False  # an optional radio offers "Not answered", so an answer can be taken back
    item_label: str = "item"
    rows: int = 5
    input_type: str = "text"

    @property
    def path(self) -> str:
        return self.name

    @property
    def id(self) -> str:
        return field_id(self.name)

    @property
    def anchor(self) -> str:
        """The id the error summary links to: the first input a keyboard user has to fix."""
        if self.kind in ("date", "datetime"):
            faulty = self.error_parts
            return f"{self.id}-{faulty[0] if faulty else 'day'}"
        return self.id

    @property
    def error_parts(self) -> tuple[str, ...]:
        """Which boxes of a date (and time) the error is about, so only those are marked."""
        if not self.error or self.kind not in ("date", "datetime"):
            return ()
        text = self.error.lower()
        if "time" in text and "date" not in text:
            return (TIME_PART,)
        if "must include" in text:
            after = text.split("must include", 1)[1]
            missing = tuple(p for p in DATE_PARTS if re.search(rf"\b{p}\b", after))
            if missing:
                return missing
        if text.startswith("year") or "the year" in text:
            return ("year",)
        return DATE_PARTS

    @property
    def date_parts(self) -> dict[str, str]:
        """Day, month, year (and time) for the GOV.UK date input, from an ISO date or instant (London), or
        from what was typed ("year-month-day" or "year-month-dayThh:mm" when it was not a real date)."""
        text = self.value
        if self.kind == "datetime" and text:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                local = moment.astimezone(LONDON)
                return {
                    "day": str(local.day),
                    "month": str(local.month),
                    "year": str(local.year),
                    TIME_PART: local.strftime("%H:%M"),
                }
        day_text, _, time_text = text.partition("T") if self.kind == "datetime" else (text, "", "")
        parts = day_text.split("-") if day_text.count("-") == 2 else ["", "", ""]
        year, month, day = parts
        found = {"day": day, "month": month, "year": year}
        return {**found, TIME_PART: time_text} if self.kind == "datetime" else found

    @property
    def add_action(self) -> str:
        return f"add:{self.name}"

    @property
    def add_label(self) -> str:
        article = "an" if self.item_label[:1] in ("a", "e", "i", "o", "u") else "a"
        return f"Add {'another' if self.items else article} {self.item_label}"

    def remove_action(self, index: int) -> str:
        return f"remove:{self.name}:{index}"

    @property
    def contains_array(self) -> bool:
        """Whether this field has Add another / Remove buttons in it (see render_fields)."""
        return self.kind == "array" or any(c.contains_array for c in self.children)


def field_id(name: str) -> str:
    """A valid HTML id for a dotted name. "--" separates path parts so ids never collide with the
    "-hint", "-error", "-2" and "-day" suffixes GOV.UK components append to a field's id."""
    escaped = re.sub(r"[^A-Za-z0-9_.]", lambda m: f"-{ord(m.group()):x}-", name)
    return "f-" + escaped.replace(".", "--")


def _type(schema: Mapping) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and (schema.get("enum") or schema.get("oneOf")):
        consts = [o["const"] for o in schema.get("oneOf") or [] if "const" in o] + list(schema.get("enum") or [])
        consts = [c for c in consts if c is not None]
        if consts and all(isinstance(c, bool) for c in consts):
            return "boolean"
        if consts and all(isinstance(c, int) and not isinstance(c, bool) for c in consts):
            return "integer"
        return "string"
    return kind


def choice_options(schema: Mapping, ui: Mapping) -> list[tuple[str, str, Any]] | None:
    """(posted value, label, JSON value) for an enum or a oneOf of consts; None if not a choice."""
    if schema.get("enum"):
        names = ui.get("ui:enumNames") or schema.get("enumNames") or []
        return [
            (_scalar(v), names[i] if i < len(names) else _humanise(str(v)), v)
            for i, v in enumerate(schema["enum"])
            if v is not None
        ]
    options = [o for o in schema.get("oneOf") or [] if "const" in o and o["const"] is not None]
    if options:
        return [(_scalar(o["const"]), o.get("title") or _humanise(str(o["const"])), o["const"]) for o in options]
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


def _singular(name: str) -> str:
    """ "household_members" → "household member": the noun on Add another / Remove buttons."""
    words = name.replace("_", " ").lower().split()
    if not words:
        return "item"
    last = words[-1]
    if last == "children":
        last = "child"
    elif last.endswith("ies"):
        last = last[:-3] + "y"
    elif last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    return " ".join([*words[:-1], last])


def ordered(properties: Mapping, ui: Mapping) -> list[str]:
    """Property names in `ui:order` ("*" stands for the rest, in schema order), else schema order."""
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
    if kind == "readonly" and isinstance(value, list):
        return ", ".join(_display(v, kind) for v in value)
    if kind == "readonly" and isinstance(value, Mapping):
        return "; ".join(f"{_humanise(str(k))}: {_display(v, kind)}" for k, v in value.items() if v is not None)
    if kind == "readonly" and isinstance(value, bool):
        return "Yes" if value else "No"
    return _scalar(value)


def kind_of(schema: Mapping, ui: Mapping) -> str:
    """Which GOV.UK pattern asks this question (shared with form_parsing so both agree)."""
    widget = ui.get("ui:widget")
    if widget == "hidden" or schema.get("readOnly"):
        return "readonly"
    kind = _type(schema)
    if kind == "object":
        return "object"
    if kind == "array":
        items = schema.get("items") or {}
        if _type(items) == "object":
            return "array"
        if choice_options(items, {}) or (ui.get("ui:options") or {}).get("choicesFrom"):
            return "checkboxes"
        return "lines"
    if kind == "boolean":
        return "boolean"
    if choice_options(schema, ui):
        return "select" if widget == "select" else "radios"
    if kind in ("integer", "number"):
        return kind
    if schema.get("format") == "date-time" or widget == "datetime":
        return "datetime"
    if schema.get("format") == "date" or widget == "date":
        return "date"
    if widget == "textarea":
        return "textarea"
    return "text"


def _hint(schema: Mapping, ui: Mapping, kind: str) -> str | None:
    parts = [schema.get("description"), ui.get("ui:help")]
    if kind == "date":
        parts.append("For example, 27 3 2016.")
    elif kind == "datetime":
        parts.append("For example, 27 3 2026 and 14:30 (UK time).")
    return " ".join(plain(p.strip()) for p in parts if p and p.strip()) or None


def build_fields(
    schema: Mapping,
    ui_schema: Mapping,
    values: Mapping,
    errors: Mapping[str, list[str]],
    prefix: str = "",
    data: Mapping | None = None,
) -> list[Field]:
    """The fields of an object schema, in UI order, filled with values and their errors.

    `data` is the case data, for choices listed from it (`ui:options.choicesFrom`). Errors whose
    key names no rendered field (e.g. `red_criteria.0`) go to the nearest enclosing field.
    """
    data = values if data is None else data
    words = Labels({"form.schema.json": schema})
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields = []
    for key in ordered(properties, ui_schema):
        sub, ui = properties[key], ui_schema.get(key) or {}
        name = f"{prefix}{key}"
        kind = kind_of(sub, ui)
        value = (values or {}).get(key)
        found = errors.get(name)
        fld = Field(
            name=name,
            kind=kind,
            label=plain(ui.get("ui:title") or sub.get("title")) or _humanise(key),
            hint=_hint(sub, ui, kind),
            required=key in required,
            error=found[0] if found else None,
            rows=int((ui.get("ui:options") or {}).get("rows", 5)),
            input_type="email" if sub.get("format") == "email" else "text",
        )
        if kind == "object":
            fld.children = build_fields(sub, ui, value or {}, errors, f"{name}.", data)
        elif kind == "array":
            items_schema = sub.get("items") or {}
            fld.item_label = (items_schema.get("title") or _singular(key)).lower()
            fld.items = [
                build_fields(items_schema, ui.get("items") or {}, item or {}, errors, f"{name}.{i}.", data)
                for i, item in enumerate(value or [])
                if isinstance(item, Mapping) or item is None
            ]
        elif kind == "checkboxes":
            chosen = {_scalar(v) for v in (value or [])} if isinstance(value, list) else set()
            options = choice_options(sub.get("items") or {}, ui.get("items") or ui) or _choices_from(ui, data)
            fld.choices = [Choice(v, t, v in chosen) for v, t, *_ in options]
        elif kind == "boolean":
            options = choice_options(sub, ui) or [("true", "Yes", True), ("false", "No", False)]
            fld.choices = [Choice(v, t, v == _scalar(value)) for v, t, _ in options]
        elif kind in ("radios", "select"):
            fld.choices = [Choice(v, t, v == _scalar(value)) for v, t, _ in choice_options(sub, ui) or []]
        elif kind in ("date", "datetime"):
            fld.value = value if isinstance(value, str) else _display(value, kind)
        elif kind == "readonly":
            fld.value = _readonly(words, key, value, sub)
        else:
            fld.value = _display(value, kind)
        fld.may_clear = kind in ("radios", "boolean") and not fld.required
        fields.append(fld)
    if not prefix:
        _attach_orphans(fields, errors)
    return fields


def _readonly(words: Labels, key: str, value: Any, schema: Mapping) -> str:
    """A value shown, not asked: in words (labels, London times, Yes/No), never as stored."""
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        return "; ".join(
            f"{words.title(k, schema)}: {text}"
            for k, v in value.items()
            if (text := _readonly(words, k, v, props.get(k) or {}))
        )
    if isinstance(value, list):
        return ", ".join(t for t in (_readonly(words, key, v, schema.get("items") or {}) for v in value) if t)
    return words.value(key, value)


def _walk(fields: list[Field]):
    for fld in fields:
        yield fld
        yield from _walk(fld.children)
        for item in fld.items:
            yield from _walk(item)


def _owner(key: str, by_name: Mapping[str, Field]) -> Field | None:
    """The rendered field an error key belongs to: itself, else its nearest rendered ancestor."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        found = by_name.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def _attach_orphans(fields: list[Field], errors: Mapping[str, list[str]]) -> None:
    by_name = {f.name: f for f in _walk(fields)}
    for key, messages in errors.items():
        owner = _owner(key, by_name)
        if key not in by_name and owner is not None and owner.error is None and messages:
            owner.error = messages[0]


def _choices_from(ui: Mapping, data: Mapping) -> list[tuple[str, str, Any]]:
    """Options listed from case data, e.g. the case-index matches a MASHO confirms."""
    options = ui.get("ui:options") or {}
    source = data.get(options.get("choicesFrom", "")) or []
    value_key, label_key = options.get("value", "id"), options.get("label", "name")
    result = []
    for item in source:
        if isinstance(item, Mapping):
            extra = ", ".join(str(item[k]) for k in options.get("details", []) if item.get(k))
            text = f"{item.get(label_key)}" + (f" ({extra})" if extra else "")
            result.append((_scalar(item.get(value_key)), text, item.get(value_key)))
    return result


def error_summary(fields: list[Field]) -> list[tuple[str, str]]:
    """(href, message) pairs in page order, for the GOV.UK error summary."""
    return [(f"#{fld.anchor}", fld.error) for fld in _walk(fields) if fld.error]


def unplaced_errors(fields: list[Field], errors: Mapping[str, list[str]]) -> list[str]:
    """Errors shown on no field (a rule across fields, an undeclared field): the summary lists them too."""
    by_name = {f.name: f for f in _walk(fields)}
    result: list[str] = []
    for key, messages in errors.items():
        owner = _owner(key, by_name)
        if owner is None:
            result.extend(messages)
        elif key != owner.name and messages and owner.error != messages[0]:
            result.extend(messages)  # the enclosing field already shows another error
    return result
