"""The template helper functions (``fastctx._functions``)."""

from __future__ import annotations

import copy
import math

import pytest

import fastctx._functions as functions_module
import fastctx.limits
from fastctx._functions import (
    HELPERS,
    fn_abs,
    fn_bool,
    fn_ceil,
    fn_chunks,
    fn_contains,
    fn_count,
    fn_ends_with,
    fn_flat,
    fn_float,
    fn_floor,
    fn_index_of,
    fn_int,
    fn_join,
    fn_keys,
    fn_length,
    fn_lower,
    fn_match,
    fn_max,
    fn_merge,
    fn_min,
    fn_number,
    fn_range,
    fn_replace,
    fn_reversed,
    fn_round,
    fn_slice,
    fn_sort,
    fn_split,
    fn_starts_with,
    fn_string,
    fn_sum,
    fn_trim,
    fn_type_of,
    fn_unique,
    fn_upper,
    fn_values,
    fn_zip,
)
from fastctx.errors import (
    ContextError,
    InvalidExpression,
    LimitExceeded,
    TypeConversion,
)

SECRET = "s3cr3t-value"

ALL_NAMES = {
    "string", "number", "int", "float", "bool",
    "type_of", "length", "keys", "values",
    "abs", "floor", "ceil", "round", "min", "max", "sum",
    "lower", "upper", "trim", "split", "join", "replace", "starts_with", "ends_with", "match",
    "contains", "reversed", "sort", "unique", "flat", "zip", "range", "slice", "index_of",
    "count", "merge", "chunks",
}  # fmt: skip


# -- the table ------------------------------------------------------------------------------


def test_helpers_has_exactly_the_documented_names():
    assert set(HELPERS) == ALL_NAMES


def test_helpers_map_to_the_fn_functions():
    for name, function in HELPERS.items():
        assert getattr(functions_module, f"fn_{name}") is function
        assert callable(function)


def test_all_lists_every_export():
    exported = set(functions_module.__all__)
    helpers = {f"fn_{name}" for name in ALL_NAMES}
    assert helpers | {"HELPERS", "check_join", "check_replace"} == exported
    for name in exported:
        assert hasattr(functions_module, name)


# -- string ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (5, "5"),
        (-3, "-3"),
        (1.5, "1.5"),
        (1.0, "1.0"),
        (1e20, "1e+20"),
        (None, ""),
        ([1, "a", None, True], '[1,"a",null,true]'),
        ({"b": 1, "a": [2]}, '{"b":1,"a":[2]}'),
        ({"é": "ü"}, '{"é":"ü"}'),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_string(value, expected):
    assert fn_string(value) == expected


def test_string_of_other_objects_is_refused():
    # only data prints: never a Python repr or a memory address, even with a __str__
    class Thing:
        def __str__(self):
            return "thing"

    with pytest.raises(TypeConversion, match="a Thing is not data"):
        fn_string(Thing())


def test_string_of_an_iterator_prints_its_members():
    assert fn_string(iter([1, "a"])) == '[1,"a"]'
    assert fn_string(map(str, [1, 2])) == '["1","2"]'


def test_string_keeps_key_order():
    assert fn_string({"z": 1, "a": 2, "m": 3}) == '{"z":1,"a":2,"m":3}'


# -- number ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        (-2.5, -2.5),
        (True, 1),
        (False, 0),
        ("42", 42),
        ("  42\n", 42),
        ("-7", -7),
        ("+7", 7),
        ("3.25", 3.25),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("-0.0", -0.0),
    ],
)
def test_number(value, expected):
    result = fn_number(value)
    assert result == expected
    assert type(result) is type(expected)


def test_number_keeps_float_special_values_given_as_numbers():
    assert math.isinf(fn_number(math.inf))


@pytest.mark.parametrize(
    "text",
    ["nan", "NaN", "-nan", "inf", "-inf", "+Inf", "INFINITY", "-Infinity", " infinity ", "1e999"],
)
def test_number_rejects_non_finite_strings(text):
    with pytest.raises(TypeConversion, match=r"number\(\)"):
        fn_number(text)


@pytest.mark.parametrize("text", ["", "   ", "abc", "1,5", "0x10", "1.2.3", "5 apples"])
def test_number_rejects_unparsable_strings(text):
    with pytest.raises(TypeConversion, match=r"number\(\) cannot convert"):
        fn_number(text)


@pytest.mark.parametrize(
    ("value", "type_name"), [(None, "null"), ([1], "array"), ({"a": 1}, "object")]
)
def test_number_rejects_other_types(value, type_name):
    with pytest.raises(TypeConversion, match=rf"number\(\).*got {type_name}"):
        fn_number(value)


def test_parse_error_has_no_chained_exception():
    with pytest.raises(TypeConversion) as info:
        fn_number(SECRET)
    assert info.value.__context__ is None
    assert info.value.__cause__ is None


# -- int ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        (2.9, 2),
        (-2.9, -2),
        (0.5, 0),
        (True, 1),
        (False, 0),
        ("12", 12),
        (" 12 ", 12),
        ("12.9", 12),
        ("-12.9", -12),
        ("1e3", 1000),
        (1e20, 10**20),
    ],
)
def test_int(value, expected):
    result = fn_int(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "inf"])
def test_int_rejects_non_finite(value):
    with pytest.raises(TypeConversion, match=r"int\(\)"):
        fn_int(value)


@pytest.mark.parametrize("value", ["x", None, [], {}])
def test_int_rejects_bad_values(value):
    with pytest.raises(TypeConversion, match=r"int\(\)"):
        fn_int(value)


# -- float ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3.0), (2.5, 2.5), (True, 1.0), (False, 0.0), ("4", 4.0), ("-1.5", -1.5), ("1e2", 100.0)],
)
def test_float(value, expected):
    result = fn_float(value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize("value", ["nan", "-Infinity", "x", None, [1], {}])
def test_float_rejects(value):
    with pytest.raises(TypeConversion, match=r"float\(\)"):
        fn_float(value)


def test_float_of_a_huge_int_is_a_type_conversion():
    with pytest.raises(TypeConversion, match=r"float\(\).*out of range"):
        fn_float(10**400)


# -- bool -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["true", "x", "false", "no", "0", "off", " ", "null"])
def test_bool_of_a_string_is_plain_truthiness(text):
    # as a bare condition is judged: any non-empty string is true, whatever its words
    assert fn_bool(text) is True


def test_bool_of_the_empty_string_is_false():
    assert fn_bool("") is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (0, False),
        (0.0, False),
        ([], False),
        ({}, False),
        (False, False),
        (True, True),
        (1, True),
        (-0.5, True),
        ([0], True),
        ({"a": None}, True),
    ],
)
def test_bool_truthiness_of_other_types(value, expected):
    assert fn_bool(value) is expected


# -- introspection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "bool"),
        (False, "bool"),
        (0, "number"),
        (1.5, "number"),
        ("", "string"),
        ([], "array"),
        ({}, "object"),
    ],
)
def test_type_of(value, expected):
    assert fn_type_of(value) == expected


@pytest.mark.parametrize(("value", "expected"), [("abc", 3), ("", 0), ([1, 2], 2), ({"a": 1}, 1)])
def test_length(value, expected):
    assert fn_length(value) == expected


@pytest.mark.parametrize(
    ("value", "type_name"), [(5, "number"), (None, "null"), (True, "bool"), (1.5, "number")]
)
def test_length_rejects_other_types(value, type_name):
    with pytest.raises(TypeConversion) as info:
        fn_length(value)
    assert str(info.value) == f"length() expects a string, array or object, got {type_name}"


def test_keys_and_values():
    data = {"b": 1, "a": [2]}
    assert fn_keys(data) == ["b", "a"]
    assert fn_values(data) == [1, [2]]
    assert fn_keys({}) == []
    assert fn_values({}) == []


@pytest.mark.parametrize("value", [[1], "ab", None, 3])
def test_keys_and_values_reject_non_objects(value):
    with pytest.raises(TypeConversion, match=r"keys\(\) expects an object"):
        fn_keys(value)
    with pytest.raises(TypeConversion, match=r"values\(\) expects an object"):
        fn_values(value)


# -- math -----------------------------------------------------------------------------------


def test_abs():
    assert fn_abs(-3) == 3
    assert fn_abs(3) == 3
    assert fn_abs(-2.5) == 2.5
    assert type(fn_abs(-3)) is int


@pytest.mark.parametrize(
    ("value", "floor", "ceil"),
    [(2.5, 2, 3), (-2.5, -3, -2), (3, 3, 3), (-0.1, -1, 0), (4.0, 4, 4), (10**30, 10**30, 10**30)],
)
def test_floor_and_ceil(value, floor, ceil):
    assert fn_floor(value) == floor
    assert fn_ceil(value) == ceil
    assert type(fn_floor(value)) is int
    assert type(fn_ceil(value)) is int


@pytest.mark.parametrize("function", [fn_floor, fn_ceil, fn_round])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_floor_ceil_round_reject_non_finite(function, value):
    with pytest.raises(TypeConversion, match="non-finite"):
        function(value)


@pytest.mark.parametrize("function", [fn_abs, fn_floor, fn_ceil, fn_round])
@pytest.mark.parametrize(
    ("value", "type_name"),
    [(True, "bool"), ("3", "string"), (None, "null"), ([1], "array"), ({}, "object")],
)
def test_math_rejects_non_numbers(function, value, type_name):
    with pytest.raises(TypeConversion, match=f"expects a number, got {type_name}"):
        function(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.5, 4),
        (2.5, 3),
        (-2.5, -3),
        (-3.5, -4),
        (0.5, 1),
        (-0.5, -1),
        (2.4, 2),
        (-2.4, -2),
        (0.49999999999999994, 0),
        (4503599627370495.5, 4503599627370496),
        (7, 7),
        (-7, -7),
    ],
)
def test_round_half_away_from_zero(value, expected):
    result = fn_round(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (2.675, 2, 2.68),
        (-1.25, 1, -1.3),
        (1.25, 1, 1.3),
        (3.14159, 3, 3.142),
        (-0.004, 2, 0.0),
        (1e-10, 400, 1e-10),
        (123.456, 20, 123.456),
        (2.0**60 + 0.0, 2, 2.0**60),
    ],
)
def test_round_with_digits(value, digits, expected):
    result = fn_round(value, digits)
    assert result == expected
    assert type(result) is float


def test_round_never_gives_negative_zero():
    assert math.copysign(1.0, fn_round(-0.004, 2)) == 1.0


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (1250, -2, 1300),
        (-1250, -2, -1300),
        (1249, -2, 1200),
        (1234.5, -2, 1200),
        (-1250.0, -2, -1300),
        (5, -1, 10),
        (4, -1, 0),
        (12345, -(10**9), 0),
        (123.0, -(10**9), 0),
        (10**30 + 5 * 10**9, -10, 10**30 + 10**10),
        (2.0**60, -1, 1152921504606846980),
    ],
)
def test_round_with_negative_digits(value, digits, expected):
    result = fn_round(value, digits)
    assert result == expected
    assert type(result) is int


def test_round_int_with_positive_digits_stays_int():
    assert fn_round(5, 2) == 5
    assert type(fn_round(5, 2)) is int


@pytest.mark.parametrize("digits", [1.5, True, "2", None])
def test_round_rejects_bad_digits(digits):
    with pytest.raises(TypeConversion, match=r"round\(\)"):
        fn_round(1.5, digits)


def test_min_and_max_of_arguments():
    assert fn_min(3, 1, 2) == 1
    assert fn_max(3, 1, 2) == 3
    assert fn_min(1.5, -2) == -2
    assert fn_max("a", "b") == "b"


def test_min_and_max_of_one_list():
    assert fn_min([4, 2, 8]) == 2
    assert fn_max([4, 2, 8]) == 8
    assert fn_max([7]) == 7
    assert fn_min(["b", "a"]) == "a"


def test_min_and_max_of_several_lists_compare_the_lists():
    assert fn_max([1, 2], [1, 3]) == [1, 3]


@pytest.mark.parametrize("function", [fn_min, fn_max])
def test_min_and_max_of_nothing(function):
    with pytest.raises(InvalidExpression):
        function()
    with pytest.raises(InvalidExpression):
        function([])


@pytest.mark.parametrize("function", [fn_min, fn_max])
def test_min_and_max_of_incomparable_values(function):
    with pytest.raises(TypeConversion, match="cannot be compared"):
        function(1, "a")
    with pytest.raises(TypeConversion, match="cannot be compared"):
        function([None, 1])
    with pytest.raises(TypeConversion, match="cannot be compared"):
        function([{}, {}])


@pytest.mark.parametrize("function", [fn_min, fn_max])
def test_min_and_max_of_one_non_list(function):
    with pytest.raises(TypeConversion, match="expects an array, got number"):
        function(5)


def test_sum():
    assert fn_sum([1, 2, 3]) == 6
    assert type(fn_sum([1, 2, 3])) is int
    assert fn_sum([1, 2.5]) == 3.5
    assert type(fn_sum([1, 2.0])) is float
    assert fn_sum([]) == 0
    assert type(fn_sum([])) is int


@pytest.mark.parametrize("values", [[1, "2"], [True], [None], [[1]]])
def test_sum_rejects_non_numbers(values):
    with pytest.raises(TypeConversion, match=r"sum\(\) expects an array of numbers"):
        fn_sum(values)


def test_sum_rejects_non_lists():
    with pytest.raises(TypeConversion, match=r"sum\(\) expects an array, got object"):
        fn_sum({"a": 1})


# -- strings --------------------------------------------------------------------------------


def test_lower_upper_trim():
    assert fn_lower("AbC") == "abc"
    assert fn_upper("AbC") == "ABC"
    assert fn_trim("  a b \n\t") == "a b"
    assert fn_trim("") == ""


@pytest.mark.parametrize("function", [fn_lower, fn_upper, fn_trim])
@pytest.mark.parametrize("value", [1, None, ["a"], {"a": "b"}, True])
def test_string_functions_reject_non_strings(function, value):
    with pytest.raises(TypeConversion, match="expects a string"):
        function(value)


def test_split():
    assert fn_split("a,b,,c", ",") == ["a", "b", "", "c"]
    assert fn_split("  a  b ") == ["a", "b"]
    assert fn_split("a b", None) == ["a", "b"]
    assert fn_split("", ",") == [""]
    assert fn_split("") == []
    assert fn_split("a--b", "--") == ["a", "b"]


def test_split_errors():
    with pytest.raises(InvalidExpression, match="empty"):
        fn_split("abc", "")
    with pytest.raises(TypeConversion):
        fn_split(5, ",")
    with pytest.raises(TypeConversion):
        fn_split("a,b", 1)


def test_join():
    assert fn_join(["a", "b", "c"], ",") == "a,b,c"
    assert fn_join(["a", "b"]) == "ab"
    assert fn_join([]) == ""
    assert fn_join([1, 2.5, True, None, [1], {"a": 1}], "|") == '1|2.5|true||[1]|{"a":1}'


def test_join_errors():
    with pytest.raises(TypeConversion, match=r"join\(\) expects an array, got string"):
        fn_join("abc", ",")
    with pytest.raises(TypeConversion, match=r"join\(\) expects a string"):
        fn_join(["a"], 1)


def test_replace():
    assert fn_replace("a-b-c", "-", "+") == "a+b+c"
    assert fn_replace("abc", "x", "y") == "abc"
    assert fn_replace("aaa", "a", "") == ""


@pytest.mark.parametrize("args", [(1, "a", "b"), ("a", 1, "b"), ("a", "b", None)])
def test_replace_rejects_non_strings(args):
    with pytest.raises(TypeConversion, match=r"replace\(\)"):
        fn_replace(*args)


def test_starts_with_and_ends_with():
    assert fn_starts_with("hello", "he") is True
    assert fn_starts_with("hello", "lo") is False
    assert fn_ends_with("hello", "lo") is True
    assert fn_ends_with("hello", "he") is False
    assert fn_starts_with("x", "") is True


@pytest.mark.parametrize("function", [fn_starts_with, fn_ends_with])
def test_starts_with_and_ends_with_reject_non_strings(function):
    with pytest.raises(TypeConversion):
        function(["a"], "a")
    with pytest.raises(TypeConversion):
        function("a", 1)


def test_match_searches():
    assert fn_match(r"\d+", "abc123") is True
    assert fn_match(r"^\d+$", "abc123") is False
    assert fn_match("b", "abc") is True
    assert fn_match("", "") is True


def test_match_bad_pattern():
    with pytest.raises(InvalidExpression, match=r"match\(\).*pattern"):
        fn_match("(unclosed", "x")


def test_match_rejects_non_strings():
    with pytest.raises(TypeConversion):
        fn_match(1, "x")
    with pytest.raises(TypeConversion):
        fn_match("x", None)


def test_match_cache_is_bounded():
    from fastctx import _regex

    _regex._cache.clear()
    for i in range(600):
        fn_match(f"a{i}", "a1")
    assert len(_regex._cache) <= 256
    assert fn_match("a599", "xa599") is True


# -- collections ----------------------------------------------------------------------------


def test_contains_string():
    assert fn_contains("hello", "ell") is True
    assert fn_contains("hello", "xyz") is False
    assert fn_contains("hello", "") is True


def test_contains_string_needs_a_string_item():
    with pytest.raises(TypeConversion, match=r"contains\(\).*got number"):
        fn_contains("123", 1)


def test_contains_list():
    assert fn_contains([1, "a", None], "a") is True
    assert fn_contains([1, "a", None], None) is True
    assert fn_contains([1, 2], 3) is False
    assert fn_contains([{"a": [1]}], {"a": [1]}) is True
    assert fn_contains([[1, 2]], [1, 2]) is True
    assert fn_contains([1], 1.0) is True


def test_contains_list_keeps_booleans_apart_from_numbers():
    assert fn_contains([1], True) is False
    assert fn_contains([True], 1) is False
    assert fn_contains([0], False) is False
    assert fn_contains([[1]], [True]) is False
    assert fn_contains([True], True) is True


def test_contains_dict_checks_keys():
    assert fn_contains({"a": 1}, "a") is True
    assert fn_contains({"a": 1}, 1) is False
    assert fn_contains({"a": 1}, "b") is False
    assert fn_contains({"a": 1}, ["a"]) is False


@pytest.mark.parametrize("container", [1, None, True, 1.5])
def test_contains_rejects_other_containers(container):
    with pytest.raises(TypeConversion, match=r"contains\(\)"):
        fn_contains(container, 1)


def test_reversed():
    assert fn_reversed([1, 2, 3]) == [3, 2, 1]
    assert fn_reversed("abc") == "cba"
    assert fn_reversed([]) == []
    with pytest.raises(TypeConversion, match=r"reversed\(\).*got object"):
        fn_reversed({"a": 1})


def test_sort():
    assert fn_sort([3, 1, 2]) == [1, 2, 3]
    assert fn_sort(["b", "a"]) == ["a", "b"]
    assert fn_sort([2.5, 1, -1]) == [-1, 1, 2.5]
    assert fn_sort([]) == []


def test_sort_errors():
    with pytest.raises(TypeConversion, match="cannot be compared"):
        fn_sort([1, "a"])
    with pytest.raises(TypeConversion, match="cannot be compared"):
        fn_sort([{"a": 1}, {"b": 2}])
    with pytest.raises(TypeConversion, match=r"sort\(\) expects an array"):
        fn_sort("cba")


def test_unique():
    assert fn_unique([3, 1, 3, 2, 1]) == [3, 1, 2]
    assert fn_unique(["a", "b", "a"]) == ["a", "b"]
    assert fn_unique([]) == []
    assert fn_unique([None, None]) == [None]


def test_unique_handles_unhashable_elements():
    values = [{"a": 1}, [1, 2], {"a": 1}, [1, 2], {"a": 2}, "x"]
    assert fn_unique(values) == [{"a": 1}, [1, 2], {"a": 2}, "x"]


def test_unique_keeps_booleans_apart_from_numbers():
    assert fn_unique([1, True, 1.0, 0, False]) == [1, True, 0, False]
    assert fn_unique([[1], [True], [1]]) == [[1], [True]]


def test_unique_is_fast_for_scalars():
    values = list(range(50_000)) * 2
    assert fn_unique(values) == list(range(50_000))


def test_flat():
    assert fn_flat([[1, 2], 3, [4, [5]], []]) == [1, 2, 3, 4, [5]]
    assert fn_flat([]) == []
    with pytest.raises(TypeConversion, match=r"flat\(\)"):
        fn_flat("abc")


def test_zip():
    assert fn_zip([1, 2, 3], ["a", "b"]) == [[1, "a"], [2, "b"]]
    assert fn_zip([1, 2]) == [[1], [2]]
    assert fn_zip() == []
    assert fn_zip([], [1]) == []
    assert all(type(group) is list for group in fn_zip([1], [2]))
    with pytest.raises(TypeConversion, match=r"zip\(\) expects an array, got string"):
        fn_zip([1], "ab")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((5,), [0, 1, 2, 3, 4]),
        ((0,), []),
        ((-3,), []),
        ((2, 5), [2, 3, 4]),
        ((5, 2), []),
        ((0, 10, 3), [0, 3, 6, 9]),
        ((10, 0, -3), [10, 7, 4, 1]),
        ((0, 10, -1), []),
        ((3, 3), []),
    ],
)
def test_range(args, expected):
    assert fn_range(*args) == expected


def test_range_errors():
    with pytest.raises(InvalidExpression, match="step"):
        fn_range(0, 5, 0)
    for args in [(1.5,), (True,), ("3",), (0, 5, 1.0), (0, None, 1), (None,)]:
        with pytest.raises(TypeConversion, match=r"range\(\)"):
            fn_range(*args)


MAX_RANGE = 100_000


def test_range_limit():
    assert fastctx.limits.LIMITS.max_range == MAX_RANGE
    assert len(fn_range(MAX_RANGE)) == MAX_RANGE
    assert len(fn_range(-MAX_RANGE, 0)) == MAX_RANGE
    assert len(fn_range(0, 2 * MAX_RANGE, 2)) == MAX_RANGE
    for args in [(MAX_RANGE + 1,), (0, 10**30), (10**30, 0, -1), (0, 10**30, 10**24)]:
        with pytest.raises(LimitExceeded, match="range length") as info:
            fn_range(*args)
        assert info.value.limit == "max_range"
    assert isinstance(info.value, ContextError)


def test_range_limit_is_checked_before_building():
    # would take minutes and all memory if built first
    with pytest.raises(LimitExceeded):
        fn_range(-(10**18), 10**18)


def test_range_limit_is_reconfigurable(monkeypatch):
    monkeypatch.setattr(fastctx.limits.LIMITS, "max_range", 10)
    assert fn_range(10) == list(range(10))
    with pytest.raises(LimitExceeded):
        fn_range(11)


def test_slice():
    assert fn_slice([1, 2, 3, 4], 1) == [2, 3, 4]
    assert fn_slice([1, 2, 3, 4], 1, 3) == [2, 3]
    assert fn_slice([1, 2, 3, 4], -2) == [3, 4]
    assert fn_slice([1, 2, 3, 4], 0, -1) == [1, 2, 3]
    assert fn_slice([1, 2], 5, 10) == []
    assert fn_slice("hello", 1, 3) == "el"
    assert fn_slice("hello", None, 2) == "he"


def test_slice_errors():
    with pytest.raises(TypeConversion, match=r"slice\(\).*got object"):
        fn_slice({"a": 1}, 0)
    for bounds in [("1",), (1.0,), (0, True)]:
        with pytest.raises(TypeConversion, match=r"slice\(\)"):
            fn_slice([1, 2], *bounds)


def test_index_of():
    assert fn_index_of([1, 2, 3, 2], 2) == 1
    assert fn_index_of([1, 2], 5) == -1
    assert fn_index_of([{"a": 1}], {"a": 1}) == 0
    assert fn_index_of([1, True], True) == 1
    assert fn_index_of("hello", "l") == 2
    assert fn_index_of("hello", "z") == -1


def test_index_of_errors():
    with pytest.raises(TypeConversion, match=r"index_of\(\)"):
        fn_index_of("hello", 1)
    with pytest.raises(TypeConversion, match=r"index_of\(\)"):
        fn_index_of(5, 1)


def test_count():
    assert fn_count([1, 2, 1, 1], 1) == 3
    assert fn_count([1, True, 1.0], 1) == 2
    assert fn_count([[1], [1], 1], [1]) == 2
    assert fn_count([], 1) == 0
    assert fn_count("banana", "an") == 2
    assert fn_count("banana", "x") == 0


def test_count_errors():
    with pytest.raises(TypeConversion, match=r"count\(\)"):
        fn_count("banana", 1)
    with pytest.raises(TypeConversion, match=r"count\(\)"):
        fn_count({"a": 1}, "a")


def test_merge():
    assert fn_merge({"a": 1, "b": 2}, {"b": 3, "c": 4}) == {"a": 1, "b": 3, "c": 4}
    assert fn_merge() == {}
    assert fn_merge({"a": 1}) == {"a": 1}
    assert list(fn_merge({"a": 1, "b": 2}, {"a": 3})) == ["a", "b"]


def test_merge_makes_a_new_dict():
    first = {"a": 1}
    result = fn_merge(first)
    assert result is not first


def test_merge_errors():
    with pytest.raises(TypeConversion, match=r"merge\(\) expects objects, got array"):
        fn_merge({"a": 1}, [1])


def test_chunks():
    assert fn_chunks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert fn_chunks([1, 2], 5) == [[1, 2]]
    assert fn_chunks([], 3) == []


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "2", None])
def test_chunks_bad_size(size):
    with pytest.raises(InvalidExpression, match=r"chunks\(\)"):
        fn_chunks([1, 2], size)


def test_chunks_rejects_non_lists():
    with pytest.raises(TypeConversion, match=r"chunks\(\)"):
        fn_chunks("abcd", 2)


# -- properties shared by all functions -----------------------------------------------------


def _nested():
    return {"a": [3, 1, {"k": [2, 2]}], "b": {"c": [1, 1]}, "d": [[1, 2], [3]]}


CALLS = [
    ("string", lambda d: (d,)),
    ("keys", lambda d: (d,)),
    ("values", lambda d: (d,)),
    ("length", lambda d: (d["a"],)),
    ("join", lambda d: (d["a"], ",")),
    ("contains", lambda d: (d["a"], {"k": [2, 2]})),
    ("reversed", lambda d: (d["a"],)),
    ("sort", lambda d: (d["b"]["c"],)),
    ("unique", lambda d: (d["a"],)),
    ("flat", lambda d: (d["d"],)),
    ("zip", lambda d: (d["d"], d["a"])),
    ("slice", lambda d: (d["a"], 0, 2)),
    ("index_of", lambda d: (d["a"], 1)),
    ("count", lambda d: (d["b"]["c"], 1)),
    ("merge", lambda d: (d, d["b"])),
    ("chunks", lambda d: (d["a"], 2)),
    ("min", lambda d: (d["b"]["c"],)),
    ("max", lambda d: (d["b"]["c"],)),
    ("sum", lambda d: (d["b"]["c"],)),
]


@pytest.mark.parametrize(("name", "make_args"), CALLS, ids=[name for name, _ in CALLS])
def test_functions_do_not_mutate_their_inputs(name, make_args):
    data = _nested()
    before = copy.deepcopy(data)
    result = HELPERS[name](*make_args(data))
    assert data == before
    if isinstance(result, (list, dict)):
        assert all(result is not arg for arg in make_args(data))


def test_results_are_new_objects():
    values = [1, 2]
    assert fn_slice(values, 0) is not values
    assert fn_sort(values) is not values
    assert fn_reversed(values) is not values
    assert fn_unique(values) is not values
    assert fn_flat(values) is not values
    data = {"a": 1}
    assert fn_merge(data) is not data


SECRET_CALLS = [
    ("number", (SECRET,)),
    ("number", ([SECRET],)),
    ("int", (SECRET,)),
    ("int", ({"k": SECRET},)),
    ("float", (SECRET,)),
    ("length", (None,)),
    ("keys", (SECRET,)),
    ("values", ([SECRET],)),
    ("abs", (SECRET,)),
    ("floor", (SECRET,)),
    ("ceil", (SECRET,)),
    ("round", (SECRET,)),
    ("round", (1.5, SECRET)),
    ("min", (SECRET, 1)),
    ("max", ([SECRET, None],)),
    ("min", (SECRET,)),
    ("sum", ([SECRET],)),
    ("sum", (SECRET,)),
    ("lower", ([SECRET],)),
    ("upper", ({SECRET: 1},)),
    ("trim", ([SECRET],)),
    ("split", (SECRET, "")),
    ("split", ([SECRET], ",")),
    ("join", (SECRET, ",")),
    ("join", ([SECRET], [SECRET])),
    ("replace", (SECRET, 1, "x")),
    ("starts_with", ([SECRET], "s")),
    ("ends_with", (SECRET, [SECRET])),
    ("match", (SECRET + "(", "x")),
    ("match", ("[" + SECRET, SECRET)),
    ("match", ([SECRET], "x")),
    ("contains", (SECRET, 5)),
    ("contains", (5, SECRET)),
    ("reversed", ({SECRET: SECRET},)),
    ("sort", ([SECRET, 1],)),
    ("sort", (SECRET,)),
    ("unique", (SECRET,)),
    ("flat", (SECRET,)),
    ("zip", ([1], SECRET)),
    ("range", (SECRET,)),
    ("range", (0, 10**9)),
    ("slice", (SECRET, SECRET)),
    ("slice", ([SECRET], SECRET)),
    ("index_of", (SECRET, 3)),
    ("count", (SECRET, [SECRET])),
    ("merge", ({"a": SECRET}, SECRET)),
    ("chunks", ([SECRET], SECRET)),
    ("chunks", (SECRET, 2)),
]


@pytest.mark.parametrize(
    ("name", "args"), SECRET_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(SECRET_CALLS)]
)
def test_error_messages_name_the_function_but_never_the_value(name, args):
    with pytest.raises(ContextError) as info:
        HELPERS[name](*args)
    message = str(info.value)
    assert f"{name}()" in message
    assert "s3cr3t" not in message
    assert "s3cr3t" not in repr(info.value)
    assert isinstance(info.value, (TypeConversion, InvalidExpression, LimitExceeded))
    context = info.value.__context__
    assert context is None or "s3cr3t" not in str(context)


def test_every_helper_appears_in_the_secret_checks():
    # string, type_of and bool accept every JSON value: they have no error to check
    assert {name for name, _ in SECRET_CALLS} | {"string", "type_of", "bool"} == ALL_NAMES


def test_replace_refuses_output_beyond_the_limit(monkeypatch):
    monkeypatch.setattr(fastctx.limits.LIMITS, "max_output", 100)
    assert fn_replace("a" * 10, "a", "b" * 10) == "b" * 100
    with pytest.raises(LimitExceeded) as info:
        fn_replace("a" * 10, "a", "b" * 11)
    assert info.value.limit == "max_output"
