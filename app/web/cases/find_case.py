"""Find a case (issue 14): by reference, case number, the child's name (tolerant) and date of birth.

The search is a GET form, so what was typed stays in the boxes and the results can be reloaded;
the production access log leaves query strings out (app/cli.py ACCESS_LOG_FORMAT), so a name
searched for is not logged. The results are recorded as one `list_viewed` event naming the cases
shown (the hook in app/web/audit/audit.py), never with what was typed.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import g, render_template, request

from app.services.access import break_glass, permissions
from app.services.audit import audit
from app.services.cases import case_search, find_case
from app.services.core.clock import LONDON, now
from app.services.core.errors import NotFound
from app.web import bp
from app.web.cases.record_contact_form import long_date
from app.web.core import security

DATE_PARTS = ("day", "month", "year")
FIELDS = ("case", "name", *(f"dob-{p}" for p in DATE_PARTS))
NAME_LIMIT = 200


def _read(args) -> tuple[find_case.Query, dict[str, str], dict[str, str]]:
    values = {k: (args.get(k) or "").strip() for k in FIELDS}
    errors: dict[str, str] = {}
    query = find_case.Query(name=values["name"])
    if values["case"]:
        parsed = case_search.parse_case(values["case"])
        if parsed is None:
            errors["case"] = "Enter a reference like MASH-20261206-000002, or a case number like 123"
        else:
            query.reference, query.case_number = parsed
    if len(values["name"]) > NAME_LIMIT:
        errors["name"] = f"The name must be {NAME_LIMIT} characters or fewer"
    elif values["name"] and not any(c.isalpha() for c in values["name"]):
        errors["name"] = "Enter a name using letters, like Jamie Doe"
    parts = [values[f"dob-{p}"] for p in DATE_PARTS]
    if any(parts):
        missing = [p for p, v in zip(DATE_PARTS, parts, strict=False) if not v]
        born = None
        if not missing and all(v.isdigit() for v in parts) and len(parts[2]) == 4:
            try:
                born = date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                born = None
        if missing:
            errors["dob"] = f"Date of birth must include a {' and '.join(missing)}"
        elif born is None:
            errors["dob"] = "Date of birth must be a real date, like 27 3 2016"
        elif born > now().astimezone(LONDON).date() + timedelta(days=365):
            errors["dob"] = "Date of birth must be in the past (or, for a baby not born yet, within the next year)"
        query.date_of_birth = born
    return query, values, errors


@bp.get("/audit")
@security.login_required
@permissions.requires("case.find")
def audit_home():
    user = g.current_user
    if not find_case.may_find(user):
        raise NotFound("No such page")
    query, values, errors = _read(request.args)
    searched = any(k in request.args for k in FIELDS)
    if request.args.get("error"):  # from /audit/open (a case number it could not open)
        errors.setdefault("case", request.args["error"])
    elif searched and not errors and query.empty:
        errors["case"] = "Enter a reference, a case number, a name or a date of birth"
    results, more = ([], False) if errors or not searched else find_case.search(user, query)
    # one list_viewed event naming the cases shown (app/web/audit/audit.py); none when nothing is shown
    g.cases_listed = {
        "instances": [r.instance_id for r in results],
        "page": {"page": 1, "pages": 1, "total": len(results)},
    }
    waiting = len(break_glass.review_list(user)["waiting"]) if user.roles & break_glass.REVIEWER_ROLES else None
    return render_template(
        "audit/find.html",
        values=values,
        errors=errors,
        searched=searched and not errors,
        results=results,
        more=more,
        may_timeline=audit.may_read_timeline(user),
        waiting=waiting,
        long_date=_long_date,
        received=_received,
        limit=find_case.MAX_RESULTS,
    ), (422 if errors and searched else 200)


def _long_date(iso: str | None) -> str:
    try:
        return long_date(date.fromisoformat(iso)) if iso else ""
    except ValueError:
        return iso or ""


def _received(moment) -> str:
    return moment.astimezone(LONDON).strftime("%-d %B %Y, %H:%M") if moment else ""
