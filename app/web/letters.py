"""A business support task's letter as PDF (the task page shows the preview)."""
from __future__ import annotations

from flask import Response, g

from app.services import permissions
from app.services import letters
from app.web import bp, security


@bp.get("/tasks/<string:task_id>/letter.pdf")
@security.login_required
@permissions.requires("task.work")
def task_letter_pdf(task_id: str):
    content, filename = letters.download(g.current_user, task_id)
    return Response(content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
