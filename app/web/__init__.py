"""Server-rendered practitioner UI (GOV.UK Frontend): thin views over app.services."""
from __future__ import annotations

from flask import Blueprint, Flask, g, request
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from app.services import permissions
from app.web import security

bp = Blueprint("web", __name__)


def register(app: Flask) -> None:
    from app.web import admin, agency, auth, cases, inbox, letters, oversight, referral, tasks  # noqa: F401  (routes attach to bp)
    from app.web import account, filters  # noqa: F401  (your name; plain-words Jinja filters)
    from app.web import case_diagram, modeller_editor  # noqa: F401  (model editors, case diagram)
    from app.web import modeller  # noqa: F401  (models, drafts, review, what-if, migration, start a process)
    from app.web import audit  # case history, break-glass, the view-recording hook (routes attach to bp)
    from app.web import find_case, record_contact  # Find a case; Record a contact (issue 14)

    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(app.root_path) + "/templates"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])
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
        return {"current_user": user, "out_of_hours_phone": app.config["OUT_OF_HOURS_PHONE"],
                "may_review_disputes": permissions.allows(user, "disputes.review"),
                "may_manage_calendar": permissions.allows(user, "closure_days.manage"),
                "may_find_cases": audit.may_find_cases(user),
                "may_record_contact": record_contact.may_record(user),
                "may_see_oversight": permissions.allows(user, "oversight.view")}
