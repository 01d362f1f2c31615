"""The case index: who is known, open where, and the contacts about them (spec §3.3).

Search is by date of birth plus a tolerant name match (case/accents folded, edit distance
≤ 2, or the same Double Metaphone code for the surname), because contacts arrive with
misspelt names. The product's own outcomes keep the index current.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from doublemetaphone import doublemetaphone
from rapidfuzz.distance import Levenshtein
from sqlalchemy import func, select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import IndexChild, IndexContact
from app.services.core.errors import Invalid
from app.services.core.transaction import unit_of_work
from app.services.partners import partner_history

CLOSED_WITHIN_DAYS = 84
REFERRAL_OUTCOMES = {"s17_assessment", "s47_strategy", "previous_team"}
EARLY_HELP_OUTCOMES = {"early_help", "lead_professional"}


def fold(text: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in letters.casefold()).split())


def surname_codes(last_name: str | None) -> str:
    primary, secondary = doublemetaphone(fold(last_name))
    return "|".join(c for c in (primary, secondary) if c)


def _parse_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _parse_instant(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=CLOCK.now().tzinfo)


def _names_match(row: IndexChild, first: str | None, last: str | None) -> bool:
    return _match(row.name_folded, row.surname_codes, first, last)


def names_match(known_first: str | None, known_last: str | None, first: str | None, last: str | None) -> bool:
    """The history check's tolerant match of a typed name against a known one (Find a case uses it too)."""
    return _match(fold(f"{known_first or ''} {known_last or ''}"), surname_codes(known_last), first, last)


def _match(name_folded: str, known_codes: str, first: str | None, last: str | None) -> bool:
    wanted = fold(f"{first or ''} {last or ''}")
    if Levenshtein.distance(name_folded, wanted) <= 2:
        return True
    codes = set(surname_codes(last).split("|")) - {""}
    return bool(codes & set(known_codes.split("|")))


def _candidates(person: dict | None) -> list[IndexChild]:
    if not person:
        return []
    dob = _parse_date(person.get("date_of_birth"))
    if dob is None:
        return []
    rows = db.session.execute(select(IndexChild).where(IndexChild.date_of_birth == dob)).scalars()
    return [r for r in rows if _names_match(r, person.get("first_name"), person.get("last_name"))]


def _contacts_of(child_id: int, since: datetime | None = None) -> list[IndexContact]:
    query = select(IndexContact).where(IndexContact.child_id == child_id)
    if since is not None:
        query = query.where(IndexContact.received_at >= since)
    return list(db.session.execute(query.order_by(IndexContact.received_at.desc())).scalars())


def _describe(row: IndexChild, kind: str, received: datetime) -> dict:
    contacts = _contacts_of(row.id)
    year_ago = received - timedelta(days=365)
    return {
        "match_id": str(row.id),
        "kind": kind,
        "name": f"{row.first_name} {row.last_name}",
        "date_of_birth": row.date_of_birth.isoformat() if row.date_of_birth else None,
        "status": row.social_care_status,
        "team": row.allocated_team,
        "allocated_worker": row.allocated_worker,
        "early_help_open": row.early_help_open,
        "lead_professional": row.lead_professional,
        "closed_on": row.closed_on.isoformat() if row.closed_on else None,
        "closing_team": row.closing_team,
        "previous_contacts": [
            {"received_at": c.received_at.isoformat(), "outcome": c.outcome, "rag": c.rag} for c in contacts[:20]
        ],
        "contacts_last_12_months": sum(1 for c in contacts if year_ago <= c.received_at < received),
    }


def search(child: dict | None = None, adults: list | None = None, received_at: str | None = None) -> list[dict]:
    """Service operator `case_index.search`: candidate matches for the MASHO to confirm."""
    received = _parse_instant(received_at) if received_at else CLOCK.now()
    matches = [_describe(r, "child", received) for r in _candidates(child)]
    for adult in adults or []:
        matches.extend(_describe(r, "adult", received) for r in _candidates(adult))
    return matches


def _confirmed_rows(match_ids: list | None) -> list[IndexChild]:
    rows = []
    for match_id in match_ids or []:
        try:
            row = db.session.get(IndexChild, int(match_id))
        except (TypeError, ValueError):
            row = None
        if row is not None:
            rows.append(row)
    return rows


def summarise(
    confirmed_matches: list | None = None,
    case_system_checks: list | None = None,
    received_at: str | None = None,
    child: dict | None = None,
) -> dict:
    """Service operator `case_index.summarise`: the derived history facts of spec §3.3."""
    received = _parse_instant(received_at) if received_at else CLOCK.now()
    rows = _confirmed_rows(confirmed_matches)
    checks = case_system_checks or []
    open_sc = [r for r in rows if r.social_care_status == "open"]
    open_sc_checks = [c for c in checks if c.get("status") == "open" and c.get("system") != "early_help"]
    open_eh = [r for r in rows if r.early_help_open]
    open_eh_checks = [c for c in checks if c.get("status") == "open" and c.get("system") == "early_help"]
    if open_sc or open_sc_checks:
        open_case = "social_care"
    elif open_eh or open_eh_checks:
        open_case = "early_help"
    else:
        open_case = "none"
    closures = [(r.closed_on, r.closing_team) for r in rows if r.closed_on]
    closures += [
        (closed_on, c.get("team"))
        for c in checks
        if c.get("status") == "closed"
        and c.get("system") != "early_help"
        and (closed_on := _parse_date(c.get("closed_on")))
    ]
    closures.sort(key=lambda pair: pair[0], reverse=True)
    latest_closure = closures[0] if closures else (None, None)
    closed_within = bool(latest_closure[0] and (received.date() - latest_closure[0]).days <= CLOSED_WITHIN_DAYS)
    year_ago = received - timedelta(days=365)
    previous = [c for r in rows for c in _contacts_of(r.id)]
    allocated = open_sc[0] if open_sc else None
    return {
        "open_case": open_case,
        "closed_within_12_weeks": closed_within,
        "allocated_worker": allocated.allocated_worker if allocated else None,
        "allocated_team": (
            allocated.allocated_team if allocated else (open_sc_checks[0].get("team") if open_sc_checks else None)
        ),
        "lead_professional": open_eh[0].lead_professional if open_eh else None,
        "closing_team": latest_closure[1],
        "closed_on": latest_closure[0].isoformat() if latest_closure[0] else None,
        "contacts_last_12_months": sum(1 for c in previous if year_ago <= c.received_at < received),
        "previous_contacts": [{"received_at": c.received_at.isoformat(), "outcome": c.outcome} for c in previous[:20]],
        "previous_stage2": partner_history.earlier_sharing(
            c.instance_id for c in previous if c.instance_id is not None
        )[:5],
    }


def record_outcome(
    *,
    child: dict | None,
    contact_id: int | None,
    received_at: str,
    outcome: str | None,
    receiving_team: str | None,
    rag: str | None,
    instance_id: int | None,
    confirmed_matches: list | None = None,
) -> dict:
    """Service operator `case_index.record_outcome`: keep the index current from our own outcomes."""
    child = child or {}
    dob = _parse_date(child.get("date_of_birth"))
    row = next((r for r in _confirmed_rows(confirmed_matches) if r.date_of_birth == dob), None)  # not a linked adult
    if row is None:
        row = IndexChild(
            first_name=child.get("first_name") or "",
            last_name=child.get("last_name") or "",
            name_folded=fold(f"{child.get('first_name') or ''} {child.get('last_name') or ''}"),
            surname_codes=surname_codes(child.get("last_name")),
            date_of_birth=_parse_date(child.get("date_of_birth")),
            gender=child.get("gender"),
            source="mash",
        )
        db.session.add(row)
    if outcome in REFERRAL_OUTCOMES:
        row.social_care_status = "open"
        row.allocated_team = receiving_team
        row.allocated_worker = None
    elif outcome in EARLY_HELP_OUTCOMES:
        row.early_help_open = True
    row.updated_at = CLOCK.now()
    db.session.flush()
    db.session.add(
        IndexContact(
            child_id=row.id,
            contact_id=contact_id,
            instance_id=instance_id,
            received_at=_parse_instant(received_at),
            outcome=outcome,
            rag=rag,
        )
    )
    db.session.flush()
    return {"recorded": True, "index_id": str(row.id)}


CSV_COLUMNS = (
    "external_ref",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "social_care_status",
    "allocated_worker",
    "allocated_team",
    "early_help_open",
    "lead_professional",
    "closed_on",
    "closing_team",
)


@dataclass
class ImportResult:
    created: int
    updated: int


def _csv_row(record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One CSV record as an IndexChild's values, and what is wrong with it (nothing: it may be imported)."""
    problems = []
    if not (record.get("external_ref") or "").strip():
        problems.append("external_ref is empty")
    if not (record.get("first_name") or "").strip() or not (record.get("last_name") or "").strip():
        problems.append("first_name and last_name are required")
    parsed: dict[str, Any] = {}
    for column in ("date_of_birth", "closed_on"):
        try:
            parsed[column] = _parse_date((record.get(column) or "").strip() or None)
        except ValueError:
            problems.append(f"{column} {record.get(column)!r} is not a date (YYYY-MM-DD)")
    if parsed.get("date_of_birth") is None and "date_of_birth is required" not in problems:
        problems.append("date_of_birth is required")
    status = (record.get("social_care_status") or "none").strip() or "none"
    if status not in ("open", "closed", "none"):
        problems.append(f"social_care_status {status!r} must be open, closed or none")
    early_help = (record.get("early_help_open") or "").strip().lower()
    if early_help not in ("", "true", "false", "yes", "no", "1", "0"):
        problems.append(f"early_help_open {early_help!r} must be true or false")
    if status == "closed" and parsed.get("closed_on") is None:
        problems.append("closed_on is required when social_care_status is closed")
    row = {
        **{k: (record.get(k) or "").strip() or None for k in CSV_COLUMNS},
        **parsed,
        "social_care_status": status,
        "early_help_open": early_help in ("true", "yes", "1"),
    }
    return row, problems


def import_csv(text: str) -> ImportResult:
    """Load involvement from the council's case system. All rows or none: errors list line numbers."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c for c in ("external_ref", "first_name", "last_name", "date_of_birth") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise Invalid(
            {"line 1": [f"missing column(s): {', '.join(missing)}"]}, message="The file has the wrong columns"
        )
    errors: dict[str, list[str]] = {}
    rows: list[dict] = []
    for record in reader:
        values, problems = _csv_row(record)
        if problems:
            errors[f"line {reader.line_num}"] = problems
        else:
            rows.append(values)
    if errors:
        raise Invalid(errors, message=f"{len(errors)} row(s) rejected; nothing was imported")
    created = updated = 0
    with unit_of_work():
        for data in rows:
            row = db.session.execute(
                select(IndexChild).where(IndexChild.external_ref == data["external_ref"])
            ).scalar_one_or_none()
            if row is None:
                row = IndexChild(external_ref=data["external_ref"], source="case_system")
                db.session.add(row)
                created += 1
            else:
                updated += 1
            for key in CSV_COLUMNS[1:]:
                setattr(row, key, data[key])
            row.name_folded = fold(f"{data['first_name']} {data['last_name']}")
            row.surname_codes = surname_codes(data["last_name"])
            row.updated_at = CLOCK.now()
    return ImportResult(created, updated)


def count() -> int:
    return db.session.execute(select(func.count(IndexChild.id))).scalar_one()
