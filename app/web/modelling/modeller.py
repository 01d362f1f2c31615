"""Modeller pages for service managers: versions, drafts, validation, review, what-if, migration;
and the page listing processes a person may start.

Thin views over app.services.modelling.drafts / migration / processes. The file editors themselves are in
app/web/modelling/modeller_editor.py (endpoint web.edit_draft_file).
"""

from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from app.services.access import permissions
from app.services.cases import processes
from app.services.core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.services.modelling import drafts, migration
from app.web import bp
from app.web.core import security

NEW_FILE_TEMPLATES = {
    "bpmn": """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="{name}_definitions"
    targetNamespace="https://mash-front-door.local/bpmn/{name}">
  <bpmn:process id="{name}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="{name}_start" name="Start"><bpmn:outgoing>{name}_flow</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="{name}_end" name="End"><bpmn:incoming>{name}_flow</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="{name}_flow" sourceRef="{name}_start" targetRef="{name}_end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="{name}_diagram"><bpmndi:BPMNPlane id="{name}_plane" bpmnElement="{name}">
    <bpmndi:BPMNShape id="{name}_start_di" bpmnElement="{name}_start">
      <dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="{name}_end_di" bpmnElement="{name}_end"><dc:Bounds x="300" y="100" width="36" height="36"/>
      </bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
""",
    "dmn": """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="{name}_definitions" name="{name}" namespace="https://mash-front-door.local/dmn/{name}">
  <decision id="{name}" name="{name}">
    <decisionTable id="{name}_table" hitPolicy="UNIQUE">
      <input id="{name}_input" label="Input">
        <inputExpression id="{name}_input_expression" typeRef="string"><text>rag</text></inputExpression></input>
      <output id="{name}_output" label="Output" name="{name}_result" typeRef="string"/>
      <rule id="{name}_r1"><inputEntry id="{name}_r1_in"><text>-</text></inputEntry>
        <outputEntry id="{name}_r1_out"><text>"result"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
""",
    "json": (
        '{{\n  "$schema": "https://json-schema.org/draft/2020-12/schema",\n'
        '  "type": "object",\n  "properties": {{}}\n}}\n'
    ),
    "uijson": "{{}}\n",
    "tests": "[]\n",
}


def _require_manager() -> None:
    if not drafts.may_manage(g.current_user):
        abort(403, description="The modeller is for service managers")


def editor_url(draft_id: int, path: str) -> str | None:
    """The editor engineer's page for one file, when it exists."""
    try:
        return url_for("web.edit_draft_file", draft_id=draft_id, path=path)
    except BuildError:
        return None


@bp.app_context_processor
def _modeller_globals():
    user = getattr(g, "current_user", None)
    # drafts_to_approve(): the inbox's "approve a draft" work items (called only where shown).
    return {
        "may_model": drafts.may_manage(user),
        "drafts_to_approve": lambda: drafts.awaiting_approval_by(user),
        "draft_user_name": drafts.user_name,
    }


def _version(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        abort(400, description="The page was missing the draft's version. Reload it and try again.")


# --------------------------------------------------------------------------- catalogue and drafts


@bp.get("/modeller")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def modeller():
    _require_manager()
    return render_template(
        "modeller/index.html",
        catalogue=drafts.catalogue(),
        open_drafts=drafts.list_drafts(),
        publications=drafts.publications()[:10],
        user_name=drafts.user_name,
    )


@bp.post("/modeller/drafts")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def create_draft():
    _require_manager()
    raw = request.form.get("from_version") or None
    draft = drafts.create(g.current_user, int(raw) if raw and raw.isdigit() else None)
    flash(f"Draft {draft.id} created from version {draft.base_version}")
    return redirect(url_for("web.draft", draft_id=draft.id))


def _draft_page(draft_id: int, *, status: int = 200, errors: dict | None = None, what_if=None, values=None):
    draft = drafts.get(draft_id)
    files = drafts.draft_files(draft)
    problems = drafts.validate(draft_id) if draft.status != "discarded" else []
    return render_template(
        "modeller/draft.html",
        draft=draft,
        files=sorted(files),
        editor_url=editor_url,
        problems=problems,
        error_count=sum(1 for p in problems if p.severity == "error"),
        diff=drafts.diff_summary(draft_id),
        decisions=sorted(p.removeprefix("dmn/").removesuffix(".dmn") for p in files if p.endswith(".dmn")),
        events=drafts.events(draft_id),
        user_name=drafts.user_name,
        errors=errors or {},
        what_if=what_if,
        values=values or {},
        is_submitter=draft.submitted_by == g.current_user.id,
        approval_refusal=drafts.approval_refusal(draft, g.current_user)
        if draft.status == "awaiting_approval"
        else None,
        authors=drafts.authors(draft) if draft.status == "awaiting_approval" else [],
        stale=drafts.stale_reason(draft) if draft.status in drafts.OPEN_STATUSES else None,
    ), status


@bp.get("/modeller/drafts/<int:draft_id>")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def draft(draft_id: int):
    _require_manager()
    return _draft_page(draft_id)


@bp.get("/modeller/drafts/<int:draft_id>/problems.json")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def draft_problems(draft_id: int):
    """Validation problems for the editors to highlight on the diagram (session-authenticated)."""
    _require_manager()
    draft = drafts.get(draft_id)
    response = jsonify(
        {
            "draft_id": draft.id,
            "lock_version": draft.lock_version,
            "problems": [p.as_dict() for p in drafts.validate(draft_id)],
        }
    )
    response.headers["Cache-Control"] = "no-store"  # always this draft's problems as saved now
    return response


@bp.post("/modeller/drafts/<int:draft_id>/files")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def add_draft_file(draft_id: int):
    """Add a new file from a starting template (the editor then opens it)."""
    _require_manager()
    path = (request.form.get("path") or "").strip()
    name = path.rsplit("/", 1)[-1].split(".", 1)[0]
    kind = (
        "tests"
        if path.endswith(".tests.json")
        else "uijson"
        if path.endswith(".uischema.json")
        else "bpmn"
        if path.endswith(".bpmn")
        else "dmn"
        if path.endswith(".dmn")
        else "json"
    )
    if path in drafts.draft_files(drafts.get(draft_id)):
        return _draft_page(
            draft_id, status=422, errors={"path": f"The draft already has {path}"}, values={"path": path}
        )
    try:
        drafts.save_file(
            draft_id,
            path,
            NEW_FILE_TEMPLATES[kind].format(name=name).encode(),
            _version(request.form.get("expected_version")),
            g.current_user,
        )
    except Invalid as err:
        message = "; ".join(m for ms in err.errors.values() for m in ms) or err.message
        return _draft_page(draft_id, status=422, errors={"path": message}, values={"path": path})
    except Conflict as err:
        return render_template("errors/409.html", message=err.message), 409
    flash(f"Added {path}")
    return redirect(editor_url(draft_id, path) or url_for("web.draft", draft_id=draft_id))


@bp.post("/modeller/drafts/<int:draft_id>/delete-file")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def delete_draft_file(draft_id: int):
    _require_manager()
    path = request.form.get("path") or ""
    drafts.delete_file(draft_id, path, _version(request.form.get("expected_version")), g.current_user)
    flash(f"Removed {path} from the draft")
    return redirect(url_for("web.draft", draft_id=draft_id))


@bp.post("/modeller/drafts/<int:draft_id>/discard")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def discard_draft(draft_id: int):
    _require_manager()
    drafts.discard(draft_id, _version(request.form.get("expected_version")), g.current_user)
    flash(f"Draft {draft_id} discarded")
    return redirect(url_for("web.modeller"))


@bp.post("/modeller/drafts/<int:draft_id>/submit")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def submit_draft(draft_id: int):
    _require_manager()
    note = (request.form.get("note") or "").strip()
    try:
        drafts.submit(draft_id, _version(request.form.get("expected_version")), g.current_user, note)
    except Invalid:
        return _draft_page(
            draft_id,
            status=422,
            errors={"submit": "Correct the problems listed before asking for approval"},
            values={"note": note},
        )
    except Conflict as err:
        return _draft_page(draft_id, status=409, errors={"submit": err.message}, values={"note": note})
    flash("Sent for approval: a different service manager must approve it")
    return redirect(url_for("web.draft", draft_id=draft_id))


@bp.post("/modeller/drafts/<int:draft_id>/approve")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def approve_draft(draft_id: int):
    _require_manager()
    try:
        deployment = drafts.approve(
            draft_id,
            g.current_user,
            request.form.get("note"),
            expected_version=_version(request.form.get("expected_version")),
            content_hash=request.form.get("content_hash") or "",
        )
    except Forbidden as err:
        return _draft_page(draft_id, status=403, errors={"review": err.message})
    except (Conflict, Invalid) as err:
        return _draft_page(draft_id, status=err.status, errors={"review": err.message})
    flash(
        f"Published as version {deployment.version}. New contacts use it; running cases stay on theirs "
        "until you move them."
    )
    return redirect(url_for("web.draft", draft_id=draft_id))


@bp.post("/modeller/drafts/<int:draft_id>/reject")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def reject_draft(draft_id: int):
    _require_manager()
    note = (request.form.get("note") or "").strip()
    try:
        drafts.reject(draft_id, g.current_user, note)
    except Invalid:
        return _draft_page(draft_id, status=422, errors={"review_note": "Say why the draft is sent back"})
    flash("Sent back to editing")
    return redirect(url_for("web.draft", draft_id=draft_id))


@bp.get("/modeller/drafts/<int:draft_id>/what-if")
@security.login_required
@permissions.requires("models.edit", message="The modeller is for service managers")
def draft_what_if(draft_id: int):
    _require_manager()
    decision_id = request.args.get("decision_id") or ""
    raw = request.args.get("last_n") or "100"
    values = {"decision_id": decision_id, "last_n": raw}
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        return _draft_page(draft_id, status=422, errors={"last_n": "Enter a number from 1 to 1000"}, values=values)
    try:
        result = drafts.what_if(draft_id, decision_id, int(raw))
    except NotFound as err:
        return _draft_page(draft_id, status=422, errors={"decision_id": err.message}, values=values)
    return _draft_page(draft_id, what_if=result, values=values)


# --------------------------------------------------------------------------- migration


@bp.get("/modeller/migration")
@security.login_required
@permissions.requires("migration.run", message="The modeller is for service managers")
def migration_page():
    _require_manager()
    publications = drafts.publications()
    process_id = request.args.get("process_id") or ""
    raw = request.args.get("to_version") or (str(publications[0]["version"]) if publications else "")
    candidates = None
    errors = {}
    if process_id:
        try:
            candidates = migration.preview(process_id, int(raw))
        except (ValueError, NotFound):
            errors["to_version"] = "Choose a deployed version"
    return render_template(
        "modeller/migration.html",
        processes=migration.running_processes(),
        versions=publications,
        process_id=process_id,
        to_version=raw,
        candidates=candidates,
        errors=errors,
        results=None,
    )


@bp.post("/modeller/migration")
@security.login_required
@permissions.requires("migration.run", message="The modeller is for service managers")
def migrate_instances():
    _require_manager()
    process_id = request.form.get("process_id") or ""
    to_version = _version(request.form.get("to_version"))
    chosen = [int(i) for i in request.form.getlist("instance_id") if i.isdigit()]
    if not chosen:
        candidates = migration.preview(process_id, to_version) if process_id else None
        return render_template(
            "modeller/migration.html",
            processes=migration.running_processes(),
            versions=drafts.publications(),
            process_id=process_id,
            to_version=str(to_version),
            candidates=candidates,
            errors={"instance_id": "Choose at least one case to move"},
            results=None,
        ), 422
    results = migration.migrate(chosen, to_version, g.current_user)
    return render_template(
        "modeller/migration.html",
        processes=migration.running_processes(),
        versions=drafts.publications(),
        process_id=process_id,
        to_version=str(to_version),
        candidates=migration.preview(process_id, to_version),
        errors={},
        results=results,
    )


# --------------------------------------------------------------------------- starting a process


@bp.get("/processes")
@security.login_required
@permissions.requires("signed_in")
def startable_processes():
    try:
        rows = processes.startable(g.current_user)
    except ServiceError:
        rows = []
    return render_template("modeller/start.html", rows=rows)


@bp.post("/processes/<string:process_id>/start")
@security.login_required
@permissions.requires("process.start")
def start_process(process_id: str):
    instance = processes.start(g.current_user, process_id, {})
    flash(f"Started {process_id} (case {instance.id})")
    return redirect(url_for("web.case", instance_id=instance.id))
