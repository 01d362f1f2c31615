"""Render modeller-written task instructions safely.

Instructions are text from a deployed diagram; they may use {{ child.first_name }}-style
placeholders. The author's text is escaped (no markup from a model reaches the page: a
`<meta http-equiv="refresh">` or a `<form>` shows as text); only `{{ }}` placeholders are filled,
each a small expression from an allow-list evaluated in Jinja's immutable sandbox and escaped, with
no calls, arithmetic or loops, so a page view does bounded work. The rules and limits live in
app.engine.instructions (checked at deploy too); docs/safety.md lists the limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from app.services.core.instructions import render_instructions as _render


def render_instructions(text: str | None, data: Mapping[str, Any]) -> Markup | None:
    return _render(text, data or {})
