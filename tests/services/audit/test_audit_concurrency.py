"""People reading one case at the same moment: every view is recorded and the hash chain stays whole
(on PostgreSQL the writers queue on the case's chain anchor; SQLite serialises writers)."""

from __future__ import annotations

import threading

from app.extensions import db
from app.services.audit import audit
from app.services.core import history
from app.services.people import users
from tests.support.flow import Flow


def test_simultaneous_views_are_all_recorded_and_the_chain_stays_whole(client, ctx):
    flow = Flow(client)
    instance_id = flow.instance_id
    readers = ["masho", "auditor", "mgr", "dm"]
    db.session.remove()
    barrier = threading.Barrier(len(readers))
    errors: list[BaseException] = []

    def read(username: str) -> None:
        with ctx.app_context():
            try:
                user = users.get_by_username(username)
                db.session.commit()  # end the read: on SQLite every transaction holds the write lock
                barrier.wait()
                audit.record_view(user, [instance_id], "web.case", via="web")
            except BaseException as err:
                errors.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=read, args=(name,)) for name in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    views = [e for e in history.for_instance(instance_id) if e.type == "viewed" and e.detail["route"] == "web.case"]
    assert sorted(e.actor for e in views) == sorted(readers)
    assert audit.verify_instance(instance_id) is None
