"""Plain words for stored values: one label registry built from the deployed forms.

Every value a practitioner reads is shown by its form label: a choice by its `oneOf` title (per field
name, from every form of the deployed version), a field by its `title`, a yes/no as "Yes"/"No", an ISO
instant as "6 December 2026, 10:05" (London), an ISO duration as "4 hours" / "1 working day", a
decision by its rule's own description without protocol references. Values the host itself sets
(routes, outcomes, teams, roles) have their words here too, so no engine word reaches a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from app.services.core import engine_host, form_options
from app.services.core.clock import LONDON

# Values the host and the decision tables set, which no form offers as a choice.
ROUTES = {
    "nfa": "No further action",
    "early_help": "Early Help",
    "lead_professional": "Lead professional (open to Early Help)",
    "previous_team": "Previous team (closed within 12 weeks, same concerns)",
    "s17_assessment": "Section 17 assessment",
    "s47_strategy": "Section 47 strategy discussion",
    "stage2": "Stage 2 multi-agency information sharing",
    "allocated_worker": "Passed to the allocated worker",
}
OUTCOMES = {
    **ROUTES,
    "passed_to_allocated_worker": "Passed to the allocated worker",
    "information_given": "Information given",
    "information_request_answered": "Information request answered",
    "passed_to_domestic_abuse_screening": "Passed to domestic abuse screening",
}
TEAMS = {
    "first_response": "First Response Team",
    "daat": "Duty and Assessment Team",
    "early_help": "Early Help Service",
    "disabled_children": "Disabled Children’s Service",
    "out_of_hours": "Out of hours social work team",
    "domestic_abuse_screening": "Domestic abuse screening team",
}
ROLES = {
    "masho": "MASH officer",
    "decision_maker": "Decision maker",
    "eh_decision_maker": "Early Help decision maker",
    "mash_manager": "MASH manager",
    "eh_manager": "Early Help manager",
    "partner": "Partner agency",
    "partner_manager": "Partner agency manager",
    "business_support": "Business support",
    "receiving_team": "Receiving team",
    "receiving_team_manager": "Receiving team manager",
    "service_manager": "Service manager",
    "first_response_service_manager": "First Response service manager",
    "strategic_manager": "Strategic manager",
    "assistant_director": "Assistant director",
    "auditor": "Auditor",
    "admin": "Administrator",
}
RAG = {"RED": "Red", "AMBER": "Amber", "GREEN": "Green", "NONE": "No RAG"}
AGENCIES = {
    "police": "Police",
    "health": "Health",
    "community_health": "Community health and midwifery",
    "mental_health": "Mental health",
    "education": "Education",
    "early_years": "Children's centres / early years",
    "early_help": "Early help and targeted support",
    "youth_offending": "Youth offending service",
    "probation": "Probation",
    "housing": "Housing",
    "substance_misuse": "Substance misuse",
    "ndas": "NDAS",
    "adult_social_care": "Adult social care",
    "fire": "Fire service",
    "cafcass": "CAFCASS",
    "other_la": "Other local authority",
    "voluntary": "Voluntary provider",
    "private": "Private provider",
}
HOST_CHOICES: dict[str, dict[Any, str]] = {
    "route": ROUTES,
    "proposed_route": ROUTES,
    "outcome": OUTCOMES,
    "contact_route": {
        "allocated_worker": "Passed to the allocated worker",
        "triage": "Triage",
        "information_only": "Information only: give information about local services",
        "information_request": "Information request",
        "domestic_abuse_screening": "Domestic abuse screening",
    },
    "receiving_team": TEAMS,
    "team": TEAMS,
    "allocated_team": TEAMS,
    "closing_team": TEAMS,
    "role": ROLES,
    "agency": AGENCIES,
    "agencies": AGENCIES,
    "rag": RAG,
    "provisional_rag": RAG,
    "agreed_rag": RAG,
    "revised_rag": RAG,
    "rag_override": RAG,
    "channel": {
        "phone": "Phone",
        "online_form": "Online form",
        "email": "Email",
        "letter": "Letter",
        "in_person": "In person",
        "ae_notification": "A&E notification",
        "police_notification": "Police notification",
    },
    "open_case": {"social_care": "Open to social care", "early_help": "Open to Early Help", "none": "Not open"},
    "notify_by": {"phone": "Phone", "letter": "Letter", "none": "No one to tell"},
    "info_sharing": {"required": "Required", "if_required": "If required", "none": "None"},
    "decision": {
        "contact_routing": "Contact routing",
        "triage_outcome": "Triage outcome",
        "rag_timescales": "RAG timescales",
        "handover_timescales": "Handover timescales",
    },
    "outcome_calendar": {"elapsed": "Elapsed time", "working": "Working time"},
    "partner_calendar": {"elapsed": "Elapsed time", "working": "Working time"},
}
# Fields whose choices are another field's (a stored value named differently from the form's field).
ALIASES = {
    "route": ("route_override", "recommended_outcome"),
    "proposed_route": ("route_override",),
    "outcome": ("route_override", "recommended_outcome"),
    "agency": ("agencies",),
    "agencies": ("agency",),
}

_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_CODE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
# Protocol and specification references ("spec §11.2", "protocol §16", "§4 b", "App. D 2.7", "Rule 5"):
# practitioners read what a rule or question says, never which paragraph it came from.
_SECTION = r"(?:(?:[Tt]he )?(?:[Ss]pec|[Pp]rotocol|[Ss]eed)\s+)?§\s?\d+(?:\.\d+)*(?:\s[a-z](?=[:,;)]))?"
_APPENDIX = r"App\.\s?[A-Z](?:\s(?:[A-Z]+\s)?\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?(?:,\s\d+\.\d+)*)?"
_RULE = r"[Rr]ules?\s\d+[a-z]?(?:\s(?:and|or)\s\d+)?"
_REF = rf"(?:{_SECTION}(?:\s(?:RED|AMBER|GREEN)\s\([^)]*\))?(?:\s{_RULE})?|{_APPENDIX}|{_RULE})"
_ONLY_REFS = re.compile(rf"^(?:{_REF}|[\s,;/]|and)*$")
_LEADING_REFS = re.compile(rf"^(?:{_REF}[\s,;/]*)+:\s*")
_ANY_REF = re.compile(rf"(?:{_SECTION}|{_APPENDIX})")
_BRACKET = re.compile(r"\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def humanise(name: str) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def london(moment: datetime | str | None) -> str:
    """An instant as "6 December 2026, 10:05", London time ("" for nothing; odd text as it is)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        text = moment
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(LONDON)
    return f"{moment.day} {moment:%B %Y, %H:%M}"


def long_date(value: date | str | None) -> str:
    """A day as "1 April 2016"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = date.fromisoformat(text[:10])
        except ValueError:
            return text
    return f"{value.day} {value:%B %Y}"


def clock_time(moment: datetime) -> str:
    """A time of day as GOV.UK writes it, London time: "9:30am", "5pm", "midday", "midnight"."""
    local = moment.astimezone(LONDON)
    if local.minute == 0 and local.hour in (0, 12):
        return "midnight" if local.hour == 0 else "midday"
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{local.hour % 12 or 12}{minutes}{'am' if local.hour < 12 else 'pm'}"


def _span(minutes: int) -> str:
    """A length of time in the largest whole unit: "40 minutes", "23 hours", "3 days"."""
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return _plural(minutes, "minute")
    if minutes < 24 * 60:
        return _plural(minutes // 60, "hour")
    return _plural(minutes // (24 * 60), "day")


def due_phrase(due_at: datetime | None, now: datetime) -> str:
    """When a piece of work is due, in plain words (inbox, case file, task and partner pages):
    "Due in 40 minutes", "Due in 23 hours", "Due tomorrow at 9:30am", "Due in 3 days",
    "Overdue by 2 hours", "No deadline"."""
    if due_at is None:
        return "No deadline"
    if due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)  # stored instants are UTC
    minutes = int((due_at - now).total_seconds() // 60)
    if minutes < 0:
        return f"Overdue by {_span(-minutes)}"
    days = (due_at.astimezone(LONDON).date() - now.astimezone(LONDON).date()).days
    if minutes < 24 * 60 or days < 1:
        return f"Due in {_span(minutes)}"
    if days == 1:
        return f"Due tomorrow at {clock_time(due_at)}"
    return f"Due in {_plural(days, 'day')}"


def _plain_bracket(match: re.Match) -> str:
    """ "(RED when urgent, spec §11.2)" → " (RED when urgent)"; "(protocol §16: every referral …)" →
    " (every referral …)"; a bracket of references only → ""."""
    inner = match.group(1)
    if not (_ANY_REF.search(inner) or re.search(_RULE, inner)):
        return match.group(0)
    kept = []
    for part in re.split(r"[,;]\s*", inner):
        part = _LEADING_REFS.sub("", part.strip())
        if part and not _ONLY_REFS.match(part) and not re.fullmatch(r"(?:Section\s)?[\d.\-–]+", part):
            kept.append(_ANY_REF.sub("", part).strip())
    kept = [k for k in kept if k]
    return f" ({', '.join(kept)})" if kept else ""


def plain(text: str | None) -> str:
    """Text without protocol or specification references (hints, rule descriptions, labels)."""
    if not text:
        return ""
    out = _LEADING_REFS.sub("", str(text).strip())
    out = _BRACKET.sub(_plain_bracket, out)
    out = re.sub(rf"(?:,\s*)?(?:{_SECTION})(?:,\s*{_SECTION})*\s*:\s*", ": ", out)  # "…, §8: x" → "…: x"
    out = _ANY_REF.sub("", out)
    out = re.sub(r"\s{2,}", " ", out)
    out = re.sub(r"\s+([,.;:)])", r"\1", out)
    out = re.sub(r"^[\s:;,.]+", "", out).replace("( ", "(").replace("()", "").strip()
    out = re.sub(r"([.:;,])\1+", r"\1", out)
    return out[:1].upper() + out[1:]


def rule_description(text: str | None) -> str:
    """A decision rule's own description without protocol references ("Rule 5: s47 threshold: …"
    → "S47 threshold: …"); the rule id is never shown."""
    return plain(text)


def _plural(count: float, word: str) -> str:
    number = int(count) if float(count).is_integer() else count
    return f"{number} {word}{'' if number == 1 else 's'}"


def duration(value: str | None, calendar: str | None = None) -> str:
    """ "PT4H" → "4 hours"; "P1D" with a working calendar → "1 working day"; text that is not an ISO
    duration comes back as it is."""
    if not value:
        return ""
    match = _DURATION.match(str(value).strip())
    if not match or not any(match.groups()):
        return str(value)
    weeks, days, hours, minutes, seconds = match.groups()
    working = "working " if calendar == "working" else ""
    parts = []
    if weeks:
        parts.append(_plural(float(weeks), f"{working}week"))
    if days:
        parts.append(_plural(float(days), f"{working}day"))
    if hours:
        parts.append(_plural(float(hours), f"{working}hour"))
    if minutes:
        parts.append(_plural(float(minutes), "minute"))
    if seconds:
        parts.append(_plural(float(seconds), "second"))
    return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _collect_choices(name: str, source: Mapping[str, Any], choices: dict[str, dict[Any, str]]) -> None:
    """The labelled values of one field: oneOf const/title pairs, or enum with enumNames."""
    for option in source.get("oneOf") or []:
        if isinstance(option, Mapping) and "const" in option and option.get("title"):
            choices.setdefault(name, {}).setdefault(option["const"], str(option["title"]))
    if source.get("enum") and source.get("enumNames"):
        for value, text in zip(source["enum"], source["enumNames"], strict=False):
            choices.setdefault(name, {}).setdefault(value, str(text))


def _walk(schema: Any, titles: dict[str, str], choices: dict[str, dict[Any, str]]) -> None:
    if not isinstance(schema, Mapping):
        return
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, Mapping):
            continue
        if sub.get("title"):
            titles.setdefault(name, str(sub["title"]))
        items = sub.get("items")
        for source in (sub, items if isinstance(items, Mapping) else {}):
            _collect_choices(name, source, choices)
        _walk(sub, titles, choices)
        _walk(sub.get("items"), titles, choices)
    for key in ("then", "else"):
        _walk(schema.get(key), titles, choices)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            _walk(sub, titles, choices)


class Labels:
    """Field titles and choice titles of a set of forms, with the host's own words as a fallback."""

    def __init__(self, forms: Mapping[str, Any]):
        self.titles: dict[str, str] = {}
        self.choices: dict[str, dict[Any, str]] = {}
        for name in sorted(forms):
            if name.endswith(".schema.json"):
                _walk(forms[name], self.titles, self.choices)
        self.people = form_options.person_fields(forms)

    def title(self, field: str, schema: Mapping | None = None) -> str:
        """A field's label: its title in `schema` (the form it came from), else in any form, else readable."""
        own = ((schema or {}).get("properties") or {}).get(field) or {}
        return own.get("title") or self.titles.get(field) or humanise(field)

    def choice(self, field: str, value: Any) -> str | None:
        if field in getattr(self, "people", ()):
            return form_options.person_name(value)
        for name in (field, *ALIASES.get(field, ())):
            found = (self.choices.get(name) or {}).get(value)
            if found is not None:
                return found
        return (HOST_CHOICES.get(field) or {}).get(value)

    def value(self, field: str, value: Any) -> str:
        """One stored scalar (or a list of them) in words."""
        if value is None or value == "":
            return ""
        if isinstance(value, (list, tuple)):
            return ", ".join(t for t in (self.value(field, v) for v in value) if t)
        if isinstance(value, Mapping):
            return "; ".join(f"{self.title(k)}: {t}" for k, v in value.items() if (t := self.value(k, v)))
        if isinstance(value, bool):
            return "Yes" if value else "No"
        chosen = self.choice(field, value)
        if chosen is not None:
            return chosen
        if isinstance(value, (int, float)):
            return str(value)
        text = str(value)
        if _INSTANT.match(text):
            return london(text)
        if _DAY.match(text):
            return long_date(text)
        if _DURATION.match(text) and text != "P":
            return duration(text)
        if _CODE.match(text):
            return humanise(text)
        return text

    def rows(
        self, values: Mapping[str, Any], schema: Mapping | None = None, *, skip: frozenset[str] | set[str] = frozenset()
    ) -> list[dict]:
        """{label, text} / {label, items} / {label, rows} for every answered field, in the form's order."""
        properties = (schema or {}).get("properties") or {}
        order = [k for k in properties if k in values] + [k for k in values if k not in properties]
        out = []
        for key in order:
            if key in skip:
                continue
            row = self.row(key, values.get(key), properties.get(key))
            if row is not None:
                out.append(row)
        return out

    def row(self, key: str, value: Any, schema: Mapping | None = None) -> dict | None:
        label = (schema or {}).get("title") or self.title(key)
        if isinstance(value, Mapping):
            rows = self.rows(value, schema)
            return {"label": label, "rows": rows} if rows else None
        if isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
            item_schema = (schema or {}).get("items") or {}
            items = [r for r in (self.rows(v, item_schema) for v in value if isinstance(v, Mapping)) if r]
            return {"label": label, "items": items} if items else None
        if isinstance(value, (list, tuple)):
            texts = [t for t in (self.value(key, v) for v in value) if t]
            return {"label": label, "list": texts} if texts else None
        text = self.value(key, value)
        return {"label": label, "text": text} if text else None


_cache: dict[str, Labels] = {}


def for_bundle(bundle) -> Labels:
    """The registry of one deployed version (worked out once per version)."""
    found = _cache.get(bundle.bundle_hash)
    if found is None:
        found = _cache[bundle.bundle_hash] = Labels(bundle.forms)
    return found


def for_deployment(deployment_id: int) -> Labels:
    return for_bundle(engine_host.bundle_for(deployment_id))


def latest() -> Labels:
    """The registry of the newest deployed version (lists across cases, e.g. the inbox)."""
    deployment = engine_host.latest_deployment()
    return for_deployment(deployment.id) if deployment is not None else Labels({})
