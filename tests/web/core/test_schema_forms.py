"""Schema-driven task forms with the REAL forms in forms/: render, post back, errors, escaping.

No app or database: the macros render in a bare autoescaping Jinja environment, and a tiny
"browser" (post_from) turns the rendered HTML into the POST a browser would send, so each
round trip goes values → HTML → form data → parse_submission → the same values.
"""

from __future__ import annotations

import collections
import json
from datetime import datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.datastructures import MultiDict

from app.services.core.errors import Invalid
from app.services.core.forms import validate_submission
from app.web.core.form_parsing import parse_submission
from app.web.core.schema_forms import build_fields, error_summary, field_id, unplaced_errors

ROOT = Path(__file__).resolve().parents[3]
FORMS = sorted(p.name.removesuffix(".schema.json") for p in (ROOT / "forms").glob("*.schema.json"))
ENV = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(str(ROOT / "app" / "templates")),
            # the govuk macros import each other as "govuk_frontend_jinja/components/...", as app/web does
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    ),
    autoescape=True,
)
PAGE = ENV.from_string(
    '{% from "components/schema_form.html" import render_fields, error_summary_box %}'
    "{% if summary %}{{ error_summary_box(summary) }}{% endif %}"
    '<form method="post">{{ render_fields(fields) }}'
    '<button type="submit" name="_action" value="">Save and continue</button></form>'
)


def load(name: str) -> tuple[dict, dict]:
    return (
        json.loads((ROOT / "forms" / f"{name}.schema.json").read_text()),
        json.loads((ROOT / "forms" / f"{name}.uischema.json").read_text()),
    )


def render(schema, ui, values=None, errors=None, data=None):
    fields = build_fields(schema, ui, values or {}, errors or {}, data=data)
    html = PAGE.render(fields=fields, summary=error_summary(fields))
    return fields, BeautifulSoup(html, "html.parser")


def post_from(page: BeautifulSoup, action: str = "") -> MultiDict:
    """What a browser posts for this page as rendered, pressing the button with this _action."""
    form = MultiDict()
    for control in page.find_all(["input", "textarea", "select"]):
        name = control.get("name")
        if not name or control.has_attr("disabled"):
            continue
        if control.name == "textarea":
            form.add(name, control.get_text())
        elif control.name == "select":
            chosen = control.find("option", selected=True) or control.find("option")
            form.add(name, chosen.get("value", chosen.get_text()) if chosen else "")
        elif control.get("type") in ("radio", "checkbox"):
            if control.has_attr("checked"):
                form.add(name, control.get("value", "on"))
        elif control.get("type") not in ("submit", "button"):
            form.add(name, control.get("value", ""))
    form.add("_action", action)
    return form


def assert_well_formed(page: BeautifulSoup) -> None:
    ids = collections.Counter(tag["id"] for tag in page.find_all(id=True))
    assert not [i for i, n in ids.items() if n > 1], "duplicate ids"
    for control in page.find_all(["input", "textarea", "select"]):
        if control.get("type") == "hidden":
            continue
        assert control.get("id"), control
        assert page.find("label", attrs={"for": control["id"]}) is not None, f"no label for {control['id']}"
        for described in (control.get("aria-describedby") or "").split():
            assert page.find(id=described) is not None, described
    for link in page.select(".govuk-error-summary a"):
        assert page.find(id=link["href"].removeprefix("#")) is not None, link["href"]


RECORD_CONTACT = {
    "child": {
        "first_name": "Sam",
        "last_name": "Doe",
        "date_of_birth": "2016-04-01",
        "gender": "female",
        "address": "1 High Street\nTown",
    },
    "referrer": {"anonymous": False, "name": "Ms Teacher", "agency": "Hill School", "email": "t@school.example"},
    "summary": "Bruise seen at school",
    "appendix_a_q1": "Child said mum's partner hit them.",
    "safety_scale": 3,
    "household_members": [
        {"name": "Alex Doe", "date_of_birth": "1990-01-02", "relationship": "mother", "resident": True},
        {"name": "Chris Roe", "resident": False, "notes": "Stays at weekends"},
    ],
    "adults": [{"first_name": "Chris", "last_name": "Roe", "date_of_birth": "1988-12-31"}],
    "other_children": [{"name": "Kim Doe", "action": "not_needed", "reason": "Lives with father abroad"}],
    "consent": "obtained",
    "consent_given_by": "Mother",
    "request_type": "service_request",
    "information_only": False,
    "red_criteria": ["homeless", "other"],
    "red_criteria_other": "Evicted today",
    "manager_attention_criteria": [],
}


@pytest.mark.parametrize("name", FORMS)
def test_every_real_form_renders_every_field_with_labels_and_unique_ids(name):
    schema, ui = load(name)
    _fields, page = render(schema, ui)
    assert_well_formed(page)
    names = {tag.get("name", "").split("-")[0].removesuffix(".present") for tag in page.find_all(attrs={"name": True})}
    for key, sub in schema["properties"].items():
        # an object's own name is on its children, not an input; a read-only (derived) field is shown, not posted
        if sub.get("type") != "object" and not sub.get("readOnly"):
            assert key in names or any(n.startswith(f"{key}.") for n in names), f"{name}: {key} not rendered"
    # an empty page posts nothing the schema does not declare
    data, action = parse_submission(schema, ui, post_from(page))
    assert action is None and set(data) <= set(schema["properties"])


@pytest.mark.parametrize("name", FORMS)
def test_an_empty_submit_puts_every_validator_error_on_a_field_in_the_summary(name):
    schema, ui = load(name)
    _, page = render(schema, ui)
    data, _ = parse_submission(schema, ui, post_from(page))
    try:
        validate_submission(schema, {}, data)
    except Invalid as err:
        errors = err.errors
    else:
        pytest.skip(f"{name} accepts an empty answer")
    fields, page = render(schema, ui, data, errors)
    assert unplaced_errors(fields, errors) == []
    summary = error_summary(fields)
    assert summary and len(page.select(".govuk-error-summary a")) == len(summary)
    assert "There is a problem" in page.select_one(".govuk-error-summary").get_text()
    assert_well_formed(page)


def test_record_contact_round_trips_nested_objects_arrays_checkboxes_integers_booleans_and_dates():
    schema, ui = load("record_contact")
    _, page = render(schema, ui, RECORD_CONTACT)
    assert_well_formed(page)
    data, action = parse_submission(schema, ui, post_from(page))
    assert action is None
    assert data == RECORD_CONTACT
    validate_submission(schema, {}, data)  # and the typed answers are what the schema wants


def test_record_contact_field_kinds_order_and_labels():
    schema, ui = load("record_contact")
    fields = build_fields(schema, ui, RECORD_CONTACT, {})
    by_name = {f.name: f for f in fields}
    assert [f.name for f in fields] == ui["ui:order"]
    child = by_name["child"]
    assert child.kind == "object" and [c.name for c in child.children][:3] == [
        "child.first_name",
        "child.last_name",
        "child.date_of_birth",
    ]
    assert child.children[2].kind == "date" and child.children[2].date_parts == {
        "day": "01",
        "month": "04",
        "year": "2016",
    }
    assert by_name["summary"].kind == "textarea" and by_name["summary"].required
    worries = by_name["appendix_a_q2"]
    assert worries.label.startswith("Are there any other worries") and not worries.required
    assert by_name["appendix_a_q1"].hint.endswith("record evidence, not opinion.")  # description + ui:help
    assert by_name["safety_scale"].kind == "integer" and by_name["safety_scale"].value == "3"
    info = by_name["information_only"]
    assert info.kind == "boolean" and [(c.text, c.checked) for c in info.choices] == [("Yes", False), ("No", True)]
    red = by_name["red_criteria"]
    assert red.kind == "checkboxes" and {c.value for c in red.choices if c.checked} == {"homeless", "other"}
    members = by_name["household_members"]
    assert members.kind == "array" and len(members.items) == 2
    assert members.items[1][0].path == "household_members.1.name"
    assert members.add_label == "Add another household member"
    assert members.remove_action(1) == "remove:household_members:1"
    assert by_name["other_children"].item_label == "other child"
    assert by_name["consent"].kind == "radios" and by_name["consent"].choices[0].text == "Obtained"


def test_add_another_and_remove_keep_the_answers_and_renumber_the_items():
    schema, ui = load("record_contact")
    _, page = render(schema, ui, RECORD_CONTACT)
    data, action = parse_submission(schema, ui, post_from(page, "add:household_members"))
    assert action == "add:household_members"
    assert data["household_members"] == RECORD_CONTACT["household_members"] + [{}]
    assert data["summary"] == RECORD_CONTACT["summary"]

    _fields, page = render(schema, ui, data)
    assert len(page.select("fieldset.app-repeat-item")) == 2 + 1 + 1 + 1  # 3 members, 1 adult, 1 other child
    remove = page.find("button", attrs={"value": "remove:household_members:0"})
    assert remove is not None and "Remove" in remove.get_text()
    assert (
        page.find("button", attrs={"value": "add:household_members"})
        .get_text(" ", strip=True)
        .startswith("Add another household member")
    )
    # the new blank item still posts (so it is not lost) and shows its errors later
    data, _ = parse_submission(schema, ui, post_from(page))
    assert data["household_members"][2] == {}

    data, action = parse_submission(schema, ui, post_from(page, "remove:household_members:0"))
    assert action == "remove:household_members:0"
    assert data["household_members"] == [RECORD_CONTACT["household_members"][1], {}]
    _fields, page = render(schema, ui, data)
    assert page.find("input", attrs={"name": "household_members.0.name"})["value"] == "Chris Roe"
    assert page.find("input", attrs={"name": "household_members.2.name"}) is None


def test_removing_the_last_item_posts_an_empty_list_and_adding_to_an_empty_list_works():
    schema, ui = load("record_contact")
    values = {**RECORD_CONTACT, "adults": [{"first_name": "Chris", "last_name": "Roe"}]}
    _, page = render(schema, ui, values)
    data, _ = parse_submission(schema, ui, post_from(page, "remove:adults:0"))
    assert data["adults"] == []
    _, page = render(schema, ui, data)
    assert "None added." in page.get_text()
    assert page.find("button", attrs={"value": "add:adults"}).get_text(" ", strip=True).startswith("Add an adult")
    data, _ = parse_submission(schema, ui, post_from(page, "add:adults"))
    assert data["adults"] == [{}]


def test_typing_of_posted_answers():
    schema, ui = load("record_contact")
    form = MultiDict(
        [
            ("summary", "  "),
            ("safety_scale", "seven"),
            ("information_only", "false"),
            ("child.first_name", "Sam"),
            ("child.last_name", ""),
            ("child.date_of_birth-day", "31"),
            ("child.date_of_birth-month", "2"),
            ("child.date_of_birth-year", "2016"),
            ("referrer.anonymous", "true"),
            ("red_criteria.present", "1"),
            ("manager_attention_criteria", "suspicious_injury"),
            ("undeclared", "sneaky"),
            ("_action", ""),
        ]
    )
    data, action = parse_submission(schema, ui, form)
    assert action is None
    assert "summary" not in data  # blank → left out, so `required` reports it
    assert data["safety_scale"] == "seven"  # not a number: kept for the validator to name
    assert data["information_only"] is False  # an explicit No is kept
    assert data["child"] == {"first_name": "Sam", "date_of_birth": "2016-2-31"}  # not a date: kept as typed
    assert data["referrer"] == {"anonymous": True}
    assert data["red_criteria"] == [] and data["manager_attention_criteria"] == ["suspicious_injury"]
    assert "undeclared" not in data

    data, _ = parse_submission(
        schema,
        ui,
        MultiDict(
            [
                ("safety_scale", "7"),
                ("child.date_of_birth-day", "1"),
                ("child.date_of_birth-month", "4"),
                ("child.date_of_birth-year", "2016"),
            ]
        ),
    )
    assert data == {"safety_scale": 7, "child": {"date_of_birth": "2016-04-01"}}
    _fields, page = render(schema, ui, {"child": {"date_of_birth": "2016-2-31"}}, {"child.date_of_birth": ["bad"]})
    assert page.find(id=field_id("child.date_of_birth") + "-day")["value"] == "31"  # shown again as typed


def test_date_times_are_entered_in_uk_time_and_posted_as_instants_with_an_offset():
    schema, ui = load("send_acknowledgement")
    for instant, shown in (
        ("2026-11-24T11:00:00+00:00", ("24", "11", "2026", "11:00")),
        ("2026-07-01T10:00:00+00:00", ("1", "7", "2026", "11:00")),
    ):  # BST
        _fields, page = render(schema, ui, {"acknowledged_at": instant, "acknowledgement_method": "email"})
        assert (
            tuple(
                page.find("input", attrs={"name": f"acknowledged_at-{part}"})["value"]
                for part in ("day", "month", "year", "time")
            )
            == shown
        )  # a GOV.UK date input and a time
        data, _ = parse_submission(schema, ui, post_from(page))
        assert datetime.fromisoformat(data["acknowledged_at"]) == datetime.fromisoformat(instant)
        assert data["acknowledgement_method"] == "email"
        validate_submission(schema, {}, data)


def test_history_check_lists_choices_from_case_data_and_round_trips_its_checks():
    schema, ui = load("history_check")
    case = {
        "index_matches": [
            {"match_id": "m1", "name": "Sam Doe", "date_of_birth": "2016-04-01", "status": "open"},
            {"match_id": "m2", "name": "<b>Sam Do</b>"},
        ]
    }
    values = {
        "confirmed_matches": ["m2"],
        "case_system_checks": [
            {
                "system": "CareFirst",
                "checked_at": "2026-11-24T09:30:00+00:00",
                "status": "closed",
                "closed_on": "2025-12-01",
            }
        ],
        "synopsis": "Closed last year.",
    }
    _fields, page = render(schema, ui, values, data=case)
    assert_well_formed(page)
    boxes = page.find_all("input", attrs={"name": "confirmed_matches"})
    assert [(b["value"], b.has_attr("checked")) for b in boxes] == [("m1", False), ("m2", True)]
    assert "Sam Doe (2016-04-01, open)" in page.get_text()
    assert page.find("b") is None  # a name from case data is text, not markup
    data, _ = parse_submission(schema, ui, post_from(page))
    assert data == values


def test_errors_from_dotted_keys_land_on_their_fields_in_page_order():
    schema, ui = load("record_contact")
    errors = {
        "consent": ["Select consent"],
        "household_members.1.name": ["Enter the name"],
        "child.last_name": ["Enter last name"],
        "red_criteria.0": ["Select a valid option for Urgent"],
        "child.date_of_birth": ["Enter a real date"],
        "_form": ["Something across fields"],
    }
    fields, page = render(schema, ui, RECORD_CONTACT, errors)
    summary = error_summary(fields)
    assert summary == [
        ("#f-child--last_name", "Enter last name"),
        ("#f-child--date_of_birth-day", "Enter a real date"),
        ("#f-household_members--1--name", "Enter the name"),
        ("#f-consent", "Select consent"),
        ("#f-red_criteria", "Select a valid option for Urgent"),  # an item's error goes to its list
    ]
    assert unplaced_errors(fields, errors) == ["Something across fields"]
    assert_well_formed(page)
    name = page.find(id="f-household_members--1--name")
    assert "govuk-input--error" in name["class"]
    message = page.find(id="f-household_members--1--name-error")
    assert message is not None and "Enter the name" in message.get_text()
    assert "f-household_members--1--name-error" in name["aria-describedby"]
    assert page.find(id="f-consent").find_parent(class_="govuk-form-group--error") is not None
    assert [a["href"] for a in page.select(".govuk-error-summary a")] == [href for href, _ in summary]


def test_user_data_is_escaped_everywhere():
    schema, ui = load("record_contact")
    script = "<script>alert(1)</script>"
    values = {
        **RECORD_CONTACT,
        "summary": script,
        "child": {**RECORD_CONTACT["child"], "first_name": script},
        "household_members": [{"name": '"><img src=x onerror=alert(1)>'}],
    }
    _, page = render(schema, ui, values, {"summary": [f"Bad {script}"]})
    html = str(page)
    assert page.find("script") is None and page.find("img") is None
    assert "<script>" not in html
    assert page.find("textarea", attrs={"name": "summary"}).get_text() == script
    assert page.find("input", attrs={"name": "child.first_name"})["value"] == script
    assert f"Bad {script}" in page.select_one(".govuk-error-summary").get_text()


def test_ui_order_star_enum_names_hidden_read_only_and_typed_consts():
    schema = {
        "type": "object",
        "required": ["agreed"],
        "properties": {
            "agreed": {
                "title": "Agreed?",
                "oneOf": [{"const": True, "title": "Yes, agree"}, {"const": False, "title": "No, disagree"}],
            },
            "level": {"title": "Level", "oneOf": [{"const": 1, "title": "One"}, {"const": 2, "title": "Two"}]},
            "colour": {"type": "string", "enum": ["r", "g"], "enumNames": ["Red", "Green"]},
            "size": {"type": "string", "enum": ["s", "m"]},
            "case_ref": {"type": "string", "title": "Case reference", "readOnly": True},
            "secret": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    ui = {"ui:order": ["size", "*", "agreed"], "colour": {"ui:widget": "select"}, "secret": {"ui:widget": "hidden"}}
    values = {"case_ref": "C-1 <b>", "secret": "s3", "agreed": False, "level": 2, "colour": "g", "tags": ["a", "b"]}
    fields, page = render(schema, ui, values)
    assert [f.name for f in fields] == ["size", "level", "colour", "case_ref", "secret", "tags", "agreed"]
    kinds = {f.name: f.kind for f in fields}
    assert kinds == {
        "size": "radios",
        "level": "radios",
        "colour": "select",
        "case_ref": "readonly",
        "secret": "readonly",
        "tags": "lines",
        "agreed": "boolean",
    }
    assert [c.text for c in fields[0].choices] == ["S", "M"]
    assert page.find("select", attrs={"name": "colour"}).find("option", selected=True).get_text() == "Green"
    assert page.find(attrs={"name": "case_ref"}) is None and "C-1 <b>" in page.get_text()  # a row, not an input
    assert [c.text for c in fields[-1].choices] == ["Yes, agree", "No, disagree"]
    assert_well_formed(page)
    data, _ = parse_submission(schema, ui, post_from(page))
    assert data == {"agreed": False, "level": 2, "colour": "g", "tags": ["a", "b"]}  # read-only never posted back
    forged = MultiDict([("case_ref", "changed"), ("secret", "changed"), ("agreed", "true")])
    assert parse_submission(schema, ui, forged)[0] == {"agreed": True}


def test_field_ids_are_valid_and_do_not_collide():
    names = [
        "consent",
        "child.first_name",
        "household_members.0.name",
        "household_members.10.name",
        "a.b",
        "a-b",
        "a_b",
        "x.hint",
        "x.error",
        "x.2",
        "weird name[0]",
    ]
    ids = [field_id(n) for n in names]
    assert len(set(ids)) == len(ids)
    assert all(i[0].isalpha() and all(c.isalnum() or c in "-_" for c in i) for i in ids)
    # never one of the suffixes GOV.UK adds to a field's own id
    assert field_id("x.hint") != field_id("x") + "-hint" and field_id("x.2") != field_id("x") + "-2"


def test_enter_in_a_text_box_saves_rather_than_pressing_remove():
    schema, ui = load("record_contact")
    _, page = render(schema, ui, RECORD_CONTACT)
    first_button = page.find("form").find("button")
    assert first_button["value"] == "" and first_button.get("aria-hidden") == "true"
    _, page = render(*load("send_acknowledgement"))
    assert page.find("form").find("button").get_text() == "Save and continue"  # no extra button without groups
