"""The read-only case diagram: the BPMN of the version the case runs on, with where the case has been."""

from __future__ import annotations

from flask import g, render_template, request

from app.services.access import permissions
from app.services.cases import case_diagram
from app.web import bp
from app.web.core import security


@bp.get("/cases/<int:instance_id>/diagram")
@security.login_required
@permissions.requires("case.read")
def case_diagram_page(instance_id: int):
    process_id = request.args.get("process") or None
    view = case_diagram.diagram(g.current_user, instance_id, process_id)
    return render_template("cases/diagram.html", diagram=view)
