"""Drafts of the model set: edit, validate, submit, approve (a second service manager), publish.

Why a draft: changing a process is a code deployment (security.md §3). Work happens on a copy;
every save names the version it edited, so two managers editing one draft get a 409 instead of
a lost change; publishing needs a different service manager's approval and goes through the same
validation as every other deploy path (app.services.modelling.model_checks). Each state change and its
record (draft_events, and history for submit/approve/reject/discard) commit in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from app.engine import dmn
from app.engine.clock import CLOCK
from app.engine.errors import ModelError, Problem
from app.engine.evaluator import validation_budget
from app.engine.loader import bundle_hash
from app.engine.model_diff import diff_model_sets
from app.engine.xml import MAX_MODEL_BYTES, parse_model_xml
from app.extensions import db
from app.models import Deployment, Draft, DraftEvent, DraftFile, HistoryEvent, User
from app.services.access import permissions
from app.services.core import engine_host, history
from app.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.core.events import EventType
from app.services.core.transaction import unit_of_work
from app.services.modelling import deployments, model_checks

MANAGER_ROLES = permissions.roles_for("models.edit")
OPEN_STATUSES = ("editing", "awaiting_approval")
# The draft events that make their actor one of the draft's authors: whoever created it, changed a
# file in it or submitted it may not approve it (two-person rule on the content, not the submitter).
AUTHOR_EVENTS = ("created", "file_added", "file_saved", "file_deleted", "submitted")


# --------------------------------------------------------------------------- reading


def may_manage(user: User | None) -> bool:
    return bool(user is not None and user.roles & MANAGER_ROLES)


def _require_manager(actor: User, action: str) -> None:
    if not may_manage(actor):
        raise Forbidden(f"Only a service manager can {action}")


def get(draft_id: int) -> Draft:
    draft = db.session.get(Draft, draft_id)
    if draft is None:
        raise NotFound("No such draft")
    return draft


def draft_files(draft: Draft) -> dict[str, bytes]:
    return {f.path: f.model_file.content for f in draft.files}


def list_drafts(statuses: tuple[str, ...] = OPEN_STATUSES) -> list[Draft]:
    return list(db.session.execute(select(Draft).where(Draft.status.in_(statuses)).order_by(Draft.id.desc())).scalars())


def user_name(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return user.username if user else None


def author_ids(draft: Draft) -> set[int]:
    """Everyone who created, edited or submitted the draft (from its append-only event record)."""
    ids = set(
        db.session.execute(
            select(DraftEvent.actor_id).where(DraftEvent.draft_id == draft.id, DraftEvent.type.in_(AUTHOR_EVENTS))
        ).scalars()
    )
    ids |= {draft.created_by, draft.submitted_by}
    return {i for i in ids if i is not None}


def authors(draft: Draft) -> list[str]:
    """The authors' usernames, for the page and the API."""
    return sorted(filter(None, (user_name(i) for i in author_ids(draft))))


def approval_refusal(draft: Draft, actor: User) -> str | None:
    """Why `actor` may not approve this draft (they wrote part of it), or None."""
    if actor.id not in author_ids(draft):
        return None
    if draft.submitted_by == actor.id:
        return (
            "You submitted this draft, so you cannot approve it: a different service manager, who did not "
            "write or edit it, must approve it (two-person rule)"
        )
    return (
        "You created or edited this draft, so you cannot approve it: a service manager who did not write, "
        "edit or submit it must approve it (two-person rule)"
    )


def awaiting_approval_by(actor: User | None) -> list[Draft]:
    """The drafts sent for approval that `actor` may approve (a service manager who is none of
    their authors): the work item each other service manager sees in their inbox."""
    if actor is None or not may_manage(actor):
        return []
    waiting = (
        db.session.execute(
            select(Draft).where(Draft.status == "awaiting_approval").order_by(Draft.submitted_at, Draft.id)
        )
        .scalars()
        .all()
    )
    return [d for d in waiting if actor.id not in author_ids(d)]


def events(draft_id: int) -> list[DraftEvent]:
    return list(
        db.session.execute(select(DraftEvent).where(DraftEvent.draft_id == draft_id).order_by(DraftEvent.id)).scalars()
    )


# --------------------------------------------------------------------------- editing

_stored = deployments.stored_file


def _event(draft: Draft, type_: str, actor: User | None, detail: dict | None = None, note: str | None = None) -> None:
    db.session.add(
        DraftEvent(
            draft_id=draft.id,
            at=CLOCK.now(),
            type=type_,
            actor_id=actor.id if actor else None,
            detail=detail or {},
            note=note,
        )
    )


def _editable(draft_id: int, expected_version: int, actor: User, action: str) -> Draft:
    _require_manager(actor, action)
    draft = get(draft_id)
    if draft.status != "editing":
        raise Conflict(f"This draft is {draft.status.replace('_', ' ')}: it can no longer be changed")
    if int(expected_version) != draft.lock_version:
        raise Conflict(
            "Someone else saved this draft since you opened it. Reload it to see their change, then make yours again.",
            {"lock_version": draft.lock_version},
        )
    return draft


def _touch(draft: Draft, actor: User) -> None:
    draft.updated_at = CLOCK.now()
    draft.updated_by = actor.id
    flag_modified(draft, "updated_at")  # always an UPDATE, which carries the version check and bump


def create(actor: User, from_version: int | None = None) -> Draft:
    """A working copy of the latest (or the given) deployed version's files."""
    _require_manager(actor, "create a draft")
    if from_version is None:
        source = deployments.latest()
    else:
        source = db.session.execute(select(Deployment).where(Deployment.version == from_version)).scalar_one_or_none()
        if source is None:
            raise NotFound(f"There is no version {from_version}")
    now = CLOCK.now()
    with unit_of_work():
        draft = Draft(
            status="editing",
            base_version=source.version if source else None,
            created_by=actor.id,
            created_at=now,
            updated_at=now,
            updated_by=actor.id,
        )
        db.session.add(draft)
        db.session.flush()
        for f in source.files if source else []:
            db.session.add(DraftFile(draft_id=draft.id, path=f.path, model_file_id=f.model_file_id))
        _event(draft, "created", actor, {"from_version": draft.base_version})
    return draft


def save_file(draft_id: int, path: str, content: bytes, expected_version: int, actor: User) -> Draft:
    """Add or replace one file. 409 if the draft changed since `expected_version`; 422 for a bad name."""
    if isinstance(content, str):
        content = content.encode()
    problem = model_checks.path_problem(path)
    if problem:
        raise Invalid({"path": [problem]}, message=f"{path!r} is not a model file name: {problem}")
    if len(content) > MAX_MODEL_BYTES:
        raise Invalid(
            {"content": [f"file is larger than {MAX_MODEL_BYTES // 1024} KB"]},
            message=f"{path} is larger than {MAX_MODEL_BYTES // 1024} KB",
        )
    with unit_of_work():
        draft = _editable(draft_id, expected_version, actor, "edit a draft")
        stored = _stored(content)
        existing = next((f for f in draft.files if f.path == path), None)
        if existing is None:
            draft.files.append(DraftFile(draft_id=draft.id, path=path, model_file_id=stored.id, model_file=stored))
            kind = "file_added"
        else:
            existing.model_file_id, existing.model_file = stored.id, stored
            kind = "file_saved"
        _touch(draft, actor)
        _event(draft, kind, actor, {"path": path, "content_hash": stored.content_hash})
    return draft


def delete_file(draft_id: int, path: str, expected_version: int, actor: User) -> Draft:
    with unit_of_work():
        draft = _editable(draft_id, expected_version, actor, "edit a draft")
        existing = next((f for f in draft.files if f.path == path), None)
        if existing is None:
            raise NotFound(f"The draft has no file {path}")
        draft.files.remove(existing)
        _touch(draft, actor)
        _event(draft, "file_deleted", actor, {"path": path})
    return draft


def discard(draft_id: int, expected_version: int, actor: User) -> Draft:
    _require_manager(actor, "discard a draft")
    with unit_of_work():
        draft = get(draft_id)
        if draft.status not in OPEN_STATUSES:
            raise Conflict(f"This draft is already {draft.status}")
        if int(expected_version) != draft.lock_version:
            raise Conflict("Someone else changed this draft since you opened it. Reload it and try again.")
        draft.status = "discarded"
        _touch(draft, actor)
        _event(draft, "discarded", actor)
        history.record(EventType.MODEL_DRAFT_DISCARDED, actor=actor, detail={"draft_id": draft.id})
    return draft


# --------------------------------------------------------------------------- checking


def validate(draft_id: int) -> list[Problem]:
    """Every problem with the draft, as every deploy path would find it (errors and warnings)."""
    return model_checks.problems(draft_files(get(draft_id)))


def diff_summary(draft_id: int) -> list[str]:
    """What publishing the draft would change against the newest version, by element/rule id and name."""
    draft = get(draft_id)
    if draft.status == "published" and draft.diff is not None:
        return list(draft.diff)
    latest = deployments.latest()
    old = {f.path: f.model_file.content for f in latest.files} if latest else {}
    return diff_model_sets(old, draft_files(draft))


# --------------------------------------------------------------------------- review and publish


def stale_reason(draft: Draft) -> str | None:
    """Why the draft cannot be published as it is: a newer version was published since it was started
    (publishing it would silently undo that version's changes)."""
    latest = deployments.latest()
    if latest is not None and draft.base_version is not None and draft.base_version != latest.version:
        return (
            f"This draft was started from version {draft.base_version}, but version {latest.version} has been "
            f"published since. Start a new draft from version {latest.version} and make the changes there, "
            "so that version's changes are not undone."
        )
    return None


def submit(draft_id: int, expected_version: int, actor: User, note: str | None = None) -> Draft:
    """Ask for approval. Refused (422, the problem list) while the draft has errors."""
    draft = _editable(draft_id, expected_version, actor, "submit a draft")
    stale = stale_reason(draft)
    if stale:
        raise Conflict(stale)
    files = draft_files(draft)
    model_checks.refuse_if_invalid(files)  # outside any transaction (it may take a while): re-checked below
    summary = diff_summary(draft_id)
    if not summary:
        raise Conflict("This draft changes nothing compared with the newest version: there is nothing to publish")
    with unit_of_work():
        draft = _editable(draft_id, expected_version, actor, "submit a draft")
        if bundle_hash(draft_files(draft)) != bundle_hash(files):
            raise Conflict("Someone changed this draft while it was being checked. Reload it and submit it again.")
        draft.status = "awaiting_approval"
        draft.submitted_by, draft.submitted_at = actor.id, CLOCK.now()
        draft.note = (note or "").strip()[:1000] or None
        draft.content_hash = bundle_hash(files)
        draft.diff = summary
        _touch(draft, actor)
        _event(draft, "submitted", actor, {"content_hash": draft.content_hash, "diff": summary}, note=draft.note)
        history.record(
            EventType.MODEL_DRAFT_SUBMITTED,
            actor=actor,
            detail={"draft_id": draft.id, "content_hash": draft.content_hash, "changes": len(summary)},
        )
    return draft


def approve(
    draft_id: int,
    actor: User,
    note: str | None = None,
    expected_version: int | None = None,
    content_hash: str | None = None,
) -> Deployment:
    """A service manager who is none of the draft's authors, editors or its submitter approves the
    content they reviewed, named by its hash (`content_hash`, shown on the page and in the API; the
    API and the page always send it): the draft is deployed as a new immutable version. 409 when
    the draft changed since (another hash), 403 for an author."""
    _require_manager(actor, "approve a draft")
    draft = get(draft_id)
    if draft.status != "awaiting_approval":
        raise Conflict(f"This draft is {draft.status.replace('_', ' ')}, not awaiting approval")
    if expected_version is not None and int(expected_version) != draft.lock_version:
        raise Conflict("This draft changed since you opened it. Reload it and review it again.")
    refusal = approval_refusal(draft, actor)
    if refusal:
        permissions.deny(actor, "approve_own_draft", message=refusal, draft_id=draft.id)
    if content_hash is not None and content_hash != draft.content_hash:
        raise Conflict(
            "This draft's content is not the content you reviewed: it was changed and submitted again "
            "since. Reload it, review the changes and approve the new content.",
            {"content_hash": draft.content_hash},
        )
    stale = stale_reason(draft)
    if stale:
        raise Conflict(stale)
    files = draft_files(draft)
    if bundle_hash(files) != draft.content_hash:
        raise Conflict("The draft's files are not the ones that were submitted: it cannot be approved")
    latest = deployments.latest()
    if latest is not None and latest.bundle_hash == draft.content_hash:
        raise Conflict(f"Version {latest.version} already has exactly these files: there is nothing to publish")
    summary = diff_summary(draft_id)
    note = (note or "").strip()[:1000] or None
    draft_id_ = draft.id

    def record(deployment: Deployment) -> None:
        row = db.session.get_one(Draft, draft_id_)
        # The checks ran outside any transaction: the draft must still be the one that was checked.
        if row.status != "awaiting_approval" or row.content_hash != bundle_hash(files):
            raise Conflict("This draft changed while it was being checked: reload it and review it again.")
        row.status = "published"
        row.reviewed_by, row.reviewed_at, row.review_note = actor.id, CLOCK.now(), note
        row.deployment_id = deployment.id
        row.diff = summary
        _touch(row, actor)
        _event(
            row, "approved", actor, {"version": deployment.version, "content_hash": deployment.bundle_hash}, note=note
        )
        history.record(
            EventType.MODEL_PUBLISHED,
            actor=actor,
            detail={
                "draft_id": row.id,
                "version": deployment.version,
                "content_hash": deployment.bundle_hash,
                "publisher": user_name(row.submitted_by),
                "approver": actor.username,
                "changes": summary,
            },
        )

    deployment, created = deployments.deploy(
        files, actor=actor, note=f"draft {draft_id_}: {draft.note or ''}".strip(), on_deployed=record
    )
    if not created:
        raise Conflict("These files are already deployed: there is nothing to publish")
    return deployment


def reject(draft_id: int, actor: User, note: str | None = None) -> Draft:
    """Send a submitted draft back for more editing, with the reviewer's reason."""
    _require_manager(actor, "review a draft")
    with unit_of_work():
        draft = get(draft_id)
        if draft.status != "awaiting_approval":
            raise Conflict(f"This draft is {draft.status.replace('_', ' ')}, not awaiting approval")
        note = (note or "").strip()
        if not note:
            raise Invalid({"note": ["Say why the draft is sent back"]})
        draft.status = "editing"
        draft.reviewed_by, draft.reviewed_at, draft.review_note = actor.id, CLOCK.now(), note[:1000]
        _touch(draft, actor)
        _event(draft, "rejected", actor, note=draft.review_note)
        history.record(EventType.MODEL_DRAFT_REJECTED, actor=actor, detail={"draft_id": draft.id})
    return draft


def publications() -> list[dict[str, Any]]:
    """Every deployed version with its hash, publisher, approver, time and diff summary."""
    rows = db.session.execute(select(Deployment).order_by(Deployment.version.desc())).scalars().all()
    drafts = {
        d.deployment_id: d for d in db.session.execute(select(Draft).where(Draft.deployment_id.is_not(None))).scalars()
    }
    result = []
    for dep in rows:
        draft = drafts.get(dep.id)
        result.append(
            {
                "version": dep.version,
                "bundle_hash": dep.bundle_hash,
                "created_at": dep.created_at,
                "created_by": dep.created_by,
                "note": dep.note,
                "publisher": user_name(draft.submitted_by) if draft else dep.created_by,
                "approver": user_name(draft.reviewed_by) if draft else None,
                "approved_at": draft.reviewed_at if draft else None,
                "draft_id": draft.id if draft else None,
                "diff": list(draft.diff or []) if draft else [],
                "files": [f.path for f in dep.files],
            }
        )
    return result


def catalogue(version: int | None = None) -> dict[str, list[dict]]:
    """Processes, decisions and forms of a deployed version, each with the versions that changed it."""
    deps = db.session.execute(select(Deployment).order_by(Deployment.version)).scalars().all()
    if not deps:
        return {"processes": [], "decisions": [], "forms": [], "tests": []}
    changed_in: dict[str, list[int]] = {}
    previous: dict[str, int] = {}
    for dep in deps:
        for f in dep.files:
            if previous.get(f.path) != f.model_file_id:
                changed_in.setdefault(f.path, []).append(dep.version)
            previous[f.path] = f.model_file_id
        previous = {f.path: f.model_file_id for f in dep.files}
    current = deps[-1] if version is None else next((d for d in deps if d.version == version), deps[-1])
    groups: dict[str, list[dict]] = {"processes": [], "decisions": [], "forms": [], "tests": []}
    for f in current.files:
        group = (
            "processes"
            if f.path.endswith(".bpmn")
            else "tests"
            if f.path.endswith(".tests.json")
            else "decisions"
            if f.path.endswith(".dmn")
            else "forms"
        )
        groups[group].append(
            {
                "path": f.path,
                "name": f.path.rsplit("/", 1)[-1],
                "versions": changed_in.get(f.path, []),
                "content_hash": f.model_file.content_hash,
            }
        )
    return groups


# --------------------------------------------------------------------------- what-if


@dataclass
class WhatIfChange:
    instance_id: int | None
    at: Any
    old_outputs: dict
    new_outputs: dict


@dataclass
class WhatIf:
    decision_id: str
    evaluated: int = 0
    changed: int = 0
    errors: int = 0
    changes: list[WhatIfChange] = field(default_factory=list)


def _draft_decision(draft: Draft, decision_id: str) -> dmn.DecisionTable:
    for path, content in sorted(draft_files(draft).items()):
        if not path.endswith(".dmn"):
            continue
        try:
            table = dmn.parse_decision(parse_model_xml(content, path).getroot())
        except (ModelError, dmn.DecisionError, Exception):  # a broken file is validate()'s to report
            continue
        if table.decision_id == decision_id:
            return table
    raise NotFound(f"The draft has no decision {decision_id!r}")


def what_if(draft_id: int, decision_id: str, last_n: int = 100) -> WhatIf:
    """Replay the recorded inputs of the last `last_n` evaluations of the decision against the
    draft's table: how many outcomes would change, and which (instance, old and new outputs)."""
    last_n = max(1, min(int(last_n), 1000))
    table = _draft_decision(get(draft_id), decision_id)
    evaluator = engine_host.evaluator()
    result = WhatIf(decision_id=decision_id)
    query = (
        select(HistoryEvent)
        .where(HistoryEvent.type == EventType.DECISION_EVALUATED)
        .order_by(HistoryEvent.id.desc())
        .execution_options(yield_per=200)
    )
    recorded_cases: list[tuple[Any, Any, dict, dict]] = []
    scanned = 0
    for event in db.session.execute(query).scalars():
        scanned += 1
        if scanned > last_n * 50 or len(recorded_cases) >= last_n:
            break
        detail = event.detail or {}
        if detail.get("decision_id") != decision_id:
            continue
        recorded_cases.append(
            (event.instance_id, event.at, dict(detail.get("inputs") or {}), dict(detail.get("outputs") or {}))
        )
    # The draft's expressions run with no transaction open (no lock held) and within one validation budget.
    model_checks.end_read_transaction()
    with validation_budget():
        for instance_id, at, recorded, old in recorded_cases:

            def evaluate(source: str, names, _recorded=recorded):
                key = source.strip()
                if key in _recorded:  # the value the input had when it was decided
                    return _recorded[key]
                return evaluator.evaluate(source, names)

            data = {k: v for k, v in recorded.items() if k.isidentifier()}
            result.evaluated += 1
            try:
                new = dict(dmn.evaluate_decision(table, data, evaluate).outputs)
            except Exception as err:  # DecisionError / ExpressionError: the draft could not decide this case
                result.errors += 1
                new = {"error": str(err)}
            if new != old:
                result.changed += 1
                result.changes.append(WhatIfChange(instance_id, at, old, new))
    return result


# --------------------------------------------------------------------------- deploy from outside the browser


def propose(actor: User, files: dict[str, bytes], note: str | None = None, *, replace: bool = False) -> Draft:
    """Submit a model set for approval in one step (POST /api/v1/deployments): the uploaded files
    added to (or, with `replace`, instead of) the newest version's. Refused (422, every problem)
    when invalid, with nothing created; a different service manager then approves it."""
    _require_manager(actor, "deploy models")
    for path in files:
        problem = model_checks.path_problem(path)
        if problem:
            raise Invalid({path: [problem]}, message=f"{path!r} is not a model file name: {problem}")
    latest = deployments.latest()
    latest_id = latest.id if latest else None
    merged = {} if replace or latest is None else {f.path: f.model_file.content for f in latest.files}
    merged.update(files)
    model_checks.refuse_if_invalid(merged)  # outside any transaction (it may take a while): re-checked below
    if latest is not None and latest.bundle_hash == bundle_hash(merged):
        raise Conflict(f"Version {latest.version} already has exactly these files: there is nothing to deploy")
    old = {f.path: f.model_file.content for f in latest.files} if latest else {}
    summary = diff_model_sets(old, merged)
    now = CLOCK.now()
    with unit_of_work():
        current = deployments.latest()
        if (current.id if current else None) != latest_id:
            raise Conflict(
                "A new version was published while your files were being checked: send them again so "
                "they are checked against it."
            )
        draft = Draft(
            status="awaiting_approval",
            base_version=latest.version if latest else None,
            created_by=actor.id,
            created_at=now,
            updated_at=now,
            updated_by=actor.id,
            submitted_by=actor.id,
            submitted_at=now,
            note=(note or "").strip()[:1000] or None,
            content_hash=bundle_hash(merged),
            diff=summary,
        )
        db.session.add(draft)
        db.session.flush()
        for path, content in sorted(merged.items()):
            db.session.add(DraftFile(draft_id=draft.id, path=path, model_file_id=_stored(content).id))
        _event(draft, "created", actor, {"from_version": draft.base_version, "uploaded": sorted(files)})
        _event(draft, "submitted", actor, {"content_hash": draft.content_hash, "diff": summary}, note=draft.note)
        history.record(
            EventType.MODEL_DRAFT_SUBMITTED,
            actor=actor,
            detail={"draft_id": draft.id, "content_hash": draft.content_hash, "changes": len(summary)},
        )
    return draft


def describe(draft: Draft, *, with_problems: bool = True) -> dict[str, Any]:
    """A draft as the API and the problems page show it."""
    return {
        "id": draft.id,
        "status": draft.status,
        "lock_version": draft.lock_version,
        "base_version": draft.base_version,
        "created_by": user_name(draft.created_by),
        "submitted_by": user_name(draft.submitted_by),
        "authors": authors(draft),
        "reviewed_by": user_name(draft.reviewed_by),
        "note": draft.note,
        "review_note": draft.review_note,
        "content_hash": draft.content_hash,
        "files": [f.path for f in draft.files],
        "version": db.session.get_one(Deployment, draft.deployment_id).version if draft.deployment_id else None,
        "diff": diff_summary(draft.id) if draft.status != "discarded" else [],
        "problems": [p.as_dict() for p in validate(draft.id)] if with_problems else [],
    }
