"""Task list benchmark: GET /api/v1/tasks and the inbox page for one user at 100 and 10 000 open tasks.

Why: a list must cost the same whatever the inbox size (issue 11: no silent caps, paged in SQL).
The target is p95 <= 100 ms per request and the 10 000-task p95 within 1.2x of the 100-task p95.
The open tasks are seeded by bulk SQL (bench/fill.py: copies of one genuine case made by the app),
then each page is requested in-process through the Flask test client (no HTTP server, so the
figures are the app's own cost: queries, access filtering, JSON/HTML, the list's audit event).

It prints figures; it asserts nothing about time (only that each page answers 200 with the right total).

    .venv/bin/python bench/tasks_list.py [--sizes 100,10000] [--requests 60]
                                         [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/mash_bench]

Each size gets its own database (PostgreSQL: the URL's database name + _<size>, emptied first), and
the requests alternate between sizes so that load from elsewhere on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fill import bulk_engine, fill, read_template  # noqa: E402
from bench.stage1 import SCRATCH_PG_DB, percentile, prepare_postgresql  # noqa: E402

USER, PASSWORD = "bench_masho", "bench-password-1"
TARGET_P95_MS, TARGET_RATIO = 100.0, 1.2


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_app(database_url: str):
    """The app on its own database: migrated, the repository's models deployed, one masho user."""
    from flask_migrate import upgrade

    from app import create_app
    from app.config import DevelopmentConfig
    from app.services.modelling import deployments
    from app.services.people import users

    config = type(
        "BenchConfig",
        (DevelopmentConfig,),
        {"SQLALCHEMY_DATABASE_URI": database_url, "MODELS_DIR": ROOT, "REFERRALS_PER_HOUR_PER_ADDRESS": 10**6},
    )
    app = create_app(config)
    with app.app_context():
        upgrade(revision="heads")
        deployments.deploy(deployments.read_model_dir(ROOT), actor_name="bench")
        users.create_user(USER, PASSWORD, ["masho"], display_name="Bench MASH officer")
    return app


def first_case(app) -> int:
    """One genuine contact through the app: the pattern bench/fill.py copies."""
    from datetime import datetime

    from app.services.cases import contacts
    from app.services.people import users

    with app.app_context():
        body = {
            "received_at": datetime.now(UTC),
            "channel": "phone",
            "summary": "Bench contact",
            "referrer": {"name": "A Teacher", "agency": "education"},
            "child": {"first_name": "Jamie", "last_name": "Doe", "date_of_birth": "2016-04-01"},
        }
        _, (instance,) = contacts.start_contact(users.get_by_username(USER), body)
        return instance.id


class Clients:
    """An API token and a signed-in browser session for the bench user."""

    def __init__(self, app):
        self.api = app.test_client()
        token = self.api.post("/api/v1/auth/token", json={"username": USER, "password": PASSWORD}).json
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}
        self.web = app.test_client()
        page = self.web.get("/sign-in").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        signed_in = self.web.post("/sign-in", data={"username": USER, "password": PASSWORD, "csrf_token": csrf})
        assert signed_in.status_code == 302, "bench user could not sign in"

    def api_tasks(self):
        return self.api.get("/api/v1/tasks", headers=self.headers)

    def inbox(self):
        return self.web.get("/inbox")


def vacuum(engine) -> None:
    """PostgreSQL: what autovacuum does after a bulk insert (visibility map, statistics), so counts can
    be index-only scans as on a live database; fill() alone only analyzes."""
    from sqlalchemy import text

    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def measure(calls: dict[tuple[int, str], object], requests: int) -> dict[tuple[int, str], list[float]]:
    """Time every (size, page) call `requests` times, interleaved round-robin: a busy machine slows
    all sizes alike, so the ratio between sizes stays meaningful."""
    for call in calls.values():  # warm caches (model bundle, statement cache)
        for _ in range(3):
            call()
    times: dict[tuple[int, str], list[float]] = {key: [] for key in calls}
    for _ in range(requests):
        for key, call in calls.items():
            started = time.perf_counter()
            response = call()
            times[key].append(time.perf_counter() - started)  # seconds: percentile() reports ms
            assert response.status_code == 200, f"{key}: {response.status_code}"
    return times


def setup_size(size: int, url: str, pg: bool):
    """A database with `size` open tasks for the bench user, and signed-in clients on it."""
    if pg:
        prepare_postgresql(url)
    app = make_app(url)
    engine = bulk_engine(url)
    template = read_template(engine, first_case(app))
    log(f"filling to {size} open tasks")
    fill(engine, template, size - 1, progress=log)
    vacuum(engine)
    clients = Clients(app)
    total = clients.api_tasks().headers.get("X-Total-Count")
    assert total == str(size), f"X-Total-Count {total}, expected {size}"
    return clients


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000", help="open tasks to measure at (ascending)")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page and size")
    parser.add_argument(
        "--database-url",
        help=f"PostgreSQL scratch database (e.g. .../{SCRATCH_PG_DB}); one "
        "more is made per size (name_<size>); default temporary SQLite files",
    )
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    logging.getLogger("spiff").setLevel(logging.WARNING)  # the engine's per-task INFO lines drown the figures
    with tempfile.TemporaryDirectory(prefix="mash-bench-tasks-") as tmp:
        calls = {}
        for size in sizes:
            url = f"{args.database_url}_{size}" if args.database_url else f"sqlite:///{tmp}/bench_{size}.db"
            clients = setup_size(size, url, bool(args.database_url))
            calls[(size, "GET /api/v1/tasks")] = clients.api_tasks
            calls[(size, "GET /inbox")] = clients.inbox
        times = measure(calls, args.requests)
    print(
        f"Task list benchmark ({'PostgreSQL' if args.database_url else 'SQLite'}; {args.requests} requests "
        f"per row, sizes interleaved; one user; target p95 <= {TARGET_P95_MS:.0f} ms and <= {TARGET_RATIO}x; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"{'page':<20}{'open tasks':>12}{'p50 ms':>10}{'p95 ms':>10}")
    for (size, name), values in times.items():
        print(f"{name:<20}{size:>12}{percentile(values, 50):>10.1f}{percentile(values, 95):>10.1f}")
    small, large = sizes[0], sizes[-1]
    for name in ("GET /api/v1/tasks", "GET /inbox"):
        p95_small, p95_large = percentile(times[(small, name)], 95), percentile(times[(large, name)], 95)
        ratio = p95_large / p95_small
        ok = ratio <= TARGET_RATIO and p95_large <= TARGET_P95_MS
        p50_ratio = percentile(times[(large, name)], 50) / percentile(times[(small, name)], 50)
        print(
            f"{name:<20} p95 {large} / {small} = {ratio:.2f}x (p50 {p50_ratio:.2f}x)  "
            f"{'within target' if ok else 'OUTSIDE TARGET'}"
        )


if __name__ == "__main__":
    main()
