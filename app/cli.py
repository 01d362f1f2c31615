"""The `mash` command: users, demo data, deploy, case index import, plus Flask's run and db."""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from app import create_app
from app.services.cases import case_index
from app.services.core import planner_statistics, timers
from app.services.core.clock import LONDON
from app.services.core.errors import Invalid, NotFound
from app.services.core.roles import ROLES
from app.services.modelling import calendar_admin, deployments
from app.services.people import users

DEMO_PASSWORD = "demo-password"
# username: (roles, agency, team)
DEMO_USERS = {
    "masho": (["masho"], None, None),
    "decision_maker": (["decision_maker"], None, None),
    "eh_decision_maker": (["eh_decision_maker"], None, None),
    "mash_manager": (["mash_manager"], None, None),
    "mash_manager2": (["mash_manager"], None, None),
    "eh_manager": (["eh_manager"], None, None),
    "police_partner": (["partner"], "police", None),
    "health_partner": (["partner"], "health", None),
    "police_manager": (["partner_manager"], "police", None),
    "business_support": (["business_support"], None, None),
    "daat_worker": (["receiving_team"], None, "daat"),
    "first_response_worker": (["receiving_team"], None, "first_response"),
    "early_help_worker": (["receiving_team"], None, "early_help"),
    "disabled_children_worker": (["receiving_team"], None, "disabled_children"),
    "da_screener": (["receiving_team"], None, "domestic_abuse_screening"),
    "ooh_worker": (["receiving_team"], None, "out_of_hours"),  # RED cases out of hours (spec §11.3)
    "ooh_manager": (["receiving_team_manager"], None, "out_of_hours"),
    "daat_manager": (["receiving_team_manager"], None, "daat"),
    "service_manager": (["service_manager"], None, None),
    "service_manager2": (["service_manager"], None, None),  # publishing needs a second service manager
    "fr_service_manager": (["first_response_service_manager"], None, None),
    "strategic_manager": (["strategic_manager"], None, None),
    "assistant_director": (["assistant_director"], None, None),
    "auditor": (["auditor"], None, None),
    "admin": (["admin"], None, None),
}
# The names demo users are shown by (people can change their own on the "Your name" page).
DEMO_NAMES = {
    "masho": "Priya Shah",
    "decision_maker": "Tom Okafor",
    "eh_decision_maker": "Grace Lewis",
    "mash_manager": "Helen Carter",
    "mash_manager2": "Dev Patel",
    "eh_manager": "Sarah Whitfield",
    "police_partner": "Mark Ellis",
    "health_partner": "Amina Yusuf",
    "police_manager": "Claire Nolan",
    "business_support": "Jo Bennett",
    "daat_worker": "Liam Murphy",
    "first_response_worker": "Chloe Evans",
    "early_help_worker": "Ravi Kumar",
    "disabled_children_worker": "Fiona Grant",
    "da_screener": "Nadia Hussain",
    "ooh_worker": "Sam Taylor",
    "ooh_manager": "Karen Brooks",
    "daat_manager": "Paul Robinson",
    "service_manager": "Angela Price",
    "service_manager2": "Michael Hughes",
    "fr_service_manager": "Rebecca Stone",
    "strategic_manager": "David Clarke",
    "assistant_director": "Janet Morris",
    "auditor": "Olivia Turner",
    "admin": "Chris Walker",
}


@click.group(cls=FlaskGroup, create_app=create_app)
def main() -> None:
    """MASH front door administration."""


@main.group("users")
def users_group() -> None:
    """Manage users."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--agency")
@click.option("--team")
@click.option("--name", "display_name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input")
def create_user(username, roles, agency, team, display_name, password_stdin) -> None:
    password = sys.stdin.readline().rstrip("\n")
    try:
        user = users.create_user(username, password, list(roles), display_name=display_name, agency=agency, team=team)
    except Invalid as err:
        for field, messages in err.errors.items():
            click.echo(f"{field}: {'; '.join(messages)}", err=True)
        raise SystemExit(2) from None
    click.echo(f"created user {user.username} (id {user.id}) with roles {', '.join(sorted(user.roles))}")


@main.command("deploy")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder holding processes/, dmn/ and forms/ (default: MASH_MODELS_DIR)",
)
@click.option("--note", default=None)
def deploy(paths, path, note) -> None:
    """Validate and deploy the model files as a new version (no-op if unchanged).

    PATH… are model folders (holding processes/, dmn/, forms/) or single files, which replace or
    add to the folder's (a .bpmn goes to processes/, .dmn and .tests.json to dmn/, .json to forms/).
    Every problem is printed (file:line (element): message); any error refuses, exit status 2."""
    folders = [p for p in paths if p.is_dir()] or [path or current_app.config["MODELS_DIR"]]
    files: dict[str, bytes] = {}
    for folder in folders:
        files.update(deployments.read_model_dir(folder))
    for single in (p for p in paths if p.is_file()):
        folder = (
            "dmn"
            if single.name.endswith((".tests.json", ".dmn"))
            else "processes"
            if single.suffix == ".bpmn"
            else "forms"
        )
        files[f"{folder}/{single.name}"] = single.read_bytes()
    try:
        deployment, created = deployments.deploy(files, actor_name="cli", note=note)
    except Invalid as err:
        for problem in err.details.get("problems") or []:
            where = f"{problem['file']}:{problem['line']}" if problem.get("line") else problem["file"]
            element = problem.get("element_name") or problem.get("element")
            click.echo(
                f"{problem['severity']}: {where}{f' ({element})' if element else ''}: {problem['message']} "
                f"[{problem['rule']}]",
                err=True,
            )
        click.echo(f"deploy refused, nothing changed: {err.message}", err=True)
        raise SystemExit(2) from None
    click.echo(
        f"{'deployed' if created else 'unchanged:'} version {deployment.version} ({deployment.bundle_hash[:12]})"
    )


@main.command("demo")
def demo() -> None:
    """Create a demo user for every role (development only) and deploy the models."""
    if not current_app.config.get("ALLOW_DEMO_USERS"):
        click.echo("refused: demo users are only created in the development configuration", err=True)
        raise SystemExit(2)
    made = 0
    for username, (roles, agency, team) in DEMO_USERS.items():
        existing = users.get_by_username(username)
        if existing is None:
            users.create_user(
                username, DEMO_PASSWORD, roles, display_name=DEMO_NAMES.get(username), agency=agency, team=team
            )
            made += 1
        elif existing.display_name == username.replace("_", " ").title() and username in DEMO_NAMES:
            users.set_display_name(existing, DEMO_NAMES[username])  # the old made-up name from the username
    deployment, _ = deployments.deploy(deployments.read_model_dir(current_app.config["MODELS_DIR"]), actor_name="demo")
    click.echo(
        f"demo users: {made} created, {len(DEMO_USERS) - made} already there; models at version {deployment.version}"
    )
    from app.services.audit import audit_sampling
    from app.services.core.errors import ProcessFailed

    try:
        _, started = audit_sampling.start()  # the monthly sampling cycle: one long-running instance
        click.echo(f"audit sampling: {'started' if started else 'already running'}")
    except ProcessFailed as err:  # a model set without processes/audit_sampling.bpmn
        click.echo(f"audit sampling not started: {err.message}", err=True)


@main.group("audit-sampling")
def audit_sampling_group() -> None:
    """Monthly audit sampling (processes/audit_sampling.bpmn)."""


@audit_sampling_group.command("start")
def audit_sampling_start() -> None:
    """Start the one long-running sampling instance (no-op if it is running)."""
    from app.services.audit import audit_sampling
    from app.services.core.errors import ProcessFailed

    try:
        instance, started = audit_sampling.start()
    except ProcessFailed as err:
        click.echo(err.message, err=True)
        raise SystemExit(2) from None
    due = instance.next_timer_at
    click.echo(
        f"audit sampling {'started' if started else 'already running'}: instance {instance.id}"
        + (f", next draw {due.astimezone(LONDON):%A %d %B %Y %H:%M} UK time" if due else "")
    )


@main.group("index")
def index_group() -> None:
    """The case index."""


@index_group.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
def import_index(csv_file) -> None:
    """Load involvement held in the council's case system (all rows or none)."""
    try:
        result = case_index.import_csv(csv_file.read())
    except Invalid as err:
        click.echo(err.message, err=True)
        for line, problems in err.errors.items():
            click.echo(f"  {line}: {'; '.join(problems)}", err=True)
        raise SystemExit(2) from None
    click.echo(f"imported: {result.created} created, {result.updated} updated")


@main.group("calendar")
def calendar_group() -> None:
    """The MASH calendar: deadlines and closure days."""


@calendar_group.command("add")
@click.option("--from", "start", required=True, help="Start instant, ISO 8601 with offset")
@click.option("--duration", required=True, help="ISO 8601 duration, e.g. PT8H or P1D")
@click.option("--calendar", "kind", type=click.Choice(["working", "elapsed"]), default="working")
def calendar_add(start, duration, kind) -> None:
    """Print the deadline a model would compute (deadline(start, duration, calendar))."""
    try:
        moment = datetime.fromisoformat(start)
        due = calendar_admin.deadline(moment, duration, kind)
    except ValueError:
        click.echo("--from must be an ISO 8601 instant, for example 2026-11-27T16:30:00+00:00", err=True)
        raise SystemExit(2) from None
    except Invalid as err:
        click.echo("; ".join(m for ms in err.errors.values() for m in ms), err=True)
        raise SystemExit(2) from None
    click.echo(f"{due.isoformat()}  ({due.astimezone(LONDON):%A %d %B %Y %H:%M} UK time)")


@calendar_group.group("closures")
def closures_group() -> None:
    """Days the MASH is closed beyond weekends and bank holidays."""


@closures_group.command("list")
def closures_list() -> None:
    for row in calendar_admin.closures():
        click.echo(f"{row.day.isoformat()}  {row.reason}  (added by {row.created_by})")


@closures_group.command("add")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--reason", required=True)
def closures_add(day, reason) -> None:
    try:
        row = calendar_admin.add_closure(day.date(), reason)
    except Invalid as err:
        click.echo("; ".join(m for ms in err.errors.values() for m in ms), err=True)
        raise SystemExit(2) from None
    click.echo(f"closure day added: {row.day.isoformat()}")


@closures_group.command("remove")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
def closures_remove(day) -> None:
    try:
        calendar_admin.remove_closure(day.date())
    except NotFound as err:
        click.echo(err.message, err=True)
        raise SystemExit(2) from None
    click.echo(f"closure day removed: {day.date().isoformat()}")


@main.group("timers")
def timers_group() -> None:
    """BPMN timers stored as rows."""


@timers_group.command("fire-due")
@click.option("--now", default=None, help="Fire as if it were this instant (ISO 8601 with offset)")
def timers_fire_due(now) -> None:
    """One sweep: fire every timer that is due, each exactly once."""
    moment = datetime.fromisoformat(now) if now else None
    if moment is not None and moment.tzinfo is None:
        click.echo("--now needs a UTC offset", err=True)
        raise SystemExit(2)
    click.echo(f"fired {timers.fire_due(moment)} timer(s)")


@main.group("audit")
def audit_group() -> None:
    """Tamper evidence for the history."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check every history hash chain and its anchor; name the first broken entry (exit 1)."""
    from app.services.audit import audit

    result = audit.verify()
    if result.first is None:
        click.echo(f"history intact: {result.entries} entries in {result.chains} chains")
        return
    click.echo(f"history BROKEN in {len(result.breaks)} chain(s); first broken {result.first}", err=True)
    raise SystemExit(1)


@main.command("repair")
@click.option("--apply", is_flag=True, help="Repair what is found (default: a dry run that only lists)")
@click.option("--instance", "instance_id", type=int, help="Only this case")
def repair(apply, instance_id) -> None:
    """Find cases stopped by an engine hook never delivered (unmerged partner answers) and repair them."""
    from app.services.cases import repair as repairs

    found = repairs.find_and_repair(apply=apply, instance_id=instance_id)
    for case in found:
        steps = ", ".join(f"{s['bpmn_id']} ({s['kind']}, {len(s['instances'])} instance(s))" for s in case.steps)
        state = "repaired" if case.repaired else (f"NOT repaired: {case.error}" if case.error else "stuck")
        click.echo(f"case {case.instance_id} [{case.process_id}]: {state}: {steps}")
    verb = "repaired" if apply else "found stuck (dry run; --apply repairs them)"
    click.echo(f"{sum(1 for c in found if c.repaired) if apply else len(found)} case(s) {verb}")
    if any(c.error for c in found):
        raise SystemExit(1)


@main.command("scheduler")
@click.option("--interval", default=15, show_default=True, help="Seconds between sweeps")
def scheduler(interval) -> None:
    """Run the timer sweeper (APScheduler, one process; never inside web workers)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app behind the proxy

    def sweep() -> None:
        with app.app_context():
            count = timers.fire_due()
            if count:
                click.echo(f"fired {count} timer(s)")

    runner = BlockingScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )

    def statistics() -> None:  # SQLite keeps no planner statistics by itself (planner_statistics.py)
        with app.app_context():
            planner_statistics.refresh()

    runner.add_job(sweep, "interval", seconds=interval, next_run_time=datetime.now(LONDON))
    runner.add_job(statistics, "interval", hours=1, next_run_time=datetime.now(LONDON))
    click.echo(f"scheduler: sweeping due timers every {interval} s (Ctrl+C to stop)")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        runner.start()


# What the access log records: time, worker pid, method, path WITHOUT the query string (a search
# query can hold a child's name), status, bytes, milliseconds. No client address, no referrer.
ACCESS_LOG_FORMAT = '%(t)s [%(p)s] "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


@main.command("serve", with_appcontext=False)
@click.option(
    "--workers",
    "-w",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (each builds its own app and database pool)",
)
@click.option("--bind", "-b", default="127.0.0.1:8000", show_default=True, help="HOST:PORT (or unix:PATH)")
@click.option(
    "--timeout",
    default=60,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds a worker may be silent before it is killed and replaced",
)
@click.option(
    "--graceful-timeout",
    default=30,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds workers get to finish their requests on HUP/TERM",
)
@click.option("--pid", "pidfile", default=None, type=click.Path(dir_okay=False), help="Write the master's pid here")
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log each request to stderr (path without query string; no addresses)",
)
@click.option(
    "--keep-alive",
    "keep_alive",
    default=0,
    show_default=True,
    type=click.IntRange(0, 300),
    help="Seconds an idle client connection stays open (0: close after each response, gunicorn's "
    "sync workers; more: threaded workers that keep connections alive, for clients that reuse them)",
)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker (more than 1 implies threaded workers)",
)
def serve(workers, bind, timeout, graceful_timeout, pidfile, access_log, keep_alive, threads) -> None:
    """Run the production web server (gunicorn; one master, N workers).

    Each worker creates the app and its database pool itself (no preload), so a HUP to the master
    (`kill -HUP PID`) replaces the workers one by one without dropping requests. Timers are not
    fired here: run exactly one `mash scheduler` beside it."""
    from gunicorn.app.base import BaseApplication

    from app.config import config_from_env

    try:
        config = config_from_env()
    except RuntimeError as err:
        click.echo(str(err), err=True)
        raise SystemExit(2) from None
    if not config.SECRET_KEY:  # fail here, once, rather than in every worker
        click.echo("Set MASH_SECRET_KEY: production refuses to start without a secret key", err=True)
        raise SystemExit(2)

    options = {
        "bind": [bind],
        "workers": workers,
        "timeout": timeout,
        # sync workers answer `Connection: close`; gthread workers keep a connection open `keep_alive` seconds
        "worker_class": "gthread" if keep_alive or threads > 1 else "sync",
        "threads": threads,
        "keepalive": keep_alive or None,
        "graceful_timeout": graceful_timeout,
        "preload_app": False,
        "proc_name": "mash",
        "pidfile": pidfile,
        "accesslog": "-" if access_log else None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "control_socket_disable": True,  # no shared ~/.gunicorn socket between servers
    }

    class MashServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key, value)

        def load(self):
            return create_app()  # in the worker, after the fork: its own engine and pool

    click.echo(
        f"mash serve: {workers} worker(s) on {bind} ({config.NAME} configuration; "
        f"{options['worker_class']} workers, keep-alive {keep_alive} s); "
        "run one `mash scheduler` beside it for timers",
        err=True,
    )
    MashServer().run()
