"""The public referral form on a phone (issue 15): two children, one not born yet, from an anonymous
referrer, through check your answers to the reference number. axe-core checks every page."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Contact, ProcessInstance
from tests.support.browser import release_database

PHONE = {"width": 375, "height": 812}


def _fits(page) -> None:
    """Nothing wider than the phone: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def _in_view(page, selector: str) -> bool:
    top = page.evaluate(f"document.querySelector({selector!r}).getBoundingClientRect().top")
    return 0 <= top < PHONE["height"]


def test_two_children_one_unborn_anonymous_on_a_375px_phone(site):
    page = site.new_page()
    page.set_viewport_size(PHONE)
    site.visit(page, "/refer")
    _fits(page)

    site.submit(page, "Continue", status=422)
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible() and page.title().startswith("Error:")
    targets = [link.get_attribute("href") for link in summary.locator("a").all()]
    ids = page.evaluate("Array.from(document.querySelectorAll('form [id]')).map(e => '#' + e.id)")
    assert targets == [i for i in ids if i in targets]  # the summary follows the page
    _fits(page)

    page.get_by_role("group", name="Do you want to tell us who you are?").get_by_label(
        "No, I want to stay anonymous", exact=True
    ).check()
    page.get_by_label("How do you know the child? (optional)").fill("Neighbour")
    first = page.locator("#child-0-section")
    first.get_by_label("First name (optional)").fill("Robin")
    first.get_by_label("Last name", exact=True).fill("Harper")
    first.get_by_role("group", name="Has this child been born?").get_by_label("Yes", exact=True).check()
    birth = first.get_by_role("group", name="Date of birth")
    birth.get_by_label("Day").fill("3")
    birth.get_by_label("Month").fill("2")
    birth.get_by_label("Year").fill("2019")

    site.submit(page, "Add another child", status=200)
    assert page.url.endswith("/refer#child-1-section")
    assert _in_view(page, "#child-1-section")  # the page lands on the new child, not at the top
    assert page.locator("#child-0-first_name").input_value() == "Robin"  # nothing typed is lost
    second = page.locator("#child-1-section")
    assert second.get_by_role("group", name="Child 2").count() == 1
    second.get_by_label("Last name", exact=True).fill("Harper")
    second.get_by_role("group", name="Has this child been born?").get_by_label(
        "No, this child is not born yet", exact=True
    ).check()
    due = second.get_by_role("group", name="Expected date of delivery")
    due.get_by_label("Day").fill("1")
    due.get_by_label("Month").fill("3")
    due.get_by_label("Year").fill("2027")
    page.get_by_label("What are you worried about?").fill("Shouting every night. The mother is expecting again.")
    page.get_by_label("No, I have not asked them").check()
    _fits(page)

    site.submit(page, "Continue", status=200)
    assert page.get_by_role("heading", level=1).inner_text() == "Check your answers before sending your referral"
    main = page.inner_text("main")
    assert "No, I want to stay anonymous" in main and "1 March 2027" in main and "3 February 2019" in main
    _fits(page)

    site.submit(page, "Change expected date of delivery of child 2", status=200)
    assert page.url.endswith("#child-1-expected_date_of_delivery-day")
    assert page.locator("#child-1-expected_date_of_delivery-year").input_value() == "2027"
    site.submit(page, "Continue", status=200)

    site.submit(page, "Send referral", status=200)
    panel = page.locator(".govuk-panel")
    assert re.fullmatch(r"Referral sent\s+Your reference number is MASH-\d{8}-\d{6}", panel.inner_text().strip())
    assert "<" not in panel.inner_text() and "Robin" not in page.inner_text("main")
    assert "cannot contact you" in page.inner_text("main")
    _fits(page)

    release_database()
    (contact,) = db.session.execute(select(Contact)).scalars().all()
    assert contact.payload["referrer"]["anonymous"] is True
    children = [
        i.case_data["child"]
        for i in db.session.execute(
            select(ProcessInstance).where(ProcessInstance.contact_id == contact.id).order_by(ProcessInstance.id)
        ).scalars()
    ]
    assert [(c.get("first_name"), c.get("date_of_birth"), c.get("expected_date_of_delivery")) for c in children] == [
        ("Robin", "2019-02-03", None),
        ("Unborn", None, "2027-03-01"),
    ]
    release_database()
