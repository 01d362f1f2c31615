"""A file a service hands back for download (a letter, a case history export, an oversight figure).

Services return an `Attachment`; the pages and the API send it with `app.downloads.send` (one way to
build the download response, so the file name, type and body are never swapped between callers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attachment:
    filename: str
    mimetype: str
    body: bytes | str
