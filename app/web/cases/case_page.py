"""The case page: what the user may see of the contact, its tasks, disputes and its steps so far."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.services.access import permissions
from app.services.audit import audit
from app.services.cases import case_file, case_view, handover, handover_display
from app.services.core import labels, roles
from app.services.core.errors import Invalid
from app.services.partners import disputes
from app.web import bp
from app.web.core import security


def _render(instance_id: int, dispute_errors: dict | None = None, dispute_values: dict | None = None, status=200):
    view = case_view.view_instance(g.current_user, instance_id)
    steps = case_view.steps_so_far(g.current_user, instance_id)
    file = case_file.for_case(g.current_user, instance_id, view["data"])
    words = labels.latest()
    return render_template(
        "cases/case.html",
        case=view,
        steps=steps,
        file=file,
        disputes=disputes.for_case(instance_id),
        may_raise=bool(g.current_user.roles & disputes.RAISING_ROLES),
        may_read_timeline=audit.may_read_timeline(g.current_user, instance_id),
        dispute_errors=dispute_errors or {},
        dispute_values=dispute_values or {},
        dispute_sides=[("team:" + t, words.value("team", t)) for t in roles.TEAMS]
        + [("agency:" + a, words.value("agency", a)) for a in roles.AGENCIES],
    ), status


@bp.get("/cases/<int:instance_id>")
@security.login_required
@permissions.requires("case.read")
def case(instance_id: int):
    return _render(instance_id)


@bp.post("/cases/<int:instance_id>/disputes")
@security.login_required
@permissions.requires("case.dispute")
def raise_dispute(instance_id: int):
    values = {
        "disputed_decision": request.form.get("disputed_decision", ""),
        "position": request.form.get("position", ""),
        "with_whom": request.form.get("with_whom", ""),
    }
    kind, _, name = values["with_whom"].partition(":")  # the team or agency the dispute is with (level 1, spec §11.13)
    try:
        dispute = disputes.raise_dispute(
            g.current_user,
            instance_id,
            values["disputed_decision"],
            values["position"],
            named_team=name if kind == "team" else None,
            named_agency=name if kind == "agency" else None,
        )
    except Invalid as err:
        return _render(instance_id, err.first_messages(), values, status=422)
    flash(f"Dispute {dispute.id} raised: the case carries on while it is resolved")
    return redirect(url_for("web.case", instance_id=instance_id))


@bp.get("/disputes")
@security.login_required
@permissions.requires("disputes.review")
def dispute_review():
    return render_template("cases/disputes.html", rows=disputes.review_list(g.current_user))


@bp.get("/cases/<int:instance_id>/handover")
@security.login_required
@permissions.requires("case.handover")
def handover_package(instance_id: int):
    package = handover.package(g.current_user, instance_id)
    back = (
        url_for("web.case", instance_id=instance_id)
        if handover_display.may_open_case(g.current_user, instance_id)
        else url_for("web.inbox")
    )
    return render_template(
        "cases/handover.html",
        handover=package,
        rows=handover_display.rows(package),
        holders=[handover_display.holder_text(h) for h in package["sensitive_information_held"]],
        back_url=back,
    )
