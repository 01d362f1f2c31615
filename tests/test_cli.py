"""The `mash` command as an administrator would use it."""

from click.testing import CliRunner
from flask.cli import ScriptInfo

from app.cli import main
from app.services.cases import case_index
from app.services.modelling import deployments
from app.services.people import users


def _run(app, args, input=None):
    return CliRunner().invoke(main, args, input=input, obj=ScriptInfo(create_app=lambda: app))


def test_users_create_reads_the_password_from_stdin(ctx):
    result = _run(
        ctx,
        ["users", "create", "pat", "--role", "partner", "--agency", "police", "--password-stdin"],
        input="a-long-password\n",
    )
    assert result.exit_code == 0, result.output
    user = users.get_by_username("pat")
    assert user.roles == {"partner"} and user.agency == "police"


def test_users_create_explains_what_is_wrong(ctx):
    result = _run(ctx, ["users", "create", "pat", "--role", "partner", "--password-stdin"], input="short\n")
    assert result.exit_code == 2
    assert "password" in result.output and "agency" in result.output
    assert users.get_by_username("pat") is None


def test_demo_creates_a_user_for_every_role_and_is_repeatable(ctx):
    first = _run(ctx, ["demo"])
    assert first.exit_code == 0, first.output
    second = _run(ctx, ["demo"])
    assert "0 created" in second.output
    from app.cli import DEMO_USERS
    from app.services.core.roles import ROLES

    assert {r for roles, _, _ in DEMO_USERS.values() for r in roles} == set(ROLES)


def test_demo_is_refused_outside_development(ctx):
    ctx.config["ALLOW_DEMO_USERS"] = False
    try:
        result = _run(ctx, ["demo"])
    finally:
        ctx.config["ALLOW_DEMO_USERS"] = True
    assert result.exit_code == 2 and "refused" in result.output
    assert users.get_by_username("masho") is None


def test_deploy_is_a_no_op_when_nothing_changed_and_refuses_broken_models(ctx, tmp_path):
    result = _run(ctx, ["deploy"])
    assert result.exit_code == 0 and "unchanged" in result.output
    for folder in ("processes", "dmn", "forms"):
        (tmp_path / folder).mkdir()
    (tmp_path / "processes" / "bad.bpmn").write_text("<bpmn:definitions>\n<broken")
    result = _run(ctx, ["deploy", "--path", str(tmp_path)])
    assert result.exit_code == 2 and "bad.bpmn:" in result.output
    assert deployments.latest().version == 1


def test_index_import_lists_bad_rows_by_line(ctx, tmp_path):
    path = tmp_path / "index.csv"
    path.write_text("external_ref,first_name,last_name,date_of_birth\nA1,Ann,Lee,2015-01-01\nA2,Bob,,not-a-date\n")
    result = _run(ctx, ["index", "import", str(path)])
    assert result.exit_code == 2
    assert "line 3" in result.output and case_index.count() == 0
    path.write_text("external_ref,first_name,last_name,date_of_birth\nA1,Ann,Lee,2015-01-01\n")
    assert "1 created" in _run(ctx, ["index", "import", str(path)]).output


def test_calendar_add_prints_the_working_deadline_and_honours_closures(ctx):
    result = _run(ctx, ["calendar", "add", "--from", "2026-12-24T16:30:00+00:00", "--duration", "PT8H"])
    assert result.exit_code == 0 and result.output.startswith("2026-12-29T16:00:00+00:00")
    assert _run(ctx, ["calendar", "closures", "add", "2026-12-29", "--reason", "Council closure"]).exit_code == 0
    result = _run(ctx, ["calendar", "add", "--from", "2026-12-24T16:30:00+00:00", "--duration", "PT8H"])
    assert result.output.startswith("2026-12-30T16:00:00+00:00")
    assert "2026-12-29  Council closure" in _run(ctx, ["calendar", "closures", "list"]).output
    assert _run(ctx, ["calendar", "closures", "remove", "2026-12-29"]).exit_code == 0
    bad = _run(ctx, ["calendar", "add", "--from", "2026-12-24T16:30:00", "--duration", "PT8H"])
    assert bad.exit_code == 2 and "offset" in bad.output


def test_timers_fire_due_reports_what_it_fired(ctx):
    result = _run(ctx, ["timers", "fire-due", "--now", "2026-11-25T10:00:00+00:00"])
    assert result.exit_code == 0 and "fired 0 timer(s)" in result.output
