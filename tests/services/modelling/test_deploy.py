"""Deploying models is deploying code: hostile or broken files are refused with a line number."""

import pytest

from app.services.core.errors import Invalid
from app.services.modelling import deployments
from tests.support import models_dir

TINY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://example.org">
  <bpmn:process id="tiny" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc" name="Calculate"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _files(script: str = "x = 1", extra: str = "") -> dict[str, bytes]:
    return {"processes/tiny.bpmn": (extra + TINY.replace("SCRIPT", script)).encode()}


def _refused(files) -> dict:
    with pytest.raises(Invalid) as err:
        deployments.deploy(files, actor_name="tests")
    return err.value.errors


@pytest.mark.parametrize(
    "script",
    [
        "__import__('os').system('id')",
        "x = ().__class__.__base__.__subclasses__()",
        "import os",
        "x = open('/etc/passwd')",
        "x = '{0.__class__}'.format(1)",
    ],
)
def test_unsafe_scripts_are_refused_at_deploy_with_the_line(ctx, script):
    before = deployments.latest().version
    errors = _refused(_files(script))
    (message,) = errors["processes/tiny.bpmn"]
    assert message.startswith("line 6:")  # the scriptTask element
    assert deployments.latest().version == before  # nothing deployed


def test_xxe_is_refused_before_any_parsing(ctx, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doctype = f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
    files = {
        "processes/tiny.bpmn": TINY.replace(
            '<?xml version="1.0" encoding="UTF-8"?>\n', '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype
        )
        .replace("Calculate", "&xxe;")
        .encode()
    }
    (message,) = _refused(files)["processes/tiny.bpmn"]
    assert "DOCTYPE" in message and "TOP-SECRET" not in message


def test_billion_laughs_is_refused(ctx):
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">' for i in range(1, 10)
    )
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{entities}]>\n<lolz>&lol9;</lolz>'
    (message,) = _refused({"processes/bomb.bpmn": bomb.encode()})["processes/bomb.bpmn"]
    assert "DOCTYPE" in message


def test_broken_xml_reports_its_line(ctx):
    broken = TINY.replace('<bpmn:endEvent id="end">', '<bpmn:endEvent id="end">\n<oops>')
    (message,) = _refused({"processes/tiny.bpmn": broken.encode()})["processes/tiny.bpmn"]
    assert "not well-formed" in message and message.startswith("line ")


def test_oversized_model_is_refused(ctx):
    (message,) = _refused({"processes/big.bpmn": b" " * (3 * 1024 * 1024)})["processes/big.bpmn"]
    assert "larger than" in message


def test_redeploying_the_same_files_is_a_no_op(ctx):
    files = deployments.read_model_dir(models_dir())
    deployment, created = deployments.deploy(files, actor_name="tests")
    assert created is False and deployment.version == 1
