"""The public online referral form (protocol §8): no sign-in, CSRF-protected, rate-limited.

It only ever shows the new reference number: nothing about existing children or cases.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from datetime import date

from flask import abort, current_app, render_template, request

from app.services import cases
from app.web import bp, security

FIELDS = ("referrer_name", "referrer_role", "referrer_agency", "referrer_phone", "referrer_email",
          "referrer_relationship", "child_first_name", "child_last_name", "child_date_of_birth-day", "child_date_of_birth-month",
          "child_date_of_birth-year", "child_age", "child_address",
          "concerns", "consent")
CONSENT = {"obtained": "Yes, they know and agree", "not_sought": "No, I have not asked them",
           "refused": "I asked and they do not agree"}
_hits: dict[str, deque] = defaultdict(deque)
_lock = threading.Lock()


def _allow(address: str) -> bool:
    """A per-address sliding window (per process; put a shared limiter in front when scaling out)."""
    limit = current_app.config["REFERRALS_PER_HOUR_PER_ADDRESS"]
    now = time.monotonic()
    with _lock:
        hits = _hits[address]
        while hits and now - hits[0] > 3600:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True


def _validate(form) -> tuple[dict, dict[str, str]]:
    values = {k: (form.get(k) or "").strip() for k in FIELDS}
    errors: dict[str, str] = {}
    required = {"referrer_name": "Enter your name", "referrer_phone": "Enter a phone number we can call you on",
                "child_last_name": "Enter the child's last name",
                "concerns": "Tell us what you are worried about"}
    for key, message in required.items():
        if not values[key]:
            errors[key] = message
    parts = [values[f"child_date_of_birth-{p}"] for p in ("day", "month", "year")]
    values["child_date_of_birth"] = ""
    if any(parts):
        try:
            born = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            errors["child_date_of_birth"] = "Date of birth must be a real date, for example 27 3 2016"
        else:
            if born > date.today():
                errors["child_date_of_birth"] = "Date of birth must be in the past"
            values["child_date_of_birth"] = born.isoformat()
    elif not values["child_age"]:
        errors["child_date_of_birth"] = "Enter the child's date of birth, or their age if you do not know it"
    if values["consent"] not in CONSENT:
        errors["consent"] = "Select whether the family knows about this referral"
    if values["referrer_email"] and "@" not in values["referrer_email"]:
        errors["referrer_email"] = "Enter an email address in the correct format, like name@example.com"
    for key, value in values.items():
        if len(value) > (5000 if key == "concerns" else 200):
            errors[key] = "This answer is too long"
    return values, errors


@bp.get("/refer")
@security.public
def refer():
    return render_template("public/refer.html", values={}, errors={}, consent=CONSENT)


@bp.post("/refer")
@security.public
def refer_submit():
    values, errors = _validate(request.form)
    if errors:
        return render_template("public/refer.html", values=values, errors=errors, consent=CONSENT), 422
    if not _allow(request.remote_addr or "unknown"):
        abort(429, description="Too many referrals have been sent from here in the last hour. "
                               "If a child is in danger call 999.")
    contact = cases.start_online_referral({
        "referrer": {"name": values["referrer_name"], "role": values["referrer_role"] or None,
                     "agency": values["referrer_agency"] or None, "phone": values["referrer_phone"],
                     "email": values["referrer_email"] or None,
                     "relationship": values["referrer_relationship"] or None, "anonymous": False},
        "child": {"first_name": values["child_first_name"] or None, "last_name": values["child_last_name"],
                  "date_of_birth": values["child_date_of_birth"] or None,
                  "approximate_age": values["child_age"] or None, "address": values["child_address"] or None},
        "summary": values["concerns"], "consent": values["consent"],
    })
    return render_template("public/referral_sent.html", reference=cases.reference(contact))
