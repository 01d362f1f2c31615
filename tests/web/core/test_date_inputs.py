"""Dates and times as GOV.UK inputs: `format: date` is a date input, `format: date-time` a date input plus
a time box in London time; both are checked on the server with GOV.UK messages on the right field; an
optional radio can be cleared; the API still takes ISO strings."""

from __future__ import annotations

from datetime import datetime

import pytest
from werkzeug.datastructures import MultiDict

from app.services.core.errors import Invalid
from app.services.core.forms import validate_submission
from app.web.core.form_parsing import parse_submission
from app.web.core.schema_forms import build_fields, field_id
from tests.support.flow import Flow
from tests.support.pages import Browser, soup

ACK = "acknowledged_at"
ACK_ID = field_id(ACK)


def _schema(name: str):
    import json

    from tests.support import models_dir

    forms = models_dir() / "forms"
    return (
        json.loads((forms / f"{name}.schema.json").read_text()),
        json.loads((forms / f"{name}.uischema.json").read_text()),
    )


def _post(day="24", month="11", year="2026", time="10:30", method="email"):
    return {
        f"{ACK}-day": day,
        f"{ACK}-month": month,
        f"{ACK}-year": year,
        f"{ACK}-time": time,
        "acknowledgement_method": method,
    }


@pytest.mark.parametrize(
    ("parts", "instant"),
    [
        (("24", "11", "2026", "10:30"), "2026-11-24T10:30:00+00:00"),
        (("1", "7", "2026", "10:30"), "2026-07-01T09:30:00+00:00"),  # British Summer Time
        (("1", "7", "2026", "2:30pm"), "2026-07-01T13:30:00+00:00"),
        (("01", "07", "2026", "14.30"), "2026-07-01T13:30:00+00:00"),
    ],
)
def test_a_date_and_time_entered_in_london_time_is_posted_as_an_instant(parts, instant):
    schema, ui = _schema("send_acknowledgement")
    day, month, year, time = parts
    problems: dict = {}
    data, _ = parse_submission(schema, ui, MultiDict(_post(day, month, year, time)), problems)
    assert problems == {}
    assert datetime.fromisoformat(data[ACK]) == datetime.fromisoformat(instant)
    validate_submission(schema, {}, data)


@pytest.mark.parametrize(
    ("parts", "message", "boxes"),
    [
        (("31", "2", "2026", "10:00"), "Enter a real date", ("day", "month", "year")),
        (("24", "11", "", "10:00"), "The date must include a year", ("year",)),
        (("", "11", "", "10:00"), "The date must include a day and year", ("day", "year")),
        (("24", "11", "26", "10:00"), "The year must include 4 numbers", ("year",)),
        (("24", "11", "2026", ""), "Enter a time, like 14:30", ("time",)),
        (("24", "11", "2026", "25:00"), "Enter a real time, like 14:30", ("time",)),
        (("24", "11", "2026", "today 10am"), "Enter a real time, like 14:30", ("time",)),
        (("", "", "", "10:00"), "Enter the date as well as the time", ("day", "month", "year")),
    ],
)
def test_a_date_or_time_that_is_not_real_gets_a_gov_uk_message_on_its_own_boxes(parts, message, boxes):
    schema, ui = _schema("send_acknowledgement")
    problems: dict = {}
    data, _ = parse_submission(schema, ui, MultiDict(_post(*parts)), problems)
    assert problems == {ACK: [message]}
    fields = build_fields(schema, ui, data, problems)
    (field,) = [f for f in fields if f.name == ACK]
    assert field.error == message and field.error_parts == boxes
    assert field.anchor == f"{ACK_ID}-{boxes[0]}"
    assert [field.date_parts[p] for p in ("day", "month", "year", "time")] == list(parts)  # kept as typed


def test_a_date_field_is_a_gov_uk_date_input_and_a_date_time_adds_a_time_box(ctx):
    schema, ui = _schema("history_check")
    fields = build_fields(schema, ui, {"case_system_checks": [{"system": "Case system"}]}, {})
    (checks,) = [f for f in fields if f.name == "case_system_checks"]
    kinds = {f.name: f.kind for f in checks.items[0]}
    assert kinds["case_system_checks.0.checked_at"] == "datetime"
    assert kinds["case_system_checks.0.closed_on"] == "date"


def test_the_task_page_refuses_a_date_that_is_not_real_with_the_message_on_the_field(client, ctx):
    flow = Flow(client)
    flow.intake()
    task = flow.task("bs", "send_acknowledgement")
    bs = Browser(ctx, "bs")
    page = soup(bs.get(f"/tasks/{task['id']}"))
    for part in ("day", "month", "year", "time"):
        assert page.find("input", attrs={"name": f"{ACK}-{part}"}) is not None
    assert page.find("input", attrs={"name": ACK}) is None  # no free-text box for a time any more
    response = bs.post(f"/tasks/{task['id']}", _post(day="31", month="2"))
    assert response.status_code == 422
    page = soup(response)
    summary = page.select_one(".govuk-error-summary")
    link = summary.find("a", href=f"#{ACK_ID}-day")
    assert link is not None and link.get_text(strip=True) == "Enter a real date"
    assert "is not a" not in page.get_text()
    assert page.find("input", attrs={"name": f"{ACK}-day"})["value"] == "31"  # what was typed is kept
    assert "govuk-input--error" in page.find("input", attrs={"name": f"{ACK}-day"})["class"]
    assert "govuk-input--error" not in page.find("input", attrs={"name": f"{ACK}-time"})["class"]
    # a missing time, and the method left out: both problems at once, each on its own field
    page = soup(bs.post(f"/tasks/{task['id']}", {**_post(time=""), "acknowledgement_method": ""}))
    errors = {a["href"]: a.get_text(strip=True) for a in page.select(".govuk-error-summary a")}
    assert errors[f"#{ACK_ID}-time"] == "Enter a time, like 14:30"
    assert any("method" in text.lower() for text in errors.values())
    assert flow.task("bs", "send_acknowledgement")  # nothing was saved
    response = bs.post(f"/tasks/{task['id']}", _post())
    assert response.status_code == 302
    assert flow.instance()["data"][ACK] == "2026-11-24T10:30:00+00:00"


def test_a_nested_date_time_that_is_not_a_time_is_refused_on_its_own_field(client, ctx):
    flow = Flow(client)
    flow.do(
        "masho",
        "record_contact",
        {
            "appendix_a_q1": "Bruising",
            "consent": "obtained",
            "consent_given_by": "Mother",
            "request_type": "service_request",
            "information_only": False,
            "red_criteria": [],
            "manager_attention_criteria": [],
        },
    )
    task = flow.task("masho", "history_check")
    masho = Browser(ctx, "masho")
    name = "case_system_checks.0.checked_at"
    response = masho.post(
        f"/tasks/{task['id']}",
        {
            "case_system_checks.present": "1",
            "case_system_checks.0._item": "1",
            "case_system_checks.0.system": "Case system",
            "case_system_checks.0.status": "not_known",
            f"{name}-day": "24",
            f"{name}-month": "11",
            f"{name}-year": "2026",
            f"{name}-time": "not a time",
            "synopsis": "None",
            "confirmed_matches.present": "1",
        },
    )
    assert response.status_code == 422
    page = soup(response)
    link = page.select_one(".govuk-error-summary").find("a", href=f"#{field_id(name)}-time")
    assert link is not None and link.get_text(strip=True) == "Enter a real time, like 14:30"


def test_schema_format_errors_read_as_gov_uk_messages():
    _, _ui = _schema("record_contact")
    with pytest.raises(Invalid) as err:
        validate_submission(
            {
                "type": "object",
                "properties": {
                    "day": {"type": "string", "format": "date", "title": "Day"},
                    "at": {"type": "string", "format": "date-time"},
                },
            },
            {},
            {"day": "2025-2-31", "at": "today 10am"},
        )
    assert err.value.errors == {
        "day": ["Enter a real date"],
        "at": ["Enter a real date and time, like 27 3 2026 14:30"],
    }


def test_the_api_still_takes_iso_strings_and_refuses_others_in_plain_words(client):
    flow = Flow(client)
    flow.intake()
    task = flow.task("bs", "send_acknowledgement")
    bad = flow.api.post(
        "bs", f"/api/v1/tasks/{task['id']}/complete", {"data": {ACK: "today 10am", "acknowledgement_method": "phone"}}
    )
    assert bad.status_code == 422
    assert "is not a" not in bad.get_data(as_text=True)
    flow.do("bs", "send_acknowledgement", {ACK: "2026-11-24T11:00:00+00:00", "acknowledgement_method": "phone"})


def test_an_optional_radio_can_be_cleared():
    schema, ui = _schema("triage")
    fields = build_fields(schema, ui, {"rag_override": "AMBER"}, {})
    (rag,) = [f for f in fields if f.name == "rag_override"]
    assert rag.may_clear and not rag.required
    required = [f for f in fields if f.kind in ("radios", "boolean") and f.required]
    assert required and not any(f.may_clear for f in required)
    data, _ = parse_submission(schema, ui, MultiDict({"rag_override": "", "analysis": "x"}))
    assert "rag_override" not in data  # cleared: stored as null by the service (the whole form is the answer)
    assert (
        validate_submission(
            schema,
            {},
            {
                **data,
                "threshold": "s17",
                "risk_may_become_significant_harm": False,
                "meets_disability_criteria": False,
                "transfer_to_social_care": False,
            },
        )["rag_override"]
        is None
    )


def test_the_not_answered_choice_is_on_the_page(client, ctx):
    flow = Flow(client)
    flow.intake()
    flow.do("mgr", "allocate", {"allocate_to": "decision_maker"})
    page = soup(Browser(ctx, "dm").get(f"/tasks/{flow.task('dm', 'triage_social_care')['id']}"))
    clear = page.find("input", id=f"{field_id('rag_override')}-none")
    assert clear is not None and clear["value"] == "" and clear["name"] == "rag_override"
    assert page.find("label", attrs={"for": clear["id"]}).get_text(strip=True) == "Not answered"
