"""Record a contact (issue 14): question pages for the MASH officer — how and when it came in, the
referrer (or anonymous), the children (an unborn baby with its expected date of delivery), the
adults in the household, the concerns — then check your answers, then the contact is recorded with
the same service as POST /api/v1/contacts and the officer lands on the first child's Record contact
task (where the Appendix A, Appendix E and consent questions are answered).

Every page works without JavaScript. The answers are kept on the server between pages
(app/services/cases/contact_drafts.py), never in a cookie. "Add another" saves the page and lands on
the new child or adult.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.services.access import permissions
from app.services.cases import contact_drafts, contacts
from app.services.core.errors import Forbidden, NotFound
from app.web import bp
from app.web.cases import record_contact_form as answers_of
from app.web.cases.record_contact_form import STEPS, TITLES
from app.web.core import security

ITEMS = {"children": "child", "adults": "adult"}


may_record = contacts.may_start_contact  # the rule POST /api/v1/contacts applies (contacts.START_ROLES)


def _require_recorder() -> None:
    if not may_record(g.current_user):
        raise Forbidden("Only a MASH officer can record a contact")


def _back(step: str, draft_id: int | None, changing: bool) -> str:
    if draft_id and changing:
        return url_for("web.record_contact_check", draft_id=draft_id)
    if draft_id and step != STEPS[0]:
        return url_for("web.record_contact_step", draft_id=draft_id, step=STEPS[STEPS.index(step) - 1])
    return url_for("web.inbox")


def _render(
    step: str,
    answers: dict,
    errors: dict | None = None,
    status: int = 200,
    draft_id: int | None = None,
    changing: bool = False,
):
    action = (
        url_for("web.record_contact_step", draft_id=draft_id, step=step, change=1 if changing else None)
        if draft_id
        else url_for("web.record_contact_start")
    )
    return render_template(
        f"record_contact/{step}.html",
        step=step,
        title=TITLES[step],
        answers=answers,
        errors=errors or {},
        anchors=answers_of.anchors(answers),
        action=action,
        back=_back(step, draft_id, changing),
        number=STEPS.index(step) + 1,
        steps=len(STEPS),
        form=answers_of,
    ), status


@bp.route("/contacts/new", methods=["GET", "POST"])
@security.login_required
@permissions.requires("contacts.start")
def record_contact_start():
    """The first page. Nothing is kept until it is answered: then the draft starts."""
    _require_recorder()
    if request.method == "GET":
        return _render("how", answers_of.new_answers())
    answers = answers_of.read("how", request.form, answers_of.new_answers())
    errors = answers_of.validate("how", answers)
    if errors:
        return _render("how", answers, errors, 422)
    answers["done"] = ["how"]
    draft = contact_drafts.start(g.current_user, g.web_session, answers)
    return redirect(url_for("web.record_contact_step", draft_id=draft.id, step="referrer"))


@bp.route("/contacts/new/<int:draft_id>/<string:step>", methods=["GET", "POST"])
@security.login_required
@permissions.requires("draft.own")
def record_contact_step(draft_id: int, step: str):
    if step not in STEPS:
        raise NotFound("No such page")
    draft = contact_drafts.get(g.current_user, g.web_session, draft_id)
    changing = bool(request.args.get("change"))
    if request.method == "GET":
        return _render(step, draft.answers, draft_id=draft_id, changing=changing)
    answers = answers_of.read(step, request.form, draft.answers)
    action = request.form.get("action") or "continue"
    here = url_for("web.record_contact_step", draft_id=draft_id, step=step, change=1 if changing else None)
    if step in ITEMS and action == "add":
        index = answers_of.add_item(answers, step)
        contact_drafts.save(draft, answers)
        anchor = f"{ITEMS[step]}-{index}-section" if index is not None else step
        return redirect(f"{here}#{anchor}")
    if step in ITEMS and action.startswith("remove-"):
        number = action.removeprefix("remove-")
        answers_of.remove_item(answers, step, int(number) if number.isdigit() else -1)
        contact_drafts.save(draft, answers)
        return redirect(f"{here}#{step}")
    if step == "adults":
        answers_of.drop_empty_adults(answers)
    errors = answers_of.validate(step, answers)
    if errors:
        answers["done"] = [s for s in answers.get("done") or [] if s != step]
        contact_drafts.save(draft, answers)  # what was typed is kept, errors and all
        return _render(step, answers, errors, 422, draft_id=draft_id, changing=changing)
    answers["done"] = sorted(set(answers.get("done") or []) | {step}, key=STEPS.index)
    contact_drafts.save(draft, answers)
    unfinished = answers_of.first_unfinished(answers)
    if unfinished is None and (changing or step == STEPS[-1]):
        return redirect(url_for("web.record_contact_check", draft_id=draft_id))
    following = unfinished if changing or step == STEPS[-1] else STEPS[STEPS.index(step) + 1]
    return redirect(url_for("web.record_contact_step", draft_id=draft_id, step=following))


@bp.route("/contacts/new/<int:draft_id>/check", methods=["GET", "POST"])
@security.login_required
@permissions.requires("draft.own")
def record_contact_check(draft_id: int):
    draft = contact_drafts.get(g.current_user, g.web_session, draft_id)
    answers = draft.answers
    unfinished = answers_of.first_unfinished(answers)
    if unfinished:  # a page not answered yet (or no longer passing): answer it first
        return redirect(url_for("web.record_contact_step", draft_id=draft_id, step=unfinished))
    if request.method == "GET":

        def change(step: str, anchor: str) -> str:
            return url_for("web.record_contact_step", draft_id=draft_id, step=step, change=1) + "#" + anchor

        return render_template(
            "record_contact/check.html",
            sections=answers_of.sections(answers, change),
            draft_id=draft_id,
            children=len(answers.get("children") or []),
        )
    contact, instances = contact_drafts.record(g.current_user, draft, answers_of.contact(answers))
    count = len(instances)
    flash(
        f"Contact recorded: reference {contacts.reference(contact)}. "
        + (
            "The child has a case of their own."
            if count == 1
            else f"Each of the {count} children has a case of their own."
        )
    )
    task = contact_drafts.next_task(g.current_user, instances[0].id)
    if task is None:
        return redirect(url_for("web.case", instance_id=instances[0].id))
    return redirect(url_for("web.task", task_id=task.id))


@bp.post("/contacts/new/<int:draft_id>/cancel")
@security.login_required
@permissions.requires("draft.own")
def record_contact_cancel(draft_id: int):
    draft = contact_drafts.get(g.current_user, g.web_session, draft_id)
    contact_drafts.discard(draft)
    flash("The contact was not recorded: what you had entered has been deleted")
    return redirect(url_for("web.inbox"))
