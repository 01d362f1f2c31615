"""Numbered pages for long lists (the inbox, an agency's answers): the GOV.UK pagination component's
parameters, and the page number asked for."""

from __future__ import annotations

from collections.abc import Callable

from flask import request


def page_asked() -> int:
    """The `page` query argument; anything that is not a sensible page number means page 1."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


def pagination(page: int, pages: int, url_of: Callable[[int], str], label: str) -> dict | None:
    """Parameters for govukPagination: first, last and the pages around this one (None for one page)."""
    if pages <= 1:
        return None
    numbers = sorted({1, pages, *range(max(1, page - 1), min(pages, page + 1) + 1)})
    items: list[dict] = []
    previous = 0
    for number in numbers:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": url_of(number), "current": number == page})
        previous = number
    return {
        "items": items,
        "landmarkLabel": label,
        "previous": {"href": url_of(page - 1)} if page > 1 else None,
        "next": {"href": url_of(page + 1)} if page < pages else None,
    }
