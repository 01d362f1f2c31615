"""FEEL simple unary tests: every supported form, strict typing, and refusal of everything else."""

from __future__ import annotations

from datetime import date

import pytest

from app.engine.feel import FeelSyntaxError, compile_unary_tests, feel_repr, parse_literal


def matches(text: str, value) -> bool:
    return compile_unary_tests(text)(value)


@pytest.mark.parametrize("text", ["-", "", "   ", " - "])
@pytest.mark.parametrize("value", ["a", 0, 3.5, True, False, None, [1], {"a": 1}])
def test_dash_and_empty_match_anything(text, value):
    assert matches(text, value) is True


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('"social_care"', "social_care", True),
        ('"social_care"', "early_help", False),
        ('"social_care"', None, False),
        ('"a","b"', "a", True),
        ('"a","b"', "b", True),
        ('"a", "b"', "c", False),
        ('"not_met","early_help"', "early_help", True),
        ('not("a")', "b", True),
        ('not("a")', "a", False),
        ('not("a")', None, True),  # FEEL: null = "a" is false, so not("a") holds
        ('not("a","b")', "a", False),
        ('not("a","b")', "b", False),
        ('not("a","b")', "c", True),
        ('not( "a" , "b" )', "c", True),
        ('""', "", True),
        ('""', "x", False),
        (r'"say \"hi\""', 'say "hi"', True),
        (r'"back\\slash"', "back\\slash", True),
        (r'"tab\there"', "tab\there", True),
        (r'"\u00e9"', "é", True),
        ('"a,b"', "a,b", True),  # a comma inside a string is not a list separator
        ('"a,b"', "a", False),
        ('"not(x)"', "not(x)", True),
    ],
)
def test_strings_lists_and_not(text, value, expected):
    assert matches(text, value) is expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("< 5", 4, True),
        ("< 5", 5, False),
        ("<= 5", 5, True),
        ("<= 5", 5.5, False),
        ("> 5", 6, True),
        ("> 5", 5, False),
        (">= 5", 5, True),
        (">= 5", 4.99, False),
        ("<5", 4, True),
        ("> -2", -1, True),
        ("> -2", -3, False),
        ("< 2.5", 2.4, True),
        ("< .5", 0.4, True),
        ('< "m"', "a", True),
        ('< "m"', "z", False),
        ("5", 5, True),
        ("5", 5.0, True),
        ("5", 6, False),
        ("-5", -5, True),
        ("1.5", 1.5, True),
        ("1, 2, 3", 2, True),
        ("1, 2, 3", 4, False),
        ("< 0, > 10", 11, True),
        ("< 0, > 10", 5, False),
    ],
)
def test_numbers_and_comparisons(text, value, expected):
    assert matches(text, value) is expected


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("[1..5]", [1, 3, 5], [0, 5.1, 6]),
        ("(1..5)", [1.5, 4], [1, 5]),
        ("]1..5[", [2, 4.9], [1, 5]),
        ("[1..5)", [1, 4.99], [5, 0]),
        ("(1..5]", [5, 1.01], [1, 6]),
        ("[1..5[", [1], [5]),
        ("]1..5]", [5], [1]),
        ("[-5..-1]", [-5, -3, -1], [0, -6]),
        ("[0.5..1.5]", [0.5, 1, 1.5], [0.4, 1.6]),
        ('["a".."c"]', ["a", "b", "c"], ["d"]),
        (
            '[date("2026-01-01")..date("2026-12-31")]',
            [date(2026, 6, 1), "2026-06-01"],
            [date(2025, 12, 31), "2027-01-01"],
        ),
    ],
)
def test_intervals(text, inside, outside):
    test = compile_unary_tests(text)
    assert all(test(v) for v in inside)
    assert not any(test(v) for v in outside)


def test_interval_inside_a_list():
    test = compile_unary_tests("[1..2], [8..9]")
    assert [test(v) for v in (1, 5, 9)] == [True, False, True]


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("true", True, True),
        ("true", False, False),
        ("false", False, True),
        ("false", True, False),
        ("true", 1, False),  # strict: 1 is a number, not a boolean
        ("true", "true", False),
        ("1", True, False),  # ...and True is not the number 1
        ('"1"', 1, False),
        ("1", "1", False),
        ("false", 0, False),
        ("false", None, False),
        ("true", None, False),
        ("not(true)", False, True),
        ("not(true)", True, False),
        ("not(true)", 1, False),  # undetermined stays undetermined under not()
        ("not(true)", None, True),
        ("null", None, True),
        ("null", "", False),
        ("null", False, False),
        ("null", 0, False),
        ("not(null)", "x", True),
        ("not(null)", None, False),
        ('"a", null', None, True),
    ],
)
def test_booleans_and_null_are_strict(text, value, expected):
    assert matches(text, value) is expected


@pytest.mark.parametrize("text", ["< 5", "<= 5", "> 5", ">= 5", "[1..5]", '< "m"', "not(< 5)", "5", '"a"'])
def test_null_or_a_value_of_another_type_never_matches(text):
    for value in (None, True, {"x": 1}, [1]):
        assert matches(text, value) is False


def test_comparison_against_null_is_false_not_an_error():
    assert matches("< 5", None) is False
    assert matches("not(< 5)", None) is False  # undetermined, not "true by negation"


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('date("2026-01-01")', date(2026, 1, 1), True),
        ('date("2026-01-01")', "2026-01-01", True),  # JSON task data holds ISO strings
        ('date("2026-01-01")', "2026-01-02", False),
        ('< date("2026-01-01")', "2025-12-31", True),
        ('< date("2026-01-01")', "2026-01-01T00:00:00+00:00", False),  # an instant is not a date
        ('>= date("2026-01-01")', date(2026, 1, 1), True),
    ],
)
def test_dates(text, value, expected):
    assert matches(text, value) is expected


def test_compiled_predicate_returns_plain_bool_and_keeps_text():
    test = compile_unary_tests('"a","b"')
    assert test("a") is True and test("z") is False
    assert "a" in repr(test)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("= 5", "'='"),
        ("!= 5", "'!'"),
        ("? > 5", "'?'"),
        ("x", "name 'x'"),
        ("social_care", 'write text in double quotes, e.g. "social_care"'),
        ("urgent or x", "name 'urgent'"),
        ("in [1, 2]", "name 'in'"),
        ("'single'", '"\'"'),
        ('"unterminated', "unterminated string"),
        ('"a" "b"', "unexpected '\"b\"'"),
        ('"a",', "text ended"),
        (',"a"', "','"),
        ('"a",,"b"', "','"),
        ('not("a"', "')' to close not("),
        ("not", "'(' after not"),
        ('not("a") , "b"', "unexpected ','"),
        ('not(not("a"))', "name 'not'"),
        ("not(-)", "'-' (any value) must be the whole cell"),
        ("- 5", "'-' (any value) must be the whole cell"),
        ('"a", -', "'-' (any value) must be the whole cell"),
        ("< null", "null cannot be used"),
        ("< true", "true cannot be used in a comparison"),
        ("[true..false]", "true cannot be used"),
        ("<", "text ended"),
        ("< < 5", "'<'"),
        ("[1..5", "close the range"),
        ("[1 5]", "'..'"),
        ("[1..5}", "'}'"),
        ('[1.."z"]', "different types"),
        ("1..5", "unexpected '..'"),
        ("1 2", "unexpected '2'"),
        ("1e5", "unexpected 'e5'"),
        ('date("2026-13-01")', "not a valid date"),
        ("date(2026)", "date() needs a string"),
        ('date "2026-01-01"', "'(' after date"),
        (r'"\q"', "unknown escape"),
        ("count(x)", "name 'count'"),
        ("5 + 1", "'+'"),
        ("@", "'@'"),
    ],
)
def test_unsupported_text_is_refused_with_a_clear_message(text, fragment):
    with pytest.raises(FeelSyntaxError) as info:
        compile_unary_tests(text)
    message = str(info.value)
    assert fragment in message
    assert repr(text.strip()) in message  # the message quotes the cell


def test_feel_syntax_error_is_a_value_error():
    assert issubclass(FeelSyntaxError, ValueError)
    with pytest.raises(FeelSyntaxError):
        compile_unary_tests(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"RED"', "RED"),
        (' "PT4H" ', "PT4H"),
        ('""', ""),
        (r'"a \"quoted\" word"', 'a "quoted" word'),
        ("true", True),
        ("false", False),
        ("null", None),
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("2.5", 2.5),
        ("-0.25", -0.25),
    ],
)
def test_parse_literal(text, value):
    parsed = parse_literal(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "-",
        "urgent",
        "urgent or manager_attention",
        '"RED" if urgent else "NONE"',
        '"a","b"',
        "not(true)",
        "< 5",
        "[1..2]",
        'date("2026-01-01")',
        '"open',
        "null null",
    ],
)
def test_parse_literal_refuses_non_literals(text):
    with pytest.raises(FeelSyntaxError):
        parse_literal(text)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        ("RED", '"RED"'),
        ('a"b', r'"a\"b"'),
        (3, "3"),
        (date(2026, 1, 2), 'date("2026-01-02")'),
    ],
)
def test_feel_repr_shows_values_as_a_modeller_writes_them(value, shown):
    assert feel_repr(value) == shown
