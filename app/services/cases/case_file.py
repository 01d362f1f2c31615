"""The case file: everything a viewer may read about a case, in plain words, for every page of the case.

One view model per viewer, drawn from one place, shown by one template component
(components/case_file.html) on the case page and on every task page, so each decision page shows
what the decision rests on: the concerns in the referrer's words, the Appendix A answers, the
urgent (Appendix E) criteria chosen, consent, the household, the history check and synopsis, every
decision so far with its reason, escalations with theirs, and the partner agencies' answers.

What a viewer sees follows access.visible_data: inside the MASH the whole case; a partner agency or a
receiving team only the case summary and their own forms' fields, never another agency's answers and
never the MASH's own reasoning (the decisions list shows them only the route and RAG reached).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance, TaskRecord, User
from app.services.access import access
from app.services.core import engine_host, history, labels
from app.services.core.clock import parse_instant
from app.services.core.events import EventType

RECORD_FORM = "record_contact.schema.json"
HISTORY_FORM = "history_check.schema.json"
CONCERN_FIELDS = (
    "summary",
    "appendix_a_q1",
    "appendix_a_q2",
    "appendix_a_q3",
    "appendix_a_q4",
    "safety_scale",
    "appendix_a_q6",
    "appendix_a_q7",
    "request_type",
    "information_only",
)
CRITERIA_FIELDS = ("red_criteria", "red_criteria_other", "manager_attention_criteria", "manager_attention_other")
CONSENT_FIELDS = ("consent", "consent_given_by", "consent_not_sought_reason")
HOUSEHOLD_FIELDS = ("household_members", "adults", "other_children")
# Forms whose answers have a section of their own (not repeated under "Decisions so far").
OWN_SECTION_FORMS = frozenset({RECORD_FORM, HISTORY_FORM, "partner_answer.schema.json"})
# Deadlines on the case, by the name the process gives them.
DEADLINES = (
    ("decision_due_at", "Decision due"),
    ("outcome_due_at", "Outcome due"),
    ("partner_due_at", "Partner answers due"),
    ("handover_due_at", "Handover due"),
)
# What a viewer outside the MASH may read of a decision table's result.
OUTSIDE_OUTPUTS = frozenset({"route", "rag", "contact_route"})


@dataclass
class Section:
    id: str
    heading: str
    rows: list[dict] = field(default_factory=list)


@dataclass
class Decision:
    """One decision or step so far: a person's answers (`rows`) or a decision table's proposal."""

    kind: str  # "task", "table", "escalation"
    title: str
    at: datetime | None
    by: str | None = None
    rows: list[dict] = field(default_factory=list)
    because: str | None = None  # a decision table's rule, in its own words


@dataclass
class CaseFile:
    instance_id: int
    inside: bool
    child: list[dict]
    sections: list[Section]
    decisions: list[Decision]
    deadlines: list[dict]

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


def build(user: User, instance: ProcessInstance, data: Mapping[str, Any]) -> CaseFile:
    """The case file of `instance` as `user` may read it; `data` is access.visible_data for the user."""
    bundle = engine_host.bundle_for(instance.deployment_id)
    words = labels.for_bundle(bundle)
    inside = access.inside_firewall(user)
    record = bundle.forms.get(RECORD_FORM) or {}
    sections = [
        Section("concerns", "What the referrer said", _contact_rows(words, data, record)),
        Section("criteria", "Urgent criteria and the manager's attention", _pick(words, data, record, CRITERIA_FIELDS)),
        Section("consent", "Consent", _pick(words, data, record, CONSENT_FIELDS)),
        Section("household", "Household", _pick(words, data, record, HOUSEHOLD_FIELDS)),
        Section("history", "History check", _history_rows(words, data, bundle.forms.get(HISTORY_FORM) or {})),
    ]
    return CaseFile(
        instance_id=instance.id,
        inside=inside,
        child=_child_rows(words, data, record),
        sections=[s for s in sections if s.rows],
        decisions=_decisions(user, instance, bundle, words, inside),
        deadlines=deadlines(data, instance),
    )


def for_case(user: User, instance_id: int, data: Mapping[str, Any]) -> CaseFile:
    """The case file for a case the caller has already been allowed to view (cases.view_instance)."""
    return build(user, db.session.get_one(ProcessInstance, instance_id), data)


def deadlines(data: Mapping[str, Any], instance: ProcessInstance | None = None) -> list[dict]:
    """The case's deadlines in the order they fall: [{label, at}], earliest first."""
    found = []
    for key, label in DEADLINES:
        value = data.get(key)
        if key == "outcome_due_at" and instance is not None and instance.outcome_due_at is not None:
            value = instance.outcome_due_at
        at = value if isinstance(value, datetime) else parse_instant(value) if value else None
        if at is not None:
            found.append({"label": label, "at": at})
    return sorted(found, key=lambda d: d["at"])


def _child_rows(words: labels.Labels, data: Mapping, record: Mapping) -> list[dict]:
    child = data.get("child") or {}
    schema = ((record.get("properties") or {}).get("child")) or {}
    name = " ".join(p for p in (child.get("first_name"), child.get("last_name")) if p)
    rows = [{"label": "Name", "text": name or "Not known"}]
    if child.get("date_of_birth"):
        rows.append({"label": "Date of birth", "text": labels.long_date(child["date_of_birth"])})
    elif child.get("expected_date_of_delivery"):
        rows.append({"label": "Unborn baby, expected", "text": labels.long_date(child["expected_date_of_delivery"])})
    else:
        rows.append({"label": "Date of birth", "text": "Not known"})
    rows += words.rows({k: child.get(k) for k in ("gender", "address", "approximate_age")}, schema)
    return rows


def _contact_rows(words: labels.Labels, data: Mapping, record: Mapping) -> list[dict]:
    rows = []
    if data.get("received_at"):
        rows.append(
            {
                "label": "Received",
                "text": labels.london(data["received_at"])
                + (f" ({words.value('channel', data['channel'])})" if data.get("channel") else ""),
            }
        )
    referrer = data.get("referrer") or {}
    if referrer:
        if referrer.get("anonymous"):
            rows.append({"label": "Referrer", "text": "Anonymous"})
        else:
            who = ", ".join(
                [str(referrer[k]) for k in ("name", "role") if referrer.get(k)]
                + ([words.value("agency", referrer["agency"])] if referrer.get("agency") else [])
            )
            contact = ", ".join(str(referrer[k]) for k in ("phone", "email") if referrer.get(k))
            rows.append({"label": "Referrer", "text": who or "Not recorded"})
            if contact:
                rows.append({"label": "Referrer's phone or email", "text": contact})
            if referrer.get("relationship"):
                rows.append({"label": "Relationship to the child", "text": str(referrer["relationship"])})
    return rows + _pick(words, data, record, CONCERN_FIELDS)


def _pick(words: labels.Labels, data: Mapping, schema: Mapping, names: tuple[str, ...]) -> list[dict]:
    return words.rows({k: data.get(k) for k in names if k in data}, schema)


def _history_rows(words: labels.Labels, data: Mapping, schema: Mapping) -> list[dict]:
    rows: list[dict[str, Any]] = []
    found = data.get("history") or {}
    if found:
        open_case = words.value("open_case", found.get("open_case"))
        if found.get("allocated_team"):
            open_case += f" ({words.value('team', found['allocated_team'])})"
        rows.append({"label": "Open case", "text": open_case or "Not open"})
        closed = "Yes" if found.get("closed_within_12_weeks") else "No"
        if found.get("closing_team"):
            closed += f" ({words.value('team', found['closing_team'])})"
        rows.append({"label": "Closed to social care in the last 12 weeks", "text": closed})
        rows.append({"label": "Contacts in the last 12 months", "text": str(found.get("contacts_last_12_months", 0))})
        if found.get("lead_professional"):
            rows.append({"label": "Early Help lead professional", "text": str(found["lead_professional"])})
        earlier = [
            labels.london(c.get("received_at")) + ": " + words.value("outcome", c.get("outcome") or "open")
            for c in found.get("previous_contacts") or []
        ]
        if earlier:
            rows.append({"label": "Previous contacts", "list": earlier})
        stage2 = [
            labels.london(s.get("requested_at")) + _answered_by(words, s.get("agencies"))
            for s in found.get("previous_stage2") or []
        ]
        if stage2:
            rows.append({"label": "Earlier information sharing (Stage 2)", "list": stage2})
    elif data.get("index_matches") is not None:
        matches = [
            f"{m.get('name')}, born {labels.long_date(m.get('date_of_birth'))}; social care: "
            f"{words.value('status', m.get('status'))}"
            + (f" ({words.value('team', m['team'])})" if m.get("team") else "")
            + f"; contacts in 12 months: {m.get('contacts_last_12_months')}"
            for m in data.get("index_matches") or []
        ]
        rows.append({"label": "Possible matches in the case index", "list": matches or ["No possible matches"]})
    return rows + words.rows({k: data.get(k) for k in ("case_system_checks", "synopsis") if k in data}, schema)


def _answered_by(words: labels.Labels, agencies: list | None) -> str:
    if not agencies:
        return ""
    names = ", ".join(labels.AGENCIES.get(a) or words.value("agency", a) for a in agencies)
    return f" ({names} answered)"


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(sorted(ids)))).all())


def _decisions(user: User, instance: ProcessInstance, bundle, words: labels.Labels, inside: bool) -> list[Decision]:
    """Every decision so far, oldest first: each person's answers with their reasons, each decision table's
    proposal in its rule's own words, each escalation with its reason (inside the MASH); outside it, the
    route and RAG the tables reached."""
    events = [
        e
        for e in history.for_instance(instance.id)
        if e.type in (EventType.TASK_COMPLETED, EventType.DECISION_EVALUATED, EventType.MESSAGE_SENT)
    ]
    forms_of = dict(
        db.session.execute(select(TaskRecord.id, TaskRecord.form).where(TaskRecord.instance_id == instance.id)).all()
    )
    people = _names({e.actor_id for e in events if e.actor_id})
    result = []
    for event in events:
        detail = event.detail or {}
        by = people.get(event.actor_id) if event.actor_id else None
        if event.type == EventType.DECISION_EVALUATED:
            table = bundle.decisions.get(detail.get("decision_id") or "")
            outputs = detail.get("outputs") or {}
            if not inside:
                outputs = {k: v for k, v in outputs.items() if k in OUTSIDE_OUTPUTS}
                if not outputs:
                    continue
            because = None
            if inside and table is not None:
                because = (
                    "; ".join(
                        labels.rule_description(r.description)
                        for r in table.rules
                        if r.id in (detail.get("matched_rules") or []) and r.description
                    )
                    or None
                )
            title = f"{words.value('decision', detail.get('decision_id') or 'decision')} (decision table)"
            result.append(Decision("table", title, event.at, rows=_output_rows(words, table, outputs), because=because))
        elif not inside:
            continue
        elif event.type == EventType.MESSAGE_SENT:
            properties = bundle.task_properties(event.bpmn_id or "")
            schema = bundle.forms.get(properties.get("messageForm") or "") or {}
            agency = detail.get("agency")
            title = "Heightened risk escalated" + (f" by {words.value('agency', agency)}" if agency else "")
            rows = words.rows(detail.get("values") or {}, schema)
            result.append(Decision("escalation", title, event.at, by=by, rows=rows))
        else:
            form = forms_of.get(event.task_id or "")
            if form in OWN_SECTION_FORMS:
                continue
            schema = bundle.forms.get(form or "") or {}
            rows = words.rows(detail.get("values") or {}, schema)
            result.append(
                Decision(
                    "task", detail.get("title") or labels.humanise(event.bpmn_id or "Step"), event.at, by=by, rows=rows
                )
            )
    return result


def _output_rows(words: labels.Labels, table, outputs: Mapping[str, Any]) -> list[dict]:
    titles = {o.name: labels.rule_description(o.label) for o in (table.outputs if table is not None else ()) if o.label}
    rows = []
    for key, value in outputs.items():
        if key.endswith("_calendar") or value is None:
            continue
        if key.endswith("_due_in"):
            text = labels.duration(value, outputs.get(key.removesuffix("_due_in") + "_calendar"))
        else:
            text = words.value(key, value)
        if text:
            rows.append({"label": titles.get(key) or words.title(key), "text": text})
    return rows
