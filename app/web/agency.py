"""Partner agencies' own answers: list them, and withhold parts from the handover package."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.services import agency_answers
from app.services.errors import Invalid
from app.web import bp, security
from app.web.timefmt import london


@bp.get("/agency/answers")
@security.login_required
def agency_answers_list():
    return render_template("agency/answers.html", rows=agency_answers.my_answers(g.current_user), london=london)


@bp.get("/agency/answers/<string:task_id>")
@security.login_required
def agency_answer(task_id: str):
    return render_template("agency/answer.html", view=agency_answers.answer(g.current_user, task_id),
                           errors={}, reason="", london=london)


@bp.post("/agency/answers/<string:task_id>")
@security.login_required
def withhold_from_handover(task_id: str):
    facts = [int(v) for v in request.form.getlist("facts") if v.isdigit()]
    fields = request.form.getlist("fields")
    reason = request.form.get("reason", "")
    try:
        agency_answers.withhold(g.current_user, task_id, facts, fields, reason)
    except Invalid as err:
        view = agency_answers.answer(g.current_user, task_id)
        view["withheld"] = {"facts": facts, "fields": fields}
        return render_template("agency/answer.html", view=view, errors={k: v[0] for k, v in err.errors.items()},
                               reason=reason, london=london), 422
    flash("Saved: what you chose will not go to the receiving team")
    return redirect(url_for("web.agency_answer", task_id=task_id))
