"""Every known sandbox escape must be refused: statically by check(), and again at run time.

Why both: check() runs at deploy, but evaluate()/execute() must never trust that it did (a
model could be loaded some other way). The "bypass" tests run the interpreter on an
*unchecked* tree to prove the run-time layer refuses on its own.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.engine.calendar import MashCalendar
from app.engine.evaluator import ExpressionError, RestrictedEvaluator, UnsafeExpression, _Run
from app.engine.functions import build_functions
from tests.support.escape_corpus import STATIC_EXPRESSIONS

FUNCS = build_functions(lambda: datetime(2026, 11, 25, 10, tzinfo=UTC), MashCalendar())
EV = RestrictedEvaluator(FUNCS)
# For the resource tests: a wall clock that never trips, so every refusal there is by the
# deterministic budgets (steps charged by work, sizes, lengths, the duration cap), never by speed.
EV_BUDGETS_ONLY = RestrictedEvaluator(FUNCS, max_seconds=1e9)


def names() -> dict:
    return {"x": 1, "a": [], "d": {"k": 1}, "s": "text", "json": {}}


STATIC_SCRIPTS = [
    "import os",
    "from os import system",
    "def f(): pass",
    "class A: pass",
    "with open('x') as f: pass",
    "try: pass\nexcept: pass",
    "try:\n    pass\nexcept* Exception:\n    pass",
    "global x",
    "nonlocal x",
    "while True: pass",
    "raise ValueError",
    "assert x",
    "del x",
    "x: int = 1",
    "match x:\n    case 1:\n        pass",
    "async def f(): pass",
    "return 1",
    "x.attr = 1",
    "len = 1",
    "_x = 1",
    "x, *rest = a",
    "break",
    "for i in [1]:\n    def g(): pass",
    "x = 1\ny = x.__class__",
    "a.append(x)\nb = a.__class__",
]


@pytest.mark.parametrize("source", STATIC_EXPRESSIONS)
def test_expression_refused_by_check_and_evaluate(source: str) -> None:
    with pytest.raises(ExpressionError):
        EV.check(source, "eval")
    with pytest.raises(ExpressionError):
        EV.evaluate(source, names())


@pytest.mark.parametrize("source", STATIC_SCRIPTS)
def test_script_refused_by_check_and_execute(source: str) -> None:
    with pytest.raises(ExpressionError):
        EV.check(source, "exec")
    data = names()
    with pytest.raises(ExpressionError):
        EV.execute(source, data)
    assert data == names()  # nothing ran


def _parses(source: str, mode: str) -> bool:
    try:
        ast.parse(source, mode=mode)
    except SyntaxError:
        return False
    return True


@pytest.mark.parametrize("source", [s for s in STATIC_EXPRESSIONS if _parses(s, "eval")])
def test_runtime_refuses_unchecked_expression_trees(source: str) -> None:
    """Defence in depth: the interpreter alone, with no static check, still refuses."""
    tree = ast.parse(source, mode="eval")
    with pytest.raises(ExpressionError):
        _Run(EV, names()).eval(tree.body)


@pytest.mark.parametrize("source", [s for s in STATIC_SCRIPTS if _parses(s, "exec")])
def test_runtime_refuses_unchecked_script_trees(source: str) -> None:
    tree = ast.parse(source, mode="exec")
    with pytest.raises(ExpressionError):
        _Run(EV, names()).run_script(tree.body)


def test_static_refusals_are_unsafe_expression_with_line() -> None:
    with pytest.raises(UnsafeExpression) as err:
        EV.check("y = 1\nz = y\nw = z.__class__", "exec")
    assert err.value.lineno == 3
    assert "__class__" in err.value.message


RESOURCE_EXPRESSIONS = [
    "9**9**9",
    "2**100000",
    "10**65",
    "'a'*10**9",
    "[0]*10**9",
    "10**9*'a'",
    "list(range(10**12))",
    "range(10**12)",
    "sum(range(10**9))",
    "[[0]*1000 for i in range(1000) for j in range(1000)]",
    "[0]*60000 + [0]*60000",
    "[[0]*1000]*1000",
    "'%0*d' % (10**8, 1)",
    "s.replace('', 'x'*50000)",
    "round(10, -10**9)",
    "str([[s*5000]*100000])",
    "sum([[1]]*1000, [])",
    "int('9'*5000)",
    "max(a, key=len)",
    "sorted(a, key=len)",
    # issue 13: work inside builtins, calendar walks, lengths
    'request_type if len([add_working(now(), "PT87000H") for i in range(15)]) >= 0 else request_type',
    'len([add_working(now(), "PT1500H") for i in range(15)])',
    'add_working(now(), "P3000D")',
    'deadline(now(), "PT9000H", "elapsed")',
    "([1]*100000).count(1)",
    "[1]*100000 .count(1)",
    '"a"*50000000',
    "[([1]*50000).count(1) for i in range(1000)]",
    "[i in range(50000) for i in range(50000)]",
    "sorted(range(100000)) + sorted(range(100000))",
    "[set(range(50000)) for i in range(100)]",
    "[str(range(50000)) for i in range(100)]",
    "sum([sum(range(99999)) for i in range(100)])",
    "[((10**64)**64) // 7 for i in range(50000)]",
    "+".join(["1"] * 30000),
    "9" * 5000,
]


@pytest.mark.parametrize("source", RESOURCE_EXPRESSIONS)
def test_resource_exhaustion_refused_quickly(source: str) -> None:
    """Refused by the evaluator's size and step budgets before the work is done (the budgets, not a
    wall-clock limit, make this deterministic; timings belong in bench/, not in assertions)."""
    with pytest.raises(ExpressionError):
        EV_BUDGETS_ONLY.evaluate(source, names())


RESOURCE_SCRIPTS = [
    "c = [0]\nfor i in range(100):\n    c = [c, c]",
    "b = []\nfor i in range(100000):\n    b.append([0]*1000)",
    "n = 10**60\nfor i in range(20):\n    n = n * n",
    "s = 'x'\nfor i in range(40):\n    s = s + s",
    "a = [0]\nfor i in a:\n    a.append(i)",
    "d = {}\nfor i in range(100000):\n    for j in range(100000):\n        d[j] = i",
    "b = list(range(50000))\nn = 0\nfor i in range(50000):\n    n = n + b.count(i)",
    "b = list(range(50000))\nfor i in range(50000):\n    c = b[1:]",
    "t = []\nfor i in range(15):\n    t.append(add_working(now(), 'PT1500H'))",
]


@pytest.mark.parametrize("source", RESOURCE_SCRIPTS)
def test_resource_exhaustion_in_scripts_refused_quickly(source: str) -> None:
    with pytest.raises(ExpressionError):
        EV_BUDGETS_ONLY.execute(source, names())


def test_method_receiver_must_be_exact_type() -> None:
    """A str/dict/list subclass in data could override a whitelisted method name."""

    class Evil(str):
        def lower(self):  # pragma: no cover - must never be called
            raise AssertionError("subclass method called")

    with pytest.raises(ExpressionError, match="not allowed"):
        EV.evaluate("s.lower()", {"s": Evil("X")})


def test_evaluator_module_never_compiles_code() -> None:
    import app.engine.evaluator as module

    tree = ast.parse(Path(module.__file__).read_text())
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__"}
