from tests.api.flow import Flow
from app.extensions import db

def test_probe(ctx, client):
    print("A", db.session.in_transaction(), db.engine.pool.status())
    from tests.support import make_people
    make_people()
    print("B", db.session.in_transaction(), db.engine.pool.status())
    flow = Flow(client, channel="phone")
    print("C", db.session.in_transaction(), db.engine.pool.status())
    task = flow.task("masho", "record_contact")
    print("D", db.session.in_transaction(), db.engine.pool.status())
    import flask; print(flask.__version__ if hasattr(flask,'__version__') else '')
