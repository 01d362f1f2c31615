"""FEEL simple unary tests (DMN 1.3 §9.5) and FEEL literals, compiled once to Python predicates.

Why our own: SpiffWorkflow's DMN engine treats cells as Python text, so FEEL such as
`not("advice")` or `"a","b"` silently never matches (reference/spiffworkflow-3.2.md §3). A
decision table that quietly falls through to its "otherwise" row is a safeguarding risk, so
every cell is compiled at deploy time and anything outside the subset below is refused with a
`FeelSyntaxError` rather than evaluated loosely.

Supported input entries:

- `-` or empty: matches anything (including null)
- a literal: `"text"`, `5`, `-2.5`, `true`, `false`, `null`, `date("2026-01-01")`
- a comparison: `< 5`, `<= 5`, `> 5`, `>= 5` (numbers, strings or dates)
- an interval: `[1..5]`, `(1..5)`, `]1..5[`, `[1..5)` ...
- a list of the above (`"a","b"`: any one matches) and `not(...)` around a list

Semantics follow FEEL's three-valued logic: a test against a value of another type (e.g. `true`
against `1`, `"1"` against `1`, `< 5` against null) is *undetermined*, which never matches, and
`not(...)` of an undetermined result is still undetermined. Equality with null is defined:
`"a"` does not match null, so `not("a")` does match null.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["FeelSyntaxError", "UnaryTests", "compile_unary_tests", "feel_repr", "parse_literal"]


class FeelSyntaxError(ValueError):
    """A FEEL cell outside the supported subset; the message quotes the offending text."""


# One three-valued test: True (match), False (no match) or None (undetermined: never a match).
_Test = Callable[[Any], bool | None]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<dotdot>\.\.)
  | (?P<number>-?(?:\d+(?:\.\d+)?|\.\d+))
  | (?P<op><=|>=|<|>)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[\[\]\(\),-])
    """,
    re.VERBOSE,
)
_ESCAPES = {'"': '"', "\\": "\\", "'": "'", "n": "\n", "t": "\t", "r": "\r"}
MAX_FEEL_CHARS = 20_000  # one cell (docs/safety.md, "Limits")
MAX_NUMBER_CHARS = 40  # one number: more digits than any decision needs
_KEYWORDS = {"true": True, "false": False}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    value: Any
    pos: int


def _unescape(body: str, text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]  # the token regex guarantees a character after a backslash
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise FeelSyntaxError(f"unknown escape '\\{nxt}' in string in FEEL text {text!r}")
    return "".join(out)


def _number(lexeme: str) -> int | float:
    """Integers stay int and decimals become float so values are JSON types as task data needs."""
    if re.fullmatch(r"-?\d+", lexeme):
        return int(lexeme)
    return float(Decimal(lexeme))


def _tokenize(text: str) -> list[_Tok]:
    if len(text) > MAX_FEEL_CHARS:
        raise FeelSyntaxError(f"FEEL text too long: more than {MAX_FEEL_CHARS} characters ({text[:80]!r}...)")
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            bad = text[pos]
            if bad == '"':
                raise FeelSyntaxError(f"unterminated string at position {pos} in FEEL text {text!r}")
            raise FeelSyntaxError(f"unexpected character {bad!r} at position {pos} in FEEL text {text!r}")
        kind = m.lastgroup or ""
        lexeme = m.group()
        if kind == "string":
            toks.append(_Tok("literal", lexeme, _unescape(lexeme[1:-1], text), pos))
        elif kind == "number":
            if len(lexeme) > MAX_NUMBER_CHARS:
                raise FeelSyntaxError(
                    f"number too long at position {pos}: more than {MAX_NUMBER_CHARS} characters "
                    f"in FEEL text {text[:80]!r}..."
                )
            toks.append(_Tok("literal", lexeme, _number(lexeme), pos))
        elif kind == "name" and lexeme in _KEYWORDS:
            toks.append(_Tok("literal", lexeme, _KEYWORDS[lexeme], pos))
        elif kind == "name" and lexeme == "null":
            toks.append(_Tok("null", lexeme, None, pos))
        elif kind != "ws":
            toks.append(_Tok(kind if kind in ("name", "op", "dotdot") else lexeme, lexeme, None, pos))
        pos = m.end()
    return toks


def _kind_of(value: Any) -> str | None:
    """FEEL type family of a value; bool is not a number (so `true` never matches 1)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, date):
        return "date"
    return None


def _coerce(value: Any, kind: str) -> Any:
    """Task data holds JSON, so a date test accepts an ISO `YYYY-MM-DD` string input."""
    if kind == "date" and isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    # -- helpers -----------------------------------------------------------------
    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _next(self, what: str) -> _Tok:
        tok = self._peek()
        if tok is None:
            raise self._error(f"expected {what} but the text ended")
        self.i += 1
        return tok

    def _expect(self, kind: str, what: str) -> _Tok:
        tok = self._next(what)
        if tok.kind != kind:
            raise self._error(f"expected {what} but found {tok.text!r} at position {tok.pos}")
        return tok

    def _error(self, problem: str) -> FeelSyntaxError:
        return FeelSyntaxError(f"{problem} in FEEL text {self.text!r}")

    def _end(self) -> None:
        tok = self._peek()
        if tok is not None:
            raise self._error(f"unexpected {tok.text!r} at position {tok.pos}")

    # -- grammar -----------------------------------------------------------------
    def literal(self) -> Any:
        """simple literal: string | number | true | false | date("...")."""
        tok = self._next("a value")
        if tok.kind == "literal":
            return tok.value
        if tok.kind == "name" and tok.text == "date":
            self._expect("(", "'(' after date")
            arg = self._expect("literal", 'a "YYYY-MM-DD" string')
            self._expect(")", "')' to close date(")
            if not isinstance(arg.value, str):
                raise self._error("date() needs a string argument")
            try:
                return date.fromisoformat(arg.value)
            except ValueError:
                raise self._error(f"{arg.value!r} is not a valid date (YYYY-MM-DD)") from None
        if tok.kind == "null":
            raise self._error("null cannot be used in a comparison, range or date()")
        if tok.kind == "name":
            raise self._error(
                f'name {tok.text!r} is not supported here (write text in double quotes, e.g. "{tok.text}")'
            )
        raise self._error(f"expected a value but found {tok.text!r} at position {tok.pos}")

    def ordered_literal(self) -> Any:
        value = self.literal()
        if _kind_of(value) not in ("number", "string", "date"):
            shown = feel_repr(value)
            raise self._error(f"{shown} cannot be used in a comparison or range (only numbers, strings, dates)")
        return value

    def positive_test(self) -> _Test:
        tok = self._peek()
        if tok is None:
            raise self._error("expected a test but the text ended")
        if tok.kind == "null":
            self.i += 1
            return lambda x: x is None
        if tok.kind == "op":
            self.i += 1
            return _comparison(tok.text, self.ordered_literal())
        if tok.kind in ("[", "]", "("):
            return self.interval()
        if tok.kind == "-":
            raise self._error("'-' (any value) must be the whole cell")
        return _equals(self.literal())

    def interval(self) -> _Test:
        opener = self._next("an interval")
        low = self.ordered_literal()
        self._expect("dotdot", "'..' in the range")
        high = self.ordered_literal()
        closer = self._next("']', '[' or ')' to close the range")
        if closer.kind not in ("]", "[", ")"):
            raise self._error(f"expected ']', '[' or ')' to close the range but found {closer.text!r}")
        if _kind_of(low) != _kind_of(high):
            raise self._error(f"range ends {feel_repr(low)} and {feel_repr(high)} are of different types")
        low_inclusive = opener.kind == "["
        high_inclusive = closer.kind == "]"
        lower = _comparison(">=" if low_inclusive else ">", low)
        upper = _comparison("<=" if high_inclusive else "<", high)

        def test(x: Any) -> bool | None:
            a, b = lower(x), upper(x)
            if a is None or b is None:
                return None
            return a and b

        return test

    def positive_tests(self) -> _Test:
        tests = [self.positive_test()]
        while (tok := self._peek()) is not None and tok.kind == ",":
            self.i += 1
            tests.append(self.positive_test())
        return tests[0] if len(tests) == 1 else _any_of(tests)

    def unary_tests(self) -> _Test:
        tok = self._peek()
        if tok is not None and tok.kind == "name" and tok.text == "not":
            self.i += 1
            self._expect("(", "'(' after not")
            inner = self.positive_tests()
            self._expect(")", "')' to close not(")
            self._end()
            return lambda x: None if (r := inner(x)) is None else not r
        test = self.positive_tests()
        self._end()
        return test


def feel_repr(value: Any) -> str:
    """Show a value as a modeller would write it in a cell (`true`, `null`, `"RED"`), for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, date):
        return f'date("{value.isoformat()}")'
    return repr(value)


def _equals(expected: Any) -> _Test:
    kind = _kind_of(expected)

    def test(x: Any) -> bool | None:
        if x is None:
            return False  # FEEL: null = "a" is false, so not("a") matches null
        x = _coerce(x, kind or "")
        if _kind_of(x) != kind:
            return None
        return bool(x == expected)

    return test


def _comparison(op: str, bound: Any) -> _Test:
    kind = _kind_of(bound)

    def test(x: Any) -> bool | None:
        x = _coerce(x, kind or "")
        if x is None or _kind_of(x) != kind:
            return None
        if op == "<":
            return bool(x < bound)
        if op == "<=":
            return bool(x <= bound)
        if op == ">":
            return bool(x > bound)
        return bool(x >= bound)

    return test


def _any_of(tests: list[_Test]) -> _Test:
    def test(x: Any) -> bool | None:
        undetermined = False
        for t in tests:
            r = t(x)
            if r:
                return True
            undetermined = undetermined or r is None
        return None if undetermined else False

    return test


@dataclass(frozen=True)
class UnaryTests:
    """A compiled input entry: call it with the input value to get a strict bool."""

    text: str
    _test: _Test

    def __call__(self, value: Any) -> bool:
        return self._test(value) is True

    def __repr__(self) -> str:
        return f"UnaryTests({self.text!r})"


def compile_unary_tests(text: str) -> Callable[[Any], bool]:
    """Compile a FEEL simple-unary-tests cell once; raise FeelSyntaxError if outside the subset."""
    if not isinstance(text, str):
        raise FeelSyntaxError(f"FEEL unary tests must be text, not {type(text).__name__}")
    stripped = text.strip()
    if stripped in ("", "-"):
        return UnaryTests(text, lambda x: True)
    return UnaryTests(text, _Parser(stripped).unary_tests())


def parse_literal(text: str) -> Any:
    """Parse one FEEL literal (string, number, true, false, null) as used in output entries.

    Raises FeelSyntaxError when the text is anything else (e.g. an expression); callers use
    that to decide whether an output entry is a literal or an expression.
    """
    stripped = text.strip()
    if not stripped:
        raise FeelSyntaxError("empty text is not a FEEL literal")
    parser = _Parser(stripped)
    if len(parser.toks) == 1 and parser.toks[0].kind == "null":
        return None
    tok = parser._next("a literal")
    if tok.kind != "literal":
        raise parser._error(f"{tok.text!r} is not a FEEL literal")
    parser._end()
    return tok.value
