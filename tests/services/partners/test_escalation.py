"""Dispute escalation (processes/escalation.bpmn, spec §7): the ladder climbs by itself as working time passes."""

from datetime import UTC, datetime, timedelta

import pytest

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import ProcessInstance, TimerRecord
from app.services.cases import completion, runs, worklist
from app.services.core import timers
from app.services.core.errors import Invalid
from app.services.core.transaction import unit_of_work
from app.services.modelling import deployments
from app.services.people import users
from tests.support import PASSWORD, make_people

pytestmark = pytest.mark.restart_between_steps  # a restart / another worker between every step

LADDER = {  # username: role (tests/support/__init__.py has the level-1 manager; the others are made here)
    "mgr": "mash_manager",
    "sm": "service_manager",
    "stm": "strategic_manager",
    "ad": "assistant_director",
}


def _people():
    make_people(["mgr"])
    for username, role in LADDER.items():
        if users.get_by_username(username) is None:
            users.create_user(username, PASSWORD, [role])
    return {username: users.get_by_username(username) for username in LADDER}


def _raise(people):
    seed = {
        "case_instance_id": 1,
        "contact_id": None,
        "child": {"first_name": "Jamie", "last_name": "Doe"},
        "raised_by": "daat_mgr",
        "raised_by_role": "receiving_team_manager",
        "raised_at": CLOCK.now().isoformat(),
        "disputed_decision": "s17 assessment rather than a strategy discussion",
        "position": "The injuries meet the s47 threshold.",
        # spec §11.13: the host also seeds who is on the other side; none here, so level 1 is the MASH side only
        "raised_by_team": None,
        "raised_by_agency": None,
        "named_team": None,
        "named_agency": None,
        "case_receiving_team": None,
    }
    with unit_of_work():
        dispute = runs.start_instance_in_transaction(deployments.latest(), "escalation", seed, people["mgr"])
    return dispute.id


def _ready(people, instance_id):
    found = []
    for username in LADDER:
        found += [(t.bpmn_id, t.role, t) for t in worklist.ready_tasks_for(people[username], instance_id)]
    return found


def _only_ready(people, instance_id):
    (item,) = {(bpmn_id, role): task for bpmn_id, role, task in _ready(people, instance_id)}.items()
    return item


def _data(instance_id):
    db.session.expire_all()
    return db.session.get(ProcessInstance, instance_id).case_data


def _two_working_hours_pass():
    CLOCK.advance(timedelta(hours=2, minutes=1))
    return timers.fire_due()


def test_an_unresolved_dispute_climbs_every_level_by_itself(ctx):
    people = _people()
    dispute = _raise(people)
    (key, task) = _only_ready(people, dispute)
    assert key == ("resolve_level_1", "mash_manager")
    assert task.due_at == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # PT2H working from 10:00
    assert _data(dispute)["level"] == 1

    for level, role in ((2, "service_manager"), (3, "strategic_manager"), (4, "assistant_director")):
        CLOCK.advance(timedelta(hours=1))
        assert timers.fire_due() == 0  # half way through the level: nothing happens
        assert _only_ready(people, dispute)[0][0] == f"resolve_level_{level - 1}"
        CLOCK.advance(timedelta(hours=1, minutes=1))
        assert timers.fire_due() == 1
        (key, task) = _only_ready(people, dispute)
        assert key == (f"resolve_level_{level}", role)
        data = _data(dispute)
        assert data["level"] == level
        assert data["levels"][-1]["ended_by"] == "time_limit"
        if level < 4:
            assert task.due_at == CLOCK.now() + timedelta(hours=2)  # still inside Tuesday's opening hours
    # level 4 is due one working day from the raise (Tuesday 10:00 -> Wednesday 10:00), and has no timer
    assert task.due_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    waiting = db.session.query(TimerRecord).filter_by(instance_id=dispute, state="waiting").count()
    assert waiting == 0
    CLOCK.advance(timedelta(days=3))
    assert timers.fire_due() == 0
    assert _only_ready(people, dispute)[0] == ("resolve_level_4", "assistant_director")
    fired = db.session.query(TimerRecord).filter_by(instance_id=dispute, state="fired").count()
    assert fired == 3

    # the assistant director's decision is final: it must resolve
    with pytest.raises(Invalid):
        completion.complete_task(people["ad"], task.id, {"resolved": False})
    with pytest.raises(Invalid):
        completion.complete_task(people["ad"], task.id, {"resolved": True})  # a resolution is required
    completion.complete_task(
        people["ad"],
        task.id,
        {
            "resolved": True,
            "resolution": "Strategy discussion today.",
            "other_position": "Bruising alone did not meet s47.",
        },
    )
    instance = db.session.get(ProcessInstance, dispute)
    assert instance.status == "completed"
    data = instance.case_data
    assert (data["outcome"], data["resolved_level"], data["resolution"]) == (
        "resolved",
        4,
        "Strategy discussion today.",
    )
    assert [p["level"] for p in data["positions"]] == [0, 4]
    assert [lv["ended_by"] for lv in data["levels"]] == ["time_limit", "time_limit", "time_limit", "resolved"]


def test_a_dispute_resolved_at_level_2_ends_there(ctx):
    people = _people()
    dispute = _raise(people)
    assert _two_working_hours_pass() == 1
    (key, task) = _only_ready(people, dispute)
    assert key == ("resolve_level_2", "service_manager")
    CLOCK.advance(timedelta(minutes=30))
    completion.complete_task(
        people["sm"],
        task.id,
        {
            "resolved": True,
            "resolution": "Agreed: s47 strategy discussion.",
            "other_position": "MASH accepts the threshold is met.",
        },
    )
    instance = db.session.get(ProcessInstance, dispute)
    assert instance.status == "completed" and _ready(people, dispute) == []
    data = instance.case_data
    assert (data["outcome"], data["resolved_level"]) == ("resolved", 2)
    assert data["resolved_at"] == CLOCK.now().isoformat()
    assert data["resolution"] == "Agreed: s47 strategy discussion."
    assert data["positions"][0]["position"] == "The injuries meet the s47 threshold."
    assert data["positions"][1] == {
        "level": 2,
        "by": None,
        "role": None,
        "at": CLOCK.now().isoformat(),
        "position": "MASH accepts the threshold is met.",
    }
    # the level's timer went with it: nothing fires later
    assert db.session.query(TimerRecord).filter_by(instance_id=dispute, state="waiting").count() == 0
    CLOCK.advance(timedelta(days=2))
    assert timers.fire_due() == 0


def test_a_level_that_cannot_agree_escalates_at_once(ctx):
    people = _people()
    dispute = _raise(people)
    (_, task) = _only_ready(people, dispute)
    CLOCK.advance(timedelta(minutes=20))
    completion.complete_task(people["mgr"], task.id, {"resolved": False, "other_position": "MASH stands by s17."})
    (key, task) = _only_ready(people, dispute)
    assert key == ("resolve_level_2", "service_manager")
    assert task.due_at == datetime(2026, 11, 24, 12, 20, tzinfo=UTC)  # two working hours from reaching it
    data = _data(dispute)
    assert data["levels"][0]["ended_by"] == "not_resolved"
    assert data["positions"][1]["position"] == "MASH stands by s17."
    # level 1's timer is gone; level 2's is the only one waiting
    waiting = db.session.query(TimerRecord).filter_by(instance_id=dispute, state="waiting").all()
    assert [(t.bpmn_id, t.due_at) for t in waiting] == [("level_2_time_limit", task.due_at)]


def test_the_level_clock_stops_overnight(ctx):
    people = _people()
    CLOCK.freeze(datetime(2026, 11, 24, 16, 30, tzinfo=UTC))  # an hour before Tuesday's close
    dispute = _raise(people)
    (_, task) = _only_ready(people, dispute)
    assert task.due_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # 1 h Tuesday + 1 h Wednesday
    CLOCK.freeze(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # the next morning
    assert timers.fire_due() == 0
    CLOCK.freeze(datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC))
    assert timers.fire_due() == 1
    assert _only_ready(people, dispute)[0] == ("resolve_level_2", "service_manager")


def test_a_dispute_raised_from_a_case_starts_at_level_1_with_the_host_seed(client):
    from app.services.partners import disputes
    from tests.support.flow import Flow

    flow = Flow(client)
    flow.intake()  # the MASH manager allocates next, so is involved in the case
    case_id = flow.instance_id
    people = _people()
    dispute = disputes.raise_dispute(people["mgr"], case_id, "Early Help rather than s17", "Needs an s17 assessment.")
    (key, _task) = _only_ready(people, dispute.id)
    assert key == ("resolve_level_1", "mash_manager")
    data = _data(dispute.id)
    assert (data["case_instance_id"], data["level"], data["raised_by"]) == (case_id, 1, "mgr")
    assert data["positions"] == [
        {
            "level": 0,
            "by": "mgr",
            "role": "mash_manager",
            "at": data["raised_at"],
            "position": "Needs an s17 assessment.",
        }
    ]
    (row,) = disputes.review_list(people["sm"])
    assert (row["id"], row["level"], row["status"]) == (dispute.id, 1, "running")
