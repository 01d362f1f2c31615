"""Downloads for both surfaces (pages and API): a service's Attachment as an HTTP response."""

from __future__ import annotations

from flask import Response

from app.services.core.attachments import Attachment


def send(attachment: Attachment) -> Response:
    """The attachment as a download: its type, and its file name in Content-Disposition."""
    return Response(
        attachment.body,
        mimetype=attachment.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{attachment.filename}"'},
    )
