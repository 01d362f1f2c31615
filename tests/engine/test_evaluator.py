"""Behaviour of the restricted evaluator on legitimate model expressions and scripts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.engine.calendar import MashCalendar
from app.engine.evaluator import ExpressionError, RestrictedEvaluator, UnsafeExpression, referenced_names
from app.engine.functions import build_functions

NOW = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # Friday 16:30 GMT
FUNCS = build_functions(lambda: NOW, MashCalendar())
EV = RestrictedEvaluator(FUNCS)


# ---------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ('rag == "RED" and consent in ["refused", "not_sought"]', {"rag": "RED", "consent": "refused"}, True),
        ('rag == "RED" and consent in ["refused", "not_sought"]', {"rag": "AMBER", "consent": "refused"}, False),
        ('[c for c in red_criteria if c != "other"]', {"red_criteria": ["a", "other", "b"]}, ["a", "b"]),
        ("1 < x <= 3", {"x": 3}, True),
        ("1 < x <= 3", {"x": 4}, False),
        ("x or 'default'", {"x": ""}, "default"),
        ("x and y", {"x": 0, "y": 1}, 0),
        ("not x", {"x": []}, True),
        ("'a' if x else 'b'", {"x": None}, "b"),
        ("x is None", {"x": None}, True),
        ("x is not None", {"x": None}, False),
        ("'RED' not in xs", {"xs": ["RED"]}, False),
        ("-x + +y", {"x": 2, "y": 5}, 3),
        ("7 // 2 + 7 % 2 + 2 ** 3 + 1 / 4", {}, 12.25),
        ("xs[0] + xs[-1]", {"xs": [1, 2, 3]}, 4),
        ("xs[1:]", {"xs": [1, 2, 3]}, [2, 3]),
        ("xs[::-1]", {"xs": [1, 2, 3]}, [3, 2, 1]),
        ("child['name']['family']", {"child": {"name": {"family": "Smith"}}}, "Smith"),
        ("{k: v for k, v in d.items() if v}", {"d": {"a": 1, "b": 0}}, {"a": 1}),
        ("{x % 3 for x in range(10)}", {}, {0, 1, 2}),
        ("any(x > 2 for x in xs)", {"xs": [1, 2, 3]}, True),
        ("all([x > 2 for x in xs])", {"xs": [1, 2, 3]}, False),
        ("[(i, j) for i in range(3) for j in range(i)]", {}, [(1, 0), (2, 0), (2, 1)]),
        ("[[y * 2 for y in row] for row in rows]", {"rows": [[1], [2, 3]]}, [[2], [4, 6]]),
        ("len(xs) + sum(xs) + max(xs) + min(xs)", {"xs": [1, 2]}, 8),
        ("sorted(xs, reverse=True)", {"xs": [1, 3, 2]}, [3, 2, 1]),
        ("max([], default=0)", {}, 0),
        ("round(2.567, 2)", {}, 2.57),
        ("abs(-2) + int('3') + float('1.5') + bool(1)", {}, 7.5),
        ("str(5) + ' items'", {}, "5 items"),
        ("list(enumerate(['a', 'b'], 1))", {}, [(1, "a"), (2, "b")]),
        ("dict(zip(['a', 'b'], [1, 2]))", {}, {"a": 1, "b": 2}),
        ("tuple(set([1, 1]))", {}, (1,)),
        ("{'a': 1, 'b': [1, 2]}", {}, {"a": 1, "b": [1, 2]}),
        ("' Smith '.strip().lower()", {}, "smith"),
        ("s.upper().startswith('AB') and s.endswith('c')", {"s": "abc"}, True),
        ("s.split(',')", {"s": "a,b"}, ["a", "b"]),
        ("s.replace('a', 'b')", {"s": "aa"}, "bb"),
        ("d.get('missing', 'x')", {"d": {}}, "x"),
        ("d.keys()", {"d": {"a": 1}}, ["a"]),
        ("d.values()", {"d": {"a": 1}}, [1]),
        ("xs.count(1) + xs.index(2)", {"xs": [1, 1, 2]}, 4),
    ],
)
def test_expressions(source, data, expected):
    assert EV.evaluate(source, data) == expected


def test_evaluate_does_not_modify_task_data():
    data = {"xs": [1, 2]}
    EV.evaluate("[x for x in xs]", data)
    assert data == {"xs": [1, 2]}


def test_comprehension_variable_does_not_leak_or_clobber():
    data = {"c": "outer", "xs": [1, 2]}
    EV.execute("ys = [c * 2 for c in xs]\nz = c", data)
    assert data["ys"] == [2, 4] and data["z"] == "outer" and data["c"] == "outer"


def test_comprehension_reads_enclosing_comprehension_variable():
    assert EV.evaluate("[[a + b for b in range(2)] for a in range(2)]", {}) == [[0, 1], [1, 2]]


def test_missing_name_is_an_error_not_a_default():
    with pytest.raises(ExpressionError) as err:
        EV.evaluate("rag == 'RED'", {})
    assert err.value.message == "name 'rag' is not defined in task data"
    assert err.value.lineno == 1
    assert err.value.source == "rag == 'RED'"


def test_function_names_are_called_not_read_from_data():
    # A task-data key equal to a function name cannot shadow the function.
    assert EV.evaluate("len(xs)", {"xs": [1], "len": 99}) == 1
    with pytest.raises(UnsafeExpression):
        EV.check("len + 1", "eval")
    with pytest.raises(UnsafeExpression, match="function name"):
        EV.check("now = 1", "exec")


def test_method_on_wrong_type_is_refused_at_run_time():
    with pytest.raises(ExpressionError, match="not allowed on a int"):
        EV.evaluate("x.lower()", {"x": 1})
    with pytest.raises(ExpressionError, match="not allowed on a list"):
        EV.evaluate("x.get('a')", {"x": []})


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("1/0", 1),
        ("\n\n  x == 1", 3),
        ("(a and\n b.missing_key)", 2),
    ],
)
def test_errors_carry_line_numbers(source, line):
    with pytest.raises(ExpressionError) as err:
        EV.evaluate(source, {"a": True, "b": {}})
    assert err.value.lineno == line


def test_python_errors_become_expression_errors():
    for source, message in [
        ("d['k']", "key 'k' not found"),
        ("xs[5]", "index out of range"),
        ("1 + 'a'", "TypeError"),
        ("int('x')", "ValueError"),
    ]:
        with pytest.raises(ExpressionError, match=message):
            EV.evaluate(source, {"d": {}, "xs": []})


def test_syntax_error_has_line():
    with pytest.raises(ExpressionError) as err:
        EV.check("x = 1\ny = (", "exec")
    assert err.value.lineno == 2
    assert "syntax error" in err.value.message


# ---------------------------------------------------------------- scripts

SCRIPT = """
    total = 0
    flags = {}
    for c in criteria:
        if c == "skip":
            continue
        elif c == "stop":
            break
        total += 1
        flags[c] = True
    else:
        finished = True
    summary["count"] = total
    first, second = pair
    notes = []
    notes.append("a")
    notes += ["b"]
    rows[0]["seen"] = True
    if total > 1:
        level = "high"
    else:
        level = "low"
    pass
"""


def test_multiline_script_with_if_for_and_subscript_assignment():
    data = {"criteria": ["a", "skip", "b"], "summary": {}, "pair": [1, 2], "rows": [{}]}
    EV.execute(SCRIPT, data)
    assert data["total"] == 2
    assert data["flags"] == {"a": True, "b": True}
    assert data["finished"] is True
    assert data["summary"] == {"count": 2}
    assert (data["first"], data["second"]) == (1, 2)
    assert data["notes"] == ["a", "b"]
    assert data["rows"] == [{"seen": True}]
    assert data["level"] == "high"


def test_break_skips_for_else():
    data = {"criteria": ["stop"], "summary": {}, "pair": [1, 2], "rows": [{}]}
    EV.execute(SCRIPT, data)
    assert "finished" not in data and data["total"] == 0


def test_script_error_reports_its_line():
    with pytest.raises(ExpressionError) as err:
        EV.execute("a = 1\nb = 2\nc = a / 0\n", {})
    assert err.value.lineno == 3


def test_execute_requires_a_dict():
    with pytest.raises(TypeError):
        EV.execute("a = 1", ())  # type: ignore[arg-type]


def test_assignment_refused_in_expression_mode():
    with pytest.raises(ExpressionError):
        EV.evaluate("x = 1", {})


def test_step_limit():
    small = RestrictedEvaluator(FUNCS, max_steps=1000)
    with pytest.raises(ExpressionError, match="too complex"):
        small.execute("t = 0\nfor i in range(10000):\n    t += i", {})
    data: dict = {}
    small.execute("t = 0\nfor i in range(10):\n    t += i", data)
    assert data["t"] == 45


def test_parse_cache_is_used():
    ev = RestrictedEvaluator(FUNCS)
    for _ in range(3):
        ev.evaluate("x + 1", {"x": 1})
    ev.check("x + 1", "eval")
    info = ev._compiled.cache_info()
    assert info.misses == 1 and info.hits == 3


# ---------------------------------------------------------------- model functions


def test_now_and_deadline_functions():
    data = {"outcome_due_in": "PT1H", "outcome_calendar": "working"}
    assert EV.evaluate("now()", {}) == "2026-11-20T16:30:00+00:00"
    # Friday 16:30 + 1 working hour = Monday 09:30
    assert (
        EV.evaluate("deadline(next_opening(now()), outcome_due_in, outcome_calendar)", data)
        == "2026-11-23T09:30:00+00:00"
    )
    assert EV.evaluate("deadline(now(), None, 'working')", {}) is None
    assert EV.evaluate("deadline(now(), 'PT4H', calendar='elapsed')", {}) == "2026-11-20T20:30:00+00:00"
    assert EV.evaluate("add_elapsed('2026-11-20T10:00:00Z', 'P1D')", {}) == "2026-11-21T10:00:00+00:00"
    assert EV.evaluate("add_working('2026-11-19T17:20:00+00:00', 'P1D')", {}) == "2026-11-20T17:00:00+00:00"
    assert EV.evaluate("next_opening('2026-11-21T12:00:00+00:00')", {}) == "2026-11-23T09:00:00+00:00"


def test_deadline_rejects_unknown_calendar():
    with pytest.raises(ExpressionError, match="elapsed"):
        EV.evaluate("deadline(now(), 'PT1H', 'lunar')", {})


def test_earliest_and_days_between():
    data = {"a": "2026-11-25T10:00:00+00:00", "b": "2026-11-25T11:00:00+01:00", "c": None}
    assert EV.evaluate("earliest(a, b, c)", data) == "2026-11-25T10:00:00+00:00"
    assert EV.evaluate("earliest([a, c])", data) == "2026-11-25T10:00:00+00:00"
    assert EV.evaluate("earliest(c, None)", data) is None
    assert EV.evaluate("days_between('2026-11-20T10:00:00+00:00', '2026-11-25T09:00:00+00:00')", {}) == 4
    assert EV.evaluate("days_between('2026-11-25T10:00:00+00:00', '2026-11-20T10:00:00+00:00')", {}) == -5


def test_naive_instant_is_a_clear_error():
    with pytest.raises(ExpressionError, match="no UTC offset"):
        EV.evaluate("add_elapsed('2026-11-20T10:00:00', 'PT1H')", {})
    with pytest.raises(ExpressionError, match="not an ISO 8601"):
        EV.evaluate("next_opening('tomorrow')", {})


def test_function_table_is_exactly_the_documented_one():
    assert set(FUNCS) == {
        "len",
        "min",
        "max",
        "sum",
        "any",
        "all",
        "sorted",
        "abs",
        "round",
        "int",
        "float",
        "str",
        "bool",
        "list",
        "dict",
        "set",
        "tuple",
        "range",
        "enumerate",
        "zip",
        "now",
        "add_elapsed",
        "add_working",
        "deadline",
        "next_opening",
        "earliest",
        "days_between",
        "mash_open",
        "next_closing",
        "closed_from",
        "latest",  # out of hours (spec §11.3)
    }


# ---------------------------------------------------------------- linting helper


def test_referenced_names():
    assert referenced_names("[c for c in red_criteria if c != other] + len(xs)", "eval") == {
        "red_criteria",
        "other",
        "xs",
    }
    assert referenced_names("y = x\nd[k] = y", "exec") == {"x", "y", "d", "k"}


def test_expressions_cannot_mutate_task_data():
    data = {"xs": [1]}
    with pytest.raises(UnsafeExpression, match="script"):
        EV.evaluate("xs.append(2)", data)
    assert data == {"xs": [1]}
    EV.execute("xs.append(2)", data)
    assert data == {"xs": [1, 2]}


def test_non_text_source_is_an_error():
    with pytest.raises(ExpressionError, match="text"):
        EV.evaluate(["x"], {})  # type: ignore[arg-type]
