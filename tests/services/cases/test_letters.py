"""Letters: acknowledgement and outcome letters per route, as PDF, never with sensitive information."""

from __future__ import annotations

import re
import zlib

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HistoryEvent, ProcessInstance
from app.services.cases import letters
from app.services.core import engine_host, forms
from app.services.modelling import deployments
from tests.support.letters import decided_case
from tests.support.pages import Browser, soup

LETTER_ROUTES = (
    "nfa",
    "early_help",
    "lead_professional",
    "previous_team",
    "s17_assessment",
    "information_given",
    "information_request_answered",
    "passed_to_allocated_worker",
    "passed_to_domestic_abuse_screening",
)


def pdf_text(content: bytes) -> str:
    """All text a PDF draws: its content streams, inflated when compressed."""
    assert content.startswith(b"%PDF")
    chunks = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            chunks.append(zlib.decompress(raw))
        except zlib.error:
            chunks.append(raw)
    return b"\n".join(chunks).decode("latin-1")


def test_business_support_sees_the_letter_downloads_it_and_records_it_sent(ctx, client):
    flow = decided_case(client)
    task = flow.task("bs", "send_referrer_letter")
    browser = Browser(ctx, "bs")
    page = soup(browser.get(f"/tasks/{task['id']}"))
    assert page.find("h2", string="Outcome letter to the referrer")
    preview = page.find("details").get_text(" ", strip=True)
    assert "Dear Ann Teacher" in preview and "No further action" in preview
    link = page.find("a", string="Download the letter (PDF)")
    response = browser.get(link["href"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert "Jamie Doe" in text and "threshold for social care assessment or intervention is not met" in text

    flow.do("bs", "send_referrer_letter", {"sent_at": "2026-11-24T15:00:00+00:00", "letter_method": "email"})
    events = [e for e in flow.history() if e["type"] in ("letter_downloaded", "letter_sent")]
    assert [(e["type"], e["actor"], e["detail"]) for e in events] == [
        (
            "letter_downloaded",
            "bs",
            {"letter": "outcome_referrer", "template": "outcome/nfa.txt", "route": "nfa", "recipient": "referrer"},
        ),
        (
            "letter_sent",
            "bs",
            {"letter": "outcome_referrer", "template": "outcome/nfa.txt", "route": "nfa", "recipient": "referrer"},
        ),
    ]

    family = flow.task("bs", "send_family_letter")
    page = soup(browser.get(f"/tasks/{family['id']}"))
    assert "Dear parent or carer" in page.find("details").get_text(" ", strip=True)
    assert "1 High Street" in page.find("details").get_text(" ", strip=True)  # the family letter's address
    ack = flow.task("bs", "send_acknowledgement")
    page = soup(browser.get(f"/tasks/{ack['id']}"))
    assert page.find("h2", string="Acknowledgement to the referrer")


def test_only_the_tasks_workers_managers_and_auditors_download_a_letter(ctx, client):
    flow = decided_case(client)
    task = flow.task("bs", "send_referrer_letter")
    assert Browser(ctx, "police").get(f"/tasks/{task['id']}/letter.pdf").status_code == 403
    assert Browser(ctx, "auditor").get(f"/tasks/{task['id']}/letter.pdf").status_code == 200
    denied = [e for e in flow.history() if e["type"] == "access_denied"]
    assert denied and denied[-1]["detail"]["action"] == "download_letter"


def test_a_strategy_discussion_is_phoned_and_never_gets_a_letter(client):
    flow = decided_case(client, threshold="s47")
    assert flow.instance()["route"] == "s47_strategy"
    flow.do("daat", "handover", {"handover_accepted": True})
    assert flow.task("dm", "phone_referrer")
    assert not [t for t in flow.ready("bs") if t["bpmn_id"] in ("send_referrer_letter", "send_family_letter")]
    with pytest.raises(letters.LetterUnavailable):
        letters.render("outcome_referrer", {"outcome": "s47_strategy"}, reference="MASH-X")


def test_no_letter_ever_contains_sensitive_information(ctx, client):
    flow = decided_case(client)
    instance = db.session.get(ProcessInstance, flow.instance_id)
    bundle = engine_host.bundle_for(deployments.latest().id)
    sensitive = forms.sensitive_fields(bundle.forms)
    assert "sensitive_information" in sensitive  # the partner answer's soft information (spec §6.8)
    data = dict(instance.case_data)
    markers = []

    def marker(name):
        markers.append(f"ZQX{len(markers):03d}{name.upper().replace('_', '')}")
        return markers[-1]

    for name in sensitive:  # at the top, inside answers, inside the child and referrer
        data[name] = marker(name)
        data["child"] = {**data["child"], name: marker(name)}
        data["referrer"] = {**data["referrer"], name: marker(name)}
    data["agency_responses"] = [
        {
            "agency": "police",
            "information": [{"text": "Seen", "verified": True}],
            **{name: marker(name) for name in sensitive},
            "sensitive_holder": "DS Smith",
        }
    ]
    for name in ("analysis", "summary", "synopsis", "manager_comments", "appendix_a_q1", "rationale"):
        data[name] = marker(name)  # free text written inside the MASH is not on the allow-list either
    for kind in letters.KINDS:
        for route in LETTER_ROUTES:
            letter = letters.render(
                kind,
                {**data, "outcome": route, "receiving_team": "early_help"},
                reference="MASH-20261124-000001",
                sensitive=sensitive,
            )
            for content in (letters.pdf(letter, compress=False), letters.pdf(letter)):
                text = pdf_text(content)
                assert "Jamie" in text
                leaked = [m for m in markers if m in text or m in letter.text]
                assert leaked == [], (kind, route, leaked)


def test_every_letter_route_has_a_template_and_the_letter_names_the_receiving_team(ctx):
    for route in LETTER_ROUTES:
        letter = letters.render(
            "outcome_family",
            {
                "outcome": route,
                "receiving_team": "first_response",
                "child": {"first_name": "Sam", "last_name": "Lee"},
                "received_at": "2026-11-24T09:30:00+00:00",
            },
            reference="MASH-1",
        )
        assert letter.template == f"outcome/{route}.txt"
        assert "24 November 2026" in letter.text
    s17 = letters.render(
        "outcome_referrer",
        {"outcome": "s17_assessment", "receiving_team": "first_response", "referrer": {"name": "Ann"}},
        reference="MASH-1",
    )
    assert "the First Response Team" in s17.text
    # the MASH in office hours, the out-of-hours team otherwise: the same number every page shows
    assert "the MASH on 0300 126 1000" in s17.text
    assert f"out of hours social work team on {ctx.config['OUT_OF_HOURS_PHONE']}" in s17.text
    assert ctx.config["OUT_OF_HOURS_PHONE"] == "01604 626938"


def test_a_template_cannot_reach_python_internals(ctx):
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        letters._ENV.from_string("{{ child.__class__.__mro__ }}{{ ''.__class__.__subclasses__() }}").render(child={})
    assert db.session.execute(select(HistoryEvent).where(HistoryEvent.type == "letter_sent")).first() is None
