"""Server-side validation of a task submission against the instance's pinned form.

The schema is applied to task data + submission, so a form can depend on earlier facts
(`if urgent then allocate_to must be decision_maker`). Fields the form does not declare are
refused, so nobody can set process variables the form did not offer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from app.services.core.errors import Invalid

_FORMAT_CHECKER = FormatChecker()
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$")


@_FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """An instant with its offset (RFC 3339), so "today 10am" or "not a time" is refused and the timeliness
    figures can rely on it. jsonschema checks `date-time` only with an optional package; this does it always."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("z", "+00:00").replace("Z", "+00:00"))  # a real day and time
    return True


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=_FORMAT_CHECKER)


def declared_fields(schema: Mapping[str, Any]) -> set[str]:
    fields = set((schema.get("properties") or {}).keys())
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            fields |= declared_fields(sub)
    for key in ("then", "else"):
        if isinstance(schema.get(key), Mapping):
            fields |= declared_fields(schema[key])
    return fields


def _field_of(error) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return ".".join([*path, missing])
    return ".".join(path) or "_form"


def _message(error, schema: Mapping[str, Any]) -> str:
    field = _field_of(error)
    if error.validator != "required" and isinstance(error.schema, Mapping) and error.schema.get("x-error-message"):
        return str(error.schema["x-error-message"])  # the modeller's own words for a rule (e.g. a reason per agency)
    title = ((schema.get("properties") or {}).get(field.split(".")[0]) or {}).get("title") or field
    if error.validator == "required" or (
        error.instance is None and error.validator in ("type", "oneOf", "enum", "const")
    ):
        custom = ((schema.get("properties") or {}).get(field.split(".")[0]) or {}).get("x-required-message")
        if custom:
            return custom
        if title.endswith("?"):
            return f"Answer: {title}"
        prop = (schema.get("properties") or {}).get(field.split(".")[0]) or {}
        verb = "Select" if (prop.get("oneOf") or prop.get("enum") or prop.get("type") == "boolean") else "Enter"
        return f"{verb} {title[0].lower() + title[1:]}"
    if error.validator == "format":  # never "'2025-2-31' is not a 'date'"
        return {
            "date": "Enter a real date",
            "date-time": "Enter a real date and time, like 27 3 2026 14:30",
            "email": "Enter an email address in the correct format, like name@example.com",
        }.get(error.validator_value, f"Enter {title[0].lower() + title[1:]} in the correct format")
    if error.validator in ("enum", "const", "oneOf"):
        return f"Select a valid option for {title}"
    if error.validator == "type":
        return f"{title}: must be {error.validator_value}"
    return f"{title}: {error.message}"


_sensitive_by_bundle: dict[str, frozenset[str]] = {}


def sensitive_fields_of(bundle) -> frozenset[str]:
    """sensitive_fields for a deployed bundle, worked out once per version (the inbox asks per case)."""
    found = _sensitive_by_bundle.get(bundle.bundle_hash)
    if found is None:
        found = _sensitive_by_bundle[bundle.bundle_hash] = sensitive_fields(bundle.forms)
    return found


def sensitive_fields(forms: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """Names marked `"x-sensitive": true` in any form: soft/sensitive information that never leaves
    the MASH (spec §6.8). Found at any depth (e.g. inside a list of answers)."""
    found: set[str] = set()

    def walk(schema: Any) -> None:
        if not isinstance(schema, Mapping):
            return
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, Mapping) and sub.get("x-sensitive"):
                found.add(name)
            walk(sub)
        walk(schema.get("items"))
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key) or []:
                walk(sub)
        for key in ("then", "else"):
            walk(schema.get(key))

    for document in forms.values():
        walk(document)
    return frozenset(found)


def editable_fields(schema: Mapping[str, Any], ui_schema: Mapping[str, Any]) -> set[str]:
    """Fields the form lets a person change (not readOnly, not hidden)."""
    properties = schema.get("properties") or {}
    return {
        name
        for name in declared_fields(schema)
        if not (properties.get(name) or {}).get("readOnly") and (ui_schema.get(name) or {}).get("ui:widget") != "hidden"
    }


def validate_submission(
    schema: Mapping[str, Any],
    task_data: Mapping[str, Any],
    submission: Mapping[str, Any],
    ui_schema: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate a whole-form submission; return the data to store.

    The submission is the complete form: an editable field left out was cleared (so a required
    one is reported, and an optional one is stored as null). Earlier facts in the task data are
    visible to `if` conditions but never stand in for the form's own answers.
    """
    own = editable_fields(schema, ui_schema or {})
    unknown = sorted(set(submission) - declared_fields(schema))
    errors: dict[str, list[str]] = {}
    for name in unknown:
        errors.setdefault(name, []).append("This form has no such field")
    merged = {**{k: v for k, v in task_data.items() if k not in own}, **submission}
    validator = _validator(json.dumps(schema, sort_keys=True))
    for error in validator.iter_errors(merged):
        field = _field_of(error)
        errors.setdefault(field, []).append(_message(error, schema))
    if errors:
        raise Invalid(errors)
    return {**dict.fromkeys(own), **submission}
