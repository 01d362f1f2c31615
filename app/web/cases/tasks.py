"""The task page: the form from forms/, the case beside it, and completion."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.services.access import permissions
from app.services.audit import audit
from app.services.cases import completion, task_messages, task_page, worklist
from app.services.core import forms, labels
from app.services.core.errors import Conflict, Invalid, ProcessFailed
from app.services.core.states import TaskState
from app.services.partners import partner_history, partner_request
from app.web import bp
from app.web.core import security
from app.web.core.form_parsing import parse_submission
from app.web.core.instructions import render_instructions
from app.web.core.schema_forms import build_fields, error_summary, unplaced_errors


def _render(
    page, values, errors=None, preview=None, status=200, problem=None, message_values=None, message_errors=None
):
    fields = build_fields(page.schema, page.ui_schema, values, errors or {}, data=page.case["data"])
    message_fields = (
        build_fields(
            page.message["schema"],
            page.message["ui_schema"],
            message_values or {},
            message_errors or {},
            prefix="message.",
        )
        if page.message
        else []
    )
    summary = error_summary(fields) + [
        (f"#{fields[0].id}" if fields else "#main-content", m) for m in unplaced_errors(fields, errors or {})
    ]
    partner = partner_request.applies(g.current_user)  # a partner's own request: nothing else of the case
    extra = (
        {
            "ask": partner_request.ask(g.current_user, page.task),
            "by_when": partner_request.by_when,
            "child": partner_request.child(page.case["data"]),
        }
        if partner
        else {}
    )
    return render_template(
        "tasks/partner_request.html" if partner else "tasks/task.html",
        **extra,
        page=page,
        fields=fields,
        summary=summary,
        preview=preview,
        problem=problem,
        instructions=render_instructions(
            labels.plain(page.instructions) or None,
            # the case, plus the task's own facts it does not hold
            {**(page.task.form_data or {}), **page.case["data"]},
        ),
        message_fields=message_fields,
        message_summary=error_summary(message_fields),
        may_read_timeline=audit.may_read_timeline(g.current_user, page.task.instance_id),
        tag=worklist.tag_for(page.task),  # task properties `tag` / `tagWhen` (e.g. returned by the manager)
    ), status


@bp.get("/tasks/<string:task_id>")
@security.login_required
@permissions.requires("task.work")
def task(task_id: str):
    page = task_page.load(g.current_user, task_id)
    if page.task.state != TaskState.READY:
        return render_template(
            "errors/409.html", message="This task has already been completed.", case_id=page.task.instance_id
        ), 409
    return _render(page, task_page.prefill(g.current_user, page))


@bp.post("/tasks/<string:task_id>")
@security.login_required
@permissions.requires("task.work")
def complete(task_id: str):
    page = task_page.load(g.current_user, task_id)
    problems: dict[str, list[str]] = {}
    data, action = parse_submission(page.schema, page.ui_schema, request.form, problems)
    if action == "preview":
        return _render(page, data, preview=completion.preview_decision(g.current_user, task_id, data))
    if action:
        return _render(page, data)  # add/remove a repeating item: same page, data kept
    if problems:  # a date or time that is not real: say so on its field, with every other problem too
        return _render(page, data, errors={**_other_errors(page, data), **problems}, status=422)
    try:
        completion.complete_task(g.current_user, task_id, data)
    except Invalid as err:
        return _render(page, data, errors=err.errors, status=422)
    except ProcessFailed as err:
        return _render(page, data, status=422, problem=err.message)
    except Conflict as err:
        return render_template("errors/409.html", message=err.message, case_id=page.task.instance_id), 409
    if partner_request.applies(g.current_user):  # a partner lands on its own answer, never the case
        flash("Your answer has been sent to the MASH")
        return redirect(
            url_for("web.agency_answer", task_id=task_id)
            if page.task.agency and page.task.agency == g.current_user.agency
            else url_for("web.inbox")
        )
    flash(f"{page.task.title}: done")
    return redirect(url_for("web.case", instance_id=page.task.instance_id))


def _other_errors(page, data: dict) -> dict[str, list[str]]:
    """What the form's own rules say about the rest of the answers (nothing is saved)."""
    try:
        forms.validate_submission(page.schema, page.case["data"], data, page.ui_schema)
    except Invalid as err:
        return err.errors
    return {}


@bp.post("/tasks/<string:task_id>/message")
@security.login_required
@permissions.requires("task.read")
def send_message(task_id: str):
    page = task_page.load(g.current_user, task_id)
    if page.message is None:
        return redirect(url_for("web.task", task_id=task_id))
    problems: dict[str, list[str]] = {}
    data, _ = parse_submission(
        {"type": "object", "properties": {"message": page.message["schema"]}},
        {"message": page.message["ui_schema"]},
        request.form,
        problems,
    )
    data = data.get("message", {})
    try:
        if problems:
            raise Invalid({k.removeprefix("message."): v for k, v in problems.items()})
        task_messages.send_task_message(g.current_user, task_id, data)
    except Invalid as err:
        return _render(
            page,
            task_page.prefill(g.current_user, page),
            status=422,
            message_values=data,
            message_errors={f"message.{k}": v for k, v in err.errors.items()},
        )
    except Conflict as err:
        return render_template("errors/409.html", message=err.message, case_id=page.task.instance_id), 409
    flash("Sent: the MASH manager has been told now. Your request stays open for your full answer.")
    return redirect(url_for("web.task", task_id=task_id))


@bp.get("/tasks/<string:task_id>/earlier/<string:earlier_id>")
@security.login_required
@permissions.requires("task.work")
def earlier_answer(task_id: str, earlier_id: str):
    """A partner's own agency's earlier answer about the same child (seed §12), soft information left out."""
    earlier = partner_history.earlier_answer(g.current_user, task_id, earlier_id)
    return render_template("tasks/earlier_answer.html", task_id=task_id, earlier=earlier)
