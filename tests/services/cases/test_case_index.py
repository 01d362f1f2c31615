"""The case index: tolerant search, derived history facts, CSV import with line numbers."""

from datetime import UTC, datetime

import pytest

from app.services.cases import case_index
from app.services.core.errors import Invalid

CSV = (
    "external_ref,first_name,last_name,date_of_birth,gender,social_care_status,allocated_worker,allocated_team,"
    "early_help_open,lead_professional,closed_on,closing_team\n"
    """CS1,Jayden,Smith,2015-03-02,male,open,Sam Worker,daat,false,,,
CS2,Amélie,Dubois,2018-07-09,female,closed,,,false,,2026-10-01,first_response
CS3,Leo,Brown,2012-01-20,male,none,,,true,Pat Lead,,
"""
)


def test_import_then_search_tolerates_spelling_and_accents(ctx):
    result = case_index.import_csv(CSV)
    assert (result.created, result.updated) == (3, 0)
    found = case_index.search({"first_name": "Jaden", "last_name": "Smyth", "date_of_birth": "2015-03-02"})
    assert [m["name"] for m in found] == ["Jayden Smith"]
    assert found[0]["status"] == "open" and found[0]["team"] == "daat"
    assert case_index.search({"first_name": "amelie", "last_name": "DUBOIS", "date_of_birth": "2018-07-09"})
    # same name, different date of birth: not the same child
    assert case_index.search({"first_name": "Jayden", "last_name": "Smith", "date_of_birth": "2015-03-03"}) == []
    # re-import updates rather than duplicates
    assert case_index.import_csv(CSV).updated == 3


def test_summarise_derives_open_case_and_closure_within_12_weeks(ctx):
    case_index.import_csv(CSV)
    ids = {
        m["name"]: m["match_id"]
        for m in case_index.search({"first_name": "Amelie", "last_name": "Dubois", "date_of_birth": "2018-07-09"})
    }
    facts = case_index.summarise(list(ids.values()), [], "2026-11-24T10:00:00+00:00")
    assert facts["open_case"] == "none"
    assert facts["closed_within_12_weeks"] is True
    assert facts["closing_team"] == "first_response"
    later = case_index.summarise(list(ids.values()), [], "2027-03-01T10:00:00+00:00")
    assert later["closed_within_12_weeks"] is False
    checks = [{"system": "liquidlogic", "status": "open", "team": "daat", "checked_at": "2026-11-24T09:00:00+00:00"}]
    assert case_index.summarise([], checks, "2026-11-24T10:00:00+00:00")["open_case"] == "social_care"


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_imported(ctx):
    bad = CSV + "CS4,Ann,,2019-02-30,female,open,,,false,,,\nCS5,Bo,Lee,2019-01-01,female,maybe,,,false,,,\n"
    with pytest.raises(Invalid) as err:
        case_index.import_csv(bad)
    assert set(err.value.errors) == {"line 5", "line 6"}
    assert any("date_of_birth" in p for p in err.value.errors["line 5"])
    assert any("social_care_status" in p for p in err.value.errors["line 6"])
    assert case_index.count() == 0


def test_record_outcome_marks_the_child_open_to_social_care(ctx):
    child = {"first_name": "Mia", "last_name": "Khan", "date_of_birth": "2020-05-05"}
    case_index.record_outcome(
        child=child,
        contact_id=None,
        received_at="2026-11-24T10:00:00+00:00",
        outcome="s17_assessment",
        receiving_team="first_response",
        rag="GREEN",
        instance_id=None,
    )
    found = case_index.search(child, received_at=datetime(2026, 12, 1, tzinfo=UTC).isoformat())
    assert found[0]["status"] == "open" and found[0]["team"] == "first_response"
    assert found[0]["contacts_last_12_months"] == 1
