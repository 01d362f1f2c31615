"""Issue 13, finding 1: expressions are bounded by the work they do, not only by syntax nodes.

Every refusal here comes from a deterministic budget (steps charged by the size of what a builtin
walks, days a calendar function walks, a duration cap, a length limit): the evaluators used have a
wall-clock backstop so large that it can never be what trips, so no assertion depends on how fast
the machine is. The backstop itself is tested with a deadline already in the past.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.engine.calendar import MashCalendar, parse_duration
from app.engine.evaluator import (
    BudgetExceeded,
    ExpressionError,
    RestrictedEvaluator,
    UnsafeExpression,
    ValidationBudgetExceeded,
    validation_budget,
)
from app.engine.feel import FeelSyntaxError, compile_unary_tests, parse_literal
from app.engine.functions import DAY_COST, build_functions
from app.engine.lint import _read_names
from app.engine.loader import check_model_set
from app.engine.runtime import FeelDecisionEngine
from app.services.core.roles import ROLES
from app.services.modelling.deployments import read_model_dir
from app.services.modelling.model_checks import HOST_START_DATA
from tests.support.engine_models import with_input_expression

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)
FUNCS = build_functions(lambda: NOW, MashCalendar())
NO_CLOCK = 1e9  # a wall-clock budget that never trips: only the deterministic budgets can refuse
EV = RestrictedEvaluator(FUNCS, max_seconds=NO_CLOCK)
REAL = read_model_dir(ROOT)

ISSUE_EXPRESSION = 'request_type if len([add_working(now(), "PT87000H") for i in range(15)]) >= 0 else request_type'
# the same shape, each duration under the one-year cap: refused by the days it walks, not the cap
COSTLY_EXPRESSION = 'request_type if len([add_working(now(), "PT1500H") for i in range(15)]) >= 0 else request_type'


def steps_of(source: str, names: dict | None = None) -> int:
    """The steps an expression is charged (run inside a validation budget, which counts them)."""
    with validation_budget(steps=10**9, seconds=NO_CLOCK):
        from app.engine import evaluator

        budget = evaluator._BUDGET.get()
        EV.evaluate(source, dict(names or {}))
        return budget.spent


# --------------------------------------------------------------------------- the issue's examples


def test_the_issue_expression_is_refused_by_the_duration_cap():
    with pytest.raises(ExpressionError, match="durations over 1 year are refused"):
        EV.evaluate(ISSUE_EXPRESSION, {"request_type": "advice"})


def test_long_working_durations_in_a_loop_are_refused_by_cost():
    with pytest.raises(BudgetExceeded, match="step limit"):
        EV.evaluate(COSTLY_EXPRESSION, {"request_type": "advice"})
    # one such deadline is fine: the budget is for loops, not for a long timescale
    assert EV.evaluate('add_working(now(), "PT1500H")', {}) > "2027"


@pytest.mark.parametrize(
    "source",
    [
        "([1]*100000).count(1)",
        "[b.count(1) for i in range(1000)]",
        "[i in b for i in b]",
        "len(sorted(b + b))",
        "sum(b) + sum(b) + sum(b) + sum(b) + sum(b)",
        "[set(b) for i in range(20)]",
        "[str(b) for i in range(50)]",
        "[b[1:] and 1 for i in range(50)]",
        "[b == c for i in range(50)]",
        "[((10**64)**64) // 7 for i in range(50000)]",
        "[x for x in range(3000) for y in range(3000)]",
    ],
)
def test_builtins_are_charged_by_the_size_of_their_inputs(source):
    names = {"b": list(range(50000)), "c": list(range(50000))}
    with pytest.raises(BudgetExceeded, match="step limit"):
        EV.evaluate(source, names)


def test_a_huge_string_is_refused_before_it_is_made():
    with pytest.raises(ExpressionError, match="longer than"):
        EV.evaluate('"a"*50000000', {})
    with pytest.raises(ExpressionError):
        EV.evaluate('len("a"*50000000)', {})


def test_charges_follow_the_work_not_the_syntax():
    small, big = list(range(10)), list(range(20000))
    # len() is O(1): free whatever its argument
    assert steps_of("len(b)", {"b": big}) == steps_of("len(b)", {"b": small})
    # sum() walks its argument: charged about one step per item
    assert steps_of("sum(b)", {"b": big}) >= 10000 > steps_of("sum(b)", {"b": small}) * 100
    # a dict lookup only hashes the key; `in` a list walks the list
    assert steps_of("1 in d", {"d": dict.fromkeys(big)}) < 10
    assert steps_of("1 in b", {"b": big}) >= 10000


def test_calendar_functions_charge_the_days_they_walk():
    short = steps_of('add_working(now(), "P1D")')
    long = steps_of('add_working(now(), "P200D")')
    assert long - short >= DAY_COST * 250  # 200 working days are ~280 calendar days
    tight = RestrictedEvaluator(FUNCS, max_steps=5000, max_seconds=NO_CLOCK)
    assert tight.evaluate('add_working(now(), "P5D")', {})
    with pytest.raises(BudgetExceeded):
        tight.evaluate('add_working(now(), "P200D")', {})


def test_ordinary_model_expressions_stay_cheap():
    """The repository's own kinds of expression cost a few steps, far below the budget."""
    data = {
        "received_at": "2026-11-24T09:30:00+00:00",
        "outcome_due_in": "PT4H",
        "child": {"first_name": "Jo"},
        "red_criteria": ["a", "b"],
        "adults": [{"name": f"A{i}"} for i in range(20)],
    }
    for source in [
        'deadline(received_at, outcome_due_in, "working")',
        'child.get("first_name")',
        "len(red_criteria) > 0",
        '[a["name"] for a in adults if a["name"] != "A3"]',
        'add_working(received_at, "P10D")',
    ]:
        assert steps_of(source, data) < 2000, source
    script = "out = []\nfor a in adults:\n    out.append({'n': a['name'], 'ok': len(adults) > 1})"
    EV.execute(script, dict(data))


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    "text",
    ["P367D", "P53W", "PT8785H", "PT600000M", "P366DT1S", "PT87000H", "P" + "9" * 5000 + "D", "PT" + "9" * 400 + "H"],
)
def test_durations_over_a_year_are_refused(text):
    with pytest.raises(ValueError, match="durations over 1 year are refused"):
        parse_duration(text)


def test_a_year_is_allowed_elapsed():
    assert parse_duration("P366D").days == 366
    assert EV.evaluate('add_elapsed(now(), "P365D")', {}).startswith("2027-11-25")


def test_working_durations_reaching_beyond_a_year_are_refused():
    with pytest.raises(ExpressionError, match="durations over 1 year are refused"):
        EV.evaluate('add_working(now(), "P300D")', {})  # ~420 calendar days
    with pytest.raises(ExpressionError, match="durations over 1 year are refused"):
        EV.evaluate('add_working(now(), "PT2500H")', {})  # ~300 working days of opening time
    with pytest.raises(ExpressionError, match="durations over 1 year are refused"):
        EV.evaluate('deadline(now(), "P300D", "working")', {})
    assert EV.evaluate('add_working(now(), "P200D")', {}).startswith("2027-09")


# --------------------------------------------------------------------------- lengths


def test_a_30000_term_expression_is_refused_as_too_long_not_a_crash():
    source = "+".join(["1"] * 30000)
    with pytest.raises(UnsafeExpression, match="too long"):
        EV.check(source, "eval")
    with pytest.raises(UnsafeExpression, match="too long"):
        EV.evaluate(source, {})
    assert _read_names(source) == set()  # the lint pass does not crash on it either
    flat = "y = [" + "1," * 25000 + "]"  # a script short enough in characters, with too many terms
    with pytest.raises(UnsafeExpression, match="more than 20000 terms"):
        EV.check(flat, "exec")


def test_deep_nesting_is_refused_as_too_long_or_nested():
    with pytest.raises(UnsafeExpression):
        EV.check("(" * 5000 + "1" + ")" * 5000, "eval")
    with pytest.raises(UnsafeExpression):
        EV.check("-" * 9000 + "1", "eval")


def test_a_5000_digit_number_is_refused_as_too_long():
    with pytest.raises(ExpressionError, match="number too long"):
        EV.check("9" * 5000, "eval")
    with pytest.raises(FeelSyntaxError, match="number too long"):
        compile_unary_tests("9" * 5000)
    with pytest.raises(FeelSyntaxError, match="number too long"):
        compile_unary_tests("[1.." + "9" * 5000 + "]")
    with pytest.raises(FeelSyntaxError, match="number too long"):
        parse_literal("9" * 5000)
    with pytest.raises(FeelSyntaxError, match="too long"):
        compile_unary_tests('"a",' * 10000 + '"a"')


# --------------------------------------------------------------------------- backstops


def test_the_wall_clock_backstop_refuses_a_run_past_its_deadline():
    late = RestrictedEvaluator(FUNCS, max_seconds=-1)  # the deadline has passed before it starts
    assert late.evaluate("1 + 1", {}) == 2  # a tiny expression never reaches a clock check
    with pytest.raises(BudgetExceeded, match="time limit"):
        late.evaluate("[i for i in range(5000)]", {})


def test_a_validation_shares_one_budget_across_evaluations():
    with validation_budget(steps=30000, seconds=NO_CLOCK):
        EV.evaluate("len([i for i in range(5000)])", {})  # ~12,500 steps
        EV.evaluate("len([i for i in range(5000)])", {})
        with pytest.raises(ValidationBudgetExceeded, match="whole model set"):
            EV.evaluate("len([i for i in range(5000)])", {})
        with pytest.raises(ValidationBudgetExceeded):
            EV.evaluate("1 + 1", {})  # spent: even the smallest is refused now
    assert EV.evaluate("len([i for i in range(5000)])", {}) == 5000  # outside, only its own budget


def test_a_validation_time_budget_refuses_once_spent():
    with validation_budget(seconds=-1), pytest.raises(ValidationBudgetExceeded, match="time budget"):
        EV.evaluate("[i for i in range(5000)]", {})


# --------------------------------------------------------------------------- through the deploy checks


def check(files) -> list:
    _, problems = check_model_set(
        files,
        check_expression=EV.check,
        engine_factory=FeelDecisionEngine,
        evaluate=EV.evaluate,
        known_roles=ROLES,
        start_data=HOST_START_DATA,
    )
    return [p for p in problems if p.severity == "error"]


def test_the_issue_model_is_refused_with_one_clear_problem_per_cause():
    found = check(with_input_expression(ISSUE_EXPRESSION))
    assert found and all(
        p.file == "dmn/contact_routing.tests.json" and p.element_id == "contact_routing" for p in found
    )
    assert "durations over 1 year are refused" in found[0].message
    assert len(found) == 2 and "more example(s) could not decide for the same reason" in found[1].message


def test_a_costly_model_is_refused_by_its_budget():
    found = check(with_input_expression(COSTLY_EXPRESSION))
    assert found and "step limit" in found[0].message and "make it do less" in found[0].message


def test_a_model_set_over_the_validation_budget_stops_its_tests_with_a_problem(monkeypatch):
    from app.engine import evaluator, loader

    real = evaluator.validation_budget
    monkeypatch.setattr(evaluator, "validation_budget", lambda: real(steps=150_000, seconds=NO_CLOCK))
    found = check(
        with_input_expression("request_type if len([i for i in range(20000)]) >= 0 else request_type")
    )  # ~60k steps each, valid
    assert any("ran out of their budget" in p.message for p in found)
    assert any("were not run" in p.message for p in found)
    assert loader  # the loader reads the budget through the evaluator module


def test_too_long_expressions_and_numbers_in_models_are_problems_not_crashes():
    found = check(with_input_expression("+".join(["1"] * 30000)))
    assert found and any("too long" in p.message for p in found)
    files = dict(REAL)
    files["dmn/contact_routing.dmn"] = REAL["dmn/contact_routing.dmn"].replace(
        b'<text>"advice"</text>', ("<text>" + "9" * 5000 + "</text>").encode(), 1
    )
    assert files["dmn/contact_routing.dmn"] != REAL["dmn/contact_routing.dmn"]
    found = check(files)
    assert found and any("number too long" in p.message for p in found)


def test_the_real_models_validate_well_within_the_budget():
    from app.engine import evaluator

    with evaluator.validation_budget(steps=10**9, seconds=NO_CLOCK):
        budget = evaluator._BUDGET.get()
        assert check(REAL) == []
    assert 0 < budget.spent < evaluator.VALIDATION_STEPS // 100
    examples = json.loads(REAL["dmn/contact_routing.tests.json"])
    assert len(examples) > 5
