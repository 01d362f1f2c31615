"""The public referral form (issue 15): several children, an unborn baby, an anonymous referrer,
check your answers, the error summary in page order, and a confirmation panel without markup."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Contact, ProcessInstance
from tests.support import Api, make_people
from tests.support.flow import Flow
from tests.support.pages import Browser, soup

ROBIN = {
    "child-0-first_name": "Robin",
    "child-0-last_name": "Harper",
    "child-0-born": "yes",
    "child-0-date_of_birth-day": "3",
    "child-0-date_of_birth-month": "2",
    "child-0-date_of_birth-year": "2019",
    "child-0-address": "2 Mill Lane",
}
UNBORN = {
    "child-1-last_name": "Harper",
    "child-1-born": "no",
    "child-1-expected_date_of_delivery-day": "1",
    "child-1-expected_date_of_delivery-month": "3",
    "child-1-expected_date_of_delivery-year": "2027",
}
ANONYMOUS = {
    "anonymous": "yes",
    "referrer_relationship": "Neighbour",
    "concerns": "Shouting every night.\nThe mother is expecting again.",
    "consent": "not_sought",
}


def _post(browser: Browser, data: dict, action: str):
    return browser.post("/refer", {**data, "action": action})


def _resend(browser: Browser, page, action: str = "send", **changes):
    """Press a button on the check page: post back exactly its hidden fields (as the browser would)."""
    data = {i["name"]: i.get("value", "") for i in page.select("form input[type=hidden]") if i["name"] != "csrf_token"}
    return _post(browser, {**data, **changes}, action)


def _walk(ctx, instance_id: int) -> Flow:
    flow = Flow.__new__(Flow)
    make_people()
    flow.api, flow.instance_id = Api(ctx.test_client()), instance_id
    return flow


def test_two_children_one_unborn_from_an_anonymous_referrer_make_one_contact_and_no_acknowledgement(ctx):
    browser = Browser(ctx)
    check = _post(browser, {**ANONYMOUS, "child_count": "2", **ROBIN, **UNBORN}, "continue")
    assert check.status_code == 200
    page = soup(check)
    assert page.find("h1").get_text(strip=True) == "Check your answers before sending your referral"
    rows = {
        r.find("dt").get_text(strip=True): r.find("dd").get_text(" ", strip=True)
        for r in page.select(".govuk-summary-list__row")
    }
    assert rows["Do you want to tell us who you are?"] == "No, I want to stay anonymous"
    assert "Your name" not in rows and rows["Expected date of delivery"] == "1 March 2027"
    assert rows["Date of birth"] == "3 February 2019"
    headings = [h.get_text(strip=True) for h in page.select("h2.govuk-heading-m")]
    assert headings[:3] == ["About you", "Child 1", "Child 2"]
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar_one() == 0  # nothing until sent

    sent = _resend(browser, page)
    assert sent.status_code == 200
    (contact,) = db.session.execute(select(Contact)).scalars().all()
    assert contact.channel == "online_form"
    assert contact.payload["referrer"]["anonymous"] is True and contact.payload["referrer"]["name"] is None
    instances = (
        db.session.execute(
            select(ProcessInstance).where(ProcessInstance.contact_id == contact.id).order_by(ProcessInstance.id)
        )
        .scalars()
        .all()
    )
    assert len(instances) == 2
    first, baby = (i.case_data["child"] for i in instances)
    assert first["first_name"] == "Robin" and first["date_of_birth"] == "2019-02-03"
    assert baby["expected_date_of_delivery"] == "2027-03-01" and not baby.get("date_of_birth")
    assert baby["first_name"] == "Unborn" and baby["last_name"] == "Harper"  # as the officer's form records one

    # the model: an anonymous referrer gets no acknowledgement (ack_gw: acknowledges_contact and not anonymous)
    flow = _walk(ctx, instances[0].id)
    flow.do(
        "masho",
        "record_contact",
        {
            "appendix_a_q1": "Shouting every night.",
            "consent": "not_sought",
            "consent_not_sought_reason": "anonymous_referrer",
            "safety_scale": 5,
            "request_type": "service_request",
            "information_only": False,
            "red_criteria": [],
            "manager_attention_criteria": [],
        },
    )
    db.session.refresh(instances[0])
    assert instances[0].case_data["referrer_anonymous"] is True and instances[0].case_data["acknowledges_contact"]
    assert "send_acknowledgement" not in [bpmn_id for bpmn_id, _ in flow.waiting()]
    assert not [t for t in flow.ready("bs") if t["bpmn_id"] == "send_acknowledgement"]


def test_a_named_referrer_needs_a_name_and_phone_and_an_anonymous_one_does_not(ctx):
    browser = Browser(ctx)
    base = {**ROBIN, "concerns": "Worried.", "consent": "obtained"}
    named = soup(_post(browser, {**base, "anonymous": "no"}, "continue"))
    assert [a["href"] for a in named.select(".govuk-error-summary a")] == ["#referrer_name", "#referrer_phone"]
    assert _post(browser, {**base, "anonymous": "yes"}, "continue").status_code == 200
    undecided = soup(_post(browser, base, "continue"))
    assert [a["href"] for a in undecided.select(".govuk-error-summary a")] == ["#anonymous"]


def test_the_error_summary_lists_the_errors_in_the_order_of_the_fields(ctx):
    response = _post(
        Browser(ctx),
        {
            "child_count": "2",
            "referrer_email": "not-an-email",
            "anonymous": "no",
            "child-1-born": "no",
            "child-1-expected_date_of_delivery-day": "31",
            "child-1-expected_date_of_delivery-month": "2",
            "child-1-expected_date_of_delivery-year": "2027",
        },
        "continue",
    )
    assert response.status_code == 422
    page = soup(response)
    assert page.title.get_text().startswith("Error:")
    links = [a["href"].lstrip("#") for a in page.select(".govuk-error-summary a")]
    assert links == [
        "referrer_name",
        "referrer_phone",
        "referrer_email",
        "child-0-last_name",
        "child-0-born",
        "child-1-last_name",
        "child-1-expected_date_of_delivery-day",
        "concerns",
        "consent",
    ]
    in_page = [e["id"] for e in page.select("form [id]") if e["id"] in links]
    assert in_page == links  # every message links to a field that exists, and in the same order
    assert "Enter child 2’s last name" in page.get_text()
    assert "must be a real date" in page.get_text()


def test_add_another_child_keeps_the_answers_and_the_place_and_remove_takes_one_away(ctx):
    browser = Browser(ctx)
    page = soup(_post(browser, {**ANONYMOUS, **ROBIN}, "add_child"))
    assert page.select_one("#child-0-first_name")["value"] == "Robin"
    assert page.select_one("#referrer_relationship")["value"] == "Neighbour"
    assert page.select_one("#child-1-section") is not None
    assert page.select_one("input[name=child_count]")["value"] == "2"
    add = page.find("button", string=lambda s: s and "Add another child" in s)
    assert add["formaction"] == "/refer#child-2-section"  # the next one lands on its own heading
    assert [b.get_text(strip=True) for b in page.select("button[value^=remove_child]")] == [
        "Remove child 1",
        "Remove child 2",
    ]
    # Enter in a text box presses the first submit button: it is Continue
    assert page.select("form button[type=submit]")[0]["value"] == "continue"
    removed = soup(_post(browser, {**ANONYMOUS, **ROBIN, **UNBORN, "child_count": "2"}, "remove_child-0"))
    assert removed.select_one("input[name=child_count]")["value"] == "1"
    assert removed.select_one("#child-0-expected_date_of_delivery-day")["value"] == "1"  # the baby moved up
    assert removed.select_one("#child-0-first_name").get("value", "") == ""


def test_change_on_the_check_page_goes_back_to_the_question_with_every_answer(ctx):
    browser = Browser(ctx)
    page = soup(_post(browser, {**ANONYMOUS, **ROBIN}, "continue"))
    change = [b for b in page.select("button[value=change]") if "date of birth" in b.get_text()]
    assert change and change[0]["formaction"] == "/refer#child-0-date_of_birth-day"
    assert "date of birth" in change[0].select_one(".govuk-visually-hidden").get_text()
    form = soup(_resend(browser, page, action="change"))
    assert form.find("h1").get_text(strip=True) == "Tell us you are worried about a child"
    assert form.select_one("#child-0-date_of_birth-year")["value"] == "2019"
    assert form.select_one("#anonymous-2").has_attr("checked")
    assert form.select_one("#concerns").get_text().strip().startswith("Shouting every night.")


def test_the_confirmation_shows_the_reference_as_text_in_a_panel(ctx):
    browser = Browser(ctx)
    page = soup(
        _post(
            browser,
            {
                **ROBIN,
                "anonymous": "no",
                "referrer_name": "A Neighbour",
                "referrer_phone": "07700 900000",
                "concerns": "Worried.",
                "consent": "obtained",
            },
            "continue",
        )
    )
    sent = _resend(browser, page)
    panel = soup(sent).select_one(".govuk-panel")
    text = panel.get_text(" ", strip=True)
    assert text.startswith("Referral sent Your reference number is MASH-2026")
    assert "<br>" not in text and "<strong>" not in text and "&lt;" not in sent.get_data(as_text=True)
    assert "Robin" not in soup(sent).get_text() and "Harper" not in soup(sent).get_text()


def test_send_checks_the_answers_again(ctx):
    browser = Browser(ctx)
    response = _post(browser, {**ROBIN, "anonymous": "no", "concerns": "Worried.", "consent": "obtained"}, "send")
    assert response.status_code == 422
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar_one() == 0
