"""A business support task's letter as PDF (the task page shows the preview)."""

from __future__ import annotations

from flask import g

from app import downloads
from app.services.access import permissions
from app.services.cases import letters
from app.web import bp
from app.web.core import security


@bp.get("/tasks/<string:task_id>/letter.pdf")
@security.login_required
@permissions.requires("task.work")
def task_letter_pdf(task_id: str):
    return downloads.send(letters.download(g.current_user, task_id))
