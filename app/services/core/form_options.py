"""Choices a form cannot list statically, filled in by the host (docs/modelling.md, "Forms").

A property with `"x-options-source": "users-with-role:decision_maker,eh_decision_maker"` becomes a
choice of the active people holding any of those roles: a `oneOf` of `{"const": username, "title":
display name}` (with the role's name when more than one role is listed), plus null when the property's
type allows it. Rendering, parsing and validation then treat it like any other choice, so a name nobody
was offered is refused. The deployed form is never changed: each task gets a filled copy.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import User, UserRole

SOURCE = "x-options-source"
USERS_WITH_ROLE = "users-with-role:"


def _has_source(schema: Any) -> bool:
    if isinstance(schema, Mapping):
        return SOURCE in schema or any(_has_source(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_source(v) for v in schema)
    return False


def people_with_roles(roles: list[str]) -> list[tuple[User, str]]:
    """(person, the first of `roles` they hold) for every active holder, by name."""
    rows = db.session.execute(
        select(User, UserRole.role)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role.in_(roles))
        .order_by(User.display_name, User.id)
    ).all()
    found: dict[int, tuple[User, str]] = {}
    for person, role in rows:
        held = found.get(person.id)
        if held is None or roles.index(role) < roles.index(held[1]):
            found[person.id] = (person, role)
    return list(found.values())


def _options(source: str, nullable: bool) -> list[dict]:
    if not source.startswith(USERS_WITH_ROLE):
        return []
    from app.services.core import labels  # the roles' own words (labels imports this module: import late)

    roles = [r.strip() for r in source.removeprefix(USERS_WITH_ROLE).split(",") if r.strip()]
    options = [
        {
            "const": person.username,
            "title": person.display_name + (f" ({labels.ROLES.get(role, role)})" if len(roles) > 1 else ""),
        }
        for person, role in people_with_roles(roles)
    ]
    if nullable:
        options.append({"type": "null"})
    return options or [{"not": {}}]  # nobody to choose (and an answer required): nothing validates


def _fill(schema: Any) -> None:
    if isinstance(schema, dict):
        source = schema.get(SOURCE)
        if isinstance(source, str):
            kind = schema.get("type")
            schema["oneOf"] = _options(source, kind == "null" or (isinstance(kind, list) and "null" in kind))
        for value in schema.values():
            _fill(value)
    elif isinstance(schema, list):
        for value in schema:
            _fill(value)


def resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The form with its `x-options-source` choices filled in (the same object when it has none)."""
    if not _has_source(schema):
        return schema
    filled = copy.deepcopy(dict(schema))
    _fill(filled)
    return filled


def person_fields(forms: Mapping[str, Any]) -> frozenset[str]:
    """Names of the properties, in any form, whose answer is a person (`users-with-role:`), so a stored
    username is shown by the person's name (labels.Labels)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, Mapping) and str(sub.get(SOURCE) or "").startswith(USERS_WITH_ROLE):
                    found.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name, document in forms.items():
        if name.endswith(".schema.json"):
            walk(document)
    return frozenset(found)


def person_name(username: Any) -> str | None:
    """The name a username's holder is shown by (None when there is no such person)."""
    if not isinstance(username, str) or not username:
        return None
    return db.session.execute(select(User.display_name).where(User.username == username)).scalar_one_or_none()
