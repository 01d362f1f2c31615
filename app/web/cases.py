"""The case page: what the user may see of the contact, its tasks, disputes and its steps so far."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.services import audit, cases, disputes, handover
from app.services.errors import Invalid
from app.web import bp, security
from app.web.timefmt import due_phrase, london


def _render(instance_id: int, dispute_errors: dict | None = None, dispute_values: dict | None = None, status=200):
    view = cases.view_instance(g.current_user, instance_id)
    steps = cases.steps_so_far(g.current_user, instance_id)
    return render_template("cases/case.html", case=view, steps=steps, due_phrase=due_phrase, london=london,
                           disputes=disputes.for_case(instance_id),
                           may_raise=bool(g.current_user.roles & disputes.RAISING_ROLES),
                           may_read_timeline=audit.may_read_timeline(g.current_user),
                           dispute_errors=dispute_errors or {}, dispute_values=dispute_values or {}), status


@bp.get("/cases/<int:instance_id>")
@security.login_required
def case(instance_id: int):
    return _render(instance_id)


@bp.post("/cases/<int:instance_id>/disputes")
@security.login_required
def raise_dispute(instance_id: int):
    values = {"disputed_decision": request.form.get("disputed_decision", ""), "position": request.form.get("position", "")}
    try:
        dispute = disputes.raise_dispute(g.current_user, instance_id, values["disputed_decision"], values["position"])
    except Invalid as err:
        return _render(instance_id, {k: v[0] for k, v in err.errors.items()}, values, status=422)
    flash(f"Dispute {dispute.id} raised: the case carries on while it is resolved")
    return redirect(url_for("web.case", instance_id=instance_id))


@bp.get("/disputes")
@security.login_required
def dispute_review():
    return render_template("cases/disputes.html", rows=disputes.review_list(g.current_user), london=london)


@bp.get("/cases/<int:instance_id>/handover")
@security.login_required
def handover_package(instance_id: int):
    return render_template("cases/handover.html", handover=handover.package(g.current_user, instance_id), london=london)
