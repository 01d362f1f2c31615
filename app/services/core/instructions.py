"""Task instructions for the pages: the engine's template rules (app.engine.instructions), for the web layer.

Why a service: pages reach the engine only through services (the layering contract)."""

from __future__ import annotations

from app.engine.instructions import check_instructions, render_instructions

__all__ = ["check_instructions", "render_instructions"]
