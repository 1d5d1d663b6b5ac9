"""No attribute or method of a Python object is reachable from a template, whatever made the
value: a filter (a Markup string, a tuple, a generator), a test, a macro, ``loop``,
``caller``, ``self``. Data is looked up by the data rules; of Jinja2's own objects only what
templates use is there (``loop.index``, ``group.grouper``, a block of ``self``, ``super()``).
Internal filters are not reachable by name (``map('@path')``)."""

from __future__ import annotations

from typing import Any

import pytest

from fastctx import ContextError, InvalidExpression, LimitExceeded

CONTEXT = ({"s": "abc", "d": {"a": 1, "b": 2}, "xs": [3, 1, 2]}, {"v": "x"})

BLOCKED = [
    "{{ ('abc'|safe).upper() }}",
    "{{ ('{:>99999999}'|safe).format('x') }}",
    "{{ (parameters.d|tojson).replace('a', 'b') }}",
    "{{ ('x'|e).encode() }}",
    "{{ ('x'|e).__class__ }}",
    "{{ (parameters.d|dictsort)[0].count('a') }}",
    "{{ (parameters.d|dictsort)[0].index('a') }}",
    "{{ ([1, 2]|map('string')).send(None) }}",
    "{{ ([1, 2]|map('string')).gi_frame }}",
    "{{ (parameters.xs|reverse).__next__() }}",
    "{{ (parameters.xs|batch(2)|first).pop() }}",
    "{% for g in [{'a': 1}]|groupby('a') %}{{ g.count(1) }}{% endfor %}",
    "{% for x in [1] %}{{ loop.__class__ }}{% endfor %}",
    "{% for x in [1] %}{{ loop._iterator }}{% endfor %}",
    "{% for x in [1] %}{{ loop.cycle.__self__ }}{% endfor %}",
    "{% macro m() %}x{% endmacro %}{{ m.name }}",
    "{% macro m() %}x{% endmacro %}{{ m._invoke([], False) }}",
    "{% macro m() %}{{ caller.arguments }}{% endmacro %}{% call m() %}x{% endcall %}",
    "{{ self.__class__ }}",
    "{{ [1, 2]|map('@path', (), 'x', false)|list }}",
    "{{ [1, 2]|map('@callee', 'x')|list }}",
    "{{ [1, 2]|select('@path')|list }}",
    "{{ [{'a': 1}]|selectattr('a', '@loop')|list }}",
    "{{ [1, 2]|reject('@item', 0, 'x')|list }}",
    "{{ [upper][0]('x') }}",
    "{{ ('a'|safe).join(['x', 'y']) }}",
]


@pytest.mark.parametrize("template", BLOCKED)
def test_no_python_method_or_attribute_is_reachable(wc_class: type, template: str) -> None:
    ctx = wc_class(*CONTEXT)
    with pytest.raises(ContextError):
        ctx.render_template(template)
    assert ctx.render_template("{{ parameters.s }}") == "abc"  # still usable


@pytest.mark.parametrize(("template", "expected"), [
    ("{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.cycle('a', 'b') }}"
     "{% if loop.changed(x) %}!{% endif %}{{ loop.last }}{% endfor %}",
     "1a!false2b!false3a!true"),
    ("{% for g in [{'a': 1}, {'a': 2}, {'a': 1}]|groupby('a') %}"
     "{{ g.grouper }}:{{ g.list|length }};{% endfor %}", "1:2;2:1;"),
    ("{% for k, v in parameters.d|dictsort %}{{ k }}={{ v }} {% endfor %}", "a=1 b=2 "),
    ("{{ (parameters.d|dictsort)[1][0] }}{{ (parameters.d|dictsort)[0].nope is defined }}",
     "bfalse"),
    ("{% block b %}x{% endblock %}{{ self.b() }}", "xx"),
    ("{% macro m(a) %}<{{ a }}{{ caller() }}>{% endmacro %}{% call m(1) %}c{% endcall %}",
     "<1c>"),
    ("{% for x in [[1, [2]]] recursive %}{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}"
     "{% endif %}{% endfor %}", "12"),
    ("{{ ('ab'|safe) ~ 'c' }}{{ ('ab'|safe)[1] }}{{ ('ab'|safe) * 2 }}", "abcbabab"),
    ("{{ [3, 1]|map('string')|join(',') }}{{ [1, 2]|select('odd')|list }}", "3,1[1]"),
])
def test_what_templates_use_still_works(wc_class: type, template: str, expected: str) -> None:
    assert wc_class(*CONTEXT).render_template(template) == expected


def test_a_markup_string_is_charged_as_a_string(wc_class: type) -> None:
    with pytest.raises(LimitExceeded, match="max_repeat"):
        wc_class().render_template("{{ ('ab'|safe) * 100000000 }}")


def test_a_method_call_says_what_can_be_called(wc_class: type) -> None:
    with pytest.raises(InvalidExpression, match="a method of a value cannot"):
        wc_class(*CONTEXT).render_template("{{ (parameters.s|safe).upper() }}")


# -- nothing is built while compiling --------------------------------------------------------
def _strings_in(value: Any) -> list[str]:
    """The strings a compiled program holds (its constants and literal text)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [text for member in value for text in _strings_in(member)]
    return []


@pytest.mark.parametrize(("start", "end"), [
    ("{% if true %}", "{% endif %}"),  # the compiled path
    ("{% for _ in [1] %}", "{% endfor %}"),  # the Jinja2 path
])
def test_constant_output_is_not_folded_while_compiling(wc_class: type, start: str,
                                                        end: str) -> None:
    from fastctx import _templating

    template = start + "{{ 'x'|center(900000) }}{{ 'y' * 900000 }}" * 30 + end
    with pytest.raises(LimitExceeded, match="max_output"):
        wc_class().render_template(template)
    program = _templating.compile_template(template)
    if type(program) is tuple:
        strings = _strings_in(program)
    else:
        strings = [const for code in (program.template.root_render_func.__code__,)
                   for const in code.co_consts if isinstance(const, str)]
    assert max(map(len, strings)) < 1000  # no folded 900,000-character constant


def test_the_caches_are_bounded_in_characters_too(wc_class: type) -> None:
    import fastctx

    engine = fastctx.Engine(f"test-cache-characters-{wc_class.implementation}")
    size = engine.sizes[id(engine.templates)]
    size.limit = 1_000
    ctx = wc_class(engine=engine)
    for number in range(50):
        ctx.render_template(f"{{{{ {number} }}}}" + "x" * 90)
    assert len(engine.templates) < 50
    assert size.total == sum(map(len, engine.templates)) <= 1_000
    engine.forget_compiled()
    assert size.total == 0


# -- recursive loops are charged like loops and nested like macros ---------------------------
def test_recursive_loop_calls_are_charged(wc_class: type) -> None:
    from fastctx import limits

    ctx = wc_class()
    with pytest.raises(LimitExceeded, match="max_recursion"):
        ctx.render_template("{% for x in [1, 2] recursive %}{{ loop([1, 2]) }}{% endfor %}")
    old = limits.configure(max_loop_iterations=1000)
    try:
        with pytest.raises(LimitExceeded, match="max_loop_iterations"):
            ctx.render_template("{% for x in range(10) recursive %}{% if loop.depth < 40 %}"
                                "{{ loop([1, 2]) }}{% endif %}{% endfor %}")
    finally:
        limits.configure(**old)
    assert ctx.render_template("{% for x in [[1, [2]], 3] recursive %}{% if x is iterable %}"
                               "{{ loop(x) }}{% else %}{{ x }}{% endif %}{% endfor %}") == "123"


# -- quadratic work made linear -------------------------------------------------------------
def test_unique_is_linear_and_keeps_json_equality(wc_class: type) -> None:
    ctx = wc_class()
    assert ctx.evaluate("unique([1, true, 1.0, '1', [1], [1.0], [true], {'a': 1, 'b': 2}, "
                        "{'b': 2, 'a': 1}, null, null])") == \
        [1, True, "1", [1], [True], {"a": 1, "b": 2}, None]
    # 20,000 distinct lists: once quadratic (minutes), now one set probe each
    assert ctx.evaluate("unique(range(20000)|map('string')|map('list')|list)|length") == 20000


def test_sum_of_lists_is_linear(wc_class: type) -> None:
    ctx = wc_class()
    assert ctx.evaluate("(range(30000)|map('string')|map('list')|list)|sum(start=[])|length") \
        == 138890
    assert ctx.render_template("{{ [[1], [2]]|sum(start=[0]) }}{{ [1, 2]|sum }}"
                               "{{ [{'a': [1]}, {'a': [2]}]|sum(attribute='a', start=[]) }}") \
        == "[0,1,2]3[1,2]"
    with pytest.raises(ContextError, match="can only concatenate list"):
        ctx.render_template("{{ [[1], 2]|sum(start=[]) }}")


def test_a_program_that_hit_a_limit_leaves_the_cache(wc_class: type) -> None:
    import fastctx

    engine = fastctx.Engine(f"test-limited-programs-{wc_class.implementation}")
    ctx = wc_class(engine=engine)
    template = "{% for x in range(3) %}{{ 'x' * 600000 }}{% endfor %}"
    with pytest.raises(LimitExceeded, match="max_output"):
        ctx.render_template(template)
    assert template not in engine.templates
    assert engine.sizes[id(engine.templates)].total == 0
    ok = "{% for x in range(3) %}{{ x }}{% endfor %}"
    assert ctx.render_template(ok) == "012" and ok in engine.templates
    with pytest.raises(LimitExceeded):
        ctx.evaluate("range(5) | map('string') | list * 999999")
    assert "range(5) | map('string') | list * 999999" not in engine.expressions


def test_the_int_filter_makes_no_huge_integer(wc_class: type) -> None:
    # a million binary digits made an integer whose // and % are quadratic
    ctx = wc_class()
    with pytest.raises(LimitExceeded, match="max_power"):
        ctx.render_template("{% set b = ('1' * 900000)|int(base=2) %}{{ b // (b // 7) }}")
    with pytest.raises(LimitExceeded, match="max_power"):
        ctx.evaluate("('1' * 5000)|int(base=2)")
    assert ctx.render_template("{{ '101'|int(base=2) }}{{ '12'|int }}{{ 'x'|int(7) }}") \
        == "5127"
