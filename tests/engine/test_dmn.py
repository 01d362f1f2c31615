"""DMN decision tables: parsing, deploy checks and every hit policy, on small inline tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from lxml import etree

from app.engine.dmn import (
    DMN_NAMESPACES,
    DecisionError,
    DecisionResult,
    check_decision,
    evaluate_decision,
    parse_decision,
)
from app.engine.evaluator import RestrictedEvaluator
from app.engine.feel import FeelSyntaxError

DMN11, DMN12, DMN13 = DMN_NAMESPACES
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="module")
def evaluator() -> RestrictedEvaluator:
    return RestrictedEvaluator({"len": len})


@pytest.fixture
def evaluate(evaluator):
    return evaluator.evaluate


def check(evaluator):
    return lambda source: evaluator.check(source, "eval")


def build(
    rules: Sequence[tuple[str, Sequence[str], Sequence[str]]],
    *,
    inputs: Sequence[tuple[str, str | None]] = (("score", "number"),),
    outputs: Sequence[tuple[str | None, str | None]] = (("label", "string"),),
    hit: str | None = "UNIQUE",
    aggregation: str | None = None,
    ns: str = DMN13,
    input_values: Mapping[str, str] | None = None,
    output_values: Mapping[str, str] | None = None,
) -> str:
    """A one-decision DMN document; rules are (id, input entries, output entries)."""
    attrs = (f' hitPolicy="{hit}"' if hit else "") + (f' aggregation="{aggregation}"' if aggregation else "")
    lines = [
        f'<definitions xmlns="{ns}" id="defs" name="Test" namespace="https://test">',
        '  <decision id="d1" name="Test decision">',
        f'    <decisionTable id="t1"{attrs}>',
    ]
    for n, (expr, type_ref) in enumerate(inputs, start=1):
        type_attr = f' typeRef="{type_ref}"' if type_ref else ""
        lines.append(f'      <input id="i{n}" label="Input {n}">')
        lines.append(f"        <inputExpression{type_attr}><text>{escape(expr)}</text></inputExpression>")
        if input_values and expr in input_values:
            lines.append(f"        <inputValues><text>{escape(input_values[expr])}</text></inputValues>")
        lines.append("      </input>")
    for n, (name, type_ref) in enumerate(outputs, start=1):
        name_attr = f" name={quoteattr(name)}" if name else ""
        type_attr = f' typeRef="{type_ref}"' if type_ref else ""
        values = (output_values or {}).get(name or "")
        inner = f"<outputValues><text>{escape(values)}</text></outputValues>" if values else ""
        lines.append(f'      <output id="o{n}" label="Output {n}"{name_attr}{type_attr}>{inner}</output>')
    for rule_id, ins, outs in rules:
        lines.append(f'      <rule id="{rule_id}">')
        lines.append(f"        <description>{rule_id} description</description>")
        lines += [f"        <inputEntry><text>{escape(c)}</text></inputEntry>" for c in ins]
        lines += [f"        <outputEntry><text>{escape(c)}</text></outputEntry>" for c in outs]
        lines.append("      </rule>")
    lines += ["    </decisionTable>", "  </decision>", "</definitions>"]
    return "\n".join(lines)


def load(xml: str):
    return parse_decision(etree.fromstring(xml.encode(), PARSER))


def line_of(xml: str, fragment: str) -> int:
    return next(n for n, text in enumerate(xml.splitlines(), start=1) if fragment in text)


BANDS = [
    ("low", ["< 5"], ['"low"']),
    ("mid", ["[5..10)"], ['"mid"']),
    ("high", [">= 10"], ['"high"']),
]
OVERLAPPING = [
    ("r1", ["> 0"], ['"A"']),
    ("r2", ["> 5"], ['"B"']),
    ("r3", ["> 10"], ['"C"']),
]


# --------------------------------------------------------------------------- parsing


def test_parse_reads_ids_names_rules_and_lines():
    xml = build(BANDS)
    table = load(xml)
    assert (table.decision_id, table.decision_name, table.table_id) == ("d1", "Test decision", "t1")
    assert table.hit_policy == "UNIQUE" and table.aggregation is None
    assert [(i.id, i.label, i.expression, i.type_ref) for i in table.inputs] == [("i1", "Input 1", "score", "number")]
    assert [(o.id, o.name, o.label, o.type_ref) for o in table.outputs] == [("o1", "label", "Output 1", "string")]
    assert [r.id for r in table.rules] == ["low", "mid", "high"]
    rule = table.rules[1]
    assert rule.description == "mid description"
    assert rule.input_entries == ("[5..10)",) and rule.output_entries == ('"mid"',)
    assert rule.number == 2 and rule.line == line_of(xml, '<rule id="mid">')
    assert rule.tests[0](7) and not rule.tests[0](10)


def test_hit_policy_defaults_to_unique():
    assert load(build(BANDS, hit=None)).hit_policy == "UNIQUE"


@pytest.mark.parametrize("ns", DMN_NAMESPACES)
def test_dmn_11_12_13_namespaces_are_accepted(ns, evaluate):
    table = load(build(BANDS, ns=ns))
    assert table.namespace == ns
    assert evaluate_decision(table, {"score": 7}, evaluate).outputs == {"label": "mid"}


def test_an_element_tree_is_accepted_as_well_as_its_root():
    tree = etree.ElementTree(etree.fromstring(build(BANDS).encode(), PARSER))
    assert parse_decision(tree).decision_id == "d1"


def test_a_non_dmn_root_is_refused():
    with pytest.raises(DecisionError, match="not a DMN"):
        parse_decision(etree.fromstring(b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'))
    with pytest.raises(DecisionError, match="not a DMN"):
        parse_decision(etree.fromstring(f'<decision xmlns="{DMN13}"/>'.encode()))


def test_exactly_one_decision_per_file():
    none = f'<definitions xmlns="{DMN13}" id="x" name="x" namespace="n"/>'
    with pytest.raises(DecisionError, match="exactly one decision; this one holds 0"):
        parse_decision(etree.fromstring(none.encode()))
    two = build(BANDS).replace("</definitions>", '<decision id="d2" name="second"/></definitions>')
    with pytest.raises(DecisionError, match="exactly one decision; this one holds 2"):
        load(two)


def test_exactly_one_decision_table_per_decision():
    xml = build(BANDS)
    table_xml = xml[xml.index("<decisionTable") : xml.index("</decisionTable>") + len("</decisionTable>")]
    with pytest.raises(DecisionError, match="exactly one decisionTable; found 2") as info:
        load(xml.replace(table_xml, table_xml + table_xml.replace('id="t1"', 'id="t2"')))
    assert info.value.decision_id == "d1"


def test_decision_logic_other_than_a_table_is_refused():
    xml = f"""<definitions xmlns="{DMN13}" id="x" name="x" namespace="n">
      <decision id="lit" name="lit"><literalExpression><text>1 + 1</text></literalExpression></decision>
    </definitions>"""
    with pytest.raises(DecisionError, match="only decision tables are supported, not <literalExpression>"):
        load(xml)


@pytest.mark.parametrize("policy", ["PRIORITY", "OUTPUT ORDER", "first", "SOMETHING"])
def test_unsupported_hit_policies_are_refused_at_parse(policy):
    with pytest.raises(DecisionError, match=f"hit policy '{policy}' is not supported") as info:
        load(build(BANDS, hit=policy))
    assert info.value.line == line_of(build(BANDS, hit=policy), "<decisionTable")


def test_aggregation_rules():
    with pytest.raises(DecisionError, match="needs hit policy COLLECT, not FIRST"):
        load(build(BANDS, hit="FIRST", aggregation="SUM"))
    with pytest.raises(DecisionError, match="aggregation 'AVG' is not supported"):
        load(build(BANDS, hit="COLLECT", aggregation="AVG"))
    with pytest.raises(DecisionError, match="exactly one output"):
        load(
            build(
                [("r", ["-"], ["1", "2"])], hit="COLLECT", aggregation="SUM", outputs=(("a", "number"), ("b", "number"))
            )
        )


def test_a_rule_with_the_wrong_number_of_cells_names_the_rule_and_line():
    xml = build([("ok", ["-"], ['"a"']), ("short", [], ['"b"'])])
    with pytest.raises(DecisionError, match="rule 'short' has 0 input entries but the table has 1 inputs") as info:
        load(xml)
    assert info.value.rule_id == "short" and info.value.line == line_of(xml, '<rule id="short">')
    with pytest.raises(DecisionError, match="rule 'long' has 2 output entries"):
        load(build([("long", ["-"], ['"a"', '"b"'])]))


def test_a_bad_feel_cell_names_the_decision_rule_input_and_line():
    xml = build([("ok", ["< 5"], ['"a"']), ("bad", ["= 5"], ['"b"'])])
    with pytest.raises(DecisionError) as info:
        load(xml)
    err = info.value
    assert isinstance(err.__cause__, FeelSyntaxError)
    assert err.decision_id == "d1" and err.rule_id == "bad"
    assert err.line == line_of(xml, "= 5")
    assert str(err).startswith("decision 'd1': rule 'bad', input 'score'")
    assert "'= 5'" in str(err) and f"(line {err.line})" in str(err)


def test_an_input_without_an_expression_is_refused():
    xml = build(BANDS).replace("<text>score</text>", "<text> </text>")
    with pytest.raises(DecisionError, match=r"input 1 .*has no input expression"):
        load(xml)


def test_outputs_need_distinct_names():
    with pytest.raises(DecisionError, match="two outputs are named 'a'"):
        load(build([("r", ["-"], ["1", "2"])], outputs=(("a", None), ("a", None))))
    with pytest.raises(DecisionError, match="output 2 has no name"):
        load(build([("r", ["-"], ["1", "2"])], outputs=(("a", None), (None, None))).replace(' label="Output 2"', ""))


def test_a_single_output_without_a_name_is_keyed_by_its_label_else_the_decision_id(evaluate):
    table = load(build(BANDS, outputs=((None, "string"),)))
    assert evaluate_decision(table, {"score": 1}, evaluate).outputs == {"Output 1": "low"}
    table = load(build(BANDS, outputs=((None, "string"),)).replace(' label="Output 1"', ""))
    assert evaluate_decision(table, {"score": 1}, evaluate).outputs == {"d1": "low"}


def test_literal_outputs_are_checked_against_type_and_output_values_at_parse():
    with pytest.raises(DecisionError, match=r"rule 'r1', output 'label'.*: true is not a string"):
        load(build([("r1", ["-"], ["true"])]))
    with pytest.raises(DecisionError, match=r'"REd" is not one of the allowed values "RED","AMBER"'):
        load(build([("r1", ["-"], ['"REd"'])], output_values={"label": '"RED","AMBER"'}))
    load(build([("r1", ["-"], ["null"])], output_values={"label": '"RED","AMBER"'}))  # null is always allowed


def test_bad_allowed_values_are_refused():
    with pytest.raises(DecisionError, match="allowed values of input 'score'"):
        load(build(BANDS, input_values={"score": "= 1"}))


# --------------------------------------------------------------------------- deploy-time check


def test_check_decision_passes_a_good_table_and_checks_each_expression(evaluator):
    seen: list[str] = []

    def spy(source: str) -> None:
        seen.append(source)
        evaluator.check(source, "eval")

    table = load(
        build(
            [("r1", ["-", "true"], ['"x"', "a or b", ""]), ("r2", ["-", "-"], ["null", "false", "3"])],
            inputs=(("a", "boolean"), ("b", "boolean")),
            outputs=(("s", "string"), ("flag", "boolean"), ("n", "number")),
        )
    )
    check_decision(table, spy)
    assert seen == ["a", "b", "a or b"]  # input expressions, then non-literal output entries only


def test_check_decision_reports_every_problem_with_rule_and_line(evaluator):
    xml = build([("r1", ["-"], ["__import__('os')"]), ("r2", ["-"], ["x.__class__"])], inputs=(("open('f')", None),))
    table = load(xml)
    with pytest.raises(DecisionError) as info:
        check_decision(table, check(evaluator))
    err = info.value
    assert len(err.problems) == 3
    assert err.problems[0].startswith(f"input 'open('f')' (line {line_of(xml, '<input ')}): ")
    assert "'open' is not an allowed function" in err.problems[0]
    assert err.problems[1].startswith(f"rule 'r1', output 'label' (line {line_of(xml, '__import__')})")
    assert err.problems[2].startswith(f"rule 'r2', output 'label' (line {line_of(xml, '__class__')})")
    assert err.line == line_of(xml, "<input ")
    assert "3 problem(s)" in str(err) and err.decision_id == "d1"


# --------------------------------------------------------------------------- hit policies


def result_of(table, data, evaluate) -> DecisionResult:
    return evaluate_decision(table, data, evaluate)


@pytest.mark.parametrize(
    ("score", "label", "rule", "number"), [(1, "low", "low", 1), (5, "mid", "mid", 2), (10, "high", "high", 3)]
)
def test_unique_single_match(score, label, rule, number, evaluate):
    result = result_of(load(build(BANDS)), {"score": score}, evaluate)
    assert result.outputs == {"label": label}
    assert result.matched_rule_ids == [rule] and result.matched_rule_numbers == [number]
    assert result.inputs == {"score": score}
    assert (result.decision_id, result.table_id, result.hit_policy) == ("d1", "t1", "UNIQUE")


def test_unique_double_match_is_an_error_listing_the_rules(evaluate):
    with pytest.raises(DecisionError, match=r"rules r1, r2 all matched .*score = 7.* UNIQUE allows only one"):
        result_of(load(build(OVERLAPPING)), {"score": 7}, evaluate)


def test_unique_no_match_is_an_error(evaluate):
    with pytest.raises(DecisionError, match="no rule matched"):
        result_of(load(build(OVERLAPPING)), {"score": 0}, evaluate)


def test_first_returns_the_first_match_in_rule_order(evaluate):
    result = result_of(load(build(OVERLAPPING, hit="FIRST")), {"score": 11}, evaluate)
    assert result.outputs == {"label": "A"} and result.matched_rule_ids == ["r1"] and result.matched_rule_numbers == [1]


def test_first_with_no_match_is_an_error_naming_the_inputs(evaluate):
    table = load(
        build(
            [("only", ['"s47"', "true"], ['"x"'])], inputs=(("threshold", "string"), ("urgent", "boolean")), hit="FIRST"
        )
    )
    with pytest.raises(DecisionError) as info:
        result_of(table, {"threshold": "s17", "urgent": False}, evaluate)
    assert str(info.value) == (
        "decision 'd1': no rule matched (threshold = \"s17\", urgent = false); hit policy FIRST needs one rule to "
        "match, so check the answers given or ask for the table to cover this case"
    )
    assert info.value.decision_id == "d1"


def test_any_with_agreeing_rules_returns_the_shared_output(evaluate):
    rules = [("r1", ["> 0"], ['"same"']), ("r2", ["> 5"], ['"same"']), ("r3", ["> 100"], ['"other"'])]
    result = result_of(load(build(rules, hit="ANY")), {"score": 7}, evaluate)
    assert result.outputs == {"label": "same"}
    assert result.matched_rule_ids == ["r1", "r2"] and result.matched_rule_numbers == [1, 2]


def test_any_disagreement_is_an_error(evaluate):
    with pytest.raises(
        DecisionError,
        match=r"rules r1 and r2 both matched but give different values for 'label' "
        r'\("A" and "B"\); hit policy ANY',
    ):
        result_of(load(build(OVERLAPPING, hit="ANY")), {"score": 7}, evaluate)


def test_any_treats_true_and_1_as_different(evaluate):
    rules = [("r1", ["-"], ["true"]), ("r2", ["-"], ["1"])]
    with pytest.raises(DecisionError, match="different values"):
        result_of(load(build(rules, hit="ANY", outputs=(("v", None),))), {"score": 1}, evaluate)


def test_any_no_match_is_an_error(evaluate):
    with pytest.raises(DecisionError, match="no rule matched"):
        result_of(load(build(OVERLAPPING, hit="ANY")), {"score": 0}, evaluate)


def test_rule_order_gives_lists_in_rule_order(evaluate):
    table = load(
        build(
            [("r1", ["> 0"], ['"A"', "1"]), ("r2", ["> 100"], ['"X"', "9"]), ("r3", ["> 5"], ['"C"', "3"])],
            hit="RULE ORDER",
            outputs=(("label", "string"), ("n", "number")),
        )
    )
    result = result_of(table, {"score": 7}, evaluate)
    assert result.outputs == {"label": ["A", "C"], "n": [1, 3]}
    assert result.matched_rule_ids == ["r1", "r3"] and result.matched_rule_numbers == [1, 3]


def test_rule_order_with_no_match_gives_empty_lists(evaluate):
    result = result_of(load(build(OVERLAPPING, hit="RULE ORDER")), {"score": -1}, evaluate)
    assert result.outputs == {"label": []} and result.matched_rule_ids == [] and result.matched_rule_numbers == []


def test_collect_without_aggregation_gives_lists(evaluate):
    result = result_of(load(build(OVERLAPPING, hit="COLLECT")), {"score": 11}, evaluate)
    assert result.outputs == {"label": ["A", "B", "C"]} and result.aggregation is None
    assert result_of(load(build(OVERLAPPING, hit="COLLECT")), {"score": 0}, evaluate).outputs == {"label": []}


NUMBERS = [("r1", ["> 0"], ["4"]), ("r2", ["> 5"], ["1.5"]), ("r3", ["> 10"], ["10"])]


@pytest.mark.parametrize(
    ("aggregation", "score", "expected"),
    [
        ("SUM", 11, 15.5),
        ("SUM", 7, 5.5),
        ("SUM", 0, None),
        ("MIN", 11, 1.5),
        ("MIN", 3, 4),
        ("MIN", 0, None),
        ("MAX", 11, 10),
        ("MAX", 7, 4),
        ("MAX", 0, None),
        ("COUNT", 11, 3),
        ("COUNT", 7, 2),
        ("COUNT", 0, 0),
    ],
)
def test_collect_aggregations(aggregation, score, expected, evaluate):
    table = load(build(NUMBERS, hit="COLLECT", aggregation=aggregation, outputs=(("total", "number"),)))
    result = result_of(table, {"score": score}, evaluate)
    assert result.outputs == {"total": expected}
    assert result.hit_policy == "COLLECT" and result.aggregation == aggregation
    assert len(result.matched_rule_ids) == {11: 3, 7: 2, 3: 1, 0: 0}[score]


def test_collect_min_and_max_of_text(evaluate):
    for aggregation, expected in (("MIN", "A"), ("MAX", "C")):
        table = load(build(OVERLAPPING, hit="COLLECT", aggregation=aggregation))
        assert result_of(table, {"score": 11}, evaluate).outputs == {"label": expected}


def test_collect_sum_of_text_is_an_error(evaluate):
    with pytest.raises(DecisionError, match="COLLECT SUM needs numbers"):
        result_of(load(build(OVERLAPPING, hit="COLLECT", aggregation="SUM")), {"score": 11}, evaluate)


def test_collect_min_of_mixed_types_is_an_error(evaluate):
    table = load(
        build([("r1", ["-"], ['"a"']), ("r2", ["-"], ["1"])], hit="COLLECT", aggregation="MIN", outputs=(("v", None),))
    )
    with pytest.raises(DecisionError, match="all numbers or all text"):
        result_of(table, {"score": 1}, evaluate)


# --------------------------------------------------------------------------- inputs and outputs


def test_a_missing_required_input_is_an_error(evaluate):
    table = load(build([("r", ["-", "-"], ['"x"'])], inputs=(("threshold", "string"), ("urgent", "boolean"))))
    with pytest.raises(DecisionError) as info:
        result_of(table, {"urgent": True}, evaluate)
    assert str(info.value) == "decision 'd1': required input 'threshold' is missing"


def test_an_input_expression_is_evaluated_over_the_data(evaluate):
    table = load(
        build([("many", ["> 1"], ['"many"']), ("few", ["<= 1"], ['"few"'])], inputs=(("len(items)", "number"),))
    )
    result = result_of(table, {"items": [1, 2, 3]}, evaluate)
    assert result.outputs == {"label": "many"} and result.inputs == {"len(items)": 3}


def test_an_input_expression_that_fails_names_the_input(evaluate):
    table = load(build(BANDS, inputs=(("len(items)", "number"),)))
    with pytest.raises(DecisionError, match=r"input 'len\(items\)' could not be worked out") as info:
        result_of(table, {}, evaluate)
    assert info.value.__cause__ is not None


def test_input_type_and_allowed_values_are_enforced(evaluate):
    table = load(
        build(
            [("r", ['"s17"'], ['"x"']), ("other", ["-"], ['"y"'])],
            hit="FIRST",
            inputs=(("threshold", "string"),),
            input_values={"threshold": '"s17","s47"'},
        )
    )
    assert result_of(table, {"threshold": "s47"}, evaluate).outputs == {"label": "y"}
    with pytest.raises(DecisionError, match='input \'threshold\': "S17" is not one of the allowed values "s17","s47"'):
        result_of(table, {"threshold": "S17"}, evaluate)
    with pytest.raises(DecisionError, match="input 'threshold': true is not a string"):
        result_of(table, {"threshold": True}, evaluate)


def test_a_null_input_is_allowed_and_matches_only_dash_null_and_not(evaluate):
    table = load(
        build(
            [("is_a", ['"a"'], ['"A"']), ("not_b", ['not("b")'], ['"not b"'])], hit="FIRST", inputs=(("x", "string"),)
        )
    )
    assert result_of(table, {"x": None}, evaluate).matched_rule_ids == ["not_b"]


def test_output_expressions_see_the_data_and_feel_constants(evaluate):
    table = load(
        build(
            [("r", ["-", "-"], ["urgent or manager_attention", "urgent", "null if urgent else true", ""])],
            inputs=(("urgent", "boolean"), ("manager_attention", "boolean")),
            outputs=(("mash", "boolean"), ("team", "boolean"), ("mixed", None), ("empty", "string")),
        )
    )
    out = result_of(table, {"urgent": False, "manager_attention": True}, evaluate).outputs
    assert out == {"mash": True, "team": False, "mixed": True, "empty": None}
    out = result_of(table, {"urgent": True, "manager_attention": False}, evaluate).outputs
    assert out == {"mash": True, "team": True, "mixed": None, "empty": None}


def test_a_failing_output_expression_names_rule_and_output(evaluate):
    xml = build([("r9", ["-"], ["unknown_name"])])
    with pytest.raises(DecisionError, match=r"rule 'r9', output 'label' \(line \d+\)") as info:
        result_of(load(xml), {"score": 1}, evaluate)
    assert info.value.rule_id == "r9" and info.value.line == line_of(xml, "unknown_name")


def test_an_output_expression_of_the_wrong_type_is_an_error(evaluate):
    table = load(build([("r", ["-"], ["score"])], outputs=(("flag", "boolean"),)))
    with pytest.raises(DecisionError, match=r"rule 'r', output 'flag'.*: 3 is not a boolean"):
        result_of(table, {"score": 3}, evaluate)


def test_evaluation_does_not_change_the_data(evaluate):
    data = {"score": 7, "nested": {"a": [1]}}
    result_of(load(build(BANDS)), data, evaluate)
    assert data == {"score": 7, "nested": {"a": [1]}}


def test_the_evaluate_callable_is_the_only_way_expressions_run():
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake(source: str, names: Mapping[str, Any]) -> Any:
        calls.append((source, dict(names)))
        return {"score": 7, "urgent and flag": True}[source]

    table = load(build([("r", ["-"], ["urgent and flag"])], outputs=(("v", "boolean"),)))
    assert evaluate_decision(table, {"score": 7}, fake).outputs == {"v": True}
    names = {"score": 7, "true": True, "false": False, "null": None}
    assert calls == [("score", names), ("urgent and flag", names)]
