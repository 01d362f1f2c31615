"""The one validation every deploy path runs (drafts, `mash deploy`, POST /api/v1/deployments).

`problems(files)` returns every problem at once (errors refuse, warnings are shown);
`refuse_if_invalid(files)` raises Invalid (422) with them. Results are cached per content hash,
so validating an unchanged model set again costs nothing. Each problem is a structured value
(app.engine.errors.Problem: rule id, severity, file, element, line, message), ordered by severity,
file, line and rule. The checks parse every file once and build the bundle from that parse: a valid
set's bundle is handed to the engine host, so deploying it right after does not parse it again.

Validation runs author-written expressions (DMN table tests) and can take a while, within the
budgets of docs/safety.md. It never runs inside a database transaction: on SQLite every
transaction holds the write lock (app.services.core.transaction), so a validation holding one would make
every other user's sign-in or task completion wait (issue 13). Callers read what they need, call
these, then write in a short unit of work that re-checks what it read.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.engine.errors import Problem
from app.engine.lint import explain_fake_joins
from app.engine.loader import bundle_hash, check_model_set, model_path_problem
from app.engine.runtime import FeelDecisionEngine
from app.engine.xml import MAX_MODEL_BYTES  # noqa: F401  (the size limit, for the API)
from app.extensions import db
from app.services.core import engine_host
from app.services.core.errors import Invalid
from app.services.core.roles import ROLES

# Data the host puts into a process when it starts one (contacts, disputes, the generic start):
# decision inputs may read these without a task providing them first.
HOST_START_DATA = (
    "instance_id",
    "contact_id",
    "received_at",
    "channel",
    "referrer",
    "child",
    "adults",
    "summary",
    "request_type",
    "information_only",
    "red_criteria",
    "manager_attention_criteria",
    "consent",
    "case_instance_id",
    "started_by",
)

_cache: dict[str, list[Problem]] = {}
WALL_CLOCK_RULES = frozenset({"dmn-test-time-limit"})


def end_read_transaction() -> None:
    """End the session's transaction (a read) before long work, so no lock is held meanwhile.

    Refuses (a programming error) if the session holds unsaved changes: validation must come before a
    unit of work, never inside one."""
    session = db.session()  # the Session itself (the scoped proxy has no in_transaction())
    if not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("model checks must run before a unit of work, not inside one with unsaved changes")
    session.commit()  # nothing to write: only ends the transaction (and its lock on SQLite)


def problems(files: Mapping[str, bytes]) -> list[Problem]:
    digest = bundle_hash(files)
    found = _cache.get(digest)
    if found is None:
        ev = engine_host.evaluator()  # may read the closure days: before the transaction ends
        end_read_transaction()
        bundle, found = check_model_set(
            files,
            check_expression=ev.check,
            engine_factory=FeelDecisionEngine,
            evaluate=ev.evaluate,
            known_roles=ROLES,
            start_data=HOST_START_DATA,
        )
        if bundle is not None:
            engine_host.remember_compiled(bundle)  # a deployment of these files builds nothing again
        found = explain_fake_joins(found)  # one explained warning, not one per element on every draft
        if len(_cache) > 64:
            _cache.clear()
        # A wall-clock backstop depends on how busy the machine was: such a result is not kept.
        if not any(p.rule in WALL_CLOCK_RULES for p in found):
            _cache[digest] = found
    return list(found)


def errors_of(found: list[Problem]) -> list[Problem]:
    return [p for p in found if p.severity == "error"]


def as_field_errors(found: list[Problem]) -> dict[str, list[str]]:
    """{file: ["line N: message (element)"]} — the shape Invalid and the CLI have always used."""
    errors: dict[str, list[str]] = {}
    for p in errors_of(found):
        element = f" ({p.element_name or p.element})" if (p.element_name or p.element) else ""
        errors.setdefault(p.file, []).append(
            f"line {p.line}: {p.message}{element}" if p.line else f"{p.message}{element}"
        )
    return errors


def refuse_if_invalid(files: Mapping[str, bytes]) -> list[Problem]:
    """Raise Invalid (nothing deployed) when any error is found; return the warnings otherwise."""
    if not files:
        raise Invalid({"files": ["there are no model files"]}, message="There are no model files to deploy")
    found = problems(files)
    bad = errors_of(found)
    if bad:
        err = Invalid(
            as_field_errors(found), message=f"{len(bad)} problem{'s' if len(bad) != 1 else ''} in the models: {bad[0]}"
        )
        err.details["problems"] = [p.as_dict() for p in found]
        raise err
    return found


def path_problem(path: str) -> str | None:
    return model_path_problem(path)
