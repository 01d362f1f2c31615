"""Render modeller-written task instructions safely.

Instructions are text from a deployed diagram; they may use {{ child.first_name }}-style
placeholders. A sandboxed, autoescaping environment means authored text can never run code or
inject markup.
"""
from __future__ import annotations

from typing import Any, Mapping

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

_ENV = ImmutableSandboxedEnvironment(autoescape=True)


def render_instructions(text: str | None, data: Mapping[str, Any]) -> Markup | None:
    if not text:
        return None
    try:
        # Safe to mark: the sandboxed environment autoescaped every value while rendering.
        return Markup(_ENV.from_string(text).render(**dict(data)))
    except TemplateError:
        return Markup.escape(text)  # show the text as written rather than fail the page
