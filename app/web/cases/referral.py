"""The public online referral form (protocol §8): no sign-in, CSRF-protected, rate-limited.

One page of questions (several children, an unborn baby, an anonymous referrer), then a page to
check the answers, then the reference number. Every answer travels in the form itself (see
app/web/cases/referral_form.py): nothing is stored until the referral is sent. It only ever shows the
new reference number: nothing about existing children or cases.
"""

from __future__ import annotations

from flask import render_template, request, url_for
from werkzeug.exceptions import TooManyRequests

from app.services.access import permissions
from app.services.cases import contacts
from app.services.people import throttle
from app.web import bp
from app.web.cases.referral_form import ANONYMOUS, BORN, CONSENT, MAX_CHILDREN, Referral
from app.web.core import security


def _form(answers: Referral, errors: dict[str, str] | None = None, status: int = 200):
    return render_template(
        "public/refer.html",
        answers=answers,
        values=answers.values,
        errors=errors or {},
        anchors=answers.anchors(),
        consent=CONSENT,
        anonymous_choices=ANONYMOUS,
        born_choices=BORN,
        max_children=MAX_CHILDREN,
    ), status


@bp.get("/refer")
@security.public
@permissions.requires("public")
def refer():
    return _form(Referral())


@bp.post("/refer")
@security.public
@permissions.requires("public")
def refer_submit():
    """One endpoint for every button: add or remove a child, change an answer, continue, send."""
    answers = Referral.read(request.form)
    action = request.form.get("action") or "continue"
    if action == "add_child":
        answers.add_child()
        return _form(answers)
    if action.startswith("remove_child-"):
        index = action.removeprefix("remove_child-")
        answers.remove_child(int(index) if index.isdigit() else -1)
        return _form(answers)
    if action == "change":
        return _form(answers)
    errors = answers.validate()
    if errors:
        return _form(answers, errors, 422)
    if action != "send":
        return render_template("public/refer_check.html", answers=answers, refer_url=url_for("web.refer"))
    # per client address (TRUSTED_PROXIES rule), in the database so every worker shares the limit
    wait = throttle.allow_referral(throttle.request_address())
    if wait:
        raise TooManyRequests(
            description="Too many referrals have been sent from here in the last hour. "
            "If a child is in danger call 999.",
            retry_after=wait,
        )
    contact = contacts.start_online_referral(answers.contact())
    return render_template(
        "public/referral_sent.html",
        reference=contacts.reference(contact),
        anonymous=answers.anonymous,
        children=len(answers.children),
    )
