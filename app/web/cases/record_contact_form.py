"""The answers of "Record a contact" (issue 14): read from each question page, checked with GOV.UK
messages keyed by field name (a date by its prefix), shown on the check page, and turned into the
contact that cases.start_contact (and POST /api/v1/contacts) takes.

Answers are a flat dict of the raw strings typed, kept on the server between pages
(app/services/cases/contact_drafts.py): `channel`, `received_at-day` … `received_at-time`, `referrer_*`,
`children` and `adults` (lists of dicts: `first_name`, `date_of_birth-day`, …), `summary`, and
`done` (the pages answered without errors).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.services.core.clock import LONDON, now

STEPS = ("how", "referrer", "children", "adults", "concerns")
TITLES = {
    "how": "How and when did the contact come in?",
    "referrer": "Who made the contact?",
    "children": "Which children is the contact about?",
    "adults": "Which adults are in the household?",
    "concerns": "What are the concerns?",
}
# The contact API's channels (app/services/core/channels.py) in plain words, with a hint where it helps.
CHANNELS = {
    "phone": ("Phone call", None),
    "email": ("Email", None),
    "online_form": ("Online form", "Sent in by a referrer on the council’s online form"),
    "police_notification": ("Police notification", "For example, a police protection notice"),
    "ae_notification": ("A&E notification", None),
    "ambulance_notification": ("Ambulance service notification", None),
    "nspcc": ("NSPCC", None),
    "domestic_abuse_notification": ("Domestic abuse notification", None),
    "information_request": (
        "Request for information",
        "From another council, police outside the area, Cafcass, probation or a court",
    ),
    "internal_request": ("Request from within the council", None),
}
NAMED = {"no": "Yes, they gave their name", "yes": "No, they want to stay anonymous"}
BORN = {"yes": "Yes", "no": "No, this child is not born yet"}
GENDER = {"female": "Female", "male": "Male", "other": "Other", "not_known": "Not known"}
RESIDENT = {"yes": "Yes", "no": "No"}
DATE_PARTS = ("day", "month", "year")
REFERRER = (
    "referrer_anonymous",
    "referrer_name",
    "referrer_agency",
    "referrer_role",
    "referrer_phone",
    "referrer_email",
    "referrer_relationship",
)
CHILD = ("first_name", "last_name", "born", "date_of_birth", "expected_date_of_delivery", "gender", "address")
ADULT = ("first_name", "last_name", "date_of_birth", "relationship", "resident")
DATES = ("date_of_birth", "expected_date_of_delivery")
MAX_CHILDREN = 20  # the contact API's limit
MAX_ADULTS = 20
LIMITS = {"summary": 20000, "address": 500}
LIMIT = 200
TIME = re.compile(r"^\s*(\d{1,2})\s*[:.]?\s*(\d{2})\s*(am|pm|a\.m\.|p\.m\.)?\s*$", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def long_date(day: date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else ""


def _date(parts: list[str]) -> date | None:
    try:
        year = int(parts[2])
        return date(year, int(parts[1]), int(parts[0])) if year >= 1000 else None
    except (ValueError, TypeError, IndexError):
        return None


def _time(text: str) -> tuple[int, int] | None:
    match = TIME.match(text or "")
    if not match:
        return None
    hour, minute, half = int(match[1]), int(match[2]), (match[3] or "").lower().replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    return (hour, minute) if hour < 24 and minute < 60 else None


def date_of(values: Mapping[str, Any], key: str) -> date | None:
    return _date([str(values.get(f"{key}-{p}") or "") for p in DATE_PARTS])


def _valid_date(values: Mapping[str, Any], key: str) -> date:
    """The date of a field that _date_errors has passed (so it is there and real)."""
    day = date_of(values, key)
    if day is None:
        raise ValueError(f"{key} is not a valid date")
    return day


def _date_errors(values: Mapping[str, Any], key: str, what: str, *, required: bool) -> str | None:
    """GOV.UK date messages: missing, a missing part, not real. What the date means is checked by the caller."""
    parts = {p: str(values.get(f"{key}-{p}") or "").strip() for p in DATE_PARTS}
    if not any(parts.values()):
        return f"Enter {what}" if required else None
    missing = [p for p in DATE_PARTS if not parts[p]]
    if missing:
        return f"{what[0].upper()}{what[1:]} must include a {' and '.join(missing)}"
    if not all(v.isdigit() for v in parts.values()) or len(parts["year"]) != 4 or date_of(values, key) is None:
        return f"{what[0].upper()}{what[1:]} must be a real date"
    return None


# ---- starting values ---------------------------------------------------------------------------


def new_child() -> dict[str, str]:
    return {}


def new_answers() -> dict[str, Any]:
    """A new contact: received now (London time), one child to describe, no adults yet."""
    here = now().astimezone(LONDON)
    return {
        "received_at-day": str(here.day),
        "received_at-month": str(here.month),
        "received_at-year": str(here.year),
        "received_at-time": f"{here:%H:%M}",
        "children": [new_child()],
        "adults": [],
        "done": [],
    }


# ---- reading a page ------------------------------------------------------------------------------


def _clean(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def _count(form: Mapping[str, str], name: str, most: int, least: int) -> int:
    raw = form.get(name) or ""
    return max(least, min(int(raw) if raw.isdigit() else least, most))


def _item_keys(keys: tuple[str, ...]) -> list[str]:
    return [f"{k}-{p}" if k in DATES else k for k in keys for p in (DATE_PARTS if k in DATES else ("",))]


def read(step: str, form: Mapping[str, str], answers: dict[str, Any]) -> dict[str, Any]:
    """The answers with this page's posted fields in them (everything else untouched)."""
    answers = dict(answers)
    if step == "how":
        answers["channel"] = _clean(form, "channel")
        for part in (*DATE_PARTS, "time"):
            answers[f"received_at-{part}"] = _clean(form, f"received_at-{part}")
    elif step == "referrer":
        for name in REFERRER:
            answers[name] = _clean(form, name)
        if answers["referrer_anonymous"] == "yes":  # an anonymous referrer's name is never kept
            for name in ("referrer_name", "referrer_agency", "referrer_role", "referrer_phone", "referrer_email"):
                answers[name] = ""
    elif step in ("children", "adults"):
        prefix, keys = ("child", CHILD) if step == "children" else ("adult", ADULT)
        count = _count(
            form, f"{prefix}_count", MAX_CHILDREN if step == "children" else MAX_ADULTS, 1 if step == "children" else 0
        )
        answers[step] = [{k: _clean(form, f"{prefix}-{i}-{k}") for k in _item_keys(keys)} for i in range(count)]
    elif step == "concerns":
        answers["summary"] = (form.get("summary") or "").strip()
    return answers


def add_item(answers: dict[str, Any], step: str) -> int | None:
    """Add an empty child or adult; the index of the new one (None when the list is full)."""
    items = list(answers.get(step) or [])
    if len(items) >= (MAX_CHILDREN if step == "children" else MAX_ADULTS):
        return None
    items.append({})
    answers[step] = items
    return len(items) - 1


def remove_item(answers: dict[str, Any], step: str, index: int) -> None:
    items = list(answers.get(step) or [])
    least = 1 if step == "children" else 0
    if len(items) > least and 0 <= index < len(items):
        del items[index]
    answers[step] = items


def drop_empty_adults(answers: dict[str, Any]) -> None:
    answers["adults"] = [a for a in answers.get("adults") or [] if any((v or "").strip() for v in a.values())]


# ---- checking a page -------------------------------------------------------------------------------


def validate(step: str, answers: dict[str, Any]) -> dict[str, str]:
    """{field name: message} in the order the page shows the fields (a date by its name prefix)."""
    check = _STEP_CHECKS.get(step)
    return check(answers) if check else {}


def _how_errors(answers: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if answers.get("channel") not in CHANNELS:
        errors["channel"] = "Select how the contact came in"
    message = _date_errors(answers, "received_at", "the date the contact was received", required=True)
    if message:
        errors["received_at"] = message
    elif _valid_date(answers, "received_at") < date(2000, 1, 1):
        errors["received_at"] = "The date the contact was received must be after 1 January 2000"
    time = answers.get("received_at-time") or ""
    if not time:
        errors["received_at-time"] = "Enter the time the contact was received"
    elif _time(time) is None:
        errors["received_at-time"] = "Enter a real time, using the 24-hour clock, like 09:30 or 14:05"
    if not errors and received_at(answers) > now() + timedelta(minutes=1):
        errors["received_at"] = "The date and time the contact was received must be in the past"
    return errors


def _referrer_errors(answers: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if answers.get("referrer_anonymous") not in NAMED:
        errors["referrer_anonymous"] = "Select whether the referrer gave their name"
    elif answers["referrer_anonymous"] == "no":
        if not answers.get("referrer_name"):
            errors["referrer_name"] = "Enter the referrer’s name"
        email = answers.get("referrer_email") or ""
        if email and not EMAIL.match(email):
            errors["referrer_email"] = "Enter an email address in the correct format, like name@example.com"
    for name in REFERRER[1:]:
        if len(answers.get(name) or "") > LIMIT and name not in errors:
            errors[name] = f"This answer must be {LIMIT} characters or fewer"
    return errors


def _children_errors(answers: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    children = answers.get("children") or []
    for index, child in enumerate(children):
        errors.update(_child_errors(index, child, several=len(children) > 1))
    return errors


def _adults_errors(answers: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for index, adult in enumerate(answers.get("adults") or []):
        errors.update(_adult_errors(index, adult))
    return errors


def _concerns_errors(answers: dict[str, Any]) -> dict[str, str]:
    summary = answers.get("summary") or ""
    if not summary:
        return {"summary": "Enter what the referrer told you about their concerns"}
    if len(summary) > LIMITS["summary"]:
        return {"summary": f"The concerns must be {LIMITS['summary']:,} characters or fewer"}
    return {}


_STEP_CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "how": _how_errors,
    "referrer": _referrer_errors,
    "children": _children_errors,
    "adults": _adults_errors,
    "concerns": _concerns_errors,
}


def _child_errors(index: int, child: dict[str, str], *, several: bool) -> dict[str, str]:
    who = f"child {index + 1}" if several else "the child"
    whose = f"child {index + 1}’s" if several else "the child’s"
    name = f"child-{index}-"
    errors: dict[str, str] = {}
    unborn = child.get("born") == "no"
    if not child.get("first_name") and not unborn:
        errors[name + "first_name"] = f"Enter {whose} first name"
    if not child.get("last_name"):
        errors[name + "last_name"] = f"Enter {whose} last name, or the family’s last name"
    if child.get("born") not in BORN:
        errors[name + "born"] = f"Select whether {who} has been born"
    else:
        errors.update(_child_date_errors(name, whose, child, unborn=unborn))
    if child.get("gender") and child["gender"] not in GENDER:
        errors[name + "gender"] = f"Select {whose} gender, or Not known"
    for key in ("first_name", "last_name", "address"):
        if len(child.get(key) or "") > LIMITS.get(key, LIMIT) and name + key not in errors:
            errors[name + key] = "This answer is too long"
    order = [name + k for k in CHILD]
    return {k: errors[k] for k in order if k in errors}


def _child_date_errors(name: str, whose: str, child: dict[str, str], *, unborn: bool) -> dict[str, str]:
    """The expected date of delivery of an unborn baby, or the date of birth of a child."""
    today = now().astimezone(LONDON).date()
    if unborn:
        message = _date_errors(child, "expected_date_of_delivery", "the expected date of delivery", required=True)
        if message is None:
            due = _valid_date(child, "expected_date_of_delivery")
            if due < today - timedelta(days=31):
                message = "The expected date of delivery must be in the future. If the baby has been born, answer Yes"
            elif due > today + timedelta(days=300):
                message = "The expected date of delivery must be within the next 10 months"
        return {name + "expected_date_of_delivery": message} if message else {}
    message = _date_errors(child, "date_of_birth", f"{whose} date of birth", required=True)
    if message is None and _valid_date(child, "date_of_birth") > today:
        message = "The date of birth must be in the past"
    return {name + "date_of_birth": message} if message else {}


def _adult_errors(index: int, adult: dict[str, str]) -> dict[str, str]:
    name = f"adult-{index}-"
    whose = f"adult {index + 1}’s"
    errors: dict[str, str] = {}
    if not adult.get("last_name"):
        errors[name + "last_name"] = f"Enter {whose} last name"
    message = _date_errors(adult, "date_of_birth", f"{whose} date of birth", required=False)
    born = date_of(adult, "date_of_birth")
    if message is None and born and born > now().astimezone(LONDON).date():
        message = "The date of birth must be in the past"
    if message:
        errors[name + "date_of_birth"] = message
    if adult.get("resident") not in RESIDENT:
        errors[name + "resident"] = f"Select whether adult {index + 1} lives in the household"
    for key in ("first_name", "last_name", "relationship"):
        if len(adult.get(key) or "") > LIMIT and name + key not in errors:
            errors[name + key] = "This answer is too long"
    order = [name + k for k in ADULT]
    return {k: errors[k] for k in order if k in errors}


def anchors(answers: dict[str, Any]) -> dict[str, str]:
    """The id an error links to when it is not the field's own name: a date's day box, a radio's first."""
    links = {"received_at": "received_at-day", "channel": "channel", "referrer_anonymous": "referrer_anonymous"}
    for i, _ in enumerate(answers.get("children") or []):
        links.update({f"child-{i}-{k}": f"child-{i}-{k}-day" for k in DATES})
    for i, _ in enumerate(answers.get("adults") or []):
        links[f"adult-{i}-date_of_birth"] = f"adult-{i}-date_of_birth-day"
    return links


def first_unfinished(answers: dict[str, Any]) -> str | None:
    """The first page still to answer (or whose answers no longer pass), None when all are done."""
    done = set(answers.get("done") or [])
    for step in STEPS:
        if step not in done or validate(step, answers):
            return step
    return None


# ---- what is recorded --------------------------------------------------------------------------------


def received_at(answers: dict[str, Any]) -> datetime:
    """When the contact was received: only once the date and time have passed validation."""
    day = _valid_date(answers, "received_at")
    clock = _time(answers.get("received_at-time") or "")
    if clock is None:
        raise ValueError("received_at-time is not a valid time")
    hour, minute = clock
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def contact(answers: dict[str, Any]) -> dict[str, Any]:
    """The contact for cases.start_contact, in the shape POST /api/v1/contacts accepts."""
    anonymous = answers.get("referrer_anonymous") == "yes"
    referrer = {"anonymous": anonymous, "relationship": answers.get("referrer_relationship") or None}
    for key in ("name", "agency", "role", "phone", "email"):
        referrer[key] = None if anonymous else (answers.get(f"referrer_{key}") or None)
    children = []
    for child in answers.get("children") or []:
        unborn = child.get("born") == "no"
        born, due = date_of(child, "date_of_birth"), date_of(child, "expected_date_of_delivery")
        children.append(
            {
                # an unborn baby without a name is "Unborn", as the Record contact form asks
                "first_name": child.get("first_name") or ("Unborn" if unborn else None),
                "last_name": child.get("last_name"),
                "date_of_birth": born.isoformat() if born and not unborn else None,
                "expected_date_of_delivery": due.isoformat() if due and unborn else None,
                "gender": child.get("gender") or None,
                "address": child.get("address") or None,
            }
        )
    adults = []
    for adult in answers.get("adults") or []:
        born = date_of(adult, "date_of_birth")
        adults.append(
            {
                "first_name": adult.get("first_name") or None,
                "last_name": adult.get("last_name"),
                "date_of_birth": born.isoformat() if born else None,
                "relationship": adult.get("relationship") or None,
                "resident": adult.get("resident") == "yes",
            }
        )
    # in UTC, as the contact is read back from the database: its reference (MASH-yyyymmdd-…) keeps one date
    return {
        "received_at": received_at(answers).astimezone(UTC),
        "channel": answers["channel"],
        "referrer": referrer,
        "children": children,
        "adults": adults,
        "summary": answers.get("summary"),
    }


# ---- the check page ---------------------------------------------------------------------------------


def child_name(child: dict[str, str], index: int) -> str:
    name = " ".join(p for p in (child.get("first_name"), child.get("last_name")) if p)
    if child.get("born") == "no" and not child.get("first_name"):
        name = f"Unborn baby {child.get('last_name') or ''}".strip()
    return name or f"Child {index + 1}"


def sections(answers: dict[str, Any], change: Callable[[str, str], str]) -> list[dict]:
    """Headings with rows (label, answer, Change URL, what Change changes for screen readers).
    `change(step, anchor)` is the URL of a page at a field."""

    def row(label, value, step, anchor, what):
        return {"label": label, "value": value or "Not given", "href": change(step, anchor), "what": what}

    when = received_at(answers).strftime("%-d %B %Y, %H:%M")
    result = [
        {
            "heading": "The contact",
            "rows": [
                row("How it came in", CHANNELS[answers["channel"]][0], "how", "channel", "how the contact came in"),
                row("Received", when, "how", "received_at-day", "when the contact was received"),
            ],
        }
    ]
    anonymous = answers.get("referrer_anonymous") == "yes"
    rows = [
        row(
            "Named",
            NAMED[answers["referrer_anonymous"]],
            "referrer",
            "referrer_anonymous",
            "whether the referrer gave their name",
        )
    ]
    if not anonymous:
        for key, label in (
            ("name", "Name"),
            ("agency", "Agency or organisation"),
            ("role", "Role"),
            ("phone", "Phone"),
            ("email", "Email"),
        ):
            rows.append(
                row(
                    label,
                    answers.get(f"referrer_{key}"),
                    "referrer",
                    f"referrer_{key}",
                    f"the referrer’s {label.lower()}",
                )
            )
    rows.append(
        row(
            "Relationship to the child",
            answers.get("referrer_relationship"),
            "referrer",
            "referrer_relationship",
            "the referrer’s relationship to the child",
        )
    )
    result.append({"heading": "Referrer", "rows": rows})
    children = answers.get("children") or []
    for i, child in enumerate(children):
        of = f"child {i + 1}"
        unborn = child.get("born") == "no"
        rows = [
            row("Name", child_name(child, i), "children", f"child-{i}-first_name", f"the name of {of}"),
            row("Born", BORN.get(child.get("born"), ""), "children", f"child-{i}-born", f"whether {of} is born"),
        ]
        if unborn:
            rows.append(
                row(
                    "Expected date of delivery",
                    long_date(date_of(child, "expected_date_of_delivery")),
                    "children",
                    f"child-{i}-expected_date_of_delivery-day",
                    f"the expected date of delivery of {of}",
                )
            )
        else:
            rows.append(
                row(
                    "Date of birth",
                    long_date(date_of(child, "date_of_birth")),
                    "children",
                    f"child-{i}-date_of_birth-day",
                    f"the date of birth of {of}",
                )
            )
        rows.append(
            row(
                "Gender",
                GENDER.get(child.get("gender") or "", ""),
                "children",
                f"child-{i}-gender",
                f"the gender of {of}",
            )
        )
        rows.append(row("Address", child.get("address"), "children", f"child-{i}-address", f"the address of {of}"))
        result.append(
            {"heading": f"Child {i + 1}" if len(children) > 1 else "Child", "rows": rows, "id": f"check-child-{i}"}
        )
    adults = answers.get("adults") or []
    for i, adult in enumerate(adults):
        of = f"adult {i + 1}"
        name = " ".join(p for p in (adult.get("first_name"), adult.get("last_name")) if p)
        result.append(
            {
                "heading": f"Adult {i + 1}",
                "rows": [
                    row("Name", name, "adults", f"adult-{i}-first_name", f"the name of {of}"),
                    row(
                        "Date of birth",
                        long_date(date_of(adult, "date_of_birth")),
                        "adults",
                        f"adult-{i}-date_of_birth-day",
                        f"the date of birth of {of}",
                    ),
                    row(
                        "Relationship to the child",
                        adult.get("relationship"),
                        "adults",
                        f"adult-{i}-relationship",
                        f"the relationship of {of} to the child",
                    ),
                    row(
                        "Lives in the household",
                        RESIDENT.get(adult.get("resident") or "", ""),
                        "adults",
                        f"adult-{i}-resident",
                        f"whether {of} lives in the household",
                    ),
                ],
            }
        )
    if not adults:
        result.append(
            {
                "heading": "Adults in the household",
                "rows": [row("Adults", "None recorded", "adults", "adults", "the adults in the household")],
            }
        )
    result.append(
        {
            "heading": "Concerns",
            "rows": [row("What the referrer said", answers.get("summary"), "concerns", "summary", "the concerns")],
        }
    )
    return result
