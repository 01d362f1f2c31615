"""Exactly-once timers across real processes: `kill -9` mid-fire, and two schedulers at once."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest

from app.engine.clock import CLOCK
from app.extensions import db
from app.models import TimerRecord
from app.services.core import history, timers
from tests.support.timers import ready_steps, start_timer_cases

pytestmark = [pytest.mark.subprocess, pytest.mark.e2e]  # starts other processes

SCHEDULER = textwrap.dedent("""
    import sys, time
    from datetime import datetime
    from app import create_app
    from app.config import TestConfig
    from app.engine.clock import CLOCK
    from app.services.core import timers
    url, now, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    app = create_app(type("C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    CLOCK.freeze(datetime.fromisoformat(now))
    if mode == "hang":  # fire in memory, then wait to be killed before the commit
        from app.engine.runtime import Runtime
        original = Runtime.fire_timers
        def hang(self, workflow):
            original(self, workflow)
            print("fired-in-memory", flush=True)
            time.sleep(60)
        Runtime.fire_timers = hang
    with app.app_context():
        print("fired", timers.fire_due(), flush=True)
""")


def _scheduler(ctx, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCHEDULER, ctx.config["SQLALCHEMY_DATABASE_URI"], CLOCK.now().isoformat(), mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MASH_CONFIG": "test"},
    )


def _fired(instance_id):
    return [e for e in history.for_instance(instance_id) if e.type == "timer_fired"]


def test_a_scheduler_killed_mid_fire_loses_nothing_and_fires_nothing_twice(ctx):
    (instance_id,) = start_timer_cases()
    CLOCK.advance(timedelta(hours=5))
    db.session.commit()
    db.session.remove()
    process = _scheduler(ctx, "hang")
    try:
        assert process.stdout.readline().strip() == "fired-in-memory"
        os.kill(process.pid, signal.SIGKILL)  # mid-transaction: nothing was committed
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(0.2)
    assert db.session.query(TimerRecord).filter_by(instance_id=instance_id).one().state == "waiting"
    assert timers.fire_due() == 1
    assert ready_steps(instance_id) == ["review"] and len(_fired(instance_id)) == 1


def test_two_scheduler_processes_fire_each_timer_once(ctx):
    ids = start_timer_cases(count=10)
    CLOCK.advance(timedelta(hours=5))
    db.session.commit()
    db.session.remove()
    processes = [_scheduler(ctx, "normal") for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    assert sum(int(o.split()[-1]) for o in outputs) == 10
    for instance_id in ids:
        assert len(_fired(instance_id)) == 1
        assert ready_steps(instance_id) == ["review"]
