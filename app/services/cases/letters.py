"""Letters: referrer acknowledgements and outcome letters to the referrer and the family, as PDF.

Which task sends which letter is the diagram's choice: a user task property `letter` names the kind
(`acknowledgement`, `outcome_referrer`, `outcome_family`); the template is chosen by the case's
route (`app/templates/letters/outcome/<route>.txt`). Templates are rendered in a sandboxed Jinja
environment from an explicit allow-list of case fields (child's name, date of birth and address,
the referrer's name/agency/role, dates, the route and the receiving team) — never the case data
itself, so nothing marked `"x-sensitive"` (or any free text written inside the MASH) can reach a
letter. The rationale is the protocol's standard statement for the route (§9, §10 rules 1–8).

A strategy discussion (`s47_strategy`) gets a phone call, never a letter (seed §9 d): the front-door
diagram routes it to `phone_referrer`, and this module refuses to write one.

History: `letter_sent` when the task is completed (kind, template, route, recipient — no content),
`letter_downloaded` for every PDF download.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from fpdf import FPDF
from jinja2 import FileSystemLoader, TemplateError, TemplateNotFound
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import Contact, ProcessInstance, TaskRecord, User
from app.services.access import access, permissions
from app.services.core import engine_host, forms, history
from app.services.core.attachments import Attachment
from app.services.core.clock import LONDON
from app.services.core.errors import NotFound
from app.services.core.events import EventType
from app.services.core.transaction import unit_of_work

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "letters"
KINDS = {"acknowledgement": "referrer", "outcome_referrer": "referrer", "outcome_family": "family"}
PHONE_ONLY_ROUTES = frozenset({"s47_strategy"})
ORGANISATION: dict[str, Any] = {
    "name": "Children First Northamptonshire – Multi-Agency Safeguarding Hub (MASH)",
    "address": ["Criminal Justice Centre", "700 Pavilion Drive", "Brackmills", "Northampton NN4 7SL"],
    "phone": "0300 126 1000",
}
# Who the case went to and how to reach them (organisational facts, like roles.py).
TEAMS = {
    "first_response": "the First Response Team",
    "daat": "the Duty and Assessment Team",
    "early_help": "the Early Help Service",
    "disabled_children": "the Disabled Children’s Service",
    "out_of_hours": "the out of hours social work team",
    "domestic_abuse_screening": "the domestic abuse screening team",
}
# Names of agencies as a letter writes them (spec §9 ids).
AGENCY_NAMES: dict[Any, str] = {  # looked up with whatever the contact said
    "police": "Northamptonshire Police",
    "health": "Health",
    "education": "Education",
    "early_help": "Early Help",
    "probation": "Probation",
    "housing": "Housing",
}
# An outcome already decided when the acknowledgement is written, in plain words ("decided that …").
DECISIONS = {
    "nfa": "no further action is needed from Children’s Social Care or the Early Help Service",
    "early_help": "{team} will offer the family support",
    "lead_professional": "the information goes to the lead professional already working with the family",
    "previous_team": "the concerns go back to {team}",
    "s17_assessment": "{team} will assess what help is needed (a child in need assessment)",
    "s47_strategy": "a social worker needs to act quickly to keep the child safe",
    "information_given": "information and advice about local services will be given, and the MASH will take no "
    "further action",
    "information_request_answered": "your request for information can be answered",
    "passed_to_allocated_worker": "the information goes to the social worker already working with the family",
    "passed_to_domestic_abuse_screening": "the domestic abuse screening team will look at it",
}
TEAM_FALLBACK = {
    "early_help": "the Early Help Service",
    "s17_assessment": "a social work team",
    "previous_team": "the social work team that worked with the family recently",
}
# Outcomes the referrer is told about in an outcome letter of their own (a strategy discussion is phoned).
OUTCOME_LETTER_ROUTES = frozenset({"nfa", "early_help", "lead_professional", "previous_team", "s17_assessment"})
_ENV = ImmutableSandboxedEnvironment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=False,
    trim_blocks=False,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)


@dataclass(frozen=True)
class Letter:
    kind: str  # acknowledgement | outcome_referrer | outcome_family
    recipient: str  # referrer | family
    route: str | None
    template: str  # the template file used, e.g. outcome/nfa.txt
    text: str  # the rendered letter (plain text, paragraphs split by blank lines)
    filename: str

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.text) if p.strip()]


class LetterUnavailable(Exception):
    """No letter for this case: a phone-only route, or no template for the route."""


# -- the context: an explicit allow-list ---------------------------------------------------


def _day(value: Any) -> str:
    if not value:
        return ""
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value).strftime("%-d %B %Y")
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.astimezone(LONDON).strftime("%-d %B %Y")
    except ValueError:
        return ""


def _text(value: Any, limit: int = 200) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def _child(child: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """How a letter names the child. An unborn baby (an expected date of delivery and no date of
    birth; officers record its first name as "Unborn") is "the baby due on 1 March 2027"."""
    first, last = _text(child.get("first_name"), 100), _text(child.get("last_name"), 100)
    born = _day(child.get("date_of_birth"))
    due = "" if born else _day(child.get("expected_date_of_delivery"))
    unborn = bool(due) or (not born and first.lower() == "unborn")
    if unborn:
        first = "" if first.lower() == "unborn" else first
        name = f"the baby due on {due}" if due else "the unborn baby"
    else:
        name = " ".join(p for p in (first, last) if p) or "the child"
    return {
        "first_name": first,
        "last_name": last,
        "name": name,
        "unborn": unborn,
        "due": due,
        "date_of_birth": born,
        "address": _text(child.get("address"), 300) if KINDS[kind] == "family" else "",
    }


def _decision(outcome: Any, team: str) -> str:
    """An outcome already decided, in the words the acknowledgement uses ("" while undecided)."""
    if not outcome:
        return ""
    words = DECISIONS.get(outcome, "the MASH has decided what needs to happen next")
    return words.format(team=team or TEAM_FALLBACK.get(outcome, "the team that will help"))


def letter_context(
    kind: str, case_data: Mapping[str, Any], *, reference: str, sensitive: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The only values a letter template sees. Sensitive names are removed first, then fields are
    picked one by one (nothing else of the case is passed through)."""
    data = access.redact(dict(case_data or {}), sensitive)
    child = data.get("child") if isinstance(data.get("child"), dict) else {}
    referrer = data.get("referrer") if isinstance(data.get("referrer"), dict) else {}
    route = data.get("outcome") or data.get("route")
    team = data.get("receiving_team")
    team_words = TEAMS.get(team) or (f"the {_text(team, 60).replace('_', ' ')} team" if team else "")
    outcome = _text(data.get("outcome"), 60)
    return {
        "today": CLOCK.now().astimezone(LONDON).strftime("%-d %B %Y"),
        "reference": reference,
        "recipient": KINDS[kind],
        "organisation": {**ORGANISATION, "out_of_hours_phone": current_app.config["OUT_OF_HOURS_PHONE"]},
        "child": _child(child, kind),
        "referrer": {
            "name": _text(referrer.get("name"), 100),
            "role": _text(referrer.get("role"), 100),
            "agency": AGENCY_NAMES.get(referrer.get("agency"), _text(referrer.get("agency"), 100).replace("_", " ")),
        }
        if KINDS[kind] == "referrer"
        else {},
        "received_on": _day(data.get("received_at")),
        "route": _text(route, 60),
        "team": team_words,
        # the case's state when the letter is written: decided (an outcome is set) or not yet
        "outcome": outcome,
        "decision": _decision(outcome, team_words),
        "outcome_letter_follows": outcome in OUTCOME_LETTER_ROUTES,
    }


# -- rendering ---------------------------------------------------------------------------------


def template_for(kind: str, route: str | None) -> str:
    if kind == "acknowledgement":
        return "acknowledgement.txt"
    if route in PHONE_ONLY_ROUTES:
        raise LetterUnavailable("A strategy discussion is told by phone, not by letter (protocol §9 d)")
    if not route or not re.fullmatch(r"[a-z0-9_]+", route):
        raise LetterUnavailable("The case has no outcome yet, so there is no outcome letter")
    return f"outcome/{route}.txt"


def render(
    kind: str, case_data: Mapping[str, Any], *, reference: str, sensitive: frozenset[str] = frozenset()
) -> Letter:
    if kind not in KINDS:
        raise LetterUnavailable(f"Unknown letter kind {kind!r}")
    context = letter_context(kind, case_data, reference=reference, sensitive=sensitive)
    name = template_for(kind, context["route"] or None)
    try:
        text = _ENV.get_template(name).render(**context)
    except TemplateNotFound:
        raise LetterUnavailable(f"There is no letter template for the route {context['route']!r}") from None
    except TemplateError as err:  # a broken template never blocks the task; the page says why
        raise LetterUnavailable(f"The letter template {name} could not be used: {type(err).__name__}") from None
    filename = f"{reference}-{kind.replace('_', '-')}.pdf"
    return Letter(kind, KINDS[kind], context["route"] or None, name, text.strip() + "\n", filename)


_LATIN1 = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "})


def _pdf_text(text: str) -> str:
    """The PDF core fonts are Latin-1: map typographic marks, replace anything else."""
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def pdf(letter: Letter, *, compress: bool = True) -> bytes:
    document = FPDF(format="A4")
    document.set_compression(compress)
    document.set_title(_pdf_text(f"MASH letter {letter.filename}"))
    document.set_author(_pdf_text(ORGANISATION["name"]))
    document.add_page()
    document.set_margins(20, 20, 20)
    document.set_font("Helvetica", "B", 12)
    document.multi_cell(0, 6, _pdf_text(ORGANISATION["name"]), new_x="LMARGIN", new_y="NEXT")
    document.set_font("Helvetica", size=10)
    document.multi_cell(
        0,
        5,
        _pdf_text(", ".join(ORGANISATION["address"]) + f". Phone {ORGANISATION['phone']}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    document.ln(6)
    document.set_font("Helvetica", size=11)
    for paragraph in letter.paragraphs:
        if paragraph.startswith("# "):
            document.set_font("Helvetica", "B", 11)
            document.multi_cell(0, 6, _pdf_text(paragraph[2:]), new_x="LMARGIN", new_y="NEXT")
            document.set_font("Helvetica", size=11)
        else:
            document.multi_cell(0, 6, _pdf_text(paragraph), new_x="LMARGIN", new_y="NEXT")
        document.ln(3)
    return bytes(document.output())


# -- the host side: tasks with a `letter` property --------------------------------------------


def _reference(instance: ProcessInstance) -> str:
    contact = db.session.get(Contact, instance.contact_id) if instance.contact_id else None
    if contact is None:
        return f"MASH-CASE-{instance.id:06d}"
    return f"MASH-{contact.received_at:%Y%m%d}-{contact.id:06d}"


def letter_kind(instance: ProcessInstance, task: TaskRecord) -> str | None:
    """The task's `letter` property (a letter kind), or None for tasks that send no letter."""
    kind = engine_host.bundle_for(instance.deployment_id).task_properties(task.bpmn_id).get("letter")
    return kind if kind in KINDS else None


def _letter(instance: ProcessInstance, kind: str) -> Letter:
    bundle = engine_host.bundle_for(instance.deployment_id)
    return render(
        kind, instance.case_data or {}, reference=_reference(instance), sensitive=forms.sensitive_fields_of(bundle)
    )


def _may_read(user: User, task: TaskRecord) -> bool:
    return access.may_work(user, task) or access.may_work_as_manager(user, task) or bool(user.roles & {"auditor"})


def for_task(user: User, task: TaskRecord) -> dict | None:
    """What the task page shows: the letter's text (or why there is none) and its kind."""
    instance = db.session.get(ProcessInstance, task.instance_id)
    if instance is None:
        return None
    kind = letter_kind(instance, task)
    if kind is None or not _may_read(user, task):
        return None
    try:
        letter = _letter(instance, kind)
    except LetterUnavailable as err:
        return {"kind": kind, "recipient": KINDS[kind], "unavailable": str(err)}
    return {
        "kind": kind,
        "recipient": letter.recipient,
        "route": letter.route,
        "template": letter.template,
        "paragraphs": letter.paragraphs,
        "filename": letter.filename,
        "unavailable": None,
    }


def download(user: User, task_id: str) -> Attachment:
    """The task's letter as PDF; the download is recorded (who, which letter — never its content)."""
    task = db.session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("No such task")
    if not _may_read(user, task):
        permissions.deny(
            user,
            "download_letter",
            instance_id=task.instance_id,
            message="This letter belongs to another role's task",
            task_id=task_id,
            bpmn_id=task.bpmn_id,
        )
    instance = db.session.get_one(ProcessInstance, task.instance_id)
    kind = letter_kind(instance, task)
    if kind is None:
        raise NotFound("This task has no letter")
    try:
        letter = _letter(instance, kind)
    except LetterUnavailable as err:
        raise NotFound(str(err)) from None
    content = pdf(letter)
    with unit_of_work():
        history.record(
            EventType.LETTER_DOWNLOADED,
            instance_id=instance.id,
            actor=user,
            bpmn_id=task.bpmn_id,
            task_id=task.id,
            detail=_summary(letter),
        )
    return Attachment(letter.filename, "application/pdf", content)


def _summary(letter: Letter) -> dict:
    return {"letter": letter.kind, "template": letter.template, "route": letter.route, "recipient": letter.recipient}


def record_sent(user: User, instance: ProcessInstance, task: TaskRecord) -> None:
    """Called inside the completing unit of work: a task with a `letter` property sent that letter."""
    kind = letter_kind(instance, task)
    if kind is None:
        return
    try:
        detail = _summary(_letter(instance, kind))
    except LetterUnavailable as err:
        detail = {
            "letter": kind,
            "template": None,
            "route": (instance.case_data or {}).get("outcome"),
            "recipient": KINDS[kind],
            "problem": str(err),
        }
    history.record(
        EventType.LETTER_SENT, instance_id=instance.id, actor=user, bpmn_id=task.bpmn_id, task_id=task.id, detail=detail
    )
