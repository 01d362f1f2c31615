"""Oversight figures for managers, the service manager and auditors (spec §8, seed §5, §16, App. D).

One function per figure, each computed from the database for a period of whole London days:
contacts and front-door instances (`case_data` names from spec §10), the task projection (due
and completion times), history (decision times, exports) and the case index (children across
contacts). Figures carry counts only — never case content — and each can be exported as CSV.

Names the figures read (spec §10 data dictionary and the front-door model):
- a contact's children are its `front_door` instances; the period is the contact's `received_at`;
- the outcome is recorded when the case reaches the `handover_gw` gateway (right after the outcome is
  set and written to the case index) or, for pass-ons, the `letters_gw` gateway that every outcome
  passes before letters (their `route_taken` history events);
- the decision about the type of response is made at the Stage 1 sign-off: `signed_off_at` (the agreeing
  sign-off, which for a Stage 2 route is the decision to share information; once the Stage 2 review agrees
  the outcome, `signed_off_at` is that review and the Stage 1 time is `stage1_signed_off_at`) or, without a
  sign-off, with the outcome;
- `outcome`, `rag` (the RAG in force) and `outcome_due_at` on the instance; `is_referral`;
- partner answers are tasks with an `agency`; a manager's agreement to keep a contact open is the
  `agree_contact_stays_open` form's `stay_open_agreed`;
- disputes are `escalation` instances (`resolved_level` or `level`).
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import Contact, HistoryEvent, IndexContact, ProcessInstance, TaskRecord, User
from app.services.access import permissions
from app.services.core import history
from app.services.core.attachments import Attachment
from app.services.core.clock import LONDON, parse_instant
from app.services.core.errors import Forbidden, Invalid, NotFound
from app.services.core.events import EventType
from app.services.core.states import InstanceStatus, ProcessId, TaskState
from app.services.core.transaction import unit_of_work
from app.services.modelling import calendar_admin

OVERSIGHT_ROLES = permissions.roles_for("oversight.view")
OUTCOME_GATEWAYS = ("handover_gw", "letters_gw")  # the first one reached marks the outcome
STAY_OPEN_FORM = "agree_contact_stays_open.schema.json"
REFERRAL_OUTCOMES = ("s17_assessment", "s47_strategy", "previous_team")
PASS_ON_OUTCOMES = (
    "passed_to_allocated_worker",
    "information_given",
    "information_request_answered",
    "passed_to_domestic_abuse_screening",
)
RAG_ORDER = ("RED", "AMBER", "GREEN", "NONE")
TELLING_AND_HANDOVER_LANES = ("business_support", "receiving_team")


# -- the period -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days in London time, `start` and `end` inclusive."""

    start: date
    end: date

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time(0), LONDON).astimezone(UTC)

    @property
    def ends_at(self) -> datetime:  # exclusive
        return datetime.combine(self.end + timedelta(days=1), time(0), LONDON).astimezone(UTC)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.starts_at <= moment < self.ends_at

    @property
    def label(self) -> str:
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"


def last_calendar_month(today: date | None = None) -> Period:
    today = today or CLOCK.now().astimezone(LONDON).date()
    end = today.replace(day=1) - timedelta(days=1)
    return Period(end.replace(day=1), end)


def month_to_date(today: date | None = None) -> Period:
    """The current calendar month up to and including today (London): what the dashboard opens on."""
    today = today or CLOCK.now().astimezone(LONDON).date()
    return Period(today.replace(day=1), today)


def parse_period(values: dict[str, str]) -> Period:
    """From GOV.UK date inputs `from-day`, `from-month`, `from-year`, `to-…`; empty means this month to date."""
    if not any((values.get(f"{p}-{part}") or "").strip() for p in ("from", "to") for part in ("day", "month", "year")):
        return month_to_date()
    errors: dict[str, list[str]] = {}
    days: dict[str, date] = {}
    for prefix, label in (("from", "start"), ("to", "end")):
        parts = [(values.get(f"{prefix}-{part}") or "").strip() for part in ("day", "month", "year")]
        missing = [name for name, value in zip(("day", "month", "year"), parts, strict=False) if not value]
        if missing:
            errors[prefix] = [f"The {label} date must include a {' and '.join(missing)}"]
            continue
        try:
            days[prefix] = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            errors[prefix] = [f"The {label} date must be a real date"]
    if not errors and days["from"] > days["to"]:
        errors["to"] = ["The end date must be the same as or after the start date"]
    if not errors and (days["to"] - days["from"]).days > 731:
        errors["to"] = ["The period must be 2 years or shorter"]
    if errors:
        raise Invalid(errors, message="Check the dates")
    return Period(days["from"], days["to"])


# -- figures ----------------------------------------------------------------------------------


@dataclass
class Bar:
    label: str
    value: int
    of: int | None = None  # the denominator, when the bar is a share

    @property
    def percent(self) -> int | None:
        return None if not self.of else round(100 * self.value / self.of)


@dataclass
class Figure:
    id: str
    title: str
    description: str
    columns: list[str]
    rows: list[list]
    bars: list[Bar] = field(default_factory=list)
    summary: str = ""

    @property
    def scale(self) -> int:
        return max([b.of or b.value for b in self.bars] + [1])

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_csv_safe(v) for v in row])
        return out.getvalue()


def _csv_safe(value):
    """Neutralise spreadsheet formulas (values come from codes, but be safe)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


_instant = parse_instant


# -- shared queries ---------------------------------------------------------------------------


@dataclass
class _Case:
    instance: ProcessInstance
    contact: Contact
    decided_at: datetime | None
    outcome_at: datetime | None

    @property
    def data(self) -> dict:
        return self.instance.case_data or {}


def _cases(period: Period) -> list[_Case]:
    """Front-door instances (one per child) whose contact was received in the period."""
    rows = db.session.execute(
        select(ProcessInstance, Contact)
        .join(Contact, ProcessInstance.contact_id == Contact.id)
        .where(
            ProcessInstance.process_id == ProcessId.FRONT_DOOR,
            Contact.received_at >= period.starts_at,
            Contact.received_at < period.ends_at,
        )
        .order_by(ProcessInstance.id)
    ).all()
    ids = [instance.id for instance, _ in rows]
    reached: dict[int, datetime] = {}
    if ids:
        for instance_id, at in db.session.execute(
            select(HistoryEvent.instance_id, HistoryEvent.at)
            .where(
                HistoryEvent.instance_id.in_(ids),
                HistoryEvent.type == EventType.ROUTE_TAKEN,
                HistoryEvent.bpmn_id.in_(OUTCOME_GATEWAYS),
            )
            .order_by(HistoryEvent.id)
        ):
            if instance_id is not None:
                reached.setdefault(instance_id, at)
    result = []
    for instance, contact in rows:
        outcome_at = (reached.get(instance.id) or instance.ended_at) if instance.outcome else None
        data = instance.case_data or {}
        # after Stage 2 `signed_off_at` is the review that agreed the outcome; the decision about the type of
        # response (to share information) was the Stage 1 sign-off, kept as `stage1_signed_off_at`
        decided_at = _instant(data.get("stage1_signed_off_at") or data.get("signed_off_at")) or outcome_at
        result.append(_Case(instance, contact, decided_at, outcome_at))
    return result


def _decision_due(case: _Case) -> datetime:
    return calendar_admin.deadline(case.contact.received_at, "P1D", "working")


# -- the figures, one function each -----------------------------------------------------------


def decisions_within_one_working_day(period: Period) -> Figure:
    """Working Together: a decision about the type of response within one working day of receipt."""
    now = CLOCK.now()
    on_time = late = open_late = open_in_time = 0
    for case in _cases(period):
        due = _decision_due(case)
        if case.decided_at is not None:
            if case.decided_at <= due:
                on_time += 1
            else:
                late += 1
        elif now > due:
            open_late += 1
        else:
            open_in_time += 1
    total = on_time + late + open_late + open_in_time
    rows: list[list[Any]] = [
        ["Decided within one working day", on_time, _share(on_time, total)],
        ["Decided later", late, _share(late, total)],
        ["Not decided, past one working day", open_late, _share(open_late, total)],
        ["Not decided, still within one working day", open_in_time, _share(open_in_time, total)],
    ]
    return Figure(
        "decisions",
        "Decisions within one working day of receipt",
        "Children’s contacts received in the period: was the type of response decided within one working day "
        "(MASH calendar)?",
        ["Decision", "Contacts", "Share"],
        rows,
        [Bar(r[0], r[1], total) for r in rows],
        f"{on_time} of {total} decided within one working day ({_share(on_time, total)})",
    )


def outcomes_within_rag_timescale(period: Period) -> Figure:
    """MASH outcomes by their RAG's timescale (`outcome_due_at`), by colour."""
    counts: dict[str, Counter] = {rag: Counter() for rag in RAG_ORDER}
    for case in _cases(period):
        if case.outcome_at is None:
            continue
        rag = case.instance.rag if case.instance.rag in RAG_ORDER else "NONE"
        due = case.instance.outcome_due_at
        counts[rag]["on_time" if due is None or case.outcome_at <= due else "late"] += 1
    rows, bars = [], []
    for rag in RAG_ORDER:
        total = counts[rag]["on_time"] + counts[rag]["late"]
        label = "No RAG" if rag == "NONE" else rag
        rows.append([label, counts[rag]["on_time"], counts[rag]["late"], total, _share(counts[rag]["on_time"], total)])
        bars.append(Bar(f"{label}: on time", counts[rag]["on_time"], total))
    return Figure(
        "outcomes_by_rag",
        "MASH outcomes within their RAG timescale",
        "Outcomes decided for contacts received in the period, on time against the RAG’s timescale "
        "(RED 4 hours, AMBER and GREEN one working day, no RAG one working day).",
        ["RAG", "On time", "Late", "Outcomes", "Share on time"],
        rows,
        bars,
    )


def partner_answers_on_time(period: Period) -> Figure:
    """Partner agencies' answers to information requests (tasks with an agency) by their due time."""
    now = CLOCK.now()
    tasks = db.session.execute(
        select(TaskRecord).where(
            TaskRecord.agency.is_not(None),
            TaskRecord.created_at >= period.starts_at,
            TaskRecord.created_at < period.ends_at,
        )
    ).scalars()
    counts: dict[str, Counter] = defaultdict(Counter)
    for task in tasks:
        if task.state == TaskState.COMPLETED:
            key = "on_time" if _on_time(task) else "late"
        elif task.state == TaskState.READY:
            key = "open_overdue" if task.due_at is not None and now > task.due_at else "open"
        else:
            key = "withdrawn"
        counts[task.agency or ""][key] += 1
    rows, bars = [], []
    for agency in sorted(counts):
        c = counts[agency]
        answered = c["on_time"] + c["late"]
        due_by_now = answered + c["open_overdue"]
        rows.append(
            [
                agency,
                c["on_time"],
                c["late"],
                c["open_overdue"],
                c["open"],
                c["withdrawn"],
                _share(c["on_time"], due_by_now),
            ]
        )
        bars.append(Bar(agency.replace("_", " ").capitalize(), c["on_time"], due_by_now))
    return Figure(
        "partner_answers",
        "Partner answers on time, by agency",
        "Information requests to partner agencies made in the period: answered by the due time, "
        "answered late, still open past the due time, open and not yet due, withdrawn.",
        ["Agency", "On time", "Late", "Open, overdue", "Open, not yet due", "Withdrawn", "Share on time"],
        rows,
        bars,
    )


def open_over_one_working_day(period: Period) -> Figure:
    """Contacts kept open in the MASH past one working day, and whether a manager agreed (App. D 2.9)."""
    now = CLOCK.now()
    cases = _cases(period)
    over = []
    for case in cases:
        due = _decision_due(case)
        if (case.decided_at is not None and case.decided_at > due) or (case.decided_at is None and now > due):
            over.append(case)
    answers: dict[int | None, bool | None] = {}
    ids = [c.instance.id for c in over]
    if ids:
        completed = {
            t.id
            for t in db.session.execute(
                select(TaskRecord).where(
                    TaskRecord.instance_id.in_(ids),
                    TaskRecord.form == STAY_OPEN_FORM,
                    TaskRecord.state == TaskState.COMPLETED,
                )
            ).scalars()
        }
        for event in db.session.execute(
            select(HistoryEvent)
            .where(HistoryEvent.instance_id.in_(ids), HistoryEvent.type == EventType.TASK_COMPLETED)
            .order_by(HistoryEvent.id)
        ).scalars():
            if event.task_id in completed:
                agreed = ((event.detail or {}).get("values") or {}).get("stay_open_agreed")
                answers[event.instance_id] = bool(agreed) or answers.get(event.instance_id, False)
    agreed = sum(1 for c in over if answers.get(c.instance.id) is True)
    refused = sum(1 for c in over if answers.get(c.instance.id) is False)
    none = len(over) - agreed - refused
    rows: list[list[Any]] = [
        ["A manager agreed it stays open", agreed],
        ["A manager did not agree", refused],
        ["No manager decision recorded", none],
    ]
    return Figure(
        "open_over_one_day",
        "Contacts open in the MASH over one working day",
        "Children’s contacts received in the period that were still undecided one working day after "
        "receipt, and whether a MASH manager recorded agreement to keep them open.",
        ["Manager agreement", "Contacts"],
        rows,
        [Bar(r[0], r[1], len(over)) for r in rows],
        f"{len(over)} of {len(cases)} contacts open over one working day; {agreed} agreed by a manager",
    )


def _on_time(task: TaskRecord) -> bool:
    """A completed task was completed by its due time (or had none)."""
    return task.due_at is None or task.completed_at is None or task.completed_at <= task.due_at


def telling_and_handover_on_time(period: Period) -> Figure:
    """Acknowledgements, letters (business support's lane) and handovers (the receiving team's lane) by their
    due time, for children's contacts received in the period; one row per task."""
    now = CLOCK.now()
    ids = [case.instance.id for case in _cases(period)]
    counts: dict[str, Counter] = defaultdict(Counter)
    if ids:
        for task in db.session.execute(
            select(TaskRecord).where(TaskRecord.instance_id.in_(ids), TaskRecord.role.in_(TELLING_AND_HANDOVER_LANES))
        ).scalars():
            if task.state == TaskState.COMPLETED:
                key = "on_time" if _on_time(task) else "late"
            elif task.state == TaskState.READY:
                key = "open_overdue" if task.due_at is not None and now > task.due_at else "open"
            else:
                continue
            counts[task.title][key] += 1
    rows, bars = [], []
    for title in sorted(counts):
        c = counts[title]
        due_by_now = c["on_time"] + c["late"] + c["open_overdue"]
        rows.append([title, c["on_time"], c["late"], c["open_overdue"], c["open"], _share(c["on_time"], due_by_now)])
        bars.append(Bar(title, c["on_time"], due_by_now))
    return Figure(
        "telling_and_handover",
        "Acknowledgements, letters and handovers on time",
        "For children’s contacts received in the period: done by the due time, done late, still open "
        "past the due time, open and not yet due.",
        ["Task", "On time", "Late", "Open, overdue", "Open, not yet due", "Share on time"],
        rows,
        bars,
    )


def volumes(period: Period) -> list[Figure]:
    """Contacts by channel and by source agency; children's contacts by outcome (pass-ons apart)."""
    contacts = list(
        db.session.execute(
            select(Contact).where(Contact.received_at >= period.starts_at, Contact.received_at < period.ends_at)
        ).scalars()
    )
    channels = Counter(c.channel for c in contacts)
    sources = Counter(_source_agency(c.payload or {}) for c in contacts)
    outcomes = Counter(case.instance.outcome or "not_decided_yet" for case in _cases(period))
    figures = []
    for fid, title, counter, column in (
        ("by_channel", "Contacts by channel", channels, "Channel"),
        ("by_source", "Contacts by source agency", sources, "Source agency"),
    ):
        rows: list[list[Any]] = [[k, v] for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]
        figures.append(
            Figure(
                fid,
                title,
                f"Contacts received in the period ({len(contacts)}).",
                [column, "Contacts"],
                rows,
                [Bar(_label(r[0]), r[1]) for r in rows],
            )
        )
    order = lambda kv: (kv[0] in PASS_ON_OUTCOMES, kv[0] == "not_decided_yet", -kv[1], kv[0])  # noqa: E731
    rows = [
        [k, "pass-on" if k in PASS_ON_OUTCOMES else ("open" if k == "not_decided_yet" else "decision"), v]
        for k, v in sorted(outcomes.items(), key=order)
    ]
    figures.append(
        Figure(
            "by_outcome",
            "Children’s contacts by outcome",
            "Outcomes of children’s contacts received in the period. Pass-ons (to the allocated "
            "worker, information given, information requests answered, domestic abuse screening) "
            "are counted apart from no further action.",
            ["Outcome", "Kind", "Children’s contacts"],
            rows,
            [Bar(_label(r[0]), r[2]) for r in rows],
        )
    )
    return figures


def _source_agency(payload: dict) -> str:
    referrer = payload.get("referrer") or {}
    if referrer.get("anonymous"):
        return "anonymous"
    return referrer.get("agency") or "public_or_not_recorded"


LABELS = {
    "nfa": "No further action (NFA)",
    "early_help": "Early help",
    "lead_professional": "Lead professional",
    "previous_team": "Previous team (12-week rule)",
    "s17_assessment": "Section 17 assessment",
    "s47_strategy": "Section 47 strategy discussion",
    "passed_to_allocated_worker": "Passed to the allocated worker",
    "information_given": "Information given",
    "information_request_answered": "Information request answered",
    "passed_to_domestic_abuse_screening": "Passed to domestic abuse screening",
    "not_decided_yet": "Not decided yet",
    "online_form": "Online form",
    "ae_notification": "A&E notification",
    "nspcc": "NSPCC",
    "public_or_not_recorded": "Public, or not recorded",
    "other_la": "Other local authority",
    "cafcass": "Cafcass",
    "ndas": "NDAS",
}


def display_label(code) -> str:
    """How a code reads on the page (CSV files keep the codes of the data dictionary)."""
    text = str(code)
    return LABELS.get(text) or (text.replace("_", " ").capitalize() if text.islower() else text)


_label = display_label


def conversion(period: Period) -> Figure:
    """Contact → referral: decided children's contacts that became referrals (s17, s47, previous team)."""
    decided = [c for c in _cases(period) if c.instance.outcome]
    referrals = [c for c in decided if c.data.get("is_referral") or c.instance.outcome in REFERRAL_OUTCOMES]
    rows: list[list[Any]] = [
        ["Became a referral", len(referrals), _share(len(referrals), len(decided))],
        [
            "Did not become a referral",
            len(decided) - len(referrals),
            _share(len(decided) - len(referrals), len(decided)),
        ],
    ]
    return Figure(
        "conversion",
        "Contact to referral conversion",
        "Children’s contacts received in the period with an outcome, and how many became referrals to "
        "social care for assessment.",
        ["Result", "Children’s contacts", "Share"],
        rows,
        [Bar(r[0], r[1], len(decided)) for r in rows],
        f"{len(referrals)} of {len(decided)} decided contacts became referrals "
        f"({_share(len(referrals), len(decided))})",
    )


def re_referrals(period: Period) -> Figure:
    """Referrals in the period for a child (case index) with an earlier referral in the 12 months before."""
    referrals = list(
        db.session.execute(
            select(IndexContact).where(
                IndexContact.outcome.in_(REFERRAL_OUTCOMES),
                IndexContact.received_at >= period.starts_at,
                IndexContact.received_at < period.ends_at,
            )
        ).scalars()
    )
    earlier_by_child: dict[int, list[datetime]] = defaultdict(list)
    children = {r.child_id for r in referrals}
    if children:
        for row in db.session.execute(
            select(IndexContact).where(IndexContact.child_id.in_(children), IndexContact.outcome.in_(REFERRAL_OUTCOMES))
        ).scalars():
            earlier_by_child[row.child_id].append(row.received_at)
    repeat = 0
    for r in referrals:
        window = r.received_at - timedelta(days=365)
        if any(window <= at < r.received_at for at in earlier_by_child[r.child_id]):
            repeat += 1
    rows: list[list[Any]] = [
        ["Re-referral within 12 months", repeat, _share(repeat, len(referrals))],
        ["First referral in 12 months", len(referrals) - repeat, _share(len(referrals) - repeat, len(referrals))],
    ]
    return Figure(
        "re_referrals",
        "Re-referrals within 12 months",
        "Referrals made from contacts received in the period where the same child (case index) had "
        "another referral in the 12 months before.",
        ["Result", "Referrals", "Share"],
        rows,
        [Bar(r[0], r[1], len(referrals)) for r in rows],
        f"{repeat} of {len(referrals)} referrals were re-referrals ({_share(repeat, len(referrals))})",
    )


def repeat_contacts(period: Period) -> Figure:
    """How many contacts each child (case index) had in the period."""
    per_child = Counter(
        row.child_id
        for row in db.session.execute(
            select(IndexContact).where(
                IndexContact.received_at >= period.starts_at, IndexContact.received_at < period.ends_at
            )
        ).scalars()
    )
    buckets = Counter("3 or more" if n >= 3 else str(n) for n in per_child.values())
    rows: list[list[Any]] = [
        [f"{k} contact{'s' if k != '1' else ''}", buckets.get(k, 0)] for k in ("1", "2", "3 or more")
    ]
    repeated = buckets.get("2", 0) + buckets.get("3 or more", 0)
    return Figure(
        "repeat_contacts",
        "Repeat contacts per child",
        "Children with a contact in the period (case index), by how many contacts they had in it.",
        ["Contacts in the period", "Children"],
        rows,
        [Bar(r[0], r[1], len(per_child)) for r in rows],
        f"{repeated} of {len(per_child)} children had more than one contact",
    )


def disputes_by_level(period: Period) -> Figure:
    """Disputes raised in the period by the highest level they reached (1–4), resolved or not."""
    counts: dict[int, Counter] = defaultdict(Counter)
    for dispute in db.session.execute(
        select(ProcessInstance).where(
            ProcessInstance.process_id == ProcessId.ESCALATION,
            ProcessInstance.created_at >= period.starts_at,
            ProcessInstance.created_at < period.ends_at,
        )
    ).scalars():
        data = dispute.case_data or {}
        try:
            level = int(data.get("resolved_level") or data.get("level") or 1)
        except (TypeError, ValueError):
            level = 1
        counts[level]["resolved" if dispute.status == InstanceStatus.COMPLETED else "open"] += 1
    names = {
        1: "Level 1 – team managers",
        2: "Level 2 – service managers",
        3: "Level 3 – strategic managers",
        4: "Level 4 – assistant director",
    }
    rows: list[list[Any]] = [
        [
            names[level],
            counts[level]["resolved"],
            counts[level]["open"],
            counts[level]["resolved"] + counts[level]["open"],
        ]
        for level in (1, 2, 3, 4)
    ]
    return Figure(
        "disputes",
        "Disputes by level reached",
        "Disputes raised in the period by the highest escalation level they reached.",
        ["Level reached", "Resolved", "Still open", "Disputes"],
        rows,
        [Bar(r[0], r[3]) for r in rows],
    )


FIGURES: tuple[Callable[[Period], Figure | list[Figure]], ...] = (
    decisions_within_one_working_day,
    outcomes_within_rag_timescale,
    partner_answers_on_time,
    open_over_one_working_day,
    telling_and_handover_on_time,
    volumes,
    conversion,
    re_referrals,
    repeat_contacts,
    disputes_by_level,
)


# -- use cases ----------------------------------------------------------------------------------


def require_access(user: User) -> None:
    if not user.roles & OVERSIGHT_ROLES:
        raise Forbidden(
            "Oversight reports are for MASH managers, service, strategic and assistant director roles and auditors"
        )


def dashboard(user: User, period: Period) -> list[Figure]:
    require_access(user)
    figures: list[Figure] = []
    for compute in FIGURES:
        result = compute(period)
        figures.extend(result if isinstance(result, list) else [result])
    return figures


def export(user: User, period: Period, figure_id: str) -> Attachment:
    """One figure as CSV; the export is recorded (who, which figure, which period — no case content)."""
    require_access(user)
    figure = next((f for f in _all(period) if f.id == figure_id), None)
    if figure is None:
        raise NotFound("No such figure")
    with unit_of_work():
        history.record(
            EventType.REPORT_EXPORTED,
            actor=user,
            detail={
                "report": "oversight",
                "figure": figure_id,
                "from": period.start.isoformat(),
                "to": period.end.isoformat(),
                "format": "csv",
            },
        )
    name = f"mash-{figure.id}-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    return Attachment(name, "text/csv", figure.csv())


def _all(period: Period) -> Iterable[Figure]:
    for compute in FIGURES:
        result = compute(period)
        yield from (result if isinstance(result, list) else [result])


def percent_width(value: int, scale: int, width: int = 300) -> int:
    """Bar length in SVG units for the page (no inline styles: the CSP forbids them)."""
    return 0 if not scale else max(0, min(width, math.floor(width * value / scale)))
