"""The one restricted evaluator for every expression and script in deployed BPMN/DMN.

Why: SpiffWorkflow's default engine runs model text through ``eval``/``exec``, and a model
author (or anyone who can upload a model) could then run any code as the app user
(security.md §3). This module interprets Python *syntax* by walking the ``ast`` tree itself:
nothing is ever compiled to bytecode, so only the constructs below can do anything.

- ``check()`` is the static allow-list (run at deploy and, through the cache, before every run).
- ``evaluate()``/``execute()`` walk the checked tree with run-time limits: a step budget,
  size limits on every value created, and exact-type checks on the few allowed methods.

Cost (docs/safety.md, "Limits"): the step budget counts *work*, not only syntax nodes. Every
node costs one step; every value created, every argument given to a function or method, every
operand of a comparison and every big number operated on costs its size (``COST_UNIT`` size
units a step); functions that walk time (``add_working``...) charge the days they walk through
``charge()``. A wall-clock deadline, checked in the step hook, is the backstop. A whole
validation (``validation_budget()``) shares one larger budget of steps and time across every
evaluation it makes.

Deliberate differences from Python (documented in docs/modelling.md terms):
- a function name (``len``, ``now``...) can only be called, never used as a value or assigned;
- ``dict.keys/values/items()`` return lists (values stay JSON-shaped);
- generator expressions are evaluated eagerly to a list;
- ``x += y`` rebinds (``x = x + y``) rather than mutating in place;
- ``str % args`` formatting is refused (``"%*d"`` can allocate arbitrarily).
"""

from __future__ import annotations

import ast
import operator
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Literal, NoReturn, cast

__all__ = [
    "ALLOWED_METHODS",
    "BudgetExceeded",
    "ExpressionError",
    "RestrictedEvaluator",
    "UnsafeExpression",
    "ValidationBudgetExceeded",
    "charge",
    "referenced_names",
    "validation_budget",
    "value_size",
]

Mode = Literal["eval", "exec"]

MAX_SOURCE_CHARS = 100_000  # a script
MAX_EXPRESSION_CHARS = 10_000  # one expression (a condition, a DMN cell, a task property)
MAX_NODES = 20_000  # syntax nodes in one expression or script ("terms")
MAX_NESTING = 100  # syntactic depth of a tree, and depth of a data value
MAX_INT_BITS = 33_220  # ~10,000 decimal digits
MAX_POW_EXPONENT = 64

DEFAULT_MAX_STEPS = 100_000  # steps of work for one evaluation (see "Cost" above)
DEFAULT_MAX_SECONDS = 2.0  # wall-clock backstop for one evaluation
VALIDATION_STEPS = 2_000_000  # steps for a whole validation (the repository's models use < 1,000)
VALIDATION_SECONDS = 20.0  # wall clock for a whole validation (backstop)
COST_UNIT = 8  # value-size units (value_size) charged as one step
_CLOCK_EVERY = 256  # steps between two looks at the clock


class ExpressionError(Exception):
    """An expression or script failed: what, on which line of the model text, and the text."""

    def __init__(self, message: str, lineno: int | None = None, source: str | None = None):
        self.message = message
        self.lineno = lineno
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        return f"line {self.lineno}: {self.message}" if self.lineno else self.message


class UnsafeExpression(ExpressionError):
    """A construct outside the allow-list (refused statically, before anything runs)."""


class BudgetExceeded(ExpressionError):
    """One evaluation used up its budget of steps (work) or time."""

    wall_clock = False  # True when time ran out: how far it got depended on how busy the machine was


class ValidationBudgetExceeded(BudgetExceeded):
    """A whole validation used up its shared budget of steps or time (``validation_budget``)."""


class _Budget:
    """Steps and time shared by every evaluation of one validation."""

    __slots__ = ("deadline", "seconds", "spent", "steps")

    def __init__(self, steps: int, seconds: float):
        self.steps = steps
        self.spent = 0
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds


_BUDGET: ContextVar[_Budget | None] = ContextVar("mash_validation_budget", default=None)
_CURRENT: ContextVar[_Run | None] = ContextVar("mash_current_run", default=None)


@contextmanager
def validation_budget(steps: int = VALIDATION_STEPS, seconds: float = VALIDATION_SECONDS) -> Iterator[None]:
    """Every evaluation inside shares ``steps`` and ``seconds`` (besides its own budget).

    Why: a validation (deploy checks, DMN table tests, a what-if replay) runs many author-written
    expressions; each alone is bounded, but together they must be too. Nested uses keep the outer
    budget (the stricter one wins only when it is the outer one; validations do not nest)."""
    if _BUDGET.get() is not None:
        yield
        return
    token = _BUDGET.set(_Budget(steps, seconds))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def charge(steps: int) -> None:
    """Charge work done inside a model-facing function (e.g. days walked by ``add_working``) to the
    evaluation that called it. Outside an evaluation it does nothing."""
    run = _CURRENT.get()
    if run is not None and steps > 0:
        run.spend(int(steps), None)


ALLOWED_METHODS: dict[type, frozenset[str]] = {
    str: frozenset({"lower", "upper", "strip", "startswith", "endswith", "split", "replace"}),
    dict: frozenset({"get", "keys", "values", "items"}),
    list: frozenset({"append", "count", "index"}),
}
_ALL_METHOD_NAMES = frozenset().union(*ALLOWED_METHODS.values())
_RECEIVER_WALKS = frozenset({"count", "index"})  # methods whose work grows with the receiver's size
# Functions whose work does not grow with their inputs (their arguments are not charged).
INPUT_FREE_FUNCTIONS = frozenset({"len", "bool"})
_MUTATING_METHODS = frozenset({"append"})

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_CONST_TYPES = (str, int, float, bool, type(None))
_SCALARS = frozenset({int, float, bool, type(None)})
_SEQUENCES = (str, list, tuple)
_ITERABLES = (list, tuple, str, dict, set, frozenset, range)

_REFUSED_WORDS = {
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.FunctionDef: "def",
    ast.AsyncFunctionDef: "async def",
    ast.ClassDef: "class",
    ast.Lambda: "lambda",
    ast.With: "with",
    ast.AsyncWith: "with",
    ast.Try: "try",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.While: "while",
    ast.Raise: "raise",
    ast.Assert: "assert",
    ast.Delete: "del",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Await: "await",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Starred: "* unpacking",
    ast.NamedExpr: ":= (walrus)",
    ast.Match: "match",
    ast.AnnAssign: "annotated assignment",
    ast.AsyncFor: "async for",
    ast.Return: "return",
}
if hasattr(ast, "TryStar"):
    _REFUSED_WORDS[ast.TryStar] = "try"


def _refused(node: ast.AST) -> str:
    word = _REFUSED_WORDS.get(type(node))
    return f"'{word}' is not allowed" if word else f"{type(node).__name__} is not allowed"


# --------------------------------------------------------------------------- parsing


def _prepared(source: str, mode: Mode) -> tuple[str, int]:
    """The text to parse (dedented; an expression also stripped) and how many lines were stripped."""
    text = textwrap.dedent(source)
    if mode != "eval":
        return text, 0
    stripped = text.lstrip()
    offset = text[: len(text) - len(stripped)].count("\n")
    text = stripped.rstrip()
    if len(text) > MAX_EXPRESSION_CHARS:
        raise UnsafeExpression(
            f"expression too long: more than {MAX_EXPRESSION_CHARS} characters (work parts out in a script first)",
            None,
            source[:200],
        )
    return text, offset


def _parse_text(text: str, mode: Mode, offset: int, source: str) -> ast.AST:
    """ast.parse, its failures as ExpressionError / UnsafeExpression naming the source's line."""
    try:
        return ast.parse(text, mode=mode)
    except SyntaxError as exc:
        line = exc.lineno + offset if exc.lineno else None
        if "integer string conversion" in (exc.msg or ""):
            raise ExpressionError(
                "number too long: write numbers with at most 4300 digits", line, source[:200]
            ) from None
        raise ExpressionError(f"syntax error: {exc.msg}", line, source) from None
    except (RecursionError, MemoryError) as exc:
        raise UnsafeExpression(
            f"too long or too deeply nested to read ({type(exc).__name__}): split it into smaller parts",
            None,
            source[:200],
        ) from None
    except ValueError as exc:
        raise UnsafeExpression(f"cannot parse: {exc}", None, source[:200]) from None


def _parse_tree(source: str, mode: Mode) -> ast.AST:
    """Parse without checking. Scripts are dedented (BPMN text is often indented)."""
    if mode not in ("eval", "exec"):
        raise ValueError("mode must be 'eval' or 'exec'")
    if not isinstance(source, str):
        raise ExpressionError("expression must be text", None, repr(source))
    if len(source) > MAX_SOURCE_CHARS:
        raise UnsafeExpression(
            f"script too long: more than {MAX_SOURCE_CHARS} characters (split it into several script tasks)",
            None,
            source[:200],
        )
    text, offset = _prepared(source, mode)
    tree = _parse_text(text, mode, offset, source)
    for nodes, _ in enumerate(ast.walk(tree), start=1):
        if nodes > MAX_NODES:
            raise UnsafeExpression(
                f"{'expression' if mode == 'eval' else 'script'} too long: more than "
                f"{MAX_NODES} terms (split it into smaller parts)",
                None,
                source[:200],
            )
    if offset:
        ast.increment_lineno(tree, offset)
    return tree


class _Checker:
    """Static allow-list walk. Raises UnsafeExpression naming the line of the first refusal."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], mode: Mode):
        self.functions = functions
        self.mode = mode
        self.loops = 0

    def fail(self, node: ast.AST, message: str) -> NoReturn:
        raise UnsafeExpression(message, getattr(node, "lineno", None))

    def run(self, tree: ast.AST) -> None:
        if isinstance(tree, ast.Expression):
            self.expr(tree.body, 0)
        elif isinstance(tree, ast.Module):
            self.block(tree.body, 0)
        else:  # pragma: no cover - parse modes are fixed
            self.fail(tree, "unsupported tree")

    def block(self, stmts: list[ast.stmt], depth: int) -> None:
        for stmt in stmts:
            self.stmt(stmt, depth + 1)

    def stmt(self, node: ast.stmt, depth: int) -> None:
        if depth > MAX_NESTING:
            self.fail(node, "too deeply nested")
        check = _STMT_CHECKS.get(type(node))
        if check is None:
            self.fail(node, _refused(node))
        check(self, node, depth)

    def s_assign(self, node: ast.Assign, depth: int) -> None:
        for target in node.targets:
            self.target(target, depth)
        self.expr(node.value, depth)

    def s_augassign(self, node: ast.AugAssign, depth: int) -> None:
        if type(node.target) not in (ast.Name, ast.Subscript):
            self.fail(node, "augmented assignment needs a name or subscript")
        if type(node.op) not in _BINOPS:
            self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        self.target(node.target, depth)
        self.expr(node.value, depth)

    def s_if(self, node: ast.If, depth: int) -> None:
        self.expr(node.test, depth)
        self.block(node.body, depth)
        self.block(node.orelse, depth)

    def s_for(self, node: ast.For, depth: int) -> None:
        self.target(node.target, depth)
        self.expr(node.iter, depth)
        self.loops += 1
        self.block(node.body, depth)
        self.loops -= 1
        self.block(node.orelse, depth)

    def s_expr(self, node: ast.Expr, depth: int) -> None:
        self.expr(node.value, depth)

    def s_pass(self, node: ast.Pass, depth: int) -> None:
        pass

    def s_loop_jump(self, node: ast.Break | ast.Continue, depth: int) -> None:
        if not self.loops:
            self.fail(node, f"'{type(node).__name__.lower()}' outside a for loop")

    def target(self, node: ast.expr, depth: int) -> None:
        t = type(node)
        if type(node) is ast.Name:
            if node.id.startswith("_"):
                self.fail(node, f"names starting with '_' are not allowed ({node.id})")
            if node.id in self.functions:
                self.fail(node, f"cannot assign to '{node.id}': it is a function name")
        elif type(node) is ast.Subscript:
            self.expr(node.value, depth + 1)
            self.expr(node.slice, depth + 1)
        elif type(node) is ast.Tuple or type(node) is ast.List:
            for elt in node.elts:
                self.target(elt, depth + 1)
        else:
            self.fail(node, f"cannot assign to {_refused(node) if t in _REFUSED_WORDS else t.__name__}")

    def expr(self, node: ast.expr, depth: int) -> None:
        if depth > MAX_NESTING:
            self.fail(node, "too deeply nested")
        check = _EXPR_CHECKS.get(type(node))
        if check is None:
            self.fail(node, _refused(node))
        check(self, node, depth + 1)

    def x_constant(self, node: ast.Constant, d: int) -> None:
        if type(node.value) not in _CONST_TYPES:
            self.fail(node, f"constant of type {type(node.value).__name__} is not allowed")

    def x_name(self, node: ast.Name, d: int) -> None:
        if node.id.startswith("_"):
            self.fail(node, f"names starting with '_' are not allowed ({node.id})")
        if node.id in self.functions:
            self.fail(node, f"'{node.id}' is a function: it can only be called, e.g. {node.id}(...)")

    def x_elements(self, node: ast.List | ast.Tuple | ast.Set, d: int) -> None:
        for elt in node.elts:
            self.expr(elt, d)

    def x_dict(self, node: ast.Dict, d: int) -> None:
        for key, value in zip(node.keys, node.values, strict=False):
            if key is None:
                self.fail(node, "'**' unpacking is not allowed")
            self.expr(key, d)
            self.expr(value, d)

    def x_subscript(self, node: ast.Subscript, d: int) -> None:
        self.expr(node.value, d)
        self.expr(node.slice, d)

    def x_slice(self, node: ast.Slice, d: int) -> None:
        for part in (node.lower, node.upper, node.step):
            if part is not None:
                self.expr(part, d)

    def x_binop(self, node: ast.BinOp, d: int) -> None:
        if type(node.op) not in _BINOPS:
            self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        self.expr(node.left, d)
        self.expr(node.right, d)

    def x_unaryop(self, node: ast.UnaryOp, d: int) -> None:
        if type(node.op) not in _UNARY:
            self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        self.expr(node.operand, d)

    def x_boolop(self, node: ast.BoolOp, d: int) -> None:
        for value in node.values:
            self.expr(value, d)

    def x_compare(self, node: ast.Compare, d: int) -> None:
        for op in node.ops:
            if type(op) not in _CMPOPS:  # pragma: no cover - all comparisons are listed
                self.fail(node, f"comparison {type(op).__name__} is not allowed")
        self.expr(node.left, d)
        for comp in node.comparators:
            self.expr(comp, d)

    def x_ifexp(self, node: ast.IfExp, d: int) -> None:
        self.expr(node.test, d)
        self.expr(node.body, d)
        self.expr(node.orelse, d)

    def x_comp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp, d: int) -> None:
        self.comprehension(node.generators, d)
        self.expr(node.elt, d)

    def x_dictcomp(self, node: ast.DictComp, d: int) -> None:
        self.comprehension(node.generators, d)
        self.expr(node.key, d)
        self.expr(node.value, d)

    def x_attribute(self, node: ast.Attribute, d: int) -> None:
        self.fail(
            node,
            f"attribute access '.{node.attr}' is not allowed"
            + (" (only allowed methods can be called)" if node.attr in _ALL_METHOD_NAMES else ""),
        )

    def comprehension(self, generators: list[ast.comprehension], depth: int) -> None:
        for gen in generators:
            if gen.is_async:
                self.fail(gen.target, "'async for' is not allowed")
            self.target(gen.target, depth)
            self.expr(gen.iter, depth)
            for cond in gen.ifs:
                self.expr(cond, depth)

    def call(self, node: ast.Call, depth: int) -> None:
        func = node.func
        if type(func) is ast.Name:
            if func.id.startswith("_"):
                self.fail(node, f"names starting with '_' are not allowed ({func.id})")
            if func.id not in self.functions:
                self.fail(node, f"'{func.id}' is not an allowed function")
        elif type(func) is ast.Attribute:
            if func.attr not in _ALL_METHOD_NAMES:
                self.fail(node, f"method '.{func.attr}()' is not allowed")
            if func.attr in _MUTATING_METHODS and self.mode == "eval":
                self.fail(node, f"'.{func.attr}()' changes data: use it in a script, not an expression")
            self.expr(func.value, depth)
        else:
            self.fail(node, "only named functions and allowed methods can be called")
        for arg in node.args:
            if type(arg) is ast.Starred:
                self.fail(arg, "'*' arguments are not allowed")
            self.expr(arg, depth)
        for kw in node.keywords:
            if kw.arg is None:
                self.fail(kw.value, "'**' arguments are not allowed")
            if kw.arg.startswith("_"):
                self.fail(kw.value, f"keyword arguments starting with '_' are not allowed ({kw.arg})")
            self.expr(kw.value, depth)


# The node types the checker allows, each with its check (exact types: a subclass is refused).
_EXPR_CHECKS: dict[type[ast.AST], Callable[[_Checker, Any, int], None]] = {
    ast.Constant: _Checker.x_constant,
    ast.Name: _Checker.x_name,
    ast.List: _Checker.x_elements,
    ast.Tuple: _Checker.x_elements,
    ast.Set: _Checker.x_elements,
    ast.Dict: _Checker.x_dict,
    ast.Subscript: _Checker.x_subscript,
    ast.Slice: _Checker.x_slice,
    ast.BinOp: _Checker.x_binop,
    ast.UnaryOp: _Checker.x_unaryop,
    ast.BoolOp: _Checker.x_boolop,
    ast.Compare: _Checker.x_compare,
    ast.IfExp: _Checker.x_ifexp,
    ast.ListComp: _Checker.x_comp,
    ast.SetComp: _Checker.x_comp,
    ast.GeneratorExp: _Checker.x_comp,
    ast.DictComp: _Checker.x_dictcomp,
    ast.Call: _Checker.call,
    ast.Attribute: _Checker.x_attribute,
}
_STMT_CHECKS: dict[type[ast.AST], Callable[[_Checker, Any, int], None]] = {
    ast.Assign: _Checker.s_assign,
    ast.AugAssign: _Checker.s_augassign,
    ast.If: _Checker.s_if,
    ast.For: _Checker.s_for,
    ast.Expr: _Checker.s_expr,
    ast.Pass: _Checker.s_pass,
    ast.Break: _Checker.s_loop_jump,
    ast.Continue: _Checker.s_loop_jump,
}

# --------------------------------------------------------------------------- sizes


_CONTAINERS = (list, tuple, set, frozenset, dict)


def _members(container: Any, depth: int) -> Iterator[tuple[Any, int]]:
    """What a container holds, each with its depth (a dict: each key, then its value)."""
    if type(container) is dict:
        for key, value in container.items():
            yield key, depth
            yield value, depth
    else:
        for item in container:
            yield item, depth


def value_size(value: Any, limit: int) -> int:
    """Rough deep size of a value in "units" (scalar 4, str its length, container 2 + items).

    Why: a shared reference (``c = [c, c]`` in a loop, ``[big] * n``) makes a small object
    that is huge to compare, print or serialise. Shared parts are counted every time they are
    reached, and the walk stops as soon as ``limit`` is passed, so it costs at most ~limit.
    """
    t = type(value)
    if t in _SCALARS:
        return 4 if t is not int else 4 + value.bit_length() // 8
    if t is str:
        return len(value) + 2
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        t = type(item)
        if t is str:
            total += len(item) + 2
        elif t is int:
            total += 4 + item.bit_length() // 8
        elif t in _CONTAINERS:
            if depth >= MAX_NESTING:
                raise ExpressionError("value is nested too deeply")
            total += 2 + (2 if t is dict else 1) * len(item)
            if total > limit:
                return total
            stack.extend(_members(item, depth + 1))
        else:
            total += 4
        if total > limit:
            return total
    return total


# --------------------------------------------------------------------------- running


class _Break(BaseException):
    """Loop control; BaseException so the generic error wrapping never swallows it."""


class _Continue(BaseException):
    """Loop control; see _Break."""


def _describe(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, KeyError):
        return f"key {exc.args[0]!r} not found" if exc.args else "key not found"
    if isinstance(exc, IndexError):
        return "index out of range"
    if isinstance(exc, RecursionError):
        return "expression is too complex (nesting)"
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Run:
    """State of one evaluate/execute call: data, comprehension scopes and budgets."""

    __slots__ = (
        "alloc",
        "budget",
        "clock_in",
        "deadline",
        "functions",
        "limit",
        "max_alloc",
        "max_size",
        "max_steps",
        "max_value",
        "names",
        "own_deadline",
        "scopes",
        "steps",
    )

    def __init__(self, ev: RestrictedEvaluator, names: Mapping[str, Any]):
        self.functions = ev.functions
        self.names = names
        self.scopes: list[dict[str, Any]] = []
        self.steps = 0
        self.max_steps = ev.max_steps
        self.max_size = ev.max_size
        self.max_value = ev.max_size * 10
        self.alloc = 0
        self.max_alloc = ev.max_size * 100
        self.budget = _BUDGET.get()
        self.own_deadline = time.monotonic() + ev.max_seconds
        self.limit = self.max_steps
        self.deadline = self.own_deadline
        if self.budget is not None:
            self.limit = min(self.max_steps, max(0, self.budget.steps - self.budget.spent))
            self.deadline = min(self.own_deadline, self.budget.deadline)
        self.clock_in = _CLOCK_EVERY

    # -- budgets
    def _over(self, node: ast.AST | None) -> None:
        line = getattr(node, "lineno", None)
        if self.budget is not None and self.limit < self.max_steps and self.steps > self.limit:
            raise ValidationBudgetExceeded(
                f"the checks ran out of their budget of {self.budget.steps} steps of work for the whole model set: "
                "make the expressions or the DMN table tests (dmn/*.tests.json) do less work",
                line,
            )
        raise BudgetExceeded(
            f"expression is too complex (step limit reached): it would do more than {self.max_steps} steps of work "
            "(loops, big lists or long calendar durations) — make it do less",
            line,
        )

    def _late(self, node: ast.AST | None) -> None:
        line = getattr(node, "lineno", None)
        exc: BudgetExceeded
        if self.budget is not None and self.deadline < self.own_deadline:
            exc = ValidationBudgetExceeded(
                f"the checks ran out of their {self.budget.seconds:g} s time budget for the whole model set: "
                "make the expressions or the DMN table tests (dmn/*.tests.json) do less work",
                line,
            )
        else:
            exc = BudgetExceeded(
                "expression is too complex (time limit reached): it took too long — make it do less", line
            )
        exc.wall_clock = True
        raise exc

    def tick(self, node: ast.AST) -> None:
        self.steps += 1
        if self.steps > self.limit:
            self._over(node)
        self.clock_in -= 1
        if self.clock_in <= 0:
            self.clock_in = _CLOCK_EVERY
            if time.monotonic() > self.deadline:
                self._late(node)

    def spend(self, steps: int, node: ast.AST | None) -> None:
        """Charge ``steps`` of work done at once (sizes of values, days walked, big numbers)."""
        self.steps += steps
        if self.steps > self.limit:
            self._over(node)
        self.clock_in -= 1 + steps // 64
        if self.clock_in <= 0:
            self.clock_in = _CLOCK_EVERY
            if time.monotonic() > self.deadline:
                self._late(node)

    def settle(self) -> None:
        """Add this evaluation's steps to the validation's shared budget."""
        if self.budget is not None:
            self.budget.spent += self.steps

    def remaining(self) -> int:
        return max(0, self.limit - self.steps)

    def cost(self, value: Any) -> int:
        """Steps to charge for handing ``value`` to work proportional to its size (a function, a method,
        a comparison). Measuring stops once the remaining budget is passed, so it costs at most that."""
        t = type(value)
        if t is int:
            bits: int = value.bit_length()
            return (bits >> 6) ** 2 >> 8  # big-number arithmetic and conversion are ~quadratic
        if t in _SCALARS:
            return 0
        if t is str:
            return len(value) // COST_UNIT
        return value_size(value, (self.remaining() + 1) * COST_UNIT) // COST_UNIT

    def charge_inputs(self, values: Any, node: ast.AST) -> None:
        total = 0
        for value in values:
            if type(value) not in _SCALARS or type(value) is int:
                total += self.cost(value)
        if total:
            self.spend(total, node)

    def charge(self, value: Any, node: ast.AST) -> None:
        """Count a newly created value against the per-value and per-run size budgets, and its size
        against the step budget (making a value is work proportional to its size)."""
        if type(value) in _SCALARS:
            self.alloc += 4
            if type(value) is int:
                if value.bit_length() > MAX_INT_BITS:
                    raise ExpressionError("number too large", getattr(node, "lineno", None))
                cost = self.cost(value)
                if cost:
                    self.spend(cost, node)
        else:
            limit = min(self.max_value, (self.remaining() + 1) * COST_UNIT)
            size = value_size(value, limit)
            if size > self.max_value:
                raise ExpressionError("value too large", getattr(node, "lineno", None))
            self.spend(size // COST_UNIT, node)
            self.alloc += size
        if self.alloc > self.max_alloc:
            raise ExpressionError("expression creates too much data", getattr(node, "lineno", None))

    # -- dispatch
    def eval(self, node: ast.AST) -> Any:
        self.steps += 1
        if self.steps > self.limit:
            self._over(node)
        self.clock_in -= 1
        if self.clock_in <= 0:
            self.clock_in = _CLOCK_EVERY
            if time.monotonic() > self.deadline:
                self._late(node)
        handler = _EVAL.get(type(node))
        if handler is None:
            raise UnsafeExpression(_refused(node), getattr(node, "lineno", None))
        try:
            return handler(self, node)
        except ExpressionError as exc:
            if exc.lineno is None:
                exc.lineno = getattr(node, "lineno", None)
            raise
        except (_Break, _Continue):
            raise
        except Exception as exc:  # every Python error becomes a model error with a line
            raise ExpressionError(_describe(exc), getattr(node, "lineno", None)) from None

    def run_script(self, stmts: list[ast.stmt]) -> None:
        try:
            self.block(stmts)
        except (_Break, _Continue):
            raise UnsafeExpression("'break'/'continue' outside a for loop") from None

    def block(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self.tick(stmt)
            handler = _EXEC.get(type(stmt))
            if handler is None:
                raise UnsafeExpression(_refused(stmt), stmt.lineno)
            try:
                handler(self, stmt)
            except (ExpressionError, _Break, _Continue):
                raise
            except Exception as exc:
                raise ExpressionError(_describe(exc), stmt.lineno) from None

    # -- expressions
    def e_constant(self, node: ast.Constant) -> Any:
        if type(node.value) not in _CONST_TYPES:
            raise UnsafeExpression(f"constant of type {type(node.value).__name__} is not allowed", node.lineno)
        return node.value

    def e_name(self, node: ast.Name) -> Any:
        name = node.id
        if name.startswith("_") or name in self.functions:
            raise UnsafeExpression(f"name '{name}' cannot be used as a value", node.lineno)
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        try:
            return self.names[name]
        except KeyError:
            raise ExpressionError(f"name '{name}' is not defined in task data", node.lineno) from None

    def e_list(self, node: ast.List) -> list[Any]:
        value = [self.eval(e) for e in node.elts]
        self.charge(value, node)
        return value

    def e_tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        value = tuple(self.eval(e) for e in node.elts)
        self.charge(value, node)
        return value

    def e_set(self, node: ast.Set) -> set[Any]:
        value = {self.eval(e) for e in node.elts}
        self.charge(value, node)
        return value

    def e_dict(self, node: ast.Dict) -> dict[Any, Any]:
        # a None key ('**' unpacking) never gets here: the checker refuses it
        value = {self.eval(k): self.eval(v) for k, v in zip(node.keys, node.values, strict=False)}  # type: ignore[arg-type]
        self.charge(value, node)
        return value

    def e_subscript(self, node: ast.Subscript) -> Any:
        container = self.eval(node.value)
        key = self.eval(node.slice)
        if type(key) is slice:  # a slice is a copy: charged like any new value
            value = container[key]
            self.charge(value, node)
            return value
        if type(key) not in _SCALARS:  # hashing a tuple key walks it
            self.charge_inputs((key,), node)
        return container[key]

    def e_slice(self, node: ast.Slice) -> slice:
        return slice(*(None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)))

    def _check_mult(self, left: Any, right: Any, node: ast.BinOp) -> None:
        """Refuse a repeated sequence or a product too large to make, before making it."""
        lt, rt = type(left), type(right)
        if (lt in _SEQUENCES and rt in (int, bool)) or (rt in _SEQUENCES and lt in (int, bool)):
            seq, times = (left, right) if lt in _SEQUENCES else (right, left)
            if times > 0 and len(seq) * times > self.max_size:
                raise ExpressionError(f"result longer than {self.max_size} items", node.lineno)
            if times > 0 and type(seq) is not str and value_size(seq, self.max_value) * times > self.max_value:
                raise ExpressionError("value too large", node.lineno)
        elif lt is int and rt is int and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise ExpressionError("number too large", node.lineno)

    def e_binop(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        op = type(node.op)
        lt, rt = type(left), type(right)
        if op is ast.Pow:
            if lt in (int, bool) and rt in (int, bool):
                if right > MAX_POW_EXPONENT:
                    raise ExpressionError(f"exponent larger than {MAX_POW_EXPONENT}", node.lineno)
                if right > 0 and abs(left).bit_length() * right > MAX_INT_BITS:
                    raise ExpressionError("number too large", node.lineno)
        elif op is ast.Mult:
            self._check_mult(left, right, node)
        elif op is ast.Add:
            if lt in _SEQUENCES and rt is lt and len(left) + len(right) > self.max_size:
                raise ExpressionError(f"result longer than {self.max_size} items", node.lineno)
        elif op is ast.Mod and lt is str:
            raise ExpressionError("'%' string formatting is not allowed", node.lineno)
        if lt is int or rt is int:  # big-number arithmetic costs by the size of the numbers
            self.charge_inputs((left, right), node)
        result = _BINOPS[op](left, right)
        if type(result) is not float:
            self.charge(result, node)
        return result

    def e_unaryop(self, node: ast.UnaryOp) -> Any:
        operand = self.eval(node.operand)
        if type(operand) is int:
            self.charge_inputs((operand,), node)
        return _UNARY[type(node.op)](operand)

    def e_boolop(self, node: ast.BoolOp) -> Any:
        is_and = type(node.op) is ast.And
        value = None
        for part in node.values:
            value = self.eval(part)
            if is_and != bool(value):
                return value
        return value

    def e_compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comp in zip(node.ops, node.comparators, strict=False):
            right = self.eval(comp)
            # `in` walks a list or string (a dict or set only hashes the key); `==`, `<` walk both values
            kind = type(op)
            if kind is ast.In or kind is ast.NotIn:
                self.charge_inputs((left,) if type(right) in (dict, set, frozenset) else (left, right), node)
            elif kind is not ast.Is and kind is not ast.IsNot:
                self.charge_inputs((left, right), node)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True

    def e_ifexp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def e_call(self, node: ast.Call) -> Any:
        func = node.func
        if type(func) is ast.Name:
            fn = self.functions.get(func.id)
            if fn is None or func.id.startswith("_"):
                raise UnsafeExpression(f"'{func.id}' is not an allowed function", node.lineno)
            args, kwargs = self.arguments(node)
            # a function's work grows with its inputs (sum, sorted, str, set, ...): charged by their sizes
            if func.id not in INPUT_FREE_FUNCTIONS:
                self.charge_inputs((*args, *kwargs.values()), node)
            result = fn(*args, **kwargs)
        elif type(func) is ast.Attribute:
            receiver = self.eval(func.value)
            args, kwargs = self.arguments(node)
            # list.count/index walk the receiver; the others' work shows in their arguments and result
            self.charge_inputs(
                (receiver, *args, *kwargs.values()) if func.attr in _RECEIVER_WALKS else (*args, *kwargs.values()), node
            )
            result = self.method(receiver, func.attr, args, kwargs, node)
        else:
            raise UnsafeExpression("only named functions and allowed methods can be called", node.lineno)
        if type(result) not in _SCALARS:
            self.charge(result, node)
        return result

    def arguments(self, node: ast.Call) -> tuple[list[Any], dict[Any, Any]]:  # keys: str, None refused
        for kw in node.keywords:
            if kw.arg is None or kw.arg.startswith("_"):
                raise UnsafeExpression("'**' or '_' keyword arguments are not allowed", node.lineno)
        return [self.eval(a) for a in node.args], {kw.arg: self.eval(kw.value) for kw in node.keywords}

    def method(self, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
        kind = type(receiver)  # exact type: subclasses could override anything
        allowed = ALLOWED_METHODS.get(kind)
        if allowed is None or name not in allowed:
            raise ExpressionError(f"method '.{name}()' is not allowed on a {kind.__name__} value", node.lineno)
        if name in _MUTATING_METHODS and not isinstance(self.names, dict):
            raise UnsafeExpression(f"'.{name}()' changes data: use it in a script", node.lineno)
        if kind is str and name == "replace" and len(args) >= 2 and type(args[0]) is str and type(args[1]) is str:
            old, new = args[0], args[1]
            count = receiver.count(old) if old else len(receiver) + 1
            if len(receiver) + count * max(0, len(new) - len(old)) > self.max_size:
                raise ExpressionError(f"result longer than {self.max_size} characters", node.lineno)
        elif kind is list and name == "append":
            if len(receiver) >= self.max_size:
                raise ExpressionError(f"list longer than {self.max_size} items", node.lineno)
            if args:
                self.charge(args[0], node)
        elif kind is dict and name in ("keys", "values", "items"):
            return list(getattr(receiver, name)(*args, **kwargs))
        return getattr(kind, name)(receiver, *args, **kwargs)

    # -- comprehensions (targets live in their own scope, like Python 3)
    def comprehension(self, node: Any, emit: Callable[[], None]) -> None:
        generators = node.generators
        first = self.eval(generators[0].iter)
        self.scopes.append({})
        try:
            self._generate(generators, 0, first, emit)
        finally:
            self.scopes.pop()

    def _generate(
        self, generators: list[ast.comprehension], index: int, iterable: Any, emit: Callable[[], None]
    ) -> None:
        gen = generators[index]
        self.check_iterable(iterable, gen.target)
        scope = self.scopes[-1]
        last = index + 1 == len(generators)
        for item in iterable:
            self.tick(gen.target)
            self.assign(gen.target, item, scope)
            if all(self.eval(cond) for cond in gen.ifs):
                if last:
                    emit()
                else:
                    self._generate(generators, index + 1, self.eval(generators[index + 1].iter), emit)

    def e_listcomp(self, node: ast.ListComp | ast.GeneratorExp) -> list[Any]:
        out: list[Any] = []

        def emit() -> None:
            value = self.eval(node.elt)
            self.charge(value, node)
            out.append(value)
            if len(out) > self.max_size:
                raise ExpressionError(f"result longer than {self.max_size} items", node.lineno)

        self.comprehension(node, emit)
        return out

    def e_setcomp(self, node: ast.SetComp) -> set[Any]:
        return set(self.e_listcomp(node))  # type: ignore[arg-type]

    def e_dictcomp(self, node: ast.DictComp) -> dict[Any, Any]:
        out: dict[Any, Any] = {}

        def emit() -> None:
            key = self.eval(node.key)
            value = self.eval(node.value)
            self.charge(value, node)
            out[key] = value
            if len(out) > self.max_size:
                raise ExpressionError(f"result longer than {self.max_size} items", node.lineno)

        self.comprehension(node, emit)
        return out

    # -- statements
    def check_iterable(self, value: Any, node: ast.AST) -> None:
        if type(value) not in _ITERABLES:
            raise ExpressionError(f"cannot loop over a {type(value).__name__} value", getattr(node, "lineno", None))

    def assign(self, target: ast.expr, value: Any, scope: dict[str, Any] | None = None) -> None:
        t = type(target)
        if type(target) is ast.Name:
            if target.id.startswith("_") or target.id in self.functions:
                raise UnsafeExpression(f"cannot assign to '{target.id}'", target.lineno)
            if scope is not None:
                scope[target.id] = value
            elif isinstance(self.names, dict):
                self.names[target.id] = value
            else:
                raise ExpressionError("assignment is not allowed in an expression", target.lineno)
        elif type(target) is ast.Subscript:
            container = self.eval(target.value)
            key = self.eval(target.slice)
            if type(container) not in (dict, list):
                raise ExpressionError(f"cannot assign into a {type(container).__name__} value", target.lineno)
            self.charge(value, target)
            container[key] = value
        elif type(target) is ast.Tuple or type(target) is ast.List:
            if type(value) not in _ITERABLES:
                raise ExpressionError(f"cannot unpack a {type(value).__name__} value", target.lineno)
            if len(value) != len(target.elts):
                raise ExpressionError(f"cannot unpack {len(value)} values into {len(target.elts)} names", target.lineno)
            for sub, item in zip(target.elts, list(value), strict=False):
                self.assign(sub, item, scope)
        else:
            raise UnsafeExpression(f"cannot assign to {t.__name__}", getattr(target, "lineno", None))

    def s_assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self.assign(target, value)

    def s_augassign(self, node: ast.AugAssign) -> None:
        # Rebind rather than mutate in place, reusing the size checks of e_binop.
        load: ast.expr
        if type(node.target) is ast.Name:
            load = ast.Name(id=node.target.id, ctx=ast.Load())
        else:
            target = cast(ast.Subscript, node.target)  # the checker refuses any other augmented target
            load = ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Load())
        binop = ast.BinOp(left=load, op=node.op, right=node.value)
        ast.copy_location(load, node.target)
        ast.copy_location(binop, node)
        self.assign(node.target, self.eval(binop))

    def s_if(self, node: ast.If) -> None:
        self.block(node.body if self.eval(node.test) else node.orelse)

    def s_for(self, node: ast.For) -> None:
        iterable = self.eval(node.iter)
        self.check_iterable(iterable, node)
        for item in iterable:
            self.tick(node)
            self.assign(node.target, item)
            try:
                self.block(node.body)
            except _Break:
                break
            except _Continue:
                continue
        else:
            self.block(node.orelse)

    def s_expr(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def s_pass(self, node: ast.Pass) -> None:
        pass

    def s_break(self, node: ast.Break) -> None:
        raise _Break()

    def s_continue(self, node: ast.Continue) -> None:
        raise _Continue()


_EVAL: dict[type, Callable[[_Run, Any], Any]] = {
    ast.Constant: _Run.e_constant,
    ast.Name: _Run.e_name,
    ast.List: _Run.e_list,
    ast.Tuple: _Run.e_tuple,
    ast.Set: _Run.e_set,
    ast.Dict: _Run.e_dict,
    ast.Subscript: _Run.e_subscript,
    ast.Slice: _Run.e_slice,
    ast.BinOp: _Run.e_binop,
    ast.UnaryOp: _Run.e_unaryop,
    ast.BoolOp: _Run.e_boolop,
    ast.Compare: _Run.e_compare,
    ast.IfExp: _Run.e_ifexp,
    ast.Call: _Run.e_call,
    ast.ListComp: _Run.e_listcomp,
    ast.GeneratorExp: _Run.e_listcomp,
    ast.SetComp: _Run.e_setcomp,
    ast.DictComp: _Run.e_dictcomp,
}
_EXEC: dict[type, Callable[[_Run, Any], None]] = {
    ast.Assign: _Run.s_assign,
    ast.AugAssign: _Run.s_augassign,
    ast.If: _Run.s_if,
    ast.For: _Run.s_for,
    ast.Expr: _Run.s_expr,
    ast.Pass: _Run.s_pass,
    ast.Break: _Run.s_break,
    ast.Continue: _Run.s_continue,
}


class RestrictedEvaluator:
    """Checks and runs model expressions/scripts against task data and a fixed function table.

    One instance can be shared between threads: per-call state lives in a ``_Run``, and the
    parse/check cache (keyed by source and mode) is an ``lru_cache``.
    """

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]],
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        max_size: int = 100_000,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        cache_size: int = 4096,
    ):
        bad = [name for name in functions if name.startswith("_") or not name.isidentifier()]
        if bad:
            raise ValueError(f"invalid function names: {bad}")
        self.functions: dict[str, Callable[..., Any]] = dict(functions)
        self.max_steps = max_steps
        self.max_size = max_size
        self.max_seconds = max_seconds
        self._compiled = lru_cache(maxsize=cache_size)(self._compile)

    def _tree(self, source: str, mode: Mode) -> Any:
        if not isinstance(source, str):  # also keeps unhashable values out of the cache
            raise ExpressionError(f"expression must be text, not {type(source).__name__}")
        return self._compiled(source, mode)

    def _compile(self, source: str, mode: Mode) -> ast.AST:
        tree = _parse_tree(source, mode)
        try:
            _Checker(self.functions, mode).run(tree)
        except ExpressionError as exc:
            exc.source = source
            raise
        return tree

    def check(self, source: str, mode: Mode) -> None:
        """Static allow-list check (deploy time). Raises UnsafeExpression (refused construct)
        or ExpressionError (syntax error), both with ``lineno`` when known."""
        self._tree(source, mode)

    def evaluate(self, source: str, names: Mapping[str, Any]) -> Any:
        """Value of one expression over ``names`` (task data, not modified)."""
        tree = self._tree(source, "eval")
        run = _Run(self, names)
        token = _CURRENT.set(run)
        try:
            return run.eval(tree.body)
        except ExpressionError as exc:
            exc.source = source
            raise
        finally:
            _CURRENT.reset(token)
            run.settle()

    def execute(self, source: str, names: dict[str, Any]) -> None:
        """Run a script; assignments to names write into ``names`` (task data) in place.

        On error, assignments made before the failing line stay in ``names``: the host should
        run scripts on a copy (or roll back) if it needs all-or-nothing.
        """
        if not isinstance(names, dict):
            raise TypeError("execute() needs a dict of task data")
        tree = self._tree(source, "exec")
        run = _Run(self, names)
        token = _CURRENT.set(run)
        try:
            run.run_script(tree.body)
        except ExpressionError as exc:
            exc.source = source
            raise
        finally:
            _CURRENT.reset(token)
            run.settle()


def referenced_names(source: str, mode: Mode = "eval") -> set[str]:
    """Names an expression/script reads from task data (deploy-time linting).

    Call targets (functions) and comprehension variables are excluded. For scripts this
    includes names the script itself assigned earlier.
    """
    tree = _parse_tree(source, mode)
    found: set[str] = set()

    def visit(node: ast.AST, bound: frozenset[str]) -> None:
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = set(bound)
            for i, gen in enumerate(node.generators):
                visit(gen.iter, bound if i == 0 else frozenset(inner))
                inner |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
                for sub in ast.walk(gen.target):
                    if isinstance(sub, ast.Subscript):
                        visit(sub, frozenset(inner))
                for cond in gen.ifs:
                    visit(cond, frozenset(inner))
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for part in parts:
                visit(part, frozenset(inner))
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            for child in [*node.args, *(kw.value for kw in node.keywords)]:
                visit(child, bound)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            found.add(node.id)
        for sub in ast.iter_child_nodes(node):
            visit(sub, bound)

    visit(tree, frozenset())
    return found
