"""Case history for auditors and managers: every view recorded, the timeline, its exports, and
the tamper check behind `mash audit verify`.

Views: one request hook (app/web/audit/audit.py) calls `record_view` for every page and API read that
shows a case; the event holds ids and the route, never case content. Denied reads are recorded
as `access_denied` by the services that refuse them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import cast, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import HistoryEvent, HistoryHead, ProcessInstance, TaskRecord, User
from app.services.access import access, break_glass, permissions
from app.services.cases import case_view, persist
from app.services.core import engine_host, forms, history
from app.services.core.attachments import Attachment
from app.services.core.clock import LONDON
from app.services.core.events import EventType
from app.services.core.transaction import unit_of_work
from app.services.partners import disputes

E = EventType
# list_viewed: one event per list shown, naming its cases (detail["instances"]), chain 0
VIEW_TYPES = frozenset({E.VIEWED, E.LIST_VIEWED, E.INSTANCE_VIEWED, E.HISTORY_VIEWED})
TIMELINE_ROLES = permissions.roles_for("audit.timeline")
RESTRICTED = "[restricted: held inside the MASH]"

# Where a case was read (request endpoint → what the person saw).
ROUTES: dict[Any, str] = {  # looked up with the route an event recorded
    "web.case": "Case page",
    "web.task": "Task page",
    "web.complete": "Task page (form sent back)",
    "web.send_message": "Task page (message sent back)",
    "web.raise_dispute": "Case page (dispute form sent back)",
    "web.handover_package": "Handover package page",
    "web.audit_timeline": "History timeline page",
    "instances.get": "API: case",
    "instances.history": "API: case history",
    "instances.handover_package": "API: handover package",
    "tasks.list_tasks": "API: tasks",
    "audit_api.timeline": "API: history timeline",
    "web.inbox": "Inbox page",
    "web.agency_answers_list": "Agency answers list page",
    "web.case_diagram": "Case diagram page",
    "web.agency_answer": "Agency answer page",
    "web.earlier_answer": "Earlier answer page",
    "web.task_letter_pdf": "Letter (PDF)",
    "web.audit_home": "Find a case results",
}
LABELS: dict[str, str] = {
    E.INSTANCE_STARTED: "Started",
    E.INSTANCE_ENDED: "Ended",
    E.TASK_READY: "Task ready",
    E.TASK_COMPLETED: "Task completed",
    E.DECISION_EVALUATED: "Decision",
    E.ROUTE_TAKEN: "Route taken",
    E.ALERT_RAISED: "Alert raised",
    E.TIMER_FIRED: "Timer fired",
    E.TIMER_FAILED: "Timer failed",
    E.TASK_OVERDUE: "Task overdue",
    E.OVERDUE_FAILED: "Overdue review not started",
    E.TASK_DUE_CHANGED: "Due time changed",
    E.TASK_CLAIMED: "Task picked up",
    E.TASK_UNCLAIMED: "Task released",
    E.TASK_ASSIGNED: "Task assigned",
    E.LIST_VIEWED: "Seen in a list",
    E.TASK_WITHDRAWN: "Task withdrawn",
    E.MESSAGE_SENT: "Message sent",
    E.RAG_CHANGED: "RAG changed",
    E.DISPUTE_RAISED: "Dispute raised",
    E.DISCLOSED: "Information disclosed",
    E.ACCESS_DENIED: "Access refused",
    E.VIEWED: "Viewed",
    E.INSTANCE_VIEWED: "Viewed",
    E.HISTORY_VIEWED: "Viewed",
    E.EXPORTED: "History exported",
    E.BREAK_GLASS_OPENED: "Emergency access (break-glass)",
    E.BREAK_GLASS_REVIEWED: "Emergency access reviewed",
}
# Detail keys rendered on their own (changes, decisions) or not worth a line.
_SPECIAL = {"values", "before", "fields", "inputs", "outputs", "title"}


# ---- views -------------------------------------------------------------------------------------


def instance_of_task(task_id: str) -> int | None:
    return db.session.execute(select(TaskRecord.instance_id).where(TaskRecord.id == task_id)).scalar_one_or_none()


def record_view(user: User, instance_ids: Iterable[int], route: str, *, via: str, task_id: str | None = None) -> None:
    """One `viewed` event per case read, in one transaction: who (the actor), when, which page or
    API endpoint, and the stated purpose when the case was opened by break-glass."""
    ids = sorted({i for i in instance_ids if i is not None})
    if not ids:
        return
    with unit_of_work():
        for instance_id in ids:
            detail: dict[str, Any] = {"route": route, "via": via}
            grant = break_glass.active_grant(user, instance_id) if break_glass.may_break_glass(user) else None
            if grant is not None and not _has_need_to_know(user, instance_id):
                detail.update({"break_glass": grant.event_id, "purpose": grant.reason})
            break_glass.lock_chain(instance_id)
            history.record(E.VIEWED, instance_id=instance_id, actor=user, task_id=task_id, detail=detail)


def record_list_view(user: User, instance_ids: Iterable[int], route: str, *, via: str, page: dict) -> None:
    """One `list_viewed` event for a list shown (App. F: who saw what): the cases it named and which
    page. It belongs to no case's chain (chain 0), so it locks none of them; each case's timeline
    finds it by the ids (`lists_naming`). Lists show only tasks the user may work on: never
    break-glass."""
    ids = sorted({i for i in instance_ids if i is not None})
    if not ids:
        return
    with unit_of_work():
        history.record(E.LIST_VIEWED, actor=user, detail={"route": route, "via": via, "instances": ids, "page": page})


def lists_naming(instance_ids: Iterable[int], since_id: int = 0) -> list[HistoryEvent]:
    """The `list_viewed` events that showed any of these cases (after event `since_id`), oldest first."""
    ids = sorted(set(instance_ids))
    if not ids:
        return []
    stmt = select(HistoryEvent).where(
        HistoryEvent.type == E.LIST_VIEWED, HistoryEvent.instance_id.is_(None), HistoryEvent.id > since_id
    )
    if db.engine.dialect.name == "postgresql":  # GIN index on (detail::jsonb -> 'instances') for list_viewed
        listed = cast(HistoryEvent.detail, JSONB).op("->", return_type=JSONB)(literal_column("'instances'"))
        stmt = stmt.where(or_(*[listed.contains([i]) for i in ids]))
    else:  # SQLite: JSON1
        member = func.json_each(HistoryEvent.detail, "$.instances").table_valued("value")
        stmt = stmt.where(select(member.c.value).where(member.c.value.in_(ids)).exists())
    return list(db.session.execute(stmt.order_by(HistoryEvent.id)).scalars())


def _has_need_to_know(user: User, instance_id: int) -> bool:
    instance = db.session.get(ProcessInstance, instance_id)
    return instance is not None and access.need_to_know(user, instance)


# ---- the timeline ------------------------------------------------------------------------------


@dataclass
class Entry:
    id: int
    at: datetime
    type: str
    label: str
    headline: str
    actor: str | None
    source: str
    instance_id: int | None
    bpmn_id: str | None
    task_id: str | None
    lines: list[tuple[str, str]] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    hash: str = ""
    prev_hash: str | None = None

    def text(self) -> str:
        """Everything in the entry as plain lines (CSV and PDF)."""
        parts = [f"{k}: {v}" for k, v in self.lines]
        parts += [change_text(c) for c in self.changes]
        if self.unchanged:
            parts.append("unchanged: " + ", ".join(self.unchanged))
        return "; ".join(parts)


def change_text(change: dict) -> str:
    if change["had_before"]:
        return f"{change['field']}: {change['before']} -> {change['after']}"
    return f"{change['field']}: {change['after']}"


def may_read_timeline(user: User, instance_id: int | None = None) -> bool:
    """Auditors and managers may open any case history they may view; whoever works on a case inside
    the MASH (need-to-know: a task of theirs on it, or they recorded it) may open that case's history.
    Partner agencies and receiving teams do not: the history holds the MASH's own reasoning."""
    if user.roles & TIMELINE_ROLES:
        return True
    if instance_id is None or not access.inside_firewall(user):
        return False
    instance = db.session.get(ProcessInstance, instance_id)
    return instance is not None and access.need_to_know(user, instance)


def _case_for_timeline(user: User, instance_id: int) -> ProcessInstance:
    instance = case_view.get_instance(user, instance_id)  # 404 (and recorded) unless need-to-know or break-glass
    if not may_read_timeline(user, instance_id):
        permissions.deny(
            user,
            "timeline",
            instance_id=instance_id,
            message="The case history is for auditors, managers and whoever works on the case",
        )
    return instance


def contains(value: Any, names: frozenset[str]) -> bool:
    if isinstance(value, dict):
        return any(k in names or contains(v, names) for k, v in value.items())
    if isinstance(value, list):
        return any(contains(v, names) for v in value)
    return False


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def fmt(value: Any) -> str:
    if _empty(value):
        return "(empty)"
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(LONDON).strftime("%-d %b %Y %H:%M")
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def _shown(value: Any, name: str, sensitive: frozenset[str], inside: bool) -> tuple[Any, bool]:
    """The value as this reader may see it, and whether it is (or holds) restricted information."""
    restricted = name in sensitive or contains(value, sensitive)
    if not restricted or inside:
        return value, restricted
    return (RESTRICTED if name in sensitive else access.redact(value, sensitive)), restricted


def _headline(event: HistoryEvent, detail: dict) -> str:
    t = event.type
    if t in (E.TASK_COMPLETED, E.TASK_WITHDRAWN, E.TASK_OVERDUE):
        return detail.get("title") or event.bpmn_id or ""
    if t == E.DECISION_EVALUATED:
        return f"{detail.get('decision_id')} (rules {', '.join(detail.get('matched_rules') or []) or 'none'})"
    if t == E.ROUTE_TAKEN:
        return f"{detail.get('gateway') or event.bpmn_id} → {fmt(detail.get('to'))}"
    if t == E.RAG_CHANGED:
        return f"{detail.get('from') or 'none'} → {detail.get('to') or 'none'}"
    if t in (E.VIEWED, E.EXPORTED):
        return ROUTES.get(detail.get("route"), detail.get("route") or detail.get("format") or "")
    if t == E.ACCESS_DENIED:
        return str(detail.get("action") or "")
    if t in (
        E.TASK_READY,
        E.TIMER_FIRED,
        E.TASK_DUE_CHANGED,
        E.TASK_CLAIMED,
        E.TASK_UNCLAIMED,
        E.TASK_ASSIGNED,
        E.MESSAGE_SENT,
        E.TIMER_FAILED,
        E.OVERDUE_FAILED,
    ):
        return event.bpmn_id or ""
    if t == E.BREAK_GLASS_REVIEWED:
        return break_glass.OUTCOMES.get(detail.get("outcome"), "")
    return ""


def _entry(event: HistoryEvent, source: str, sensitive: frozenset[str], inside: bool) -> Entry:
    detail = dict(event.detail or {})
    entry = Entry(
        id=event.id,
        at=event.at,
        type=event.type,
        label=LABELS.get(event.type, event.type.replace("_", " ")),
        headline=_headline(event, detail),
        actor=event.actor,
        source=source,
        instance_id=event.instance_id,
        bpmn_id=event.bpmn_id,
        task_id=event.task_id,
        hash=event.hash,
        prev_hash=event.prev_hash,
    )
    if "values" in detail:  # a form sent: each field, before → after
        values, before = detail.get("values") or {}, detail.get("before")
        for name in detail.get("fields") or sorted(values):
            after, restricted = _shown(values.get(name), name, sensitive, inside)
            old, old_restricted = _shown((before or {}).get(name), name, sensitive, inside)
            old_value, new_value = (before or {}).get(name), values.get(name)
            if before is not None and (old_value == new_value or (_empty(old_value) and _empty(new_value))):
                entry.unchanged.append(name)
                continue
            entry.changes.append(
                {
                    "field": name,
                    "before": fmt(old) if before is not None else None,
                    "had_before": before is not None,
                    "after": fmt(after),
                    "restricted": restricted or old_restricted,
                }
            )
    for key in ("inputs", "outputs"):
        for name, value in sorted((detail.get(key) or {}).items()):
            shown, restricted = _shown(value, name, sensitive, inside)
            entry.lines.append((f"{key[:-1]} {name}", fmt(shown) + (" (restricted)" if restricted and inside else "")))
    for key, value in detail.items():
        if key in _SPECIAL or _empty(value):
            continue
        if key == "route":
            value = f"{ROUTES.get(value, value)} ({value})"
        shown, restricted = _shown(value, key, sensitive, inside)
        entry.lines.append((key.replace("_", " "), fmt(shown)))
    return entry


def _list_entry(event: HistoryEvent, sources: dict[int, str]) -> Entry:
    """A list that showed this case: where, and how many cases it showed (not which others)."""
    detail = event.detail or {}
    shown = [i for i in detail.get("instances") or [] if i in sources]
    route = detail.get("route")
    return Entry(
        id=event.id,
        at=event.at,
        type=event.type,
        label=LABELS[E.LIST_VIEWED],
        headline=ROUTES.get(route, route or ""),
        actor=event.actor,
        source=sources[shown[0]],
        instance_id=None,
        bpmn_id=None,
        task_id=None,
        hash=event.hash,
        prev_hash=event.prev_hash,
        lines=[
            ("route", f"{ROUTES.get(route, route)} ({route})"),
            ("via", str(detail.get("via") or "")),
            ("cases in the list", str(len(detail.get("instances") or []))),
        ],
    )


def timeline(user: User, instance_id: int, *, for_export: bool = False) -> dict:
    """Every event of the case and of its disputes, in the order they were written. Restricted
    (x-sensitive) values are shown only to readers inside the MASH firewall, and never exported:
    a file can leave the MASH (reference/security.md §2)."""
    instance = _case_for_timeline(user, instance_id)
    inside = access.inside_firewall(user) and not for_export
    sources = {instance.id: "Case"}
    for dispute in disputes.for_case(instance.id):
        sources[dispute.id] = f"Dispute {dispute.id}"
    sensitive: frozenset[str] = frozenset()
    for iid in sources:
        row = db.session.get_one(ProcessInstance, iid)
        sensitive |= forms.sensitive_fields_of(engine_host.bundle_for(row.deployment_id))
    events = list(
        db.session.execute(
            select(HistoryEvent).where(HistoryEvent.instance_id.in_(sorted(sources))).order_by(HistoryEvent.id)
        ).scalars()
    )
    entries = [_entry(e, sources[e.instance_id], sensitive, inside) for e in events if e.instance_id is not None]
    first = min((e.id for e in events), default=0)  # a case is listed only after it started
    for listed in lists_naming(sources, since_id=first - 1):
        entries.append(_list_entry(listed, sources))
    entries.sort(key=lambda e: e.id)
    return {
        "instance": instance,
        "entries": entries,
        "process_id": instance.process_id,
        "version": persist.engine_host_version(instance.deployment_id),
        "inside_firewall": inside,
        "chain_intact": all(verify_instance(i) is None for i in sources),
    }


# ---- exports -----------------------------------------------------------------------------------


def _record_export(user: User, instance_id: int, fmt_name: str, count: int) -> None:
    with unit_of_work():
        break_glass.lock_chain(instance_id)
        history.record(E.EXPORTED, instance_id=instance_id, actor=user, detail={"format": fmt_name, "entries": count})


def _cell(value: Any) -> str:
    """Spreadsheet-safe text: a cell starting with = + - @ would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(user: User, instance_id: int) -> Attachment:
    view = timeline(user, instance_id, for_export=True)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "entry",
            "at_utc",
            "at_london",
            "source",
            "instance",
            "event",
            "summary",
            "actor",
            "step",
            "task",
            "details",
            "hash",
            "previous_hash",
        ]
    )
    for e in view["entries"]:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    e.id,
                    e.at.isoformat(),
                    e.at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S"),
                    e.source,
                    e.instance_id,
                    e.label,
                    e.headline,
                    e.actor,
                    e.bpmn_id,
                    e.task_id,
                    e.text(),
                    e.hash,
                    e.prev_hash,
                )
            ]
        )
    _record_export(user, instance_id, "csv", len(view["entries"]))
    return Attachment(f"case-{instance_id}-history.csv", "text/csv", out.getvalue().encode("utf-8-sig"))


def _latin1(text: str) -> str:
    text = text.replace("→", "->").replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return text.encode("latin-1", "replace").decode("latin-1")


def export_pdf(user: User, instance_id: int) -> Attachment:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    view = timeline(user, instance_id, for_export=True)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Case {instance_id} history")
    pdf.set_author("MASH front door")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(width, 8, _latin1(f"Case {instance_id}: complete history"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    now = CLOCK.now().astimezone(LONDON).strftime("%d %b %Y %H:%M")
    pdf.multi_cell(
        width,
        5,
        _latin1(
            f"Process {view['process_id']} version {view['version']}. Exported {now} (London) by {user.username}. "
            f"OFFICIAL-SENSITIVE. Restricted information held inside the MASH is not exported. "
            f"{len(view['entries'])} entries; hash chain "
            f"{'intact' if view['chain_intact'] else 'BROKEN - run mash audit verify'}."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)
    for e in view["entries"]:
        pdf.set_font("Helvetica", "B", 10)
        when = e.at.astimezone(LONDON).strftime("%d %b %Y %H:%M:%S")
        pdf.multi_cell(
            width,
            5,
            _latin1(f"{when}  {e.label}{': ' + e.headline if e.headline else ''}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_font("Helvetica", "", 9)
        meta = f"#{e.id} {e.source} - by {e.actor or 'system'}" + (f" - step {e.bpmn_id}" if e.bpmn_id else "")
        pdf.multi_cell(width, 4.5, _latin1(meta), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for c in e.changes:
            pdf.multi_cell(width, 4.5, _latin1("  " + change_text(c)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if e.unchanged:
            pdf.multi_cell(
                width, 4.5, _latin1("  unchanged: " + ", ".join(e.unchanged)), new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
        for key, value in e.lines:
            pdf.multi_cell(width, 4.5, _latin1(f"  {key}: {value}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)
    _record_export(user, instance_id, "pdf", len(view["entries"]))
    return Attachment(f"case-{instance_id}-history.pdf", "application/pdf", bytes(pdf.output()))


# ---- tamper evidence ---------------------------------------------------------------------------


@dataclass
class Break:
    entry_id: int | None
    instance_id: int | None
    type: str | None
    reason: str

    def __str__(self) -> str:
        return (
            f"entry {self.entry_id if self.entry_id is not None else '?'} "
            f"(instance {self.instance_id if self.instance_id is not None else 'none'}, "
            f"type {self.type or 'unknown'}): {self.reason}"
        )


@dataclass
class Verification:
    entries: int = 0
    chains: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def first(self) -> Break | None:
        return min(self.breaks, key=lambda b: (b.entry_id is None, b.entry_id or 0), default=None)


@dataclass
class _Chain:
    key: int
    prev: str | None = None
    entries: int = 0
    id_sum: int = 0
    last_id: int | None = None
    last_hash: str | None = None
    broken: Break | None = None


def verify() -> Verification:
    """Check every instance's hash chain and the events without an instance against the
    trigger-kept anchors: an edited row, a removed row (the newest included) or a removed anchor
    is a break. Reads in batches; changes nothing."""
    result = Verification()
    heads = {h.chain: h for h in db.session.execute(select(HistoryHead)).scalars()}
    chain_key = func.coalesce(HistoryEvent.instance_id, 0)
    rows = db.session.execute(
        select(HistoryEvent).order_by(chain_key, HistoryEvent.id).execution_options(yield_per=2000)
    ).scalars()
    current: _Chain | None = None
    for event in rows:
        key = event.instance_id or 0
        if current is None or current.key != key:
            if current is not None:
                _finish(current, heads.pop(current.key, None), result)
            current = _Chain(key)
        _check(current, event)
        result.entries += 1
    if current is not None:
        _finish(current, heads.pop(current.key, None), result)
    for head in heads.values():  # anchors whose every entry is gone
        result.chains += 1
        result.breaks.append(
            Break(
                head.head_id,
                head.chain or None,
                head.head_type,
                f"all {head.entries} entries of this chain are missing",
            )
        )
    return result


def _check(chain: _Chain, event: HistoryEvent) -> None:
    expected_prev = chain.prev if chain.key else None
    if chain.broken is None:
        if event.prev_hash != expected_prev:
            chain.broken = Break(
                event.id,
                event.instance_id,
                event.type,
                "the entry before it is missing or was altered (previous hash does not match)",
            )
        elif event.hash != history._digest(
            expected_prev, event.at, event.type, event.actor, event.bpmn_id, event.task_id, event.detail
        ):
            chain.broken = Break(
                event.id, event.instance_id, event.type, "altered: its content does not match its hash"
            )
    chain.prev = event.hash
    chain.entries += 1
    chain.id_sum += event.id
    chain.last_id, chain.last_hash = event.id, event.hash


def _finish(chain: _Chain, head: HistoryHead | None, result: Verification) -> None:
    result.chains += 1
    instance = chain.key or None
    missing = (head.entries - chain.entries) if head is not None else 0
    if head is None:
        result.breaks.append(
            chain.broken
            or Break(chain.last_id, instance, None, "its chain anchor is missing (history_heads row removed)")
        )
        return
    if missing == 1 and (chain.broken is None or chain.broken.reason.startswith("the entry before")):
        gone = head.id_sum - chain.id_sum
        newest = gone == head.head_id
        after = f" (the chain jumps to entry {chain.broken.entry_id})" if chain.broken and not newest else ""
        result.breaks.append(
            Break(
                gone,
                instance,
                head.head_type if newest else None,
                ("deleted: it was the newest entry of this chain" if newest else "deleted") + after,
            )
        )
        return
    if chain.broken is not None:
        result.breaks.append(chain.broken)
        return
    if missing > 0:
        result.breaks.append(
            Break(head.head_id if head.head_id != chain.last_id else None, instance, None, f"{missing} entries deleted")
        )
    elif (
        missing < 0 or head.id_sum != chain.id_sum or head.head_id != chain.last_id or head.head_hash != chain.last_hash
    ):
        result.breaks.append(
            Break(
                chain.last_id,
                instance,
                None,
                "does not match the chain anchor (rows written or replaced outside the application)",
            )
        )


def verify_instance(instance_id: int) -> Break | None:
    """The first break in one instance's chain (its anchor included), or None."""
    chain = _Chain(instance_id)
    for event in history.for_instance(instance_id):
        _check(chain, event)
    head = db.session.get(HistoryHead, instance_id)
    if head is None and chain.entries == 0:
        return None
    result = Verification()
    _finish(chain, head, result)
    return result.first
