"""Partner agencies' own answers: list them, revise them, and withhold parts from the handover package."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.services.access import permissions
from app.services.core.errors import Invalid
from app.services.partners import agency_answers
from app.web import bp
from app.web.core import paging, security
from app.web.core.form_parsing import parse_submission
from app.web.core.schema_forms import build_fields, error_summary, unplaced_errors


@bp.get("/agency/answers")
@security.login_required
@permissions.requires("signed_in")  # lists the user's own agency's answers: none for anyone else
def agency_answers_list():
    listing = agency_answers.my_answers(g.current_user, paging.page_asked())
    g.cases_listed = {
        "instances": [row["task"].instance_id for row in listing.rows],  # one list_viewed event
        "page": {"page": listing.page, "pages": listing.pages, "total": listing.total},
    }
    return render_template(
        "agency/answers.html",
        rows=listing.rows,
        listing=listing,
        pagination=paging.pagination(
            listing.page, listing.pages, lambda n: url_for("web.agency_answers_list", page=n), "Answer pages"
        ),
    )


@bp.get("/agency/answers/<string:task_id>")
@security.login_required
@permissions.requires("agency.answer")
def agency_answer(task_id: str):
    return render_template(
        "agency/answer.html", view=agency_answers.answer(g.current_user, task_id), errors={}, reason=""
    )


@bp.post("/agency/answers/<string:task_id>")
@security.login_required
@permissions.requires("agency.answer")
def withhold_from_handover(task_id: str):
    facts = [int(v) for v in request.form.getlist("facts") if v.isdigit()]
    fields = request.form.getlist("fields")
    reason = request.form.get("reason", "")
    try:
        agency_answers.withhold(g.current_user, task_id, facts, fields, reason)
    except Invalid as err:
        view = agency_answers.answer(g.current_user, task_id)
        view["withheld"] = {"facts": facts, "fields": fields}
        return render_template("agency/answer.html", view=view, errors=err.first_messages(), reason=reason), 422
    flash("Saved: what you chose will not go to the receiving team")
    return redirect(url_for("web.agency_answer", task_id=task_id))


def _render_revision(task_id: str, values: dict, errors: dict | None = None, status: int = 200):
    view = agency_answers.answer_form(g.current_user, task_id)
    fields = build_fields(view["schema"], view["ui_schema"], values, errors or {})
    summary = error_summary(fields) + [
        (f"#{fields[0].id}" if fields else "#main-content", m) for m in unplaced_errors(fields, errors or {})
    ]
    return render_template("agency/revise.html", view=view, fields=fields, summary=summary), status


@bp.get("/agency/answers/<string:task_id>/revise")
@security.login_required
@permissions.requires("agency.answer")
def revise_agency_answer(task_id: str):
    return _render_revision(task_id, agency_answers.answer_form(g.current_user, task_id)["values"])


@bp.post("/agency/answers/<string:task_id>/revise")
@security.login_required
@permissions.requires("agency.answer")
def save_agency_answer(task_id: str):
    view = agency_answers.answer_form(g.current_user, task_id)
    data, action = parse_submission(view["schema"], view["ui_schema"], request.form)
    if action:
        return _render_revision(task_id, data)  # add/remove a repeating item: same page, data kept
    try:
        version = agency_answers.revise(g.current_user, task_id, data)
    except Invalid as err:
        return _render_revision(task_id, data, err.errors, status=422)
    flash(f"Saved as version {version} of your answer: the MASH sees it now")
    return redirect(url_for("web.agency_answer", task_id=task_id))
