"""The case diagram's facts: which elements a case completed, waits on, is late on, and the path taken."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.engine.clock import CLOCK
from app.services.cases import case_diagram
from app.services.core.errors import NotFound
from app.services.people import users
from tests.support.flow import Flow


def test_a_new_contact_waits_on_record_contact_after_its_start(client):
    flow = Flow(client)
    view = case_diagram.diagram(users.get_by_username("masho"), flow.instance_id)
    assert view["process_id"] == "front_door" and view["version"] == 1
    assert view["xml"].lstrip().startswith("<?xml") and 'id="front_door"' in view["xml"]
    assert "record_contact" in view["active"]
    assert "start" in view["completed"] and "init_contact" in view["completed"]
    assert "record_contact" not in view["completed"]
    assert "flow_init_contact_to_record_contact" in view["flows"]
    assert view["overdue"] == []
    assert {
        "element_id": "stage2",
        "element_name": "Stage 2 information sharing",
        "process_id": "stage2_infosharing",
        "deployed": True,
    } in view["called"]


def test_completed_steps_and_the_path_follow_the_case_and_late_tasks_are_overdue(client):
    flow = Flow(client)
    flow.intake()
    view = case_diagram.diagram(users.get_by_username("auditor"), flow.instance_id)
    assert {"record_contact", "history_check"} <= set(view["completed"])
    # Script and service tasks between recorded steps are filled in from the diagram.
    assert {"derive_flags", "search_case_index"} <= set(view["completed"])
    assert "flow_record_contact_to_derive_flags" in view["flows"]
    # ... but never a branch a split did not take (no alert for a contact that is not urgent).
    assert "alert_mash_manager" not in view["completed"]
    assert not [f for f in view["flows"] if "alert_mash_manager" in f]
    assert not set(view["active"]) & set(view["completed"])
    waiting = set(view["active"])
    assert waiting, view
    CLOCK.advance(timedelta(days=10))
    late = case_diagram.diagram(users.get_by_username("auditor"), flow.instance_id)
    assert set(late["overdue"]) and set(late["overdue"]) <= set(late["active"])


def test_who_may_see_the_diagram_is_who_may_see_the_case(client):
    flow = Flow(client)
    with pytest.raises(NotFound):
        case_diagram.diagram(users.get_by_username("police"), flow.instance_id)
    with pytest.raises(NotFound):
        case_diagram.diagram(users.get_by_username("auditor"), 99999)
    with pytest.raises(NotFound):  # only processes this case's diagram calls
        case_diagram.diagram(users.get_by_username("auditor"), flow.instance_id, "escalation")


def test_the_called_stage2_process_opens_for_the_same_case(client):
    flow = Flow(client)
    view = case_diagram.diagram(users.get_by_username("auditor"), flow.instance_id, "stage2_infosharing")
    assert view["process_id"] == "stage2_infosharing" and view["case_process_id"] == "front_door"
    assert 'id="stage2_infosharing"' in view["xml"]
    assert view["completed"] == [] and view["active"] == []  # Stage 2 has not started


def test_each_look_at_the_diagram_is_recorded_as_a_view_of_the_case(client):
    from app.services.core import history

    flow = Flow(client)
    case_diagram.diagram(users.get_by_username("auditor"), flow.instance_id)
    views = [e for e in history.for_instance(flow.instance_id) if e.type == "instance_viewed"]
    assert views[-1].actor == "auditor" and views[-1].detail == {"page": "diagram", "process_id": "front_door"}
