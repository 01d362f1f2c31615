"""Browser editors for one file of a modeller draft (issue 6).

BPMN opens in bpmn-js Modeler (with a side form for what this host reads: lane = role, user task
form, instructions, due time, called decision), DMN in dmn-js Modeler, forms in a JSON editor with
a live preview rendered by the task pages' own macros (components/schema_form.html via
schema_forms.build_fields). Saving goes through drafts.save_file with the draft's lock_version
the page loaded, so a second manager's save is a 409, never a lost change.

The editors are ES modules under /static/modeller/ importing the bundles built by
tools/build-assets.mjs; the pages keep the app's CSP (no inline script, no eval).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app.services.access import permissions
from app.services.core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.services.core.roles import ROLES
from app.services.modelling import drafts
from app.web import bp
from app.web.core import security
from app.web.core.schema_forms import build_fields

_PATH = re.compile(r"^(processes/[A-Za-z0-9_.-]+\.bpmn|dmn/[A-Za-z0-9_.-]+\.(dmn|json)|forms/[A-Za-z0-9_.-]+\.json)$")
MAX_CONTENT = 2 * 1024 * 1024


def _kind(path: str) -> str:
    if path.endswith(".bpmn"):
        return "bpmn"
    if path.endswith(".dmn"):
        return "dmn"
    return "json"


def _require_editor() -> None:
    if not drafts.may_manage(g.current_user):
        abort(403)


def _load(draft_id: int, path: str):
    """(draft, files) or 404: only the four kinds of model path, only files in the draft."""
    if not _PATH.match(path or ""):
        abort(404)
    try:
        draft = drafts.get(draft_id)
    except NotFound:
        abort(404)
    files = drafts.draft_files(draft)
    return draft, files


def _sibling(path: str) -> tuple[str, str] | None:
    """(schema path, ui schema path) of the form a forms/ file belongs to."""
    name = path.rsplit("/", 1)[-1]
    for suffix in (".schema.json", ".uischema.json"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return f"forms/{stem}.schema.json", f"forms/{stem}.uischema.json"
    return None


def _decision_ids(files: dict[str, bytes]) -> list[str]:
    return sorted(
        p.removeprefix("dmn/").removesuffix(".dmn") for p in files if p.startswith("dmn/") and p.endswith(".dmn")
    )


def _form_names(files: dict[str, bytes], suffix: str) -> list[str]:
    return sorted(p.removeprefix("forms/") for p in files if p.startswith("forms/") and p.endswith(suffix))


def _render(
    draft,
    files,
    path: str,
    content: str,
    *,
    errors: list[str] | None = None,
    conflict: bool = False,
    status: int = 200,
    lock_version: int | None = None,
):
    kind = _kind(path)
    preview = _preview_parts(files, path, content) if kind == "json" else None
    # A decision table's examples (dmn/<id>.tests.json) are edited beside it, as a table.
    examples_path = path.removesuffix(".dmn") + ".tests.json" if kind == "dmn" else None
    examples = files[examples_path].decode("utf-8", errors="replace") if examples_path in files else ""
    table_path = path.removesuffix(".tests.json") + ".dmn" if path.endswith(".tests.json") else None
    return render_template(
        "modeller/editor.html",
        draft=draft,
        path=path,
        kind=kind,
        content=content,
        lock_version=draft.lock_version if lock_version is None else lock_version,
        errors=errors or [],
        conflict=conflict,
        draft_url=url_for("web.draft", draft_id=draft.id),
        problems_url=url_for("web.draft_problems", draft_id=draft.id),
        save_url=url_for("web.save_draft_file", draft_id=draft.id, path=path),
        preview_url=url_for("web.preview_draft_form", draft_id=draft.id, path=path),
        roles=ROLES,
        decisions=_decision_ids(files),
        schema_forms=_form_names(files, ".schema.json"),
        ui_forms=_form_names(files, ".uischema.json"),
        preview=preview,
        editable=draft.status == "editing",
        examples_path=examples_path,
        examples=examples,
        examples_save_url=url_for("web.save_draft_file", draft_id=draft.id, path=examples_path)
        if examples_path
        else None,
        decision_id=path.rsplit("/", 1)[-1].removesuffix(".dmn") if kind == "dmn" else None,
        table_url=url_for("web.edit_draft_file", draft_id=draft.id, path=table_path)
        if table_path and table_path in files
        else None,
    ), status


@bp.get("/modeller/drafts/<int:draft_id>/files/<path:path>")
@security.login_required
@permissions.requires("models.edit")
def edit_draft_file(draft_id: int, path: str):
    _require_editor()
    draft, files = _load(draft_id, path)
    if path not in files:
        abort(404)
    return _render(draft, files, path, files[path].decode("utf-8", errors="replace"))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/modeller/drafts/<int:draft_id>/files/<path:path>")
@security.login_required
@permissions.requires("models.edit")
def save_draft_file(draft_id: int, path: str):
    """Save one file with the lock_version the page loaded (JSON for the editors' fetch, a page otherwise)."""
    _require_editor()
    draft, files = _load(draft_id, path)
    content = request.form.get("content", "")
    try:
        expected = int(request.form.get("expected_version", ""))
    except ValueError:
        abort(400, description="The page was missing its draft version. Reload the page and try again.")
    problems = _content_problems(path, content)
    if problems:
        if _wants_json():
            return jsonify({"error": "invalid", "message": problems[0], "errors": {path: problems}}), 422
        return _render(draft, files, path, content, errors=problems, status=422)
    try:
        saved = drafts.save_file(draft_id, path, content.encode("utf-8"), expected, g.current_user)
    except ServiceError as err:
        return _save_refused(err, draft, files, path, content, expected)
    if _wants_json():
        return jsonify({"lock_version": saved.lock_version, "message": f"Saved {path}"})
    flash(f"Saved {path}")
    return redirect(url_for("web.edit_draft_file", draft_id=draft_id, path=path))


def _content_problems(path: str, content: str) -> list[str]:
    """What is wrong with a file before it is offered to the draft: its size, or JSON that does not parse."""
    if len(content.encode("utf-8")) > MAX_CONTENT:
        return [f"The file is larger than {MAX_CONTENT // 1024} KB."]
    if _kind(path) == "json":
        try:
            json.loads(content)
        except ValueError as err:
            return [f"This is not valid JSON: {err}"]
    return []


def _save_refused(err: ServiceError, draft, files: dict[str, bytes], path: str, content: str, expected: int):
    """The answer when the draft refused the save: JSON for the editors' fetch, the page otherwise."""
    if isinstance(err, Conflict):
        message = "Someone else saved this draft after you opened it. Reload the page to see their changes."
        if _wants_json():
            return jsonify({"error": "conflict", "message": message, "detail": err.message}), 409
        # The page keeps what was typed and its old version; reloading fetches the other manager's save.
        return _render(draft, files, path, content, errors=[message], conflict=True, status=409, lock_version=expected)
    if isinstance(err, Invalid):
        messages = [m for ms in (err.errors or {}).values() for m in ms] or [err.message]
        if _wants_json():
            return jsonify({"error": "invalid", "message": err.message, "errors": err.errors}), 422
        return _render(draft, files, path, content, errors=messages, status=422)
    if isinstance(err, Forbidden):
        abort(403)
    if isinstance(err, NotFound):
        abort(404)
    if _wants_json():
        return jsonify({"error": err.code, "message": err.message}), err.status
    return _render(draft, files, path, content, errors=[err.message], status=err.status)


def _preview_parts(files: dict[str, bytes], path: str, content: str) -> dict:
    """{fields, error}: the form as the task page would draw it, or why it cannot be drawn."""
    pair = _sibling(path)
    if pair is None:
        return {"fields": [], "error": None, "note": "This file is not a form, so there is no preview."}
    texts = {p: files[p].decode("utf-8", errors="replace") if p in files else None for p in pair}
    texts[path] = content
    parsed: dict[str, Any] = {}
    for p, text in texts.items():
        if text is None:
            if p.endswith(".uischema.json"):
                parsed[p] = {}
                continue
            return {"fields": [], "error": f"The draft has no {p}.", "note": None}
        try:
            parsed[p] = json.loads(text)
        except ValueError as err:
            return {"fields": [], "error": f"{p} is not valid JSON: {err}", "note": None}
        if not isinstance(parsed[p], dict):
            return {"fields": [], "error": f"{p} must be a JSON object.", "note": None}
    schema, ui = parsed[pair[0]], parsed[pair[1]]
    try:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as err:
            where = "/".join(str(p) for p in err.absolute_path) or "the top level"
            return {
                "fields": [],
                "error": f"{pair[0]} is not a valid JSON Schema at {where}: {err.message}",
                "note": None,
            }
        fields = build_fields(schema, ui, {}, {}, data={})
    except Exception as err:  # a schema the renderer cannot draw: say so instead of a 500
        return {"fields": [], "error": f"The form cannot be drawn: {err}", "note": None}
    return {"fields": fields, "error": None, "note": None}


@bp.post("/modeller/drafts/<int:draft_id>/preview/<path:path>")
@security.login_required
@permissions.requires("models.edit")
def preview_draft_form(draft_id: int, path: str):
    """The live preview: an HTML fragment of the form drawn by the task pages' macros (nothing saved)."""
    _require_editor()
    _draft, files = _load(draft_id, path)
    content = request.form.get("content", "")
    if len(content.encode("utf-8")) > MAX_CONTENT:
        abort(413)
    preview = _preview_parts(files, path, content)
    return render_template("modeller/editor_preview.html", preview=preview), (422 if preview["error"] else 200)
