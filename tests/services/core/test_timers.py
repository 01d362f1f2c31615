"""BPMN timers are rows fired exactly once: after downtime, after a crash mid-fire, with two schedulers."""

import threading
from datetime import timedelta

import pytest

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import TimerRecord
from app.services.core import history, timers
from tests.support import deploy_with, start_processes
from tests.support.timers import TIMER_PROCESS, ready_steps, start_timer_cases, timer_manager

_start = start_timer_cases
_ready = ready_steps
_manager = timer_manager


def _fired_events(instance_id):
    return [e for e in history.for_instance(instance_id) if e.type == "timer_fired"]


def test_a_timer_is_a_row_that_fires_once_when_due(ctx):
    (instance_id,) = _start()
    (row,) = db.session.query(TimerRecord).filter_by(instance_id=instance_id).all()
    assert (row.state, row.due_at) == ("waiting", CLOCK.now() + timedelta(hours=4))
    CLOCK.advance(timedelta(hours=3))
    assert timers.fire_due() == 0 and _ready(instance_id) == []
    CLOCK.advance(timedelta(hours=1, minutes=1))
    assert timers.fire_due() == 1
    assert _ready(instance_id) == ["review"]
    assert timers.fire_due() == 0
    assert len(_fired_events(instance_id)) == 1


def test_timers_missed_while_the_scheduler_was_down_fire_on_restart(ctx):
    (instance_id,) = _start()
    CLOCK.advance(timedelta(days=3))  # the scheduler was off all weekend
    assert timers.fire_due() == 1
    assert _ready(instance_id) == ["review"]


def test_a_crash_mid_fire_loses_nothing_and_the_timer_fires_once_later(ctx, monkeypatch):
    (instance_id,) = _start()
    CLOCK.advance(timedelta(hours=5))
    from app.engine.runtime import Runtime

    original = Runtime.fire_timers

    def crash(self, workflow):
        original(self, workflow)
        raise KeyboardInterrupt("killed mid-fire")

    monkeypatch.setattr(Runtime, "fire_timers", crash)
    with pytest.raises(KeyboardInterrupt):
        timers.fire_due()
    db.session.remove()
    assert db.session.query(TimerRecord).filter_by(instance_id=instance_id).one().state == "waiting"
    assert _ready(instance_id) == []
    monkeypatch.setattr(Runtime, "fire_timers", original)
    assert timers.fire_due() == 1
    assert _ready(instance_id) == ["review"] and len(_fired_events(instance_id)) == 1


def test_two_schedulers_never_fire_the_same_timer_twice(ctx):
    ids = _start(count=12)
    CLOCK.advance(timedelta(hours=5))
    db.session.remove()
    counts: list[int] = []

    def scheduler():
        with ctx.app_context():
            try:
                counts.append(timers.fire_due())
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(counts) == 12
    for instance_id in ids:
        assert len(_fired_events(instance_id)) == 1
        assert _ready(instance_id) == ["review"]


def test_a_timer_already_due_when_its_case_starts_fires_at_once_with_its_history_event(ctx):
    """A timer whose time has passed when the case is created fires inside that request; the audit
    record must still say so (issue 11: it used to leave no `timer_fired` event and no row)."""
    process = TIMER_PROCESS.replace(
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT4H</bpmn:timeDuration>',
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">due</bpmn:timeDate>',
    )
    deployment = deploy_with("wait_then_review.bpmn", process)
    (instance_id,) = start_processes(deployment, "wait_then_review", {"due": "2026-11-20T09:00:00+00:00"})
    assert _ready(instance_id) == ["review"]  # it fired while the case was being created
    (event,) = _fired_events(instance_id)
    assert event.bpmn_id == "wait" and event.detail["due_at"].startswith("2026-11-20T09:00")
    (row,) = db.session.query(TimerRecord).filter_by(instance_id=instance_id).all()
    assert (row.state, row.bpmn_id, row.fired_at) == ("fired", "wait", CLOCK.now())
    assert timers.fire_due() == 0  # nothing left for the scheduler to fire twice
