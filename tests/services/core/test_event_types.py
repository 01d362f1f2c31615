"""One list of history event types (app/services/core/events.py): every type the code records is in it,
each has a meaning, and docs/history-events.md is that list as it stands."""

from __future__ import annotations

import ast
from pathlib import Path

from app.services.core.events import EventType, markdown

ROOT = Path(__file__).resolve().parents[3]
APP = ROOT / "app"


def _aliases(tree: ast.Module) -> tuple[dict[str, ast.expr], set[str]]:
    """Module-level NAME = value assignments, and the names bound to EventType itself (`E = EventType`)."""
    values: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = node.value
    enum_names = {"EventType"} | {
        name for name, value in values.items() if isinstance(value, ast.Name) and value.id == "EventType"
    }
    return values, enum_names


def _event_type(arg: ast.expr, values: dict[str, ast.expr], enum_names: set[str]) -> str | None:
    """The stored string a history.record(...) call records, or None when it cannot be read from the code."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id in enum_names:
        member = EventType.__members__.get(arg.attr)
        return member.value if member is not None else f"EventType.{arg.attr} (no such member)"
    if isinstance(arg, ast.Name) and arg.id in values:
        return _event_type(values[arg.id], values, enum_names)
    return None


def recorded_types() -> dict[str, list[str]]:
    """Every event type recorded by the app's code → where (file:line)."""
    found: dict[str, list[str]] = {}
    for path in sorted(APP.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        values, enum_names = _aliases(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "history"
            ):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "type_"), None)
            value = _event_type(arg, values, enum_names) if arg is not None else None
            found.setdefault(value if value is not None else f"<unreadable: {ast.unparse(arg)}>", []).append(where)
    return found


def test_every_recorded_event_type_is_in_the_one_list():
    found = recorded_types()
    assert len(found) > 40  # the scan sees the code (guards against a scan that finds nothing)
    known = {event.value for event in EventType}
    unknown = {t: where for t, where in found.items() if t not in known}
    assert not unknown, f"history event types recorded but not in app/services/core/events.py: {unknown}"


def test_each_type_has_a_meaning_and_fits_its_column():
    values = [event.value for event in EventType]
    assert len(values) == len(set(values))
    for event in EventType:
        assert event.value == event.value.lower() and " " not in event.value and len(event.value) <= 40
        assert event.meaning and event.meaning.endswith(".") and "\n" not in event.meaning
        assert event == event.value and str(event) == event.value  # stored strings unchanged


def test_the_document_is_the_list():
    document = (ROOT / "docs" / "history-events.md").read_text(encoding="utf-8")
    regenerate = "python -m app.services.core.events > docs/history-events.md"
    assert document == markdown(), f"docs/history-events.md is stale: {regenerate}"
