"""Issue 14 in real Chromium, axe on every page: a MASH officer records a two-child phone contact with
an unborn baby (anonymous referrer, "Add another child" that keeps the place, check your answers),
lands on the first child's Record contact task, then finds the case by its reference and by name."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Contact, ProcessInstance
from tests.support.browser import release_database


def _in_view(page, selector: str) -> bool:
    top = page.evaluate(f"document.querySelector({selector!r}).getBoundingClientRect().top")
    return 0 <= top < page.viewport_size["height"]


def _date(scope, legend: str, day: str, month: str, year: str) -> None:
    group = scope.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(day)
    group.get_by_label("Month").fill(month)
    group.get_by_label("Year").fill(year)


def test_record_a_two_child_phone_contact_with_an_unborn_baby_then_find_it(site):
    page = site.sign_in("masho")
    with page.expect_navigation():  # a link drawn as a GOV.UK start button (role=button)
        page.get_by_role("button", name="Record a contact", exact=True).click()
    site.check(page, "Record a contact")
    assert page.url.endswith("/contacts/new")
    assert page.locator("#received_at-time").input_value() == "10:00"  # now, in London time

    # -- how and when --------------------------------------------------------------------------
    site.submit(page, "Continue", status=422)
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible() and page.title().startswith("Error:")
    assert [a.get_attribute("href") for a in summary.locator("a").all()] == ["#channel"]
    page.get_by_label("Phone call", exact=True).check()
    page.locator("#received_at-time").fill("09:30")
    site.submit(page, "Continue", status=200)
    assert re.search(r"/contacts/new/\d+/referrer$", page.url), page.url

    # -- the referrer: anonymous --------------------------------------------------------------------
    page.get_by_label("No, they want to stay anonymous", exact=True).check()
    assert not page.get_by_label("Name", exact=True).is_visible()  # the named questions are folded away
    page.get_by_label("Relationship to the child (optional)").fill("Neighbour")
    site.submit(page, "Continue", status=200)

    # -- the children: Robin, then "Add another child" for the unborn baby ----------------------------
    first = page.locator("#child-0-section")
    first.get_by_label("First name", exact=True).fill("Robin")
    first.get_by_label("Last name", exact=True).fill("Harper")
    first.get_by_role("group", name="Has this child been born?").get_by_label("Yes", exact=True).check()
    _date(first, "Date of birth", "3", "2", "2019")
    site.submit(page, "Add another child", status=200)
    assert page.url.endswith("/children#child-1-section"), page.url
    assert _in_view(page, "#child-1-section")  # the page lands on the new child, not at the top
    assert page.locator("#child-0-first_name").input_value() == "Robin"  # nothing typed is lost
    second = page.locator("#child-1-section")
    second.get_by_label("Last name", exact=True).fill("Harper")
    second.get_by_role("group", name="Has this child been born?").get_by_label(
        "No, this child is not born yet", exact=True
    ).check()
    _date(second, "Expected date of delivery", "1", "3", "2027")
    site.submit(page, "Continue", status=200)

    # -- adults, then the concerns ----------------------------------------------------------------------
    site.submit(page, "Add an adult", status=200)
    assert page.url.endswith("/adults#adult-0-section"), page.url
    adult = page.locator("#adult-0-section")
    adult.get_by_label("First name (optional)").fill("Sam")
    adult.get_by_label("Last name", exact=True).fill("Harper")
    adult.get_by_label("Relationship to the children (optional)").fill("Mother")
    adult.get_by_role("group", name="Do they live in the household?").get_by_label("Yes", exact=True).check()
    site.submit(page, "Continue", status=200)
    page.get_by_label("What did the referrer tell you?").fill("Shouting every night. The mother is expecting again.")
    site.submit(page, "Continue", status=200)

    # -- check your answers, change one, record ----------------------------------------------------------
    assert page.get_by_role("heading", level=1).inner_text() == "Check the contact before you record it"
    main = page.inner_text("main")
    assert "No, they want to stay anonymous" in main and "1 March 2027" in main and "3 February 2019" in main
    assert "Unborn baby Harper" in main and "Phone call" in main and "24 November 2026, 09:30" in main
    site.follow(page, "Change the expected date of delivery of child 2")
    assert page.url.endswith("#child-1-expected_date_of_delivery-day")
    assert page.locator("#child-1-expected_date_of_delivery-year").input_value() == "2027"
    site.submit(page, "Continue", status=200)
    assert page.url.endswith("/check"), page.url
    site.submit(page, "Record the contact", status=200)

    release_database()
    (contact,) = db.session.execute(select(Contact)).scalars().all()
    instances = (
        db.session.execute(
            select(ProcessInstance).where(ProcessInstance.contact_id == contact.id).order_by(ProcessInstance.id)
        )
        .scalars()
        .all()
    )
    children = [
        (i.case_data["child"]["first_name"], i.case_data["child"].get("expected_date_of_delivery")) for i in instances
    ]
    release_database()
    assert children == [("Robin", None), ("Unborn", "2027-03-01")]
    assert re.search(r"/tasks/[0-9a-f-]+$", page.url), page.url  # the first child's Record contact task
    banner = page.locator(".govuk-notification-banner").inner_text()
    reference = re.search(r"MASH-\d{8}-\d{6}", banner)[0]

    # -- find it by reference, then by name ---------------------------------------------------------------
    site.follow(page, "Find a case", within=page.locator(".govuk-service-navigation"))
    page.get_by_label("Reference or case number", exact=True).fill(reference)
    site.submit(page, "Search", status=200)
    results = page.locator("table#results")
    assert "2 cases found" in results.inner_text()
    assert results.get_by_role("link", name="Robin Harper", exact=True).count() == 1
    assert page.get_by_label("Reference or case number", exact=True).input_value() == reference  # kept

    page.get_by_label("Reference or case number", exact=True).fill("")
    page.get_by_label("Child’s name", exact=True).fill("Robyn Harper")  # misspelt, as a caller might
    site.submit(page, "Search", status=200)
    results = page.locator("table#results")
    assert results.get_by_role("link", name="Robin Harper", exact=True).count() == 1
    assert "Born 3 February 2019" in results.inner_text()
    site.follow(page, "Robin Harper", within=results)
    assert page.url.endswith(f"/cases/{instances[0].id}"), page.url
