"""The conformance matrix (docs/conformance.md) cannot rot.

Every row names a protocol paragraph, where the rule lives (a model element, a JSON pointer into a
form, or a Python name) and the pytest node ids that prove it, or a status saying why there is no
test. This module fails when a named test or model element is gone, an id repeats, a paragraph is
missing, or fewer than 52 rules are proved by a test. It reads files only (XML, JSON, `ast`): it
never imports or runs the tests it checks, so it stays well under a second.

`python tests/test_conformance.py` prints the matrix's counts and every row without a test.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "docs" / "conformance.md"
MIN_TESTED = 52

ROW_ID = re.compile(r"^[A-Z]\d{2,3}$")
PARAGRAPH = re.compile(r"§\s*\d+|App\.\s*[A-F]\b")
STATUSES = ("pending:", "not built:", "untested:")
NO_LOCATION = {"", "-", "—", "–"}
XML_SUFFIXES = (".bpmn", ".dmn", ".xml")
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass
class Row:
    line: int
    id: str
    paragraph: str
    rule: str
    where: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    status: str | None = None

    @property
    def kind(self) -> str:
        return "tested" if self.status is None else self.status.split(":", 1)[0]

    def __str__(self) -> str:
        return f"{self.id} (docs/conformance.md line {self.line})"


# --------------------------------------------------------------------------- parsing the matrix


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def references(cell: str) -> list[str]:
    """The references in a cell: each `backticked` span, or else each `<br>`-separated item."""
    spans = re.findall(r"`([^`]+)`", cell)
    if spans:
        return [s.strip() for s in spans if s.strip()]
    items = [i.strip() for i in re.split(r"<br\s*/?>", cell)]
    return [i for i in items if i not in NO_LOCATION]


def parse(text: str) -> tuple[list[Row], list[str]]:
    """Rows whose first cell is an id (R01, S13, ...); problems with the shape of such rows."""
    rows: list[Row] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith("|"):
            continue
        cells = _cells(line)
        row_id = cells[0].strip("`* ")
        if not ROW_ID.match(row_id):
            continue
        if len(cells) != 5:
            problems.append(
                f"line {number}: {row_id} has {len(cells)} cells, not 5 (id | paragraph | rule | where | proof)"
            )
            continue
        _, paragraph, rule, where, proof = cells
        row = Row(number, row_id, paragraph, rule, references(where))
        lowered = proof.strip().lower()
        if lowered.startswith(STATUSES):
            row.status = proof.strip()
        else:
            row.tests = references(proof)
        rows.append(row)
    return rows, problems


@lru_cache(maxsize=1)
def matrix() -> tuple[tuple[Row, ...], tuple[str, ...]]:
    rows, problems = parse(MATRIX.read_text(encoding="utf-8"))
    return tuple(rows), tuple(problems)


# --------------------------------------------------------------------------- resolving references


@cache
def _xml_ids(path: Path) -> frozenset[str]:
    return frozenset(el.get("id") for el in etree.parse(str(path), XML_PARSER).iter(etree.Element) if el.get("id"))


@cache
def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _module(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _defined(body: list[ast.stmt]) -> dict[str, ast.AST]:
    names: dict[str, ast.AST] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


def _python_name_problem(path: Path, dotted: list[str]) -> str | None:
    body = _module(path).body
    for depth, name in enumerate(dotted):
        node = _defined(body).get(name)
        if node is None:
            return f"{'.'.join(dotted[: depth + 1])} is not defined in {path.relative_to(ROOT)}"
        if depth < len(dotted) - 1:
            if not isinstance(node, ast.ClassDef):
                return f"{'.'.join(dotted[: depth + 1])} in {path.relative_to(ROOT)} is not a class"
            body = node.body
    return None


def _pointer_problem(document, pointer: str) -> str | None:
    if pointer in ("", "/"):
        return None
    if not pointer.startswith("/"):
        return f"JSON pointer {pointer!r} must start with /"
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return f"JSON pointer {pointer} does not resolve (stops at {token!r})"
    return None


def location_problem(reference: str) -> str | None:
    """None when the location exists: `file`, `file.bpmn#id`, `file.json#/pointer`, `file.py::name`."""
    if "::" in reference:
        path_text, _, name = reference.partition("::")
        path = ROOT / path_text
        if path.suffix != ".py":
            return f"{reference}: `::name` is for Python files"
        if not path.is_file():
            return f"{reference}: no file {path_text}"
        return _python_name_problem(path, re.split(r"::|\.", name))
    path_text, _, fragment = reference.partition("#")
    path = ROOT / path_text
    if not path.is_file():
        return f"{reference}: no file {path_text}"
    if not fragment:
        return None
    if path.suffix in XML_SUFFIXES:
        return None if fragment in _xml_ids(path) else f"{reference}: no element with id {fragment!r}"
    if path.suffix == ".json":
        problem = _pointer_problem(_json(path), fragment)
        return f"{reference}: {problem}" if problem else None
    return f"{reference}: cannot check a #fragment in a {path.suffix or 'plain'} file"


def node_id_problem(node_id: str) -> str | None:
    """None when the pytest node id names a test function that exists (read with `ast`, not collected)."""
    path_text, sep, rest = node_id.partition("::")
    if not sep or not path_text.startswith("tests/") or not path_text.endswith(".py"):
        return f"{node_id}: not a pytest node id (tests/...py::test_name)"
    path = ROOT / path_text
    if not path.is_file():
        return f"{node_id}: no file {path_text}"
    parts = [re.sub(r"\[.*\]$", "", p) for p in rest.split("::")]
    if not parts[-1].startswith("test"):
        return f"{node_id}: {parts[-1]} is not a test function"
    return _python_name_problem(path, parts)


# --------------------------------------------------------------------------- the checks


def rows() -> tuple[Row, ...]:
    return matrix()[0]


def test_every_row_has_five_cells():
    assert MATRIX.is_file(), "docs/conformance.md is missing"
    assert rows(), "docs/conformance.md has no rows"
    assert list(matrix()[1]) == []


def test_ids_are_unique():
    seen: dict[str, int] = {}
    repeated = []
    for row in rows():
        if row.id in seen:
            repeated.append(f"{row.id} on lines {seen[row.id]} and {row.line}")
        seen.setdefault(row.id, row.line)
    assert repeated == []


def test_every_row_names_a_protocol_paragraph():
    missing = [str(r) for r in rows() if not PARAGRAPH.search(r.paragraph)]
    assert missing == [], "rows without a protocol paragraph (§N or App. X)"


def test_every_row_has_a_rule_and_a_test_or_a_status_saying_why_not():
    bad = [str(r) for r in rows() if not r.rule or (r.status is None and not r.tests)]
    bad += [
        f"{r}: {r.status!r} gives no reason"
        for r in rows()
        if r.status is not None and not r.status.split(":", 1)[1].strip()
    ]
    assert bad == []


def test_at_least_52_rules_are_proved_by_a_test():
    tested = [r for r in rows() if r.kind == "tested"]
    assert len(tested) >= MIN_TESTED, f"only {len(tested)} rows name a test"


def test_every_listed_test_exists():
    problems = [f"{row}: {p}" for row in rows() for node_id in row.tests if (p := node_id_problem(node_id))]
    assert problems == []


def test_every_named_model_element_still_exists():
    problems = [f"{row}: {p}" for row in rows() for ref in row.where if (p := location_problem(ref))]
    assert problems == []


def test_built_rules_say_where_they_live():
    missing = [str(r) for r in rows() if r.kind in ("tested", "untested") and not r.where]
    assert missing == []


def test_print_the_summary():
    """Counts and the rows without a test (shown with `pytest -s` or `python tests/test_conformance.py`)."""
    text = report()
    print(text)
    assert text.startswith("conformance:")


# --------------------------------------------------------------------------- the lists the matrix points at


def _consts(schema_property: dict) -> set[str]:
    items = schema_property.get("items", {})
    return {choice["const"] for choice in items.get("oneOf", []) if "const" in choice}


def test_appendix_e_lists_are_on_the_record_contact_form():
    """App. E: every criterion for an urgent (RED) referral, and every one for the MASH manager's
    immediate attention, can be ticked when the contact is recorded; both lists allow "other"."""
    schema = _json(ROOT / "forms" / "record_contact.schema.json")
    red = _consts(schema["properties"]["red_criteria"])
    assert red == {
        "unsafe_home_conditions",
        "child_found_alone",
        "non_accidental_injury",
        "injury_with_disclosure",
        "sexual_abuse_disclosure",
        "parents_detained_no_carer",
        "carer_death_or_admission_no_carer",
        "court_remand",
        "unaccompanied_asylum_seeking",
        "homeless",
        "ppu_strategy_request",
        "other",
    }
    attention = _consts(schema["properties"]["manager_attention_criteria"])
    assert attention == {"consultant_paediatrician_concern", "suspicious_injury", "unborn_significant_harm", "other"}
    # "other" needs a description (the lists are not exhaustive)
    conditions = json.dumps(schema.get("allOf", []))
    assert "red_criteria_other" in conditions and "manager_attention_other" in conditions


# --------------------------------------------------------------------------- report


def report() -> str:
    all_rows = rows()
    by_kind: dict[str, list[Row]] = {}
    for row in all_rows:
        by_kind.setdefault(row.kind, []).append(row)
    counts = ", ".join(f"{len(by_kind.get(k, []))} {k}" for k in ("tested", "untested", "pending", "not built"))
    lines = [f"conformance: {len(all_rows)} rows: {counts}"]
    for kind in ("untested", "pending", "not built"):
        for row in by_kind.get(kind, []):
            lines.append(f"  {row.id} [{row.paragraph}] {row.rule[:70]} -> {row.status}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
    broken = [f"{r}: {p}" for r in rows() for t in r.tests if (p := node_id_problem(t))]
    broken += [f"{r}: {p}" for r in rows() for w in r.where if (p := location_problem(w))]
    print("\n".join(broken) if broken else "every listed test and model element exists")
    raise SystemExit(1 if broken else 0)
