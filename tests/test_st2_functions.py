"""StackStorm's Jinja filters (``fastctx.engines._st2``): st2's own unit-test examples, the st2
and Ansible templates of the real-world corpus that use them, and the error cases."""

from __future__ import annotations

import json
import math

import pytest

import fastctx.limits
from fastctx.engines import _st2
from fastctx.engines._st2 import (
    FILTERS,
    NONE_MAGIC_VALUE,
    basename,
    dirname,
    from_json_string,
    json_escape,
    regex_match,
    regex_replace,
    regex_search,
    regex_substring,
    to_human_time_from_seconds,
    to_json_string,
    use_none,
    version_bump_major,
    version_bump_minor,
    version_bump_patch,
    version_compare,
    version_equal,
    version_less_than,
    version_match,
    version_more_than,
    version_strip_patch,
)
from fastctx.errors import InvalidExpression, LimitExceeded, TypeConversion

ADDRESS = r"([0-9]{3} \w+ (?:Ave|St|Dr))"
# contrib/examples/actions/chains/regex_jinja_filter.yaml
SAMPLE_STR = "Your address is 567 Elsewhere Dr. My address is 123 Somewhere Ave."


def _json_shaped(value: object) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_json_shaped(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_shaped(v) for k, v in value.items())
    return False


@pytest.fixture
def small_output():
    old = fastctx.limits.configure(max_output=100)
    yield 100
    fastctx.limits.configure(**old)


# -- the module's surface ---------------------------------------------------------------------


def test_filters_table_names_every_st2_function():
    assert set(FILTERS) == {
        "to_json_string", "from_json_string", "json_escape", "regex_match", "regex_replace",
        "regex_search", "regex_substring", "basename", "dirname", "use_none",
        "to_human_time_from_seconds", "version_compare", "version_more_than",
        "version_less_than", "version_equal", "version_match", "version_bump_major",
        "version_bump_minor", "version_bump_patch", "version_strip_patch",
    }
    for name, function in FILTERS.items():
        assert function.__name__ == name
        assert name in _st2.__all__
        assert function.__doc__


def test_results_are_json_shaped():
    results = [
        from_json_string('{"a": [1, 2.5, true, null, {"b": "c"}]}'),
        regex_substring("a1b2", "(a)(1)"),
        regex_substring("a1b2", "(x)?(1)"),
        to_json_string((1, 2)),
        version_compare("1.0.0", "2.0.0"),
        use_none(None),
    ]
    for result in results:
        assert _json_shaped(result), result
    assert regex_substring("a1b2", "(a)(1)") == ["a", "1"]  # a list, never a tuple


# -- data: to_json_string, from_json_string, json_escape, use_none ---------------------------


def test_to_json_string_st2_unit_test():
    obj = {"a": "b", "c": {"d": "e", "f": 1, "g": True}}
    assert json.loads(to_json_string(obj)) == obj


def test_to_json_string_st2_defaults():
    # st2 3.x: indent=None, sort_keys=False, separators=(",", ": ")
    assert to_json_string({"b": 1, "a": [1, 2]}) == '{"b": 1,"a": [1,2]}'
    assert to_json_string("x") == '"x"'
    assert to_json_string(None) == "null"
    assert to_json_string("é") == '"\\u00e9"'  # ensure_ascii, as json.dumps


def test_to_json_string_options():
    value = {"b": 1, "a": [1, 2]}
    assert to_json_string(value, sort_keys=True) == '{"a": [1,2],"b": 1}'
    assert to_json_string(value, separators=[",", ":"]) == '{"b":1,"a":[1,2]}'
    assert to_json_string(value, None, True, None) == '{"a": [1, 2], "b": 1}'
    assert to_json_string(value, indent=2) == '{\n  "b": 1,\n  "a": [\n    1,\n    2\n  ]\n}'
    assert to_json_string([1], indent="\t") == "[\n\t1\n]"
    assert to_json_string([1], indent=100) == "[\n" + " " * 100 + "1\n]"


def test_to_json_string_errors():
    with pytest.raises(InvalidExpression, match="to_json_string"):
        to_json_string([1], indent=101)
    with pytest.raises(InvalidExpression, match="to_json_string"):
        to_json_string([1], indent=" " * 101)
    with pytest.raises(TypeConversion, match="to_json_string"):
        to_json_string([1], indent=[2])
    with pytest.raises(TypeConversion, match="to_json_string"):
        to_json_string([1], indent=True)
    with pytest.raises(TypeConversion, match="to_json_string"):
        to_json_string([1], sort_keys="yes")
    with pytest.raises(TypeConversion, match="to_json_string"):
        to_json_string([1], separators=[","])
    with pytest.raises(TypeConversion, match="to_json_string"):
        to_json_string([1], separators=",:")
    with pytest.raises(TypeConversion, match="to_json_string"):
        to_json_string({"a": object()})
    circular: list[object] = []
    circular.append(circular)
    with pytest.raises(TypeConversion, match="to_json_string"):
        to_json_string(circular)


def test_to_json_string_max_output(small_output):
    assert len(to_json_string("x" * 98)) == 100
    with pytest.raises(LimitExceeded) as caught:
        to_json_string("x" * 99)
    assert caught.value.limit == "max_output"
    with pytest.raises(LimitExceeded):  # the indent makes the text long: counted as it is made
        to_json_string([[[1]]], indent=50)
    with pytest.raises(LimitExceeded):
        to_json_string([1, 2], separators=[", " * 60, ": "])


def test_from_json_string_st2_unit_test():
    obj_json_str = '{"a": "b", "c": {"d": "e", "f": 1, "g": true}}'
    assert from_json_string(obj_json_str) == {"a": "b", "c": {"d": "e", "f": 1, "g": True}}
    assert from_json_string('["a", "b", "c"]') == ["a", "b", "c"]


def test_from_json_string_scalars():
    assert from_json_string("null") is None
    assert from_json_string(' "x" ') == "x"
    assert from_json_string(5) == 5  # st2 parses str(value)
    assert from_json_string(1.5) == 1.5
    assert from_json_string("123456789012345678901234567890") == 123456789012345678901234567890


def test_from_json_string_errors():
    for text in ("", "{", "{'a': 1}", "True", "[1,]"):
        with pytest.raises(InvalidExpression, match="from_json_string"):
            from_json_string(text)
    for text in ("NaN", "[Infinity]", "-Infinity", "1e400"):
        with pytest.raises(InvalidExpression, match="from_json_string"):
            from_json_string(text)
    for value in (None, True, ["a"], {"a": 1}):
        with pytest.raises(TypeConversion, match="from_json_string"):
            from_json_string(value)
    with pytest.raises(InvalidExpression, match="from_json_string"):
        from_json_string(math.nan)


def test_from_json_string_too_deep():
    depth = fastctx.limits.LIMITS.max_depth
    assert from_json_string("[" * depth + "]" * depth) is not None
    for text in ("[" * (depth + 1) + "]" * (depth + 1), "[" * 100_000 + "]" * 100_000):
        with pytest.raises(LimitExceeded) as caught:
            from_json_string(text)
        assert caught.value.limit == "max_depth"


def test_error_messages_never_contain_the_value():
    secret = "s3cr3t-VALUE"
    attempts = [
        lambda: from_json_string("{" + secret),
        lambda: version_compare(secret, "1.0.0"),
        lambda: version_match("1.0.0", "~" + secret),
        lambda: regex_match("x", "(" + secret),
        lambda: regex_substring(secret, "zzz"),
    ]
    for attempt in attempts:
        with pytest.raises((InvalidExpression, TypeConversion)) as caught:
            attempt()
        assert secret not in str(caught.value)


def test_json_escape_st2_unit_tests():
    assert json_escape('foo """ bar') == 'foo \\"\\"\\" bar'
    assert json_escape(r"foo \ bar") == "foo \\\\ bar"
    assert json_escape("foo \b bar") == "foo \\b bar"
    assert json_escape("foo \f bar") == "foo \\f bar"
    assert json_escape("foo \n bar") == "foo \\n bar"
    assert json_escape("foo \r bar") == "foo \\r bar"
    assert json_escape("foo \t bar") == "foo \\t bar"


def test_json_escape_as_st2_quirks():
    assert json_escape("é") == "\\u00e9"
    assert json_escape('a"') == "a\\"  # strip('"') also strips the escaped quote's quote
    assert json_escape(5) == "5"
    assert json_escape(None) == "null"
    assert json_escape({"a": 1}) == '{"a": 1}'
    with pytest.raises(TypeConversion, match="json_escape"):
        json_escape(object())


def test_use_none():
    assert NONE_MAGIC_VALUE == "%*****__%NONE%__*****%"
    assert use_none(None) == "%*****__%NONE%__*****%"
    for value in ("foobar", "", 0, False, [], {"a": None}):
        assert use_none(value) is value


# -- regex -------------------------------------------------------------------------------------


def test_regex_match_st2_unit_tests():
    assert regex_match("xyz", "x") is True
    assert regex_match("xyz", "y") is False
    assert regex_match("v0.10.1", "^v(\\d+\\.)?(\\d+\\.)?(\\*|\\d+)$") is True


def test_regex_replace_st2_unit_tests():
    assert regex_replace("xyz", "x", "y") == "yyz"
    assert regex_replace("blue socks and red shoes", "(blue|white|red)", "color") == (
        "color socks and color shoes")
    # the st2 docs' backreference example
    assert regex_replace("blue socks", "(blue|white|red)", "beautiful color \\1") == (
        "beautiful color blue socks")


def test_regex_search_st2_unit_tests():
    assert regex_search("xyz", "x") is True
    assert regex_search("xyz", "y") is True
    assert regex_search("v0.10.1", "^v(\\d+\\.)?(\\d+\\.)?(\\*|\\d+)$") is True
    assert regex_search("xyz", "a") is False


def test_regex_substring():
    assert regex_substring("hello this is 127.0.0.1, your home", "(127.0.0.1)") == "127.0.0.1"
    assert regex_substring("hello this is 127.0.0.1, your home", "127.0.0.1") == "127.0.0.1"
    assert regex_substring(SAMPLE_STR, ADDRESS) == "567 Elsewhere Dr"
    assert regex_substring(SAMPLE_STR, ADDRESS, 1) == "123 Somewhere Ave"
    assert regex_substring(SAMPLE_STR, ADDRESS, -1) == "123 Somewhere Ave"
    assert regex_substring(SAMPLE_STR, ADDRESS, -2) == "567 Elsewhere Dr"
    assert regex_substring("a1b2", r"([a-z])(\d)", 1) == ["b", "2"]
    assert regex_substring("a1", r"(x)?(\d)") == ["", "1"]  # as re.findall: "" for no group
    assert regex_substring("ab", r"(x)?b") == ""
    assert regex_substring("ABC", "b", 0, True) == "B"


def test_regex_substring_no_match():
    # st2 raises IndexError (re.findall(...)[result_index])
    for index in (2, -3, 10**30, -(10**30)):
        with pytest.raises(InvalidExpression, match="regex_substring"):
            regex_substring(SAMPLE_STR, ADDRESS, index)
    with pytest.raises(InvalidExpression, match="regex_substring"):
        regex_substring("hello this is 127.0.0.2", "(127.0.0.1)")
    with pytest.raises(TypeConversion, match="regex_substring"):
        regex_substring(SAMPLE_STR, ADDRESS, "1")
    with pytest.raises(TypeConversion, match="regex_substring"):
        regex_substring(SAMPLE_STR, ADDRESS, True)


def test_regex_ignorecase():
    assert regex_match("XYZ", "x") is False
    assert regex_match("XYZ", "x", True) is True
    assert regex_search("XYZ", "y", ignorecase=True) is True
    assert regex_replace("XyX", "x", "-", True) == "-y-"
    with pytest.raises(TypeConversion, match="regex_match"):
        regex_match("XYZ", "x", "yes")


def test_regex_non_string_values_are_matched_as_python_str():
    assert regex_match(123, "12") is True
    assert regex_match(None, "None") is True  # st2: str(None)
    assert regex_match(True, "True") is True
    assert regex_replace(1.5, r"\.", ",") == "1,5"
    assert regex_search(["a"], r"\['a'\]") is True
    with pytest.raises(TypeConversion, match="regex_match"):
        regex_match(object(), "x")


def test_regex_errors():
    with pytest.raises(InvalidExpression, match="regex_match"):
        regex_match("x", "(")
    with pytest.raises(InvalidExpression, match="regex_search"):
        regex_search("x", "a{99999999999}")
    with pytest.raises(InvalidExpression, match="regex_search"):
        regex_search("x", "(" * 499 + ")" * 499)
    with pytest.raises(TypeConversion, match="regex_search"):
        regex_search("x", 1)
    with pytest.raises(TypeConversion, match="regex_replace"):
        regex_replace("x", "x", None)
    with pytest.raises(InvalidExpression, match="regex_replace"):
        regex_replace("x", "x", "\\9")
    with pytest.raises(InvalidExpression, match="regex_replace"):
        regex_replace("abc", "z", "\\9")  # checked even where nothing matches, as re.sub
    with pytest.raises(InvalidExpression, match="regex_replace"):
        regex_replace("abc", "a", "\\q")


def test_regex_limits(small_output):
    with pytest.raises(LimitExceeded) as caught:
        regex_match("x", "x" * 1001)
    assert caught.value.limit == "max_output"
    assert regex_match("x" * 100, "x") is True
    with pytest.raises(LimitExceeded) as caught:
        regex_match("x" * 101, "x")
    assert caught.value.limit == "max_output"
    assert regex_replace("x" * 50, "x", "yy") == "y" * 100
    with pytest.raises(LimitExceeded):
        regex_replace("x" * 50, "", "yy")
    with pytest.raises(LimitExceeded):
        regex_replace("x" * 40, "x+", "\\g<0>\\g<0>\\g<0>")
    assert regex_replace("x" * 30, "(x+)", "\\1\\1\\1") == "x" * 90


def test_regex_cache_is_bounded():
    for number in range(300):
        assert regex_match(f"a{number}", f"a{number}$")
    from fastctx import _regex

    assert len(_regex._cache) <= 256


def test_regex_replace_empty_matches_as_re_sub():
    assert regex_replace("abxd", "x*", "-") == "-a-b--d-"
    assert regex_replace("abxd", "x*", "\\g<0>!") == "!a!bx!!d!"


# -- paths -------------------------------------------------------------------------------------


def test_basename_st2_unit_tests():
    assert basename("/some/path/to/file.txt") == "file.txt"
    assert basename("/some/path/to/dir") == "dir"
    assert basename("/some/path/to/dir/") == ""


def test_dirname_st2_unit_tests():
    assert dirname("/some/path/to/file.txt") == "/some/path/to"
    assert dirname("/some/path/to/dir") == "/some/path/to"
    assert dirname("/some/path/to/dir/") == "/some/path/to/dir"


def test_path_errors():
    for function in (basename, dirname):
        with pytest.raises(TypeConversion, match=function.__name__):
            function(None)
        with pytest.raises(TypeConversion, match=function.__name__):
            function(["a"])


# -- time --------------------------------------------------------------------------------------


def test_to_human_time_from_seconds_st2_unit_tests():
    assert to_human_time_from_seconds(12345) == "3h25m45s"
    assert to_human_time_from_seconds(0) == "0s"
    assert to_human_time_from_seconds(0.1) == "0.1\u03bcs"
    assert to_human_time_from_seconds(56) == "56s"
    assert to_human_time_from_seconds(56.2) == "56s"
    assert to_human_time_from_seconds(456) == "7m36s"
    assert to_human_time_from_seconds(4560) == "1h16m0s"
    assert to_human_time_from_seconds(45678997) == "1y12d16h36m37s"


def test_to_human_time_from_seconds_st2_quirks():
    assert to_human_time_from_seconds(0.0) == "0s"
    assert to_human_time_from_seconds(-5) == "-5\u03bcs"
    assert to_human_time_from_seconds(59.6) == "1m0s"
    assert to_human_time_from_seconds(2.5) == "2s"  # round half to even
    assert to_human_time_from_seconds(86400) == "1d0h0m0s"
    assert to_human_time_from_seconds(86400 * 31) == "0s"  # the day of the month: Feb 1 is 0
    assert to_human_time_from_seconds(86400 * 40) == "9d0h0m0s"


def test_to_human_time_from_seconds_errors():
    for value in ("stuff", None, True, [1]):
        with pytest.raises(TypeConversion, match="to_human_time_from_seconds"):
            to_human_time_from_seconds(value)
    for value in (math.nan, math.inf, 10**20, 1e20):
        with pytest.raises(InvalidExpression, match="to_human_time_from_seconds"):
            to_human_time_from_seconds(value)


# -- versions ----------------------------------------------------------------------------------


def test_version_compare_st2_unit_tests():
    assert version_compare("0.9.0", "0.10.0") == -1
    assert version_compare("0.10.1", "0.10.0") == 1
    assert version_compare("0.10.0", "0.10.0") == 0


def test_version_more_less_equal_st2_unit_tests():
    assert [version_more_than(v, "0.10.0") for v in ("0.9.0", "0.10.1", "0.10.0")] == [
        False, True, False]
    assert [version_less_than(v, "0.10.0") for v in ("0.9.0", "0.10.1", "0.10.0")] == [
        True, False, False]
    assert [version_equal(v, "0.10.0") for v in ("0.9.0", "0.10.1", "0.10.0")] == [
        False, False, True]


def test_version_match_st2_unit_tests():
    assert version_match("0.10.1", ">0.10.0") is True
    assert version_match("0.1.1", ">0.10.0") is False
    assert version_match("0.1.0", "<0.10.0") is True
    assert version_match("1.1.0", "<0.10.0") is False
    assert version_match("0.10.0", "==0.10.0") is True
    assert version_match("0.10.1", "==0.10.0") is False


def test_version_match_every_operator():
    cases = {">=": (True, True, False), "<=": (False, True, True), "!=": (True, False, True),
             ">": (True, False, False), "<": (False, False, True), "==": (False, True, False)}
    for operator, expected in cases.items():
        got = tuple(version_match(v, operator + "1.5.0") for v in ("2.0.0", "1.5.0", "1.0.0"))
        assert got == expected, operator
    assert version_match("1.5.0", "1.5.0") is True  # no operator: == (semver 3)
    assert version_match("1.5.0+build.7", "==1.5.0") is True


def test_version_bumps_st2_unit_tests():
    assert version_bump_major("0.10.1") == "1.0.0"
    assert version_bump_minor("0.10.1") == "0.11.0"
    assert version_bump_patch("0.10.1") == "0.10.2"
    assert version_strip_patch("0.10.1") == "0.10"


def test_version_bumps_drop_prerelease_and_build():
    assert version_bump_major("1.2.3-rc.1+b5") == "2.0.0"
    assert version_bump_minor("1.2.3-rc.1+b5") == "1.3.0"
    assert version_bump_patch("1.2.3-rc.1+b5") == "1.2.4"
    assert version_strip_patch("1.2.3-rc.1+b5") == "1.2"
    assert version_bump_minor("1.99.0") == "1.100.0"


def test_semver_precedence():
    # semver.org 2.0, item 11
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
               "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0",
               "2.0.0", "10.0.0"]
    for i, lower in enumerate(ordered):
        for higher in ordered[i + 1:]:
            assert version_compare(lower, higher) == -1, (lower, higher)
            assert version_compare(higher, lower) == 1, (higher, lower)
        assert version_compare(lower, lower) == 0
    assert version_compare("1.0.0+build.1", "1.0.0+build.2") == 0  # build is ignored
    assert version_compare("1.0.0-1", "1.0.0-a") == -1  # numbers before words
    assert version_compare("1.0.0-B", "1.0.0-a") == -1  # ASCII order


def test_version_errors():
    for bad in ("1.2", "1", "v1.2.3", "01.2.3", "1.2.3-01", "1.2.3-", "1.2.3+", " 1.2.3",
                "1.2.3 ", "1.2.3\n\n", "", "1.2.3-a..b", "\u0661.2.3", "1." * 600 + "1"):
        with pytest.raises(InvalidExpression, match="version_bump_major"):
            version_bump_major(bad)
    for value in (None, 1, 1.5, ["1.2.3"], {"major": 1}):
        with pytest.raises(TypeConversion, match="version_compare"):
            version_compare(value, "1.0.0")
        with pytest.raises(TypeConversion, match="version_compare"):
            version_compare("1.0.0", value)
    with pytest.raises(InvalidExpression, match="version_more_than"):
        version_more_than("1.0.0", "1.0")
    for expression in ("=1.0.0", ">= 1.0.0", "~1.0.0", "", "=>1.0.0", ">1.0"):
        with pytest.raises(InvalidExpression, match="version_match"):
            version_match("1.0.0", expression)
    with pytest.raises(TypeConversion, match="version_match"):
        version_match("1.0.0", 1)


def test_version_tolerates_one_trailing_newline_as_semver():
    assert version_bump_major("1.7.0\n") == "2.0.0"  # semver's regex ends with $


# -- the real-world corpus (tests/data/realworld_templates.json) ------------------------------
# Entries whose `why` names one of these functions; the expected values are worked out by hand.


def test_corpus_orquesta_jinja_data_functions():
    # StackStorm/st2:contrib/examples/actions/workflows/tests/orquesta-test-jinja-data-functions
    data_json_str_1 = '{"foo": {"bar": "foobar"}}'
    data_json_obj = from_json_string(data_json_str_1)  # {{ from_json_string(vars...) }}
    assert data_json_obj == {"foo": {"bar": "foobar"}}
    assert to_json_string(data_json_obj) == '{"foo": {"bar": "foobar"}}'
    # vars.data_json_str_1 | from_json_string() | to_yaml_string() | from_yaml_string() |
    # to_json_string(): the YAML round trip is the identity on this value (YAML not provided)
    assert to_json_string(from_json_string(data_json_str_1)) == '{"foo": {"bar": "foobar"}}'
    assert use_none(None) == "%*****__%NONE%__*****%"  # {{ use_none(vars.none) }}
    assert use_none("foobar") == "foobar"


def test_corpus_orquesta_jinja_path_regex_time_functions():
    assert basename("/path/to/some/file.txt") == "file.txt"
    assert dirname("/path/to/some/file.txt") == "/path/to/some"
    assert regex_match("xyz", "x") is True
    assert regex_replace("xyz", "x", "wx") == "wxyz"
    assert regex_search("xyz", "y") is True
    assert regex_substring("I live at 668 Infinite Dr", ADDRESS) == "668 Infinite Dr"
    assert to_human_time_from_seconds(12345) == "3h25m45s"


def test_corpus_orquesta_jinja_version_functions():
    assert version_compare("0.10.0", "0.10.0") == 0
    assert version_compare("0.10.0", "0.10.1") == -1
    assert version_compare("0.10.1", "0.10.0") == 1
    assert version_equal("0.10.0", "0.10.0") is True
    assert version_more_than("0.9.0", "0.10.0") is False
    assert version_less_than("0.10.0", "0.9.0") is False
    assert version_match("0.10.1", ">0.10.0") is True
    assert version_bump_major("0.10.0") == "1.0.0"
    assert version_bump_minor("0.10.0") == "0.11.0"
    assert version_bump_patch("0.10.0") == "0.10.1"
    assert version_strip_patch("0.10.0") == "0.10"


def test_corpus_action_chains():
    # chains/data_jinja_filter.yaml: {{c1.result | to_json_string}} (examples.object_return)
    result = {"a": "b", "c": {"d": "e", "f": 1, "g": True}}
    assert to_json_string(result) == '{"a": "b","c": {"d": "e","f": 1,"g": true}}'
    # chains/json_escape_jinja_filter.yaml
    description = ('Random text from another action2 output """ which will break JSON and '
                   "needs escaping\n")
    attachments = '[{"title": "FAILED - ' + json_escape(description) + '", "color": "#808080"}]'
    assert json.loads(attachments)[0]["title"] == "FAILED - " + description
    # chains/regex_jinja_filter.yaml
    assert regex_match(SAMPLE_STR, ADDRESS) is False  # not at the start
    assert regex_replace(SAMPLE_STR, ADDRESS, "<redacted>") == (
        "Your address is <redacted>. My address is <redacted>.")
    assert regex_search(SAMPLE_STR, ADDRESS) is True
    assert regex_substring(SAMPLE_STR, ADDRESS) == "567 Elsewhere Dr"
    assert regex_substring(SAMPLE_STR, ADDRESS, 1) == "123 Somewhere Ave"
    # chains/time_jinja_filter.yaml
    assert to_human_time_from_seconds(12345) == "3h25m45s"
    # chains/version_jinja_filter.yaml: c1 echoes '1.6.0' | version_bump_minor
    c1_stdout = version_bump_minor("1.6.0")
    assert c1_stdout == "1.7.0"
    assert version_bump_major(c1_stdout) == "2.0.0"
    assert version_compare(c1_stdout, "1.6.0") == 1
    assert version_strip_patch(c1_stdout) == "1.7"
    assert version_match(c1_stdout, ">=1.7.0") is True


def test_corpus_ansible_roles_get_st2_semantics():
    # geerlingguy/ansible-role-docker, ansible-role-mysql: Ansible's regex_search returns the
    # matched text and its version_compare is a test with an operator argument; under these
    # st2 functions regex_search is a boolean and version_compare needs full semver versions.
    stdout = "Docker Compose version v2.20.2"
    if _regex_engine() == "re2":
        assert regex_search(stdout, r"(\d+(\.\d+)+)") is True
    else:  # a quantifier over a repetition: refused where matching could backtrack
        with pytest.raises(InvalidExpression, match="quantifier over a repetition"):
            regex_search(stdout, r"(\d+(\.\d+)+)")
    assert regex_search(stdout, r"\d+\.\d+\.\d+") is True
    assert regex_replace("v2.20.2", "v", "") == "2.20.2"
    assert regex_search("mysql  Ver 8.0.34-0ubuntu0.22.04.1", r"\d+\.\d+\.\d+(-[a-zA-Z]+)?")
    with pytest.raises(InvalidExpression, match="version_compare"):
        version_compare("2.15.3", "2.12")  # "2.12" is not MAJOR.MINOR.PATCH


def _regex_engine() -> str:
    from fastctx import _regex

    return _regex.ENGINE
