"""The case page: what the user may see of the contact, its tasks and its steps so far."""
from __future__ import annotations

from flask import g, render_template

from app.services import cases
from app.web import bp, security
from app.web.timefmt import due_phrase, london


@bp.get("/cases/<int:instance_id>")
@security.login_required
def case(instance_id: int):
    view = cases.view_instance(g.current_user, instance_id)
    steps = cases.steps_so_far(g.current_user, instance_id)
    return render_template("cases/case.html", case=view, steps=steps, due_phrase=due_phrase, london=london)
