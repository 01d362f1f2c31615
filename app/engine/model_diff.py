"""A readable summary of what changes between two model sets, by element/rule id and name.

BPMN: elements of the processes (tasks, events, gateways, flows, lanes) added, removed or
changed (anything but their diagram layout); DMN: rules, inputs and outputs added, removed or
changed, and the hit policy; forms: fields added, removed or changed; DMN tests: example count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lxml import etree

from app.engine.errors import ModelError
from app.engine.xml import parse_model_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SKIP = {"BPMNDiagram", "definitions", "incoming", "outgoing"}
_WORDS = {
    "userTask": "user task",
    "scriptTask": "script task",
    "serviceTask": "service task",
    "businessRuleTask": "business rule task",
    "callActivity": "call activity",
    "subProcess": "sub-process",
    "startEvent": "start event",
    "endEvent": "end event",
    "boundaryEvent": "boundary event",
    "intermediateCatchEvent": "intermediate event",
    "intermediateThrowEvent": "intermediate event",
    "exclusiveGateway": "exclusive gateway",
    "parallelGateway": "parallel gateway",
    "inclusiveGateway": "inclusive gateway",
    "eventBasedGateway": "event-based gateway",
    "sequenceFlow": "sequence flow",
    "lane": "lane",
    "process": "process",
    "participant": "pool",
    "message": "message",
    "dataObject": "data object",
    "laneSet": "lane set",
    "collaboration": "collaboration",
}


def _label(tag: str, el_id: str, name: str | None) -> str:
    return f"{_WORDS.get(tag, tag)} {el_id}" + (f" ({name})" if name else "")


def _signature(el: etree._Element) -> str:
    """The element's own content: attributes, text and children without ids (their own elements)."""
    clone = etree.fromstring(etree.tostring(el))
    for child in list(clone.iter()):
        if child is clone or not isinstance(child.tag, str):
            continue
        if child.get("id") is not None and etree.QName(child).localname not in (
            "conditionExpression",
            "timeDuration",
            "timeDate",
            "timeCycle",
            "timerEventDefinition",
            "messageEventDefinition",
            "multiInstanceLoopCharacteristics",
            "inputDataItem",
            "outputDataItem",
            "documentation",
        ):
            parent = child.getparent()
            if parent is not None:
                parent.remove(child)
    for child in list(clone.iter()):
        if (
            isinstance(child.tag, str)
            and etree.QName(child).localname in ("incoming", "outgoing")
            and child.getparent() is not None
        ):
            child.getparent().remove(child)
    for node in clone.iter():
        if isinstance(node.tag, str):
            node.text = (node.text or "").strip() or None
            node.tail = None
    return str(etree.tostring(clone, method="c14n").decode())


def _bpmn_elements(tree: etree._ElementTree) -> dict[str, tuple[str, str | None, str]]:
    found = {}
    for el in tree.getroot().iter():
        if not isinstance(el.tag, str) or el.get("id") is None:
            continue
        qname = etree.QName(el)
        if qname.namespace != BPMN or qname.localname in _SKIP:
            continue
        if any(isinstance(a.tag, str) and etree.QName(a).localname == "BPMNDiagram" for a in el.iterancestors()):
            continue
        found[el.get("id")] = (qname.localname, el.get("name"), _signature(el))
    return found


def _layout(tree: etree._ElementTree) -> str:
    return "".join(
        etree.tostring(d, method="c14n").decode()
        for d in tree.getroot()
        if isinstance(d.tag, str) and etree.QName(d).localname == "BPMNDiagram"
    )


def _diff_bpmn(path: str, old: bytes, new: bytes) -> list[str]:
    old_tree, new_tree = parse_model_xml(old, path), parse_model_xml(new, path)
    before, after = _bpmn_elements(old_tree), _bpmn_elements(new_tree)
    lines = []
    for el_id in sorted(after.keys() - before.keys()):
        tag, name, _ = after[el_id]
        lines.append(f"{path}: added {_label(tag, el_id, name)}")
    for el_id in sorted(before.keys() - after.keys()):
        tag, name, _ = before[el_id]
        lines.append(f"{path}: removed {_label(tag, el_id, name)}")
    for el_id in sorted(before.keys() & after.keys()):
        if before[el_id] != after[el_id]:
            tag, name, _ = after[el_id]
            renamed = f" (was {before[el_id][1]!r})" if before[el_id][1] != name else ""
            lines.append(f"{path}: changed {_label(tag, el_id, name)}{renamed}")
    if not lines and _layout(old_tree) != _layout(new_tree):
        lines.append(f"{path}: diagram layout changed only")
    return lines


def _dmn_parts(tree: etree._ElementTree) -> tuple[dict[str, tuple[str, str | None, str]], str | None]:
    parts = {}
    hit_policy = None
    for el in tree.getroot().iter():
        if not isinstance(el.tag, str):
            continue
        tag = etree.QName(el).localname
        if tag == "decisionTable":
            hit_policy = f"{el.get('hitPolicy') or 'UNIQUE'} {el.get('aggregation') or ''}".strip()
        if tag in ("rule", "input", "output") and el.get("id"):
            description = el.findtext(f"{{{el.nsmap.get(None) or etree.QName(el).namespace}}}description")
            name = (description or "").strip() or el.get("label") or el.get("name")
            cells = []
            for cell in el.iter():
                if isinstance(cell.tag, str) and etree.QName(cell).localname == "text":
                    cells.append((cell.text or "").strip())
            parts[el.get("id")] = (
                tag,
                name,
                "|".join(cells) + "|" + (el.get("name") or "") + (el.get("typeRef") or ""),
            )
    return parts, hit_policy


def _diff_dmn(path: str, old: bytes, new: bytes) -> list[str]:
    (before, old_policy), (after, new_policy) = (
        _dmn_parts(parse_model_xml(old, path)),
        _dmn_parts(parse_model_xml(new, path)),
    )
    lines = []
    if old_policy != new_policy:
        lines.append(f"{path}: hit policy changed from {old_policy} to {new_policy}")
    for key in sorted(after.keys() - before.keys()):
        tag, name, _ = after[key]
        lines.append(f"{path}: added {tag} {key}" + (f" ({name})" if name else ""))
    for key in sorted(before.keys() - after.keys()):
        tag, name, _ = before[key]
        lines.append(f"{path}: removed {tag} {key}" + (f" ({name})" if name else ""))
    for key in sorted(before.keys() & after.keys()):
        if before[key][2] != after[key][2] or before[key][1] != after[key][1]:
            tag, name, _ = after[key]
            old_cells, new_cells = before[key][2].split("|"), after[key][2].split("|")
            changes = [f"{a} → {b}" for a, b in zip(old_cells, new_cells, strict=False) if a != b][:4]
            detail = f": {'; '.join(changes)}" if changes else ""
            lines.append(f"{path}: changed {tag} {key}" + (f" ({name})" if name else "") + detail)
    return lines


def _diff_json(path: str, old: bytes, new: bytes) -> list[str]:
    try:
        before, after = json.loads(old), json.loads(new)
    except ValueError:
        return [f"{path}: changed (not valid JSON)"]
    if path.endswith(".tests.json") and isinstance(before, list) and isinstance(after, list):
        return [f"{path}: examples changed ({len(before)} before, {len(after)} now)"]
    if isinstance(before, dict) and isinstance(after, dict) and "properties" in after:
        props_b: dict[str, Any] = before.get("properties") or {}
        props_a: dict[str, Any] = after.get("properties") or {}
        lines = [
            f"{path}: added field {k}"
            + (f" ({props_a[k].get('title')})" if isinstance(props_a[k], dict) and props_a[k].get("title") else "")
            for k in sorted(props_a.keys() - props_b.keys())
        ]
        lines += [f"{path}: removed field {k}" for k in sorted(props_b.keys() - props_a.keys())]
        lines += [
            f"{path}: changed field {k}" for k in sorted(props_a.keys() & props_b.keys()) if props_a[k] != props_b[k]
        ]
        rest_b = {k: v for k, v in before.items() if k != "properties"}
        rest_a = {k: v for k, v in after.items() if k != "properties"}
        if rest_a != rest_b:
            differing = sorted(k for k in rest_a.keys() | rest_b.keys() if rest_a.get(k) != rest_b.get(k))
            lines.append(f"{path}: changed {', '.join(differing)}")
        return lines or [f"{path}: changed"]
    return [f"{path}: changed"]


def diff_model_sets(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[str]:
    """One line per change, file by file, e.g. "dmn/rag_timescales.dmn: changed rule rag_timescales_amber (...)"."""
    lines: list[str] = []
    for path in sorted(old.keys() | new.keys()):
        if path not in old:
            lines.append(f"{path}: new file")
            continue
        if path not in new:
            lines.append(f"{path}: file removed")
            continue
        if old[path] == new[path]:
            continue
        try:
            if path.endswith(".bpmn"):
                found = _diff_bpmn(path, old[path], new[path])
            elif path.endswith(".dmn"):
                found = _diff_dmn(path, old[path], new[path])
            elif path.endswith(".json"):
                found = _diff_json(path, old[path], new[path])
            else:
                found = []
        except ModelError:
            found = [f"{path}: changed (the new file cannot be read)"]
        lines.extend(found or [f"{path}: changed (formatting only)"])
    return lines
