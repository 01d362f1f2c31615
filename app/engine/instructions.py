"""Task instructions (``spiffworkflow:instructionsForEndUser``): the author's text with ``{{ }}`` placeholders.

Why this shape (issue 13): instructions are written by a model author and shown on a task page.
The author's own text is *text*: it is escaped, so a ``<meta http-equiv="refresh">`` or a fake
``<form>`` in it shows as characters, never as markup. Only ``{{ expression }}`` placeholders are
filled, each escaped; ``{% %}`` blocks and ``{# #}`` comments are plain text too.

A placeholder is a small Jinja expression from an allow-list, evaluated in Jinja's immutable
sandbox: data names, ``.attribute`` and ``["key"]`` lookups, constants, ``~`` (join text),
``a if b else c``, comparisons, ``and``/``or``/``not``, ``is defined``-style tests and a few
filters (``ALLOWED_FILTERS``). There are no calls, no arithmetic and no loops, so filling a
placeholder does work bounded by the size of the data it reads: a page view cannot be made slow
by the model (``range(3000)`` loops or ``("a"*50000000)|length`` are refused before anything runs).
Templates are checked when a model set is deployed (``check_instructions``), with file, element
and message; a template that was deployed before these rules shows its text as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

__all__ = [
    "ALLOWED_FILTERS",
    "MAX_OUTPUT_CHARS",
    "MAX_PLACEHOLDERS",
    "MAX_PLACEHOLDER_CHARS",
    "MAX_TEMPLATE_CHARS",
    "InstructionError",
    "check_instructions",
    "count_placeholders",
    "render_instructions",
]

MAX_TEMPLATE_CHARS = 20_000  # the whole instruction text
MAX_PLACEHOLDERS = 200  # {{ }} placeholders in one text
MAX_PLACEHOLDERS_PER_SET = 5_000  # placeholders checked in one model set (the repository's have ~90)
MAX_PLACEHOLDER_CHARS = 500  # one placeholder's expression
MAX_OUTPUT_CHARS = 20_000  # what one placeholder may put on the page (longer is cut)
MAX_DEPTH = 30  # nesting inside one placeholder
MAX_ARGUMENT_CHARS = 100  # a text constant given to a filter (e.g. a join separator)

ALLOWED_FILTERS = frozenset(
    {
        "default",
        "d",
        "upper",
        "lower",
        "title",
        "capitalize",
        "trim",
        "length",
        "count",
        "first",
        "last",
        "string",
        "int",
        "round",
        "join",
        "truncate",
    }
)
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "number", "string", "true", "false"})
_COMPARISONS = frozenset({"eq", "ne", "lt", "lteq", "gt", "gteq", "in", "notin"})

_ENV = ImmutableSandboxedEnvironment(autoescape=True)


class InstructionError(ValueError):
    """An instruction template outside the rules above; the message says which placeholder and why."""


@dataclass(frozen=True)
class _Part:
    text: str  # literal text, or the placeholder as written
    source: str | None = None  # the checked placeholder ("{{ ... }}"); None for literal text
    problem: str | None = None  # why a placeholder cannot be filled (shown as written)


def _check_node(node: nodes.Node, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InstructionError("too deeply nested")
    for kinds, check in _NODE_CHECKS:  # in order: And, Or and Not are also BinExpr / UnaryExpr
        if isinstance(node, kinds):
            check(node, depth + 1)
            return
    raise InstructionError(f"{type(node).__name__} is not allowed in a placeholder")


def _check_name(node: nodes.Name, d: int) -> None:
    if node.name.startswith("_"):
        raise InstructionError(f"names starting with '_' are not allowed ({node.name})")


def _check_const(node: nodes.Const, d: int) -> None:
    if type(node.value) not in (str, int, float, bool, type(None)):
        raise InstructionError(f"constant {node.value!r} is not allowed")


def _check_getattr(node: nodes.Getattr, d: int) -> None:
    if node.attr.startswith("_"):
        raise InstructionError(f"'.{node.attr}' is not allowed (names starting with '_')")
    _check_node(node.node, d)


def _check_getitem(node: nodes.Getitem, d: int) -> None:
    if not isinstance(node.arg, nodes.Const) or type(node.arg.value) not in (str, int):
        raise InstructionError('[...] takes a text or a whole number written out, e.g. child["first_name"]')
    if isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
        raise InstructionError(f"keys starting with '_' are not allowed ({node.arg.value})")
    _check_node(node.node, d)


def _check_filter_or_test(node: nodes.Filter | nodes.Test, d: int) -> None:
    allowed, what = (ALLOWED_FILTERS, "filter") if isinstance(node, nodes.Filter) else (ALLOWED_TESTS, "test")
    if node.name not in allowed:
        raise InstructionError(f"the {what} '{node.name}' is not allowed (allowed: {', '.join(sorted(allowed))})")
    if node.dyn_args is not None or node.dyn_kwargs is not None or node.kwargs:
        raise InstructionError(f"the {what} '{node.name}' takes only plain arguments")
    for arg in node.args:
        if not isinstance(arg, nodes.Const) or (isinstance(arg.value, str) and len(arg.value) > MAX_ARGUMENT_CHARS):
            raise InstructionError(f"the {what} '{node.name}' takes only short values written out as its arguments")
        if type(arg.value) is int and abs(arg.value) > 100_000:
            raise InstructionError(f"the {what} '{node.name}' argument {arg.value} is too large")
    if node.node is not None:
        _check_node(node.node, d)


def _check_condexpr(node: nodes.CondExpr, d: int) -> None:
    for part in (node.test, node.expr1, node.expr2):
        if part is not None:
            _check_node(part, d)


def _check_concat(node: nodes.Concat, d: int) -> None:
    for part in node.nodes:
        _check_node(part, d)


def _check_compare(node: nodes.Compare, d: int) -> None:
    _check_node(node.expr, d)
    for operand in node.ops:
        if operand.op not in _COMPARISONS:
            raise InstructionError(f"the comparison '{operand.op}' is not allowed")
        _check_node(operand.expr, d)


def _check_and_or(node: nodes.And | nodes.Or, d: int) -> None:
    _check_node(node.left, d)
    _check_node(node.right, d)


def _check_not(node: nodes.Not, d: int) -> None:
    _check_node(node.node, d)


def _refuse_call(node: nodes.Call, d: int) -> None:
    raise InstructionError("calling a function is not allowed in a placeholder (e.g. range(...))")


def _refuse_arithmetic(node: nodes.BinExpr | nodes.UnaryExpr, d: int) -> None:
    raise InstructionError(
        f"arithmetic ('{getattr(node, 'operator', '?')}') is not allowed in a placeholder: use ~ to join text"
    )


# What a placeholder may hold, each kind with its check; anything else is refused.
_NODE_CHECKS: tuple[tuple[type[nodes.Node] | tuple[type[nodes.Node], ...], Callable[[Any, int], None]], ...] = (
    (nodes.Name, _check_name),
    (nodes.Const, _check_const),
    (nodes.Getattr, _check_getattr),
    (nodes.Getitem, _check_getitem),
    ((nodes.Filter, nodes.Test), _check_filter_or_test),
    (nodes.CondExpr, _check_condexpr),
    (nodes.Concat, _check_concat),
    (nodes.Compare, _check_compare),
    ((nodes.And, nodes.Or), _check_and_or),
    (nodes.Not, _check_not),
    (nodes.Call, _refuse_call),
    ((nodes.BinExpr, nodes.UnaryExpr), _refuse_arithmetic),
)


def _check_placeholder(expression: str) -> str:
    """The placeholder as one-expression template source, after the allow-list check (parsing only:
    compiling costs ~10 times more, so it waits until a page first shows the placeholder)."""
    if len(expression) > MAX_PLACEHOLDER_CHARS:
        raise InstructionError(f"placeholder longer than {MAX_PLACEHOLDER_CHARS} characters")
    if not expression.strip():
        raise InstructionError("empty placeholder {{ }}: write a data name inside, e.g. {{ child.first_name }}")
    source = "{{" + expression + "}}"
    try:
        tree = _ENV.parse(source)
    except TemplateError as err:
        raise InstructionError(f"cannot read it: {err}") from None
    except (RecursionError, MemoryError):
        raise InstructionError("too deeply nested") from None
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        raise InstructionError("a placeholder holds one expression")
    _check_node(body[0].nodes[0], 0)
    return source


@lru_cache(maxsize=2048)
def _template(source: str) -> Template:
    """A checked placeholder compiled in the sandbox (parse + allow-list passed, so this succeeds:
    every filter and test allowed is one Jinja knows)."""
    return _ENV.from_string(source)


def _split(text: str) -> tuple[list[_Part], list[str]]:
    """The text as literal and placeholder parts, and a problem per placeholder that cannot be filled."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise InstructionError(f"the instructions are longer than {MAX_TEMPLATE_CHARS} characters: shorten them")
    parts: list[_Part] = []
    problems: list[str] = []
    position = 0
    count = 0
    while True:  # find each "{{ ... }}" with str.find: linear, whatever the text (a regex could backtrack)
        start = text.find("{{", position)
        end = text.find("}}", start + 2) if start >= 0 else -1
        if end < 0:
            break
        count += 1
        if count > MAX_PLACEHOLDERS:
            raise InstructionError(f"more than {MAX_PLACEHOLDERS} {{{{ }}}} placeholders: use fewer")
        if start > position:
            parts.append(_Part(text[position:start]))
        written = text[start : end + 2]
        try:
            parts.append(_Part(written, _check_placeholder(written[2:-2])))
        except InstructionError as err:
            shown = written if len(written) <= 80 else written[:77] + "...}}"
            problems.append(f"placeholder {shown}: {err}")
            parts.append(_Part(written, None, str(err)))
        position = end + 2
    if position < len(text):
        parts.append(_Part(text[position:]))
    return parts, problems


@lru_cache(maxsize=512)
def _parts(text: str) -> tuple[tuple[_Part, ...], tuple[str, ...]]:
    try:
        parts, problems = _split(text)
    except InstructionError as err:
        return (_Part(text, None, str(err)),), (str(err),)
    return tuple(parts), tuple(problems)


def _fill(part: _Part, data: Mapping[str, Any]) -> str:
    """One placeholder's escaped output; the placeholder as written (escaped) if it cannot be filled."""
    if part.source is None:
        return str(escape(part.text))
    try:
        out = _template(part.source).render(data)  # autoescaped by the environment
    except Exception:
        return str(escape(part.text))
    if len(out) > MAX_OUTPUT_CHARS:  # cut, without leaving half an escaped character
        out = re.sub(r"&[#\w]*$", "", out[:MAX_OUTPUT_CHARS]) + "…"
    return out


def count_placeholders(text: str | None) -> int:
    """How many ``{{`` a text holds (cheap: lets a validation bound the work of checking them all)."""
    return text.count("{{") if text else 0


def check_instructions(text: str | None) -> list[str]:
    """Problems with an instruction text (deploy time): too long a text, too many placeholders, each
    placeholder that cannot be read or is outside the allow-list, and ``{% %}`` blocks (they would show
    as text). A placeholder that passes can always be filled: it reads data, it computes nothing."""
    if not text:
        return []
    _, problems = _parts(text)
    found = list(problems)
    if "{%" in text:
        found.append(
            "'{% ... %}' blocks are not run in instructions, they would show as text: only {{ }} "
            "placeholders are filled"
        )
    return found


def render_instructions(text: str | None, data: Mapping[str, Any]) -> Markup | None:
    """The instructions as safe HTML: literal text escaped, each placeholder filled and escaped."""
    if not text:
        return None
    parts, _ = _parts(text)
    names = {k: v for k, v in dict(data).items() if isinstance(k, str)}
    return Markup("".join(_fill(part, names) for part in parts))
