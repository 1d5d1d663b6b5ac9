"""The printing rule on every path: no Python repr or memory address in any output.

Values print as their text or as compact JSON (``fastctx._data.to_text``) whether the fast
path, a compiled expression or the Jinja2 sandbox prints them, and whether they are printed
by ``{{ }}``, ``~``, ``string()``, ``|string``, ``join``, ``format``, ``%`` or a filter that
turns its input into text.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from fastctx import InvalidExpression, TypeConversion

#: What a Python repr or an address looks like in output.
PYTHON_SPELLINGS = re.compile(r" at 0x|<\w+ object|\bNone\b|\bTrue\b|\bFalse\b|\['|\{'")

VARIABLES: dict[str, Any] = {"xs": [1, "a", None, True], "d": {"k": ["v"], "n": None},
                             "nothing": None, "yes": True}

# template -> what it prints
PRINTED = [
    ('{{ string([1, 2]|map("string")) }}', '["1","2"]'),
    ('{{ [1, 2]|map("string")|string }}', '["1","2"]'),
    ("{{ xs|reverse }}", '[true,null,"a",1]'),
    ("{{ xs|string }}", '[1,"a",null,true]'),
    ("{{ d|string }}", '{"k":["v"],"n":null}'),
    ("{{ nothing|string }}|{{ yes|string }}", "|true"),
    ("{{ [[1], ['a']]|join(',') }}", '[1],["a"]'),
    ("{{ xs|join('-') }}", "1-a--true"),
    ("{{ '%s|%s'|format(xs, nothing) }}", '[1,"a",null,true]|'),
    ("{{ '%(a)s'|format(a=d) }}", '{"k":["v"],"n":null}'),
    ("{{ '%s' % xs }}", '[1,"a",null,true]'),
    ("{{ '%s %s' % (d.k, yes) }}", '["v"] true'),
    ("{{ '%(k)s' % d }}", '["v"]'),
    ("{{ '%s' % d }}", '{"k":["v"],"n":null}'),
    ("{{ '%05d|%.1f' % (7, 2.25) }}", "00007|2.2"),
    ("{{ xs|upper }}", '[1,"A",NULL,TRUE]'),
    ("{{ d.k|trim }}", '["v"]'),
    ("{{ xs|replace('a', 'b') }}", '[1,"b",null,true]'),
    ("{{ nothing|e }}|{{ yes|safe }}", "|true"),
    ("{{ d.k|center(9) }}", '  ["v"]  '),
    ("{{ d.k|truncate(20) }}", '["v"]'),
    ("{{ {'a': [1], 'b': none}|xmlattr }}", ' a="[1]"'),
    ("{{ {'a': [1], 'b': none}|urlencode }}", "a=%5B1%5D&b="),
    ("{{ xs ~ d.k }}", '[1,"a",null,true]["v"]'),
    ("{{ {'a': 1}|items }}", '[["a",1]]'),
    ("{% for x in xs|unique %}{{ x }},{% endfor %}", "1,a,,"),  # Jinja2's unique: true == 1
]


@pytest.mark.parametrize(("template", "expected"), PRINTED)
def test_values_print_as_data(wc_class: type, template: str, expected: str) -> None:
    ctx = wc_class({}, VARIABLES)
    out = ctx.render_template(template)
    assert out == expected
    assert not PYTHON_SPELLINGS.search(out), out


@pytest.mark.parametrize(("template", "expected"), PRINTED)
def test_render_json_and_evaluate_agree(wc_class: type, template: str, expected: str) -> None:
    # the same values through render_json (a template within text) and evaluate
    ctx = wc_class({}, VARIABLES)
    assert ctx.render_json({"v": f"<{template}>"}) == {"v": f"<{expected}>"}


@pytest.mark.parametrize("template", [
    "{{ self }}",
    "{{ [self]|string }}",
    "{% for x in [1] %}{{ loop|string }}{% endfor %}",  # an iterator, but not data
    "{% macro m() %}{% endmacro %}{{ m|string }}",
    "{% macro m() %}{% endmacro %}{{ [m]|join(',') }}",
    "{% macro m() %}{% endmacro %}{{ '%s' % m }}",
])
def test_what_is_not_data_is_not_printed(wc_class: type, template: str) -> None:
    ctx = wc_class({}, VARIABLES)
    with pytest.raises(TypeConversion):
        ctx.render_template(template)
    assert ctx.render_template("{{ xs }}") == '[1,"a",null,true]'  # still usable


@pytest.mark.parametrize("template", [
    "{{ '%r'|format('x') }}",
    "{{ '%a' % xs }}",
    "{{ '%(k)r' % d }}",
])
def test_repr_conversions_are_refused(wc_class: type, template: str) -> None:
    with pytest.raises(InvalidExpression, match="Python repr"):
        wc_class({}, VARIABLES).render_template(template)


def test_pprint_is_gone_and_tojson_pretty_prints(wc_class: type) -> None:
    ctx = wc_class({}, VARIABLES)
    with pytest.raises(InvalidExpression, match="pprint"):
        ctx.render_template("{{ d|pprint }}")
    assert ctx.render_template("{{ d.k|tojson(indent=2) }}") == '[\n  "v"\n]'


def test_percent_escape_and_widths_still_work(wc_class: type) -> None:
    ctx = wc_class({}, VARIABLES)
    assert ctx.render_template("{{ '100%% of %s' % 'x' }}") == "100% of x"
    assert ctx.evaluate("'%-4s|' % 'ab'") == "ab  |"


def test_type_names_follow_printing(wc_class: type) -> None:
    ctx = wc_class({}, VARIABLES)
    assert ctx.evaluate("type_of((1, 2))") == "array"
    assert ctx.evaluate("type_of(d|items|list)") == "array"
    assert ctx.evaluate("type_of('x'|safe)") == "string"
    assert [ctx.evaluate(f"type_of({x})") for x in ("none", "true", "1", "1.5", "d", "xs")] \
        == ["null", "bool", "number", "number", "object", "array"]


# Integers are printed, and a template's parts joined, by the compiled core itself: the
# figures at the edges of 64 bits, and texts of every width of character, print as Python's
# str() and "".join would.
INTEGERS = [0, 7, -5, 10, -10, 255, 2**31, -(2**31), 2**63 - 1, -(2**63), 2**63, -(2**63) - 1,
            10**30, -(10**30)]


@pytest.mark.parametrize("number", INTEGERS)
def test_integers_print_as_python_prints_them(wc_class: type, number: int) -> None:
    ctx = wc_class({"n": number})
    assert ctx.render_template("{{ parameters.n }}") == str(number)
    assert ctx.render_template("[{{ parameters.n }}]") == f"[{number}]"
    assert ctx.render_template("{{ parameters.n + 1 }}") == str(number + 1)


@pytest.mark.parametrize("count", [2, 15, 16, 17, 40])
def test_parts_of_every_width_join(wc_class: type, count: int) -> None:
    texts = ["ascii", "café", "Ω-π", "𝄞 clef", ""]  # 1, 1 (latin-1), 2 and 4 bytes wide
    ctx = wc_class({"t": texts})
    for first in range(len(texts)):
        template = "".join(f"{{{{ parameters.t[{(first + at) % len(texts)}] }}}}|"
                           for at in range(count // 2)) + "end"
        expected = "".join(f"{texts[(first + at) % len(texts)]}|"
                           for at in range(count // 2)) + "end"
        assert ctx.render_template(template) == expected
