"""Templates and expressions: printing, render_json, evaluate, functions, filters, errors."""

from __future__ import annotations

import re
import warnings

import pytest

from fastctx import ContextError, InvalidExpression, TypeConversion, VariableNotFound, _templating

INJECTED = "{{ parameters.secret_flag }}{% for i in range(3) %}X{% endfor %}"


@pytest.fixture
def ctx(wc_class: type):
    ctx = wc_class({"count": 7, "secret_flag": "EVALUATED"},
                   {"name": "web", "hosts": ["a", "b", "c"]})
    ctx.set_task_result("fetch", {"out": INJECTED, "lines": [INJECTED, "plain"],
                                  "obj": {"tpl": INJECTED}})
    return ctx


# -- printing --------------------------------------------------------------------------------
PRINTED = [
    pytest.param("text", "text", id="str"),
    pytest.param("", "", id="empty-str"),
    pytest.param("ünï©ødé ✓", "ünï©ødé ✓", id="unicode-str"),
    pytest.param(42, "42", id="int"),
    pytest.param(-7, "-7", id="negative-int"),
    pytest.param(0, "0", id="zero"),
    pytest.param(2**70, "1180591620717411303424", id="big-int"),
    pytest.param(1.5, "1.5", id="float"),
    pytest.param(1.0, "1.0", id="float-1.0"),
    pytest.param(0.1, "0.1", id="float-0.1"),
    pytest.param(1e20, "1e+20", id="float-1e20"),
    pytest.param(-2.5e-7, "-2.5e-07", id="float-small"),
    pytest.param(True, "true", id="true"),
    pytest.param(False, "false", id="false"),
    pytest.param(None, "", id="None"),
    pytest.param([], "[]", id="empty-list"),
    pytest.param({}, "{}", id="empty-dict"),
    pytest.param([1, "a", None, True, 1.0], '[1,"a",null,true,1.0]', id="list"),
    pytest.param({"b": 1, "a": {"z": [False], "y": None}}, '{"b":1,"a":{"z":[false],"y":null}}',
                 id="dict-key-order"),
    pytest.param({"é": "ü ✓", "q": 'say "hi"'}, '{"é":"ü ✓","q":"say \\"hi\\""}',
                 id="dict-unicode"),
]


def _both_paths(template: str) -> tuple[str, str]:
    """The template as written, and wrapped in a block that sends it through Jinja2."""
    return template, "{% for _ in [1] if 1 %}" + template + "{% endfor %}"


@pytest.mark.parametrize(("value", "expected"), PRINTED)
def test_printing_of_json_values(wc_class: type, value, expected: str) -> None:
    ctx = wc_class(variables={"v": value})
    view = ctx.with_item(value, 0)
    for form, want in (("{{ v }}", expected), ("<{{ workflow.v }}>", f"<{expected}>"),
                       ("{{ v if true else 0 }}", expected), ("{{ '' ~ v }}", expected),
                       ("{{ string(v) }}", expected), ("{{ [v][0] }}", expected)):
        for template in _both_paths(form):
            assert ctx.render_template(template) == want, template
    for template in _both_paths("{{ item }}"):
        assert view.render_template(template) == expected
    assert view.render_template("{% for x in [item] %}{{ x }}{% endfor %}") == expected


def test_literals_print_like_data(ctx) -> None:
    assert ctx.render_template("{{ 1.0 }} {{ 1e20 }} {{ true }} [{{ none }}|{{ null }}]") \
        == "1.0 1e+20 true [|]"
    assert ctx.render_template("{{ {'b': 1, 'a': [none, false]} }}") == '{"b":1,"a":[null,false]}'


def test_plain_lookup_templates_take_the_fast_path(ctx) -> None:
    # The fast path exists: templates like these are served without Jinja2.
    # (A tuple of parts is what the core renders without Jinja2.)
    assert type(_templating.compile_template("{{ task.fetch.lines[0] }} {{ hosts[-1] }}")) \
        is tuple


# -- data is never re-evaluated --------------------------------------------------------------
def test_data_is_never_re_evaluated(ctx) -> None:
    assert ctx.render_template("{{ task.fetch.out }}") == INJECTED
    assert ctx.render_template("[{{ task.fetch.out | trim }}]") == f"[{INJECTED}]"
    assert ctx.render_template("{{ task.fetch.lines[0] }}") == INJECTED
    assert ctx.render_template("{% for l in task.fetch.lines %}{{ l }};{% endfor %}") \
        == f"{INJECTED};plain;"
    assert ctx.render_template("{{ task.fetch.obj }}") == '{"tpl":"%s"}' % INJECTED.replace(
        '"', '\\"')
    assert ctx.render_json("{{ task.fetch.out }}") == INJECTED
    assert ctx.render_json({"a": ["{{ task.fetch.out }}"], "b": "x {{ task.fetch.out }}"}) \
        == {"a": [INJECTED], "b": f"x {INJECTED}"}
    assert ctx.render_json("{{ task.fetch.obj }}") == {"tpl": INJECTED}
    assert ctx.evaluate("task.fetch.out") == INJECTED
    assert ctx.evaluate("task.fetch.lines") == [INJECTED, "plain"]
    assert ctx.evaluate("task.fetch.out ~ '!'") == INJECTED + "!"
    view = ctx.with_item(INJECTED, 0)
    assert view.render_template("{{ item }}") == INJECTED
    assert view.render_json("{{ item }}") == INJECTED
    assert view.evaluate("item") == INJECTED


# -- render_json -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    ["{{ item }}", "{{item}}", "  {{ item }}", "{{ item }}\n", " \t{{  item  }} \n",
     "{{- item -}}"],
)
@pytest.mark.parametrize("value", [5, 2.5, True, False, None, [1, {"a": 2}], {"k": [None]}, "s"])
def test_render_json_keeps_the_type_of_a_pure_expression(wc_class: type, template: str, value
                                                         ) -> None:
    result = wc_class().with_item(value, 0).render_json(template)
    assert result == value
    assert type(result) is type(value)


def test_render_json_walks_dicts_and_lists(ctx) -> None:
    view = ctx.with_item({"host": "web2", "port": 8080}, 3)
    document = {
        "port": "{{ item.port }}",
        "url": "http://{{ item.host }}:{{ item.port }}/",
        "args": ["{{ index }}", "-c", "{{ parameters.count }}", 1, 2.5, None, True],
        "nested": {"deep": [{"h": "{{ item.host | upper }}"}]},
        "literal": "no braces",
        "both": "{{ index }}{{ index }}",
    }
    assert view.render_json(document) == {
        "port": 8080,
        "url": "http://web2:8080/",
        "args": [3, "-c", 7, 1, 2.5, None, True],
        "nested": {"deep": [{"h": "WEB2"}]},
        "literal": "no braces",
        "both": "33",
    }
    assert document["port"] == "{{ item.port }}"  # the input is not changed


def test_render_json_passes_other_values_through(ctx) -> None:
    for value in (5, 2.5, None, True, False, "plain text", ""):
        assert ctx.render_json(value) is value
    assert ctx.render_json([]) == [] and ctx.render_json({}) == {}


def test_render_json_mixed_strings_become_strings(ctx) -> None:
    view = ctx.with_item(5, 0)
    assert view.render_json("n={{ item }}") == "n=5"
    assert view.render_json("{{ item }} ") == 5
    assert view.render_json("{{ item }}{{ item }}") == "55"
    assert view.render_json("{{ item }} and {{ item }}") == "5 and 5"
    assert view.render_json("{% if true %}{{ item }}{% endif %}") == "5"
    assert view.render_json("{{ item }}{# comment #}") == "5"


def test_render_json_dict_literal_with_braces_inside(ctx) -> None:
    assert ctx.render_json("{{ {'a': '}}'} }}") == {"a": "}}"}
    assert ctx.render_json("{{ [1, {'b': '{{x}}'}] }}") == [1, {"b": "{{x}}"}]
    assert ctx.render_json("{{ {'n': parameters.count} }}") == {"n": 7}


# -- evaluate --------------------------------------------------------------------------------
def test_evaluate(ctx) -> None:
    view = ctx.with_item({"n": 4}, 2)
    assert view.evaluate("item.n * index + parameters.count") == 15
    assert view.evaluate("hosts[1:]") == ["b", "c"]
    assert view.evaluate("name ~ '-' ~ index") == "web-2"
    assert view.evaluate("{'a': item.n, 'b': [index]}") == {"a": 4, "b": [2]}
    assert view.evaluate("hosts | length") == 3
    assert view.evaluate("item.n is even") is True
    assert view.evaluate("10 / 4") == 2.5
    assert view.evaluate("7 // 2") == 3
    assert view.evaluate("2 ** 10") == 1024
    assert view.evaluate("'b' in hosts and not ('z' in hosts)") is True
    assert view.evaluate("  parameters.count  ") == 7


# -- functions -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ round(3.5) }}", "4"),
        ("{{ round(2.5) }}", "3"),
        ("{{ round(-3.5) }}", "-4"),
        ("{{ int(3.9) }} {{ int('12') }}", "3 12"),
        ("{{ float(2) }}", "2.0"),
        ("{{ length(hosts) }} {{ length(name) }}", "3 3"),
        ("{{ join(hosts, ',') }}", "a,b,c"),
        ("{{ upper(name) }}", "WEB"),
        ("{{ unique([3, 1, 3, 2, 1]) }}", "[3,1,2]"),
        ("{{ match('^w.b$', name) }} {{ match('x', name) }}", "true false"),
        ("{{ type_of(null) }} {{ type_of(hosts) }} {{ type_of(1.5) }}", "null array number"),
        ("{{ keys({'b': 1, 'a': 2}) }}", '["b","a"]'),
        ("{{ sum([1, 2, 3.5]) }} {{ max(1, 9, 3) }} {{ min([4, 2]) }}", "6.5 9 2"),
        ("{{ contains(hosts, 'b') }}", "true"),
        ("{{ range(3) }}", "[0,1,2]"),
        ("{{ split('a b', ' ') | length }}", "2"),
    ],
)
def test_helper_functions_in_templates(ctx, template: str, expected: str) -> None:
    assert ctx.render_template(template) == expected


def test_helper_functions_in_expressions(ctx) -> None:
    assert ctx.evaluate("round(3.5)") == 4
    assert type(ctx.evaluate("round(3.5)")) is int
    assert ctx.evaluate("int('42') + 1") == 43
    assert ctx.evaluate("sort(reversed(hosts))") == ["a", "b", "c"]
    assert ctx.evaluate_condition("length(hosts) == 3 and starts_with(name, 'we')")


def test_jinja_filters_and_tests(ctx) -> None:
    render = ctx.render_template
    assert render("{{ hosts | join(', ') }}") == "a, b, c"
    assert render("{{ hosts | first | upper }}{{ hosts | last }}") == "Ac"
    assert render("{{ [3, 1, 2] | sort | list }}") == "[1,2,3]"
    assert render("{{ nope | default('dflt') }} {{ task.fetch.nope | default(1) }}") == "dflt 1"
    assert render("{{ name is defined }} {{ nope is defined }} {{ task.x.y is undefined }}") \
        == "true false true"
    assert render("{{ 3 is number }} {{ name is string }} {{ 4 is even }}") == "true true true"
    assert render("{{ {'b': 2, 'a': 1} | dictsort }}") == '[["a",1],["b",2]]'
    assert render("{{ '%05d' | format(42) }}") == "00042"
    assert render("{{ hosts | map('upper') | join }}") == "ABC"
    assert render("{{ parameters.count | string | length }}") == "1"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ name | center(7) }}", "  web  "),
        ("{{ 'a\nb' | indent(2) }}", "a\n  b"),
        ("{{ name | replace('w', 'W') }}", "Web"),
        ("{{ 'aaa' | replace('a', 'b', 2) }}", "bba"),
        ("{{ 'one two three' | wordwrap(7) }}", "one two\nthree"),
        ("{{ 'one two three' | truncate(9, leeway=0) }}", "one..."),
        ("{{ name | title }}", "Web"),
        ("{{ '  x ' | trim }}", "x"),
    ],
)
def test_jinja_string_filters(ctx, template: str, expected: str) -> None:
    # Filters the limits wrap must keep working as in Jinja2.
    assert ctx.render_template(template) == expected


def test_jinja_statements(ctx) -> None:
    render = ctx.render_template
    assert render("{% for h in hosts %}{{ loop.index }}:{{ h }} {% endfor %}") == "1:a 2:b 3:c "
    assert render("{% if parameters.count > 5 %}big{% else %}small{% endif %}") == "big"
    assert render("{% set x = parameters.count * 2 %}{{ x }}") == "14"
    assert render("{% macro m(a) %}<{{ a }}>{% endmacro %}{{ m(name) }}") == "<web>"
    assert render("{% for k, v in {'a': 1} | dictsort %}{{ k }}={{ v }}{% endfor %}") == "a=1"
    assert render("line\n") == "line\n"  # the trailing newline is kept


# -- errors ----------------------------------------------------------------------------------
ERRORS = [
    pytest.param("{{ nosuch(1) }}", InvalidExpression, "nosuch", id="unknown-function"),
    pytest.param("{{ hosts | nosuchfilter }}", InvalidExpression, "nosuchfilter",
                 id="unknown-filter"),
    pytest.param("{{ 1 + }}", InvalidExpression, "syntax", id="syntax"),
    pytest.param("{% if %}x{% endif %}", InvalidExpression, "syntax", id="syntax-block"),
    pytest.param("{{ name ", InvalidExpression, "syntax", id="unclosed"),
    pytest.param("{% for x in hosts %}", InvalidExpression, "syntax", id="unclosed-block"),
    pytest.param("{{ 'a' + 5 }}", TypeConversion, None, id="str-plus-int"),
    pytest.param("{{ hosts + 1 }}", TypeConversion, None, id="list-plus-int"),
    pytest.param("{{ 1 / 0 }}", InvalidExpression, "division by zero", id="div-zero"),
    pytest.param("{{ 1 // 0 }}", InvalidExpression, "division by zero", id="floordiv-zero"),
    pytest.param("{{ 1 % 0 }}", InvalidExpression, None, id="mod-zero"),
    pytest.param("{{ nope }}", VariableNotFound, "nope", id="undefined"),
    pytest.param("{{ nope | upper }}", VariableNotFound, "nope", id="undefined-filtered"),
    pytest.param("{% for x in nope %}{% endfor %}", VariableNotFound, "nope",
                 id="undefined-loop"),
    pytest.param("{{ int('abc') }}", TypeConversion, "int", id="bad-conversion"),
    pytest.param("{{ hosts() }}", InvalidExpression, "hosts", id="call-data"),
    pytest.param("{{ ''.__class__ }}", ContextError, "__class__", id="sandbox-dunder"),
    pytest.param("{{ range.__globals__ }}", ContextError, "__globals__", id="sandbox-globals"),
]


@pytest.mark.parametrize(("template", "cls", "words"), ERRORS)
def test_template_errors(ctx, template: str, cls: type, words: str | None) -> None:
    forms = _both_paths(template) if "{%" not in template else (template,)
    for form in forms:
        with pytest.raises(cls, match=words and re.escape(words)) as err:
            ctx.render_template(form)
        assert form in str(err.value), "the message names the template"
        assert ctx.render_template("{{ name }}!") == "web!"  # still usable


EXPRESSION_ERRORS = [
    pytest.param("nosuch(1)", InvalidExpression, "nosuch", id="unknown-function"),
    pytest.param("1 +", InvalidExpression, "syntax", id="syntax"),
    pytest.param("name name", InvalidExpression, "syntax", id="trailing"),
    pytest.param("'a' + 5", TypeConversion, None, id="str-plus-int"),
    pytest.param("1 / 0", InvalidExpression, "division by zero", id="div-zero"),
    pytest.param("nope.x", VariableNotFound, "nope.x", id="undefined"),
    pytest.param("hosts[7]", VariableNotFound, "hosts[7]", id="index"),
]


@pytest.mark.parametrize(("expression", "cls", "words"), EXPRESSION_ERRORS)
def test_expression_errors(ctx, expression: str, cls: type, words: str | None) -> None:
    with pytest.raises(cls, match=words and re.escape(words)) as err:
        ctx.evaluate(expression)
    assert expression in str(err.value), "the message names the expression"
    with pytest.raises(cls, match=words and re.escape(words)):
        ctx.render_json("{{ " + expression + " }}")
    assert ctx.evaluate("name") == "web"  # still usable


def test_errors_are_raised_again_from_the_cache(ctx) -> None:
    for _ in range(3):
        with pytest.raises(VariableNotFound, match="nope"):
            ctx.render_template("{{ nope }}")
        with pytest.raises(InvalidExpression, match="syntax"):
            ctx.render_template("{{ 1 + }}")
    ctx.set_var("nope", "now defined")
    assert ctx.render_template("{{ nope }}") == "now defined"


def test_sandbox_blocks_python_internals(ctx) -> None:
    for template in ("{{ hosts.__class__.__mro__ }}", "{{ name.upper }}", "{{ self }}",
                     "{{ lipsum() }}", "{{ cycler }}", "{{ hosts.append(1) }}"):
        with pytest.raises(ContextError):
            ctx.render_template(template)
    assert ctx.evaluate("hosts") == ["a", "b", "c"]


# -- name resolution: a call looks among the functions, a value never does -----------------
@pytest.mark.parametrize("name", ["count", "zip", "result", "length", "range", "succeeded"])
def test_a_variable_named_like_a_function_is_reachable(wc_class: type, name: str) -> None:
    ctx = wc_class({}, {name: [3, 1, 3]})
    assert ctx.evaluate(name) == [3, 1, 3]
    assert ctx.render_template("{{ %s }}|{{ %s[0] + 1 }}" % (name, name)) == "[3,1,3]|4"
    assert ctx.render_template("{%% for x in %s %%}{{ x }}{%% endfor %%}" % name) == "313"
    assert ctx.evaluate(f"{name} is defined") is True
    assert ctx.render_template("{{ length(%s) }}" % name) == "3"  # calls still find functions


def test_a_call_finds_the_function_whatever_the_variables(wc_class: type) -> None:
    ctx = wc_class({}, {"count": 7})
    assert ctx.evaluate("count([1, 2, 1], 1) + count") == 9
    assert ctx.render_template("{% for i in range(2) %}{{ count }}{% endfor %}") == "77"


@pytest.mark.parametrize("source", ["count", "count + 1", "{{ zip }}", "{{ range|length }}"])
def test_a_function_named_as_a_value_is_an_undefined_name(wc_class: type, source: str) -> None:
    ctx = wc_class({}, {})
    with pytest.raises(VariableNotFound, match="no variable named"):
        if source.startswith("{{"):
            ctx.render_template(source)
        else:
            ctx.evaluate(source)
    assert ctx.evaluate("default_missing | default(count is defined)") is False


@pytest.mark.parametrize(("template", "expected"), [
    (r'{{ "\d+\.\d+" }}', r"\d+\.\d+"),  # unknown escapes keep their backslash, as in Jinja2
    (r'{{ "a\\w" }}', "a\\w"),
    (r'{{ "tab\there" }}', "tab\there"),
    (r"{{ match('(\d+)\.(\d+)', 'v1.22') }}", "true"),
])
def test_unknown_escapes_in_string_literals_parse_under_any_warning_filter(
        wc_class: type, template: str, expected: str) -> None:
    # Python warns about "\d" in the codec Jinja2 uses; run with warnings as errors (as this
    # suite is), that warning once made the template a syntax error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wc_class().render_template(template) == expected


# -- what the compiled path covers beyond look-ups ---------------------------------------------
COMPILED_FORMS = [
    # filters given arguments by name, map's attribute form among them
    ("{{ rows | map(attribute='n') | list }}", "[1,2]"),
    ("{{ (rows + [{}]) | map(attribute='n', default=0) | list }}", "[1,2,0]"),
    ("{{ rows | sum(attribute='n') }}", "3"),
    ("{{ rows | map(attribute='n') | join(d='-') }}", "1-2"),
    ("{{ 'a\nb' | indent(width=3, first=true) }}", "   a\n   b"),
    ("{{ 2.345 | round(precision=1) }}", "2.3"),
    # {% if %} blocks, with elif, else, nesting and white-space control
    ("{% if n > 1 %}big{% endif %}", "big"),
    ("{% if n > 5 %}a{% elif n > 1 %}b{{ n }}{% else %}c{% endif %}", "b2"),
    ("{% if n > 5 %}a{% elif n > 4 %}b{% else %}c{{ rows[0].n }}{% endif %}", "c1"),
    ("<{% if n %}{% if rows %}{{ rows | length }}{% endif %}{% endif %}>", "<2>"),
    ("x  {%- if n -%}  y  {%- endif -%}  z", "xyz"),
    ("{% if missing is defined %}{{ missing }}{% else %}none{% endif %}", "none"),
]


@pytest.mark.parametrize(("template", "expected"), COMPILED_FORMS)
def test_keyword_arguments_and_if_blocks_compile(wc_class: type, template: str,
                                                  expected: str) -> None:
    ctx = wc_class(variables={"rows": [{"n": 1}, {"n": 2}], "n": 2})
    compiled, jinja = _both_paths(template)
    assert ctx.render_template(compiled) == expected
    assert ctx.render_template(jinja) == expected  # what Jinja2 renders
    assert type(_templating.compile_template(compiled)) is tuple


def test_map_calling_a_filter_by_name_stays_with_jinja2(wc_class: type) -> None:
    ctx = wc_class(variables={"names": ["a", "b"]})
    template = "{{ names | map('upper') | join(',') }}"
    assert ctx.render_template(template) == "A,B"
    assert type(_templating.compile_template(template)) is not tuple


# -- {% for %} on the fast path ------------------------------------------------------------------
COMPILED_LOOPS = [
    ("{% for r in rows %}{{ r.n }},{% endfor %}", "1,2,"),
    ("{% for r in rows %}{{ loop.index }}/{{ loop.length }}{{ '.' if loop.last else ' ' }}"
     "{% endfor %}", "1/2 2/2."),
    ("{% for r in rows %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
     "{{ loop.first }};{% endfor %}", "021true;110false;"),
    ("{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}", "ba"),  # a dict: its keys
    ("{% for c in 'ab' %}[{{ c }}]{% endfor %}", "[a][b]"),  # a string: its characters
    ("{% for x in [] %}{{ x }}{% else %}empty {{ n }}{% endfor %}", "empty 2"),
    ("{% for x in rows %}{% else %}empty{% endfor %}", ""),
    ("{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }} {% endfor %}"
     "{% endfor %}", "1x1 1y2 2x1 2y2 "),
    ("{% for n in [5] %}{{ n }}{% endfor %}{{ n }}", "52"),  # the variable hides n, inside
    ("{% for item in rows %}{{ item.n }}{% endfor %}", "12"),  # root names too
    ("{% for parameters in [{'x': 1}] %}{{ parameters.x }}{% endfor %}", "1"),
    ("{% for r in rows %}{% if loop.first %}{{ r.n }}{% else %}-{% endif %}{% endfor %}", "1-"),
    ("{% for r in rows | sort(attribute='n', reverse=true) %}{{ r.n }}{% endfor %}", "21"),
    ("{% for r in rows %}{{ r.m | default('d') }}{{ r.n is defined }}{% endfor %}",
     "dtruedtrue"),
    ("{% for r in rows %}{{ rows[loop.index0].n + r.n }}{% endfor %}", "24"),
]


@pytest.mark.parametrize(("template", "expected"), COMPILED_LOOPS)
def test_for_loops_compile(wc_class: type, template: str, expected: str) -> None:
    ctx = wc_class(variables={"rows": [{"n": 1}, {"n": 2}], "n": 2})
    compiled, jinja = _both_paths(template)
    assert ctx.render_template(compiled) == expected
    assert ctx.render_template(jinja) == expected  # what Jinja2 renders
    assert type(_templating.compile_template(compiled)) is tuple


@pytest.mark.parametrize("template", [
    "{% for r in rows if r.n > 1 %}{{ r.n }}{% endfor %}",  # a loop filter
    "{% for k, v in {'a': 1} | items %}{{ k }}{{ v }}{% endfor %}",  # unpacking
    "{% for r in rows recursive %}{{ r.n }}{% endfor %}",
    "{% for r in rows %}{{ loop.cycle('a', 'b') }}{% endfor %}",
    "{% for r in rows %}{{ loop.previtem | default('-') }}{% endfor %}",
    "{% for r in rows %}{{ loop.depth }}{% endfor %}",
    "{% for r in rows %}{{ loop }}{% endfor %}",
    "{% for r in [] %}{% else %}{{ r }}{% endfor %}",  # the variable in the else
    "{% for length in ['x'] %}{{ length(rows) }}{% endfor %}",  # a variable called
    "{% for i in range(2) %}{{ i }}{% endfor %}",
])
def test_other_loops_stay_with_jinja2(wc_class: type, template: str) -> None:
    ctx = wc_class(variables={"rows": [{"n": 1}, {"n": 2}], "r": "R"})
    assert type(_templating.compile_template(template)) is not tuple
    try:
        ctx.render_template(template)
    except ContextError:  # {{ loop }}, length(rows): errors of the Jinja2 path
        pass


def test_a_loop_variable_hides_item_and_index(wc_class: type) -> None:
    view = wc_class({"xs": ["a", "b"]}).with_item({"host": "h"}, 7)
    template = "{% for item in parameters.xs %}{{ item }}{% endfor %}{{ item.host }}{{ index }}"
    assert view.render_template(template) == "abh7"
    assert view.render_template("{% for index in [1] %}{{ index }}{% endfor %}") == "1"
    assert type(_templating.compile_template(template)) is tuple


@pytest.mark.parametrize(("template", "cls", "words"), [
    ("{% for x in n %}{% endfor %}", TypeConversion, "'int' object is not iterable"),
    ("{% for x in nope %}{% endfor %}", VariableNotFound, "'nope' is not defined"),
    ("{% for r in rows %}{{ r.m }}{% endfor %}", VariableNotFound, "'r.m' is not defined"),
    ("{% for r in [[] | first] %}{{ r }}{% endfor %}", VariableNotFound, "'r' is not defined"),
])
def test_loop_errors_match_jinja2(wc_class: type, template: str, cls: type, words: str) -> None:
    ctx = wc_class(variables={"rows": [{"n": 1}], "n": 2})
    assert type(_templating.compile_template(template)) is tuple
    for form in _both_paths(template):
        with pytest.raises(cls, match=re.escape(words)):
            ctx.render_template(form)
