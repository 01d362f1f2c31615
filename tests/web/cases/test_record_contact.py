"""Record a contact in the browser (issue 14): question pages kept on the server, two children with an
unborn baby, an anonymous referrer, "Add another" that lands on the new child, field-level errors
with what was typed kept, check your answers, then one contact with a case per child, landing on
the first child's Record contact task."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.api.core.schemas import ContactPostSchema
from app.extensions import db
from app.models import Contact, ContactDraft, ProcessInstance, TaskRecord
from app.web.cases import record_contact_form
from tests.support.pages import Browser, soup

HOW = {
    "channel": "phone",
    "received_at-day": "24",
    "received_at-month": "11",
    "received_at-year": "2026",
    "received_at-time": "09:30",
}
ANONYMOUS = {"referrer_anonymous": "yes", "referrer_relationship": "Neighbour", "referrer_name": "Should be dropped"}
ROBIN = {
    "child-0-first_name": "Robin",
    "child-0-last_name": "Harper",
    "child-0-born": "yes",
    "child-0-date_of_birth-day": "3",
    "child-0-date_of_birth-month": "2",
    "child-0-date_of_birth-year": "2019",
    "child-0-gender": "female",
    "child-0-address": "2 Mill Lane",
}
UNBORN = {
    "child-1-last_name": "Harper",
    "child-1-born": "no",
    "child-1-expected_date_of_delivery-day": "1",
    "child-1-expected_date_of_delivery-month": "3",
    "child-1-expected_date_of_delivery-year": "2027",
}
MOTHER = {
    "adult-0-first_name": "Sam",
    "adult-0-last_name": "Harper",
    "adult-0-relationship": "Mother",
    "adult-0-resident": "yes",
}
SUMMARY = "Shouting every night.\nThe mother is expecting again."


class Officer:
    """A signed-in MASH officer posting the pages as the browser would (CSRF token from the session)."""

    def __init__(self, ctx, username: str = "masho"):
        self.browser = Browser(ctx, username)
        self.token = self.browser.csrf_from("/inbox")

    def post(self, url: str, data: dict):
        return self.browser.client.post(url, data={**data, "csrf_token": self.token})

    def get(self, url: str):
        return self.browser.get(url)


def _errors(page) -> dict[str, str]:
    return {a["href"]: a.get_text(strip=True) for a in page.select(".govuk-error-summary a")}


def _unique_ids(page) -> None:
    ids = [e["id"] for e in page.select("[id]")]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def _draft_url(response) -> str:
    location = response.headers["Location"]
    assert re.search(r"/contacts/new/\d+/", location), location
    return location.split("#")[0].rsplit("/", 1)[0]


def _to_children(officer: Officer) -> str:
    started = officer.post("/contacts/new", HOW)
    assert started.status_code == 302, started.get_data(as_text=True)[:500]
    base = _draft_url(started)
    assert started.headers["Location"].endswith(f"{base}/referrer")
    referrer = officer.post(f"{base}/referrer", ANONYMOUS)
    assert referrer.status_code == 302 and referrer.headers["Location"].endswith(f"{base}/children")
    return base


def test_two_children_one_unborn_from_an_anonymous_phone_call_is_one_contact_with_two_cases(ctx):
    officer = Officer(ctx)
    first = soup(officer.get("/contacts/new"))
    # received at defaults to now in London time (the tests' clock: 24 November 2026, 10:00)
    assert [
        first.find("input", {"name": n})["value"]
        for n in ("received_at-day", "received_at-month", "received_at-year", "received_at-time")
    ] == ["24", "11", "2026", "10:00"]
    assert first.find("input", {"name": "channel", "value": "police_notification"}) is not None
    base = _to_children(officer)

    # "Add another child" keeps what was typed and lands on the new child's fieldset
    added = officer.post(f"{base}/children", {"child_count": "1", **ROBIN, "action": "add"})
    assert added.status_code == 302 and added.headers["Location"].endswith(f"{base}/children#child-1-section")
    page = soup(officer.get(f"{base}/children"))
    _unique_ids(page)
    assert page.find(id="child-1-section") is not None
    assert page.find("input", {"name": "child-0-first_name"})["value"] == "Robin"
    assert page.find("input", {"name": "child-0-gender", "value": "female"}).has_attr("checked")

    done = officer.post(f"{base}/children", {"child_count": "2", **ROBIN, **UNBORN, "action": "continue"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{base}/adults")
    added = officer.post(f"{base}/adults", {"adult_count": "0", "action": "add"})
    assert added.headers["Location"].endswith(f"{base}/adults#adult-0-section")
    adults = officer.post(f"{base}/adults", {"adult_count": "1", **MOTHER, "action": "continue"})
    assert adults.headers["Location"].endswith(f"{base}/concerns")
    concerns = officer.post(f"{base}/concerns", {"summary": SUMMARY})
    assert concerns.headers["Location"].endswith(f"{base}/check")

    check = soup(officer.get(f"{base}/check"))
    _unique_ids(check)
    for step in ("how", "referrer", "adults", "concerns"):
        _unique_ids(soup(officer.get(f"{base}/{step}")))
    assert check.find("h1").get_text(strip=True) == "Check the contact before you record it"
    rows = [
        (r.find("dt").get_text(strip=True), r.find("dd").get_text(" ", strip=True))
        for r in check.select(".govuk-summary-list__row")
    ]
    assert ("How it came in", "Phone call") in rows and ("Received", "24 November 2026, 09:30") in rows
    assert ("Named", "No, they want to stay anonymous") in rows
    assert not any(label == "Name" and value == "Should be dropped" for label, value in rows)
    assert ("Name", "Robin Harper") in rows and ("Date of birth", "3 February 2019") in rows
    assert ("Name", "Unborn baby Harper") in rows and ("Expected date of delivery", "1 March 2027") in rows
    assert ("Lives in the household", "Yes") in rows
    headings = [h.get_text(strip=True) for h in check.select("h2.govuk-heading-m")]
    assert headings[:5] == ["The contact", "Referrer", "Child 1", "Child 2", "Adult 1"]
    change = check.find("a", href=re.compile("child-1-expected_date_of_delivery-day"))
    assert change is not None and "change=1" in change["href"]
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar_one() == 0  # nothing yet

    # what is recorded is what POST /api/v1/contacts accepts
    (draft,) = db.session.execute(select(ContactDraft)).scalars().all()
    body = record_contact_form.contact(draft.answers)
    ContactPostSchema().load({**body, "received_at": body["received_at"].isoformat()})
    db.session.rollback()

    recorded = officer.post(f"{base}/check", {})
    assert recorded.status_code == 302
    (contact,) = db.session.execute(select(Contact)).scalars().all()
    assert contact.channel == "phone" and contact.created_by is not None
    assert contact.payload["referrer"]["anonymous"] is True and contact.payload["referrer"]["name"] is None
    assert contact.payload["adults"][0]["last_name"] == "Harper" and contact.payload["adults"][0]["resident"] is True
    assert contact.received_at.isoformat() == "2026-11-24T09:30:00+00:00"
    instances = (
        db.session.execute(
            select(ProcessInstance).where(ProcessInstance.contact_id == contact.id).order_by(ProcessInstance.id)
        )
        .scalars()
        .all()
    )
    assert len(instances) == 2
    first_child, unborn = (i.case_data["child"] for i in instances)
    assert (first_child["first_name"], first_child["date_of_birth"]) == ("Robin", "2019-02-03")
    assert (unborn["first_name"], unborn["expected_date_of_delivery"], unborn.get("date_of_birth")) == (
        "Unborn",
        "2027-03-01",
        None,
    )
    assert instances[0].case_data["summary"] == SUMMARY
    # lands on the first child's Record contact task (Appendix A, Appendix E and consent are its questions)
    task_id = recorded.headers["Location"].rsplit("/", 1)[1]
    task = db.session.get(TaskRecord, task_id)
    assert (task.instance_id, task.bpmn_id) == (instances[0].id, "record_contact")
    page = officer.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    text = soup(page).get_text(" ", strip=True)
    assert "Contact recorded: reference MASH-20261124-" in text and "Each of the 2 children" in text
    form = soup(page)  # the task's own form starts from what was recorded (its Appendix A, E, consent questions)
    assert form.find("input", {"name": "child.first_name"})["value"] == "Robin"
    assert form.find(attrs={"name": "appendix_a_q1"}) is not None and form.find(attrs={"name": "consent"}) is not None
    assert db.session.execute(select(func.count()).select_from(ContactDraft)).scalar_one() == 0
    # pressing the button again records nothing more
    assert officer.post(f"{base}/check", {}).status_code == 404
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar_one() == 1


def test_errors_are_field_level_in_page_order_and_what_was_typed_is_kept(ctx):
    officer = Officer(ctx)
    bad = officer.post(
        "/contacts/new",
        {"received_at-day": "31", "received_at-month": "2", "received_at-year": "2026", "received_at-time": "25:00"},
    )
    assert bad.status_code == 422
    page = soup(bad)
    assert page.title.get_text().startswith("Error:")
    assert _errors(page) == {
        "#channel": "Select how the contact came in",
        "#received_at-day": "The date the contact was received must be a real date",
        "#received_at-time": "Enter a real time, using the 24-hour clock, like 09:30 or 14:05",
    }
    assert page.find("input", {"name": "received_at-day"})["value"] == "31"
    assert page.select_one("#received_at-time-error") is not None  # the message sits on its own field
    future = soup(officer.post("/contacts/new", {**HOW, "received_at-day": "25"}))
    assert _errors(future) == {"#received_at-day": "The date and time the contact was received must be in the past"}
    part = soup(officer.post("/contacts/new", {**HOW, "received_at-month": ""}))
    assert _errors(part) == {"#received_at-day": "The date the contact was received must include a month"}

    base = _to_children(officer)
    named = soup(officer.post(f"{base}/referrer", {"referrer_anonymous": "no", "referrer_email": "not-an-email"}))
    assert _errors(named) == {
        "#referrer_name": "Enter the referrer’s name",
        "#referrer_email": "Enter an email address in the correct format, like name@example.com",
    }
    assert named.find("input", {"name": "referrer_email"})["value"] == "not-an-email"
    officer.post(f"{base}/referrer", ANONYMOUS)

    children = officer.post(
        f"{base}/children",
        {
            "child_count": "2",
            "child-0-first_name": "Robin",
            "child-0-born": "yes",
            "child-0-date_of_birth-day": "3",
            "child-0-date_of_birth-month": "2",
            "child-0-date_of_birth-year": "2030",
            "child-1-last_name": "Harper",
            "child-1-born": "no",
            "action": "continue",
        },
    )
    assert children.status_code == 422
    page = soup(children)
    assert _errors(page) == {
        "#child-0-last_name": "Enter child 1’s last name, or the family’s last name",
        "#child-0-date_of_birth-day": "The date of birth must be in the past",
        "#child-1-expected_date_of_delivery-day": "Enter the expected date of delivery",
    }
    assert page.find("input", {"name": "child-0-first_name"})["value"] == "Robin"
    # kept on the server too: the page comes back with it
    again = soup(officer.get(f"{base}/children"))
    assert again.find("input", {"name": "child-1-last_name"})["value"] == "Harper"
    # the check page is not reachable before every page is answered
    assert officer.get(f"{base}/check").headers["Location"].endswith(f"{base}/children")

    adults = soup(
        officer.post(
            f"{base}/adults",
            {
                "adult_count": "2",
                "adult-0-first_name": "Sam",
                "adult-0-date_of_birth-day": "40",
                "adult-0-date_of_birth-month": "1",
                "adult-0-date_of_birth-year": "1990",
                "action": "continue",
            },
        )
    )
    assert _errors(adults) == {
        "#adult-0-last_name": "Enter adult 1’s last name",
        "#adult-0-date_of_birth-day": "Adult 1’s date of birth must be a real date",
        "#adult-0-resident": "Select whether adult 1 lives in the household",
    }
    empty = soup(officer.post(f"{base}/concerns", {"summary": "  "}))
    assert _errors(empty) == {"#summary": "Enter what the referrer told you about their concerns"}


def test_only_those_who_may_start_a_contact_see_or_use_it_and_a_draft_is_its_own_sessions(ctx):
    dm = Officer(ctx, "dm")
    assert dm.get("/contacts/new").status_code == 403
    assert dm.post("/contacts/new", HOW).status_code == 403
    assert "Record a contact" not in dm.get("/inbox").get_data(as_text=True)
    officer = Officer(ctx)
    inbox = soup(officer.get("/inbox"))
    assert inbox.find("a", href="/contacts/new").get_text(strip=True) == "Record a contact"
    processes = soup(officer.get("/processes")).get_text(" ", strip=True)
    assert "Contacts are recorded from the inbox" not in processes and "Record a contact" in processes
    base = _to_children(officer)
    assert dm.get(f"{base}/children").status_code == 403
    other = Officer(ctx)  # the same person in another browser (another session) cannot open it
    assert other.get(f"{base}/children").status_code == 404
    assert officer.get(f"{base}/nowhere").status_code == 404
    # "Change" returns to the check page once every page is answered
    officer.post(f"{base}/children", {"child_count": "1", **ROBIN})
    officer.post(f"{base}/adults", {"adult_count": "0"})
    officer.post(f"{base}/concerns", {"summary": SUMMARY})
    changed = officer.post(f"{base}/referrer?change=1", {"referrer_anonymous": "no", "referrer_name": "Ann Teacher"})
    assert changed.headers["Location"].endswith(f"{base}/check")
    # deleting it leaves nothing behind
    assert officer.post(f"{base}/cancel", {}).status_code == 302
    assert db.session.execute(select(func.count()).select_from(ContactDraft)).scalar_one() == 0
