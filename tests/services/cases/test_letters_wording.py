"""Letters and the handover package in plain words (issue 15): unborn babies named by their due
date, the acknowledgement worded for the case's state, the package with labels, names and London
times, a back link and a print stylesheet."""

from __future__ import annotations

import re

from app.config import ROOT
from app.services.cases import handover_display, letters
from tests.support.letters import decided_case
from tests.support.pages import Browser, soup

UNBORN = {
    "first_name": "Unborn",
    "last_name": "Harper",
    "date_of_birth": None,
    "expected_date_of_delivery": "2027-03-01",
    "address": "2 Mill Lane",
}
CASE = {"child": UNBORN, "referrer": {"name": "Ann Midwife"}, "received_at": "2026-11-24T09:30:00+00:00"}


def test_an_unborn_baby_is_the_baby_due_on_its_date_in_every_letter(ctx):
    ack = letters.render("acknowledgement", CASE, reference="MASH-1").text
    assert "We have received your contact about the baby due on 1 March 2027" in ack
    assert "on 24 November 2026 about the baby due on 1 March 2027." in ack
    family = letters.render(
        "outcome_family", {**CASE, "outcome": "early_help", "receiving_team": "early_help"}, reference="MASH-1"
    ).text
    assert "To the expectant parent of the baby due on 1 March 2027\n2 Mill Lane" in family
    assert "Dear expectant parent," in family
    referrer = letters.render("outcome_referrer", {**CASE, "outcome": "nfa"}, reference="MASH-1").text
    assert "The outcome of the contact about the baby due on 1 March 2027" in referrer
    for text in (ack, family, referrer):
        assert "Unborn" not in text and "date of birth" not in text and "parent or carer of" not in text
    # a born child keeps its name and date of birth
    born = letters.render(
        "acknowledgement",
        {**CASE, "child": {"first_name": "Jamie", "last_name": "Doe", "date_of_birth": "2016-04-01"}},
        reference="MASH-1",
    ).text
    assert "about Jamie Doe (date of birth 1 April 2016)." in born


def test_the_acknowledgement_says_what_was_decided_once_the_case_is_decided(ctx):
    undecided = letters.render("acknowledgement", CASE, reference="MASH-1").text
    assert "A MASH decision maker will decide what needs to happen within one working day" in undecided
    nfa = letters.render("acknowledgement", {**CASE, "route": "nfa", "outcome": "nfa"}, reference="MASH-1").text
    assert (
        "A MASH decision maker has already looked at it and decided that no further action is needed from "
        "Children’s Social Care or the Early Help Service. We will write to you again to explain this decision." in nfa
    )
    assert "will decide" not in nfa
    early = letters.render(
        "acknowledgement", {**CASE, "outcome": "early_help", "receiving_team": "early_help"}, reference="MASH-1"
    ).text
    assert "decided that the Early Help Service will offer the family support." in early
    s17 = letters.render(
        "acknowledgement", {**CASE, "outcome": "s17_assessment", "receiving_team": "daat"}, reference="MASH-1"
    ).text
    assert "decided that the Duty and Assessment Team will assess what help is needed" in s17
    s47 = letters.render("acknowledgement", {**CASE, "outcome": "s47_strategy"}, reference="MASH-1").text
    assert "A social worker will phone you to explain what happens next." in s47 and "write to you again" not in s47
    # a route proposed but not yet signed off is still undecided
    proposed = letters.render("acknowledgement", {**CASE, "route": "nfa"}, reference="MASH-1").text
    assert "will decide what needs to happen" in proposed


def test_the_acknowledgement_task_after_the_decision_shows_the_decided_wording(ctx, client):
    flow = decided_case(client)  # NFA, signed off; the acknowledgement is still to send
    task = flow.task("bs", "send_acknowledgement")
    preview = soup(Browser(ctx, "bs").get(f"/tasks/{task['id']}")).find("details").get_text(" ", strip=True)
    assert "has already looked at it and decided that no further action is needed" in preview
    assert "will decide" not in preview


def test_the_handover_package_shows_labels_names_and_london_times(ctx, client):
    flow = decided_case(client, threshold="s17")
    browser = Browser(ctx, "fr")
    response = browser.get(f"/cases/{flow.instance_id}/handover")
    assert response.status_code == 200
    page = soup(response)
    rows = {r.find("dt").get_text(strip=True): r.find("dd") for r in page.select("main > .govuk-summary-list > div")}
    assert rows["RAG rating"].get_text(strip=True) == "Green"
    assert rows["Referral"].get_text(strip=True) == "Yes"
    assert rows["Receiving team"].get_text(strip=True) == "First Response Team"
    assert rows["Handover due"].get_text(strip=True) == "25 November 2026, 10:00"
    assert rows["Contact received"].get_text(strip=True) == "24 November 2026, 09:30"
    assert rows["Outcome"].get_text(strip=True) == "Section 17 assessment"
    assert rows["Adults in the household"].get_text(strip=True) == "None recorded"
    child = {
        r.find("dt").get_text(strip=True): r.find("dd").get_text(strip=True)
        for r in rows["Child"].select(".govuk-summary-list__row")
    }
    assert child["Date of birth"] == "1 April 2016" and child["First name"] == "Jamie"
    text = page.select_one("main").get_text(" ", strip=True)
    for raw in ("Rag", "Is referral", "first_response", "first response", "2026-11-", "+00:00"):
        assert raw not in text, raw
    assert not [li for li in page.select("main li") if not li.get_text(strip=True)]  # no empty bullets
    back = page.select_one(".govuk-back-link")
    assert back is not None and back["href"] in (f"/cases/{flow.instance_id}", "/inbox")


def test_package_values_in_words_without_empty_items():
    words = handover_display._Words({})
    assert handover_display.london_time("2026-12-06T10:05:33.123456+00:00") == "6 December 2026, 10:05"
    assert handover_display.london_time("2026-07-06T10:05:00+00:00") == "6 July 2026, 11:05"  # BST
    assert handover_display.team_name("daat") == "Duty and Assessment Team"
    assert words.show("receiving_team", "daat") == {"text": "Duty and Assessment Team"}
    assert words.show("other_sources", [None, "", {}, [], {"name": ""}]) is None
    shown = words.show(
        "agency_responses",
        [{"agency": "police", "information": [{"text": "Seen", "verified": True}, {"text": ""}]}, {}],
    )
    assert shown == {
        "items": [
            {
                "rows": [
                    {"label": "Agency", "text": "Northamptonshire Police"},
                    {
                        "label": "Information",
                        "items": [{"rows": [{"label": "Text", "text": "Seen"}, {"label": "Verified", "text": "Yes"}]}],
                    },
                ]
            }
        ]
    }
    assert words.label("is_referral") == "Referral" and words.label("rag") == "RAG rating"


def test_printing_leaves_out_the_header_footer_and_navigation():
    css = (ROOT / "app" / "static" / "app.css").read_text()
    block = re.search(r"@media print \{(.*?)\n\}", css, re.S)
    assert block is not None
    hidden = block.group(1).split("display: none")[0]
    for selector in (
        ".govuk-template__header",
        ".govuk-template__footer",
        ".govuk-service-navigation",
        ".govuk-back-link",
    ):
        assert selector in hidden
