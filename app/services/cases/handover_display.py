"""The handover package as the receiving team reads it (page and print): labels, not keys; words,
not codes; London times; nothing empty.

`rows(package)` takes what `handover.package` returned (already redacted) and gives rows of
{label, text, items, rows}: a value is text, a list of items (each text or rows), or nested rows.
Labels come from our list below, then the deployed forms' titles, then the key made readable;
choice values from the forms' option titles; teams and agencies by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.extensions import db
from app.models import ProcessInstance, User
from app.services.access import access
from app.services.cases import letters
from app.services.core import engine_host, labels
from app.services.reporting import oversight

LABELS = {
    "child": "Child",
    "adults": "Adults in the household",
    "received_at": "Contact received",
    "channel": "How the contact came in",
    "referrer": "Referrer",
    "summary": "Summary of the contact",
    "route": "Route",
    "outcome": "Outcome",
    "rag": "RAG rating",
    "is_referral": "Referral",
    "receiving_team": "Receiving team",
    "handover_due_at": "Handover due",
    "threshold": "Threshold",
    "analysis": "Analysis",
    "rationale": "Rationale",
    "recommended_outcome": "Recommended outcome",
    "agency_responses": "Partner agencies’ information",
    "other_sources": "Other sources",
    "consent": "Consent",
    "family_notification": "Family notification",
    "first_name": "First name",
    "last_name": "Last name",
    "date_of_birth": "Date of birth",
    "expected_date_of_delivery": "Expected date of delivery",
    "approximate_age": "Approximate age",
    "anonymous": "Anonymous",
    "agency": "Agency",
    "team": "Team",
    "phone": "Phone",
    "email": "Email",
    "role": "Role",
    "relationship": "Relationship to the child",
}
TEAM_KEYS = frozenset({"receiving_team", "team", "closing_team", "allocated_team"})
ROUTE_KEYS = frozenset({"route", "outcome", "recommended_outcome", "proposed_route", "channel"})
RAG = {"RED": "Red", "AMBER": "Amber", "GREEN": "Green", "NONE": "None"}
_CODE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def team_name(code: str) -> str:
    """ "daat" → "Duty and Assessment Team" (the letters' names, without "the")."""
    words = letters.TEAMS.get(code) or code.replace("_", " ") + " team"
    words = words.removeprefix("the ")
    return words[:1].upper() + words[1:]


# One way to show times and days: the label registry's (the case file and pages use the same).
london_time = labels.london


def _walk_forms(forms: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, dict[Any, str]]]:
    """Titles and option titles of every property in the deployed forms (the first one found wins)."""
    titles: dict[str, str] = {}
    choices: dict[str, dict[Any, str]] = {}

    def walk(schema: Any) -> None:
        if not isinstance(schema, Mapping):
            return
        for name, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, Mapping):
                continue
            if sub.get("title"):
                titles.setdefault(name, str(sub["title"]))
            options = {
                o["const"]: o["title"]
                for o in sub.get("oneOf") or []
                if isinstance(o, Mapping) and "const" in o and o.get("title")
            }
            if sub.get("enum") and sub.get("enumNames"):
                options.update(zip(sub["enum"], sub["enumNames"], strict=False))
            if options:
                choices.setdefault(name, options)
            walk(sub)
            walk(sub.get("items"))
        for key in ("items", "then", "else"):
            walk(schema.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key) or []:
                walk(sub)

    for document in forms.values():
        walk(document)
    return titles, choices


def _coded(key: str, value: str) -> str | None:
    """A code the organisation names: a RAG rating, a team, an agency, a route."""
    if key == "rag":
        return RAG.get(value, value)
    if not _CODE.fullmatch(value):
        return None
    if key in TEAM_KEYS:
        return team_name(value)
    if key == "agency":
        return letters.AGENCY_NAMES.get(value) or oversight.display_label(value)
    if key in ROUTE_KEYS:
        return oversight.display_label(value)
    return None


def _formatted(value: str) -> str:
    """An instant, a day or a snake_case code in words; any other text as it is."""
    if _INSTANT.match(value):
        return london_time(value)
    if _DAY.fullmatch(value):
        return labels.long_date(value)
    if _CODE.fullmatch(value) and "_" in value:
        return value.replace("_", " ").capitalize()
    return value


class _Words:
    def __init__(self, forms: Mapping[str, Any]):
        self.titles, self.choices = _walk_forms(forms)

    def label(self, key: str) -> str:
        text = LABELS.get(key) or self.titles.get(key) or key.replace("_", " ")
        return text[:1].upper() + text[1:]

    def text(self, key: str, value: Any) -> str | None:
        """A scalar in words, or None when there is nothing to show."""
        if value is None or value == "":
            return None
        if value is True or value is False:
            return "Yes" if value else "No"
        if isinstance(value, (int, float)):
            return str(value)
        value = str(value).strip()
        if not value:
            return None
        if key in self.choices and value in self.choices[key]:
            return self.choices[key][value]
        coded = _coded(key, value)
        return coded if coded is not None else _formatted(value)

    def show(self, key: str, value: Any) -> dict | None:
        """{text} / {items} / {rows}, or None for an empty value (no empty bullets, no empty rows)."""
        if isinstance(value, Mapping):
            rows = [r for r in (self.row(k, v) for k, v in value.items()) if r is not None]
            return {"rows": rows} if rows else None
        if isinstance(value, (list, tuple)):
            items = [i for i in (self.show(key, v) for v in value) if i is not None]
            return {"items": items} if items else None
        text = self.text(key, value)
        return {"text": text} if text is not None else None

    def row(self, key: str, value: Any) -> dict | None:
        shown = self.show(key, value)
        return {"label": self.label(key), **shown} if shown is not None else None


def rows(handover: Mapping[str, Any]) -> list[dict]:
    """The package's rows in the order of forms/handover_package.json; an empty field says so."""
    instance = db.session.get(ProcessInstance, handover["instance_id"])
    words = _Words(engine_host.bundle_for(instance.deployment_id).forms if instance is not None else {})
    out = []
    for key, value in (handover.get("package") or {}).items():
        out.append(words.row(key, value) or {"label": words.label(key), "text": "None recorded"})
    return out


def holder_text(holder: Mapping[str, Any]) -> str:
    agency = holder.get("agency")
    name = letters.AGENCY_NAMES.get(agency) or oversight.display_label(agency) if agency else ""
    return f"{holder.get('held_by')} ({name})" if name else str(holder.get("held_by"))


def may_open_case(user: User, instance_id: int) -> bool:
    """Whether the back link can go to the case page (else it goes to the inbox)."""
    instance = db.session.get(ProcessInstance, instance_id)
    return instance is not None and access.may_view(user, instance)
