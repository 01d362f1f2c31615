"""Server-rendered practitioner UI (GOV.UK Frontend): thin views over app.services."""

from __future__ import annotations

from flask import Blueprint, Flask, g, request
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from app.services.access import permissions
from app.web.core import security
from app.web.core.undefined import StrictNamesUndefined

bp = Blueprint("web", __name__)


def register(app: Flask) -> None:
    # Route modules attach their views to bp when imported; one package per feature, as in app/services.
    from app.web.audit import audit  # case history, break-glass, the view-recording hook
    from app.web.cases import (  # noqa: F401
        case_diagram,  # the read-only case diagram
        case_page,  # the case page
        find_case,  # Find a case (issue 14)
        inbox,
        letters,
        record_contact,  # Record a contact (issue 14)
        referral,  # the public referral form
        tasks,
    )
    from app.web.core import filters  # noqa: F401  (plain-words Jinja filters)
    from app.web.modelling import admin, modeller, modeller_editor  # noqa: F401  (closure days; models; editors)
    from app.web.partners import agency  # noqa: F401  (partners' own answers)
    from app.web.people import account, auth  # noqa: F401  (your name; sign in and out)
    from app.web.reporting import oversight  # noqa: F401  (the oversight dashboard)

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(app.root_path) + "/templates"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.jinja_env.undefined = StrictNamesUndefined  # a name no view passed fails (app/web/core/undefined.py)
    app.jinja_env.globals["csrf_token"] = security.csrf_token
    app.register_blueprint(bp)

    @app.before_request
    def _load_session():
        if request.path.startswith(("/api/", "/static/")):
            return None
        security.load_session()
        if request.method == "POST":
            security.check_csrf()
        return None

    @app.after_request
    def _cookies(response):
        return security.set_cookies(response)

    @app.context_processor
    def _globals():
        user = getattr(g, "current_user", None)
        return {
            "current_user": user,
            "out_of_hours_phone": app.config["OUT_OF_HOURS_PHONE"],
            "may_review_disputes": permissions.allows(user, "disputes.review"),
            "may_manage_calendar": permissions.allows(user, "closure_days.manage"),
            "may_find_cases": audit.may_find_cases(user),
            "may_record_contact": record_contact.may_record(user),
            "may_see_oversight": permissions.allows(user, "oversight.view"),
        }
