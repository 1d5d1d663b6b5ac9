"""Engines: an executor's own functions, filters, tests, namespaces, limits, cache and printing.

Every test runs on both cores. Engine names are unique in a process, so each test makes its
engines with :func:`new_engine`, which gives each a fresh name.
"""

from __future__ import annotations

import copy
import itertools
import pickle
from typing import Any

import pytest

import fastctx
from fastctx import (
    DEFAULT_ENGINE,
    ContextError,
    Engine,
    InvalidExpression,
    LimitExceeded,
    SerializationError,
    TypeConversion,
    VariableNotFound,
    get_engine,
    limits,
)
from fastctx._pickle import restore_stores

_NAMES = itertools.count()


def new_engine(**options: Any) -> Engine:
    return Engine(f"test-engine-{next(_NAMES)}", **options)


def st2_engine() -> Engine:
    """What an executor registers: now(), st2kv() given the context, a filter, a test and an
    inquiry namespace."""
    engine = new_engine(namespaces=("inquiry",))

    @engine.function("now")
    def now() -> str:
        return "2026-12-03T08:00:00Z"

    @engine.function("st2kv", pass_context=True)
    def st2kv(ctx: Any, key: str, default: Any = None) -> Any:
        return ctx.keystore.get(key, default)

    @engine.filter("to_upper_list")
    def to_upper_list(value: list[str], suffix: str = "") -> list[str]:
        return [member.upper() + suffix for member in value]

    @engine.test("semver")
    def semver(value: str) -> bool:
        return len(value.split(".")) == 3

    return engine


def compiled(engine: Engine, template: str) -> bool:
    """Whether ``template`` (rendered once already) took the compiled path."""
    return type(engine.templates[template]) is tuple


# -- registering and rendering --------------------------------------------------------------
def test_an_executor_renders_with_its_functions_filters_tests_and_namespace(
        wc_class: type) -> None:
    engine = st2_engine()
    ctx = wc_class({"hosts": ["a", "b"]}, {"version": "1.2.3"}, keystore={"token": "t0k"},
                   engine=engine)
    ctx.set_namespace("inquiry", {"approval": {"response": "yes"}})
    view = ctx.with_item("b", 1)
    template = ("{{ now() }} {{ st2kv('token') }} {{ parameters.hosts | to_upper_list('!') }} "
                "{{ version is semver }} {{ inquiry.approval.response }} {{ item }}")
    assert view.render_template(template) == \
        '2026-12-03T08:00:00Z t0k ["A!","B!"] true yes b'
    assert compiled(engine, template)
    assert view.evaluate("st2kv('token') ~ '-' ~ index") == "t0k-1"
    assert type(engine.expressions["st2kv('token') ~ '-' ~ index"]) is tuple
    assert view.evaluate_condition("version is semver and inquiry.approval.response == 'yes'")
    assert view.render_json({"at": "{{ now() }}", "n": "{{ parameters.hosts | length }}"}) \
        == {"at": "2026-12-03T08:00:00Z", "n": 2}


def test_the_jinja2_path_calls_registered_callables_too(wc_class: type) -> None:
    engine = st2_engine()
    ctx = wc_class(keystore={"token": "t0k"}, engine=engine).with_item("x", 0)
    # a loop filter takes the Jinja2 path; the same callables answer there (and in a
    # compiled loop)
    template = ("{{ st2kv('nope', default='dflt') }}"
                "{% for h in ['a'] if h %}{{ [h] | to_upper_list }}{% endfor %}")
    assert ctx.render_template(template) == 'dflt["A"]'
    assert not compiled(engine, template)
    template = template.replace(" if h", "")
    assert ctx.render_template(template) == 'dflt["A"]'
    assert compiled(engine, template)
    assert ctx.render_template("{% if '1.0.0' is semver %}{{ st2kv('token') }}{% endif %}") \
        == "t0k"


def test_pass_context_receives_the_clone_being_rendered(wc_class: type) -> None:
    engine = new_engine()
    seen: list[Any] = []

    @engine.function("current", pass_context=True)
    def current(ctx: Any) -> Any:
        seen.append(ctx)
        return ctx.current_item

    @engine.filter("at", pass_context=True)
    def at(ctx: Any, value: list[Any]) -> Any:
        return value[ctx.current_index]

    root = wc_class(engine=engine)
    views = [root.with_item(item, index) for index, item in enumerate("xyz")]
    assert [view.render_template("{{ current() }}{{ ['p', 'q', 'r'] | at }}")
            for view in views] == ["xp", "yq", "zr"]
    assert seen == views
    assert [view.render_template("{% for _ in [1] if 1 %}{{ current() }}{% endfor %}")
            for view in views] == ["x", "y", "z"]
    # inside compiled loops (nested too), the clone itself, not the loop's frame
    seen.clear()
    template = "{% for a in [1] %}{% for b in [2] %}{{ current() }}{% endfor %}{% endfor %}"
    assert [view.render_template(template) for view in views] == ["x", "y", "z"]
    assert compiled(engine, template)
    assert seen == views


def test_a_second_engine_sees_none_of_the_first_ones_names(wc_class: type) -> None:
    first, second = st2_engine(), new_engine()
    assert wc_class(engine=first).render_template("{{ now() }}") == "2026-12-03T08:00:00Z"
    for engine in (second, DEFAULT_ENGINE):
        ctx = wc_class({"v": "1.0.0"}, engine=engine)
        with pytest.raises(InvalidExpression, match="unknown function 'now'"):
            ctx.render_template("{{ now() }}")
        with pytest.raises(InvalidExpression, match="to_upper_list"):
            ctx.render_template("{{ ['a'] | to_upper_list }}")
        with pytest.raises(InvalidExpression, match="semver"):
            ctx.evaluate("parameters.v is semver")
        with pytest.raises(VariableNotFound, match="inquiry"):
            ctx.render_template("{{ inquiry.approval }}")


def test_registered_names_take_precedence_over_the_helpers(wc_class: type) -> None:
    engine = new_engine(functions={"upper": lambda value: f"<{value}>"},
                        filters={"upper": lambda value: f"[{value}]"})
    ctx = wc_class({"s": "a"}, engine=engine)
    assert ctx.render_template("{{ upper(parameters.s) }} {{ parameters.s | upper }}") == \
        "<a> [a]"
    assert wc_class({"s": "a"}).render_template("{{ upper(parameters.s) }}") == "A"


def test_a_function_is_never_a_value(wc_class: type) -> None:
    engine = st2_engine()
    ctx = wc_class({}, {"now": "the variable"}, engine=engine)
    assert ctx.render_template("{{ now }} / {{ now() }}") == \
        "the variable / 2026-12-03T08:00:00Z"
    assert ctx.render_template("{% for _ in [1] if 1 %}{{ now }}{% endfor %}") == "the variable"


# -- what callables return and raise --------------------------------------------------------
def test_results_are_checked_data(wc_class: type) -> None:
    engine = new_engine(functions={"obj": lambda: object(), "pair": lambda: (1, 2),
                                   "nan": lambda: {"a": {1, 2}}},
                        tests={"odd": lambda value: value % 2})
    ctx = wc_class(engine=engine)
    for source in ("obj()", "nan()"):
        with pytest.raises(TypeConversion, match=f"function '{source[:-2]}'"):
            ctx.evaluate(source)
        with pytest.raises(TypeConversion, match=f"function '{source[:-2]}'"):
            ctx.render_template("{% for _ in [1] if 1 %}{{ " + source + " }}{% endfor %}")
    assert ctx.evaluate("pair()") == [1, 2]
    assert ctx.evaluate("3 is odd") is True
    assert ctx.evaluate("[4] | select('odd') | list") == []


def test_results_are_data_from_then_on(wc_class: type) -> None:
    engine = new_engine(functions={"text": lambda: "{{ keystore.pw }}", "word": lambda: "abc"})
    ctx = wc_class(keystore={"pw": "hunter2"}, engine=engine)
    assert ctx.render_template("{{ text() }}") == "{{ keystore.pw }}"
    with pytest.raises(ContextError):
        ctx.render_template("{{ word().upper() }}")


def test_a_failure_is_an_invalid_expression_naming_it_with_secrets_scrubbed(
        wc_class: type) -> None:
    engine = new_engine()

    @engine.function("boom", pass_context=True)
    def boom(ctx: Any) -> None:
        raise RuntimeError(f"cannot reach vault with {ctx.keystore['pw']}")

    @engine.filter("strict")
    def strict(value: Any) -> None:
        raise VariableNotFound("no such record", "record")

    ctx = wc_class(keystore={"pw": "hunter2-secret"}, engine=engine)
    for template in ("{{ boom() }}", "{% for _ in [1] if 1 %}{{ boom() }}{% endfor %}"):
        with pytest.raises(InvalidExpression, match="function 'boom' failed") as info:
            ctx.render_template(template)
        assert "hunter2-secret" not in str(info.value)
    with pytest.raises(VariableNotFound, match="no such record"):  # a ContextError passes
        ctx.render_template("{{ 1 | strict }}")
    assert ctx.render_template("{{ 1 + 1 }}") == "2"  # the context stays usable


# -- registration rules ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["result", "succeeded", "failed", "timed_out", "range"])
def test_workflow_functions_cannot_be_registered(name: str) -> None:
    engine = new_engine()
    with pytest.raises(ValueError, match="workflow function"):
        engine.function(name)(lambda: 1)


@pytest.mark.parametrize("name", ["parameters", "item", "task", "config", "keystore", "vars",
                                  "result", "loop", "null", "bad name", ""])
def test_namespaces_cannot_take_a_root_name(name: str) -> None:
    with pytest.raises(ValueError):
        new_engine(namespaces=(name,))


def test_bad_registrations_are_refused() -> None:
    engine = new_engine()
    with pytest.raises(ValueError, match="identifier"):
        engine.filter("to-yaml")(len)
    with pytest.raises(ValueError, match="callable"):
        new_engine(functions={"x": 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="default engine"):
        DEFAULT_ENGINE.function("now")(lambda: 1)
    with pytest.raises(ValueError, match="exists already"):
        Engine(engine.name)
    with pytest.raises(ValueError, match="printing"):
        new_engine(printing="yaml")
    with pytest.raises(ValueError, match="cache_size"):
        new_engine(cache_size=0)
    with pytest.raises(TypeError, match="unknown limit"):
        new_engine(limits={"max_outptu": 5})


def test_registering_later_drops_the_compiled_templates(wc_class: type) -> None:
    engine = new_engine()
    ctx = wc_class(engine=engine)
    with pytest.raises(InvalidExpression, match="unknown function 'late'"):
        ctx.render_template("{{ late() }}")
    assert ctx.render_template("{{ 1 }}") == "1"
    engine.function("late")(lambda: "here")
    assert "{{ 1 }}" not in engine.templates
    assert ctx.render_template("{{ late() }}") == "here"


def test_get_engine() -> None:
    engine = new_engine()
    assert get_engine(engine.name) is engine
    assert get_engine("default") is DEFAULT_ENGINE
    with pytest.raises(KeyError, match="no engine named"):
        get_engine("no-such-engine")


# -- namespaces -----------------------------------------------------------------------------
def test_namespaces_are_empty_until_set_and_shared_by_clones(wc_class: type) -> None:
    engine = new_engine(namespaces=("inquiry", "st2"))
    ctx = wc_class(engine=engine)
    clone = ctx.clone()
    assert dict(ctx.get_namespace("inquiry")) == {}
    with pytest.raises(VariableNotFound, match=r"inquiry\.x"):
        ctx.render_template("{{ inquiry.x }}")
    clone.set_namespace("inquiry", {"x": 1})
    assert ctx.render_template("{{ inquiry.x }} {{ st2 }}") == "1 {}"
    view = ctx.get_namespace("inquiry")
    with pytest.raises(TypeError):
        view["x"] = 2  # type: ignore[index]
    with pytest.raises(VariableNotFound, match="no namespace 'other'"):
        ctx.get_namespace("other")
    with pytest.raises(VariableNotFound, match="no namespace 'other'"):
        ctx.set_namespace("other", {})
    with pytest.raises(SerializationError, match="namespace 'inquiry'"):
        ctx.set_namespace("inquiry", {"x": object()})
    assert dict(ctx.get_namespace("inquiry")) == {"x": 1}


def test_a_namespace_comes_before_a_variable_of_its_name(wc_class: type) -> None:
    engine = new_engine(namespaces=("inquiry",))
    ctx = wc_class({}, {"inquiry": "a variable"}, engine=engine)
    ctx.set_namespace("inquiry", {"x": "the namespace"})
    assert ctx.render_template("{{ inquiry.x }}") == "the namespace"
    assert ctx.render_template("{{ vars.inquiry }}") == "a variable"


# -- export, import, pickle, copy -----------------------------------------------------------
def test_export_and_from_export_round_trip_namespaces(wc_class: type) -> None:
    engine = st2_engine()
    ctx = wc_class({"p": 1}, {"v": 2}, engine=engine)
    ctx.set_namespace("inquiry", {"approval": {"response": "no"}})
    data = ctx.export()
    assert data["namespaces"] == {"inquiry": {"approval": {"response": "no"}}}
    back = wc_class.from_export(data, engine=engine)
    assert back.engine is engine
    assert back.render_template("{{ inquiry.approval.response }} {{ now() }}") == \
        "no 2026-12-03T08:00:00Z"
    assert "namespaces" not in wc_class({"p": 1}).export()
    with pytest.raises(SerializationError, match="no namespace 'inquiry'"):
        wc_class.from_export(data)  # the default engine has no namespace
    with pytest.raises(SerializationError, match="namespaces"):
        wc_class.from_export({**data, "namespaces": []}, engine=engine)


def test_rebuild_binds_the_engine(wc_class: type) -> None:
    engine = st2_engine()
    ctx = wc_class.rebuild({"p": 1}, {"v": 2}, {"t": {"ok": True}}, engine=engine)
    assert ctx.engine is engine
    assert ctx.render_template("{{ now() }} {{ task.t.ok }}") == "2026-12-03T08:00:00Z true"
    assert wc_class.rebuild({}, {}, {}).engine is DEFAULT_ENGINE


def test_pickles_and_copies_keep_the_engine(wc_class: type) -> None:
    engine = st2_engine()
    ctx = wc_class(keystore={"token": "t"}, engine=engine)
    ctx.set_namespace("inquiry", {"a": [1]})
    view = ctx.with_item(7, 0)
    for back in (pickle.loads(pickle.dumps(view)), copy.deepcopy(view)):
        assert back.engine is engine
        assert dict(back.get_namespace("inquiry")) == {"a": [1]}
        assert back.render_template("{{ item }} {{ st2kv('token') }} {{ inquiry.a }}") == \
            "7 t [1]"
    assert copy.copy(view).engine is engine
    assert view.clone().engine is engine


def test_a_pickle_of_an_unregistered_engine_fails_naming_it() -> None:
    with pytest.raises(SerializationError, match="'gone-engine'"):
        restore_stores({}, {}, {}, None, {}, {}, "gone-engine", None)
    with pytest.raises(SerializationError):
        restore_stores({}, {}, {}, None, {}, {}, "default", {"inquiry": {}})


def test_engine_must_be_an_engine(wc_class: type) -> None:
    with pytest.raises(TypeConversion, match=r"fastctx\.Engine"):
        wc_class(engine="st2")


# -- limits ---------------------------------------------------------------------------------
def test_each_engine_has_its_own_limits(wc_class: type) -> None:
    small = new_engine(limits={"max_output": 10, "max_range": 5})
    ctx = wc_class({"s": "x" * 20}, engine=small)
    other = wc_class({"s": "x" * 20}, engine=new_engine())
    for template in ("{{ parameters.s }}", "{% for _ in [1] if 1 %}{{ parameters.s }}{% endfor %}"):
        with pytest.raises(LimitExceeded, match="max_output=10"):
            ctx.render_template(template)
        assert other.render_template(template) == "x" * 20
    with pytest.raises(LimitExceeded, match="max_range"):
        ctx.evaluate("range(6)")
    assert ctx.evaluate("range(5)") == [0, 1, 2, 3, 4]
    assert len(other.evaluate("range(6)")) == 6


def test_engines_follow_the_process_defaults_where_they_set_nothing(wc_class: type) -> None:
    engine = new_engine(limits={"max_output": 1000})
    ctx = wc_class(engine=engine)
    old = limits.configure(max_range=3)
    try:
        with pytest.raises(LimitExceeded, match="max_range"):
            ctx.evaluate("range(4)")
        with pytest.raises(LimitExceeded, match="max_output=1000"):
            ctx.render_template("{{ 'x' * 1001 }}")
    finally:
        limits.configure(**old)
    assert len(ctx.evaluate("range(4)")) == 4
    assert limits.current() is limits.LIMITS  # nothing stays in force after a render


def test_limits_apply_inside_registered_callables_and_nested_renders(wc_class: type) -> None:
    small = new_engine(limits={"max_output": 10})

    @small.function("inner", pass_context=True)
    def inner(ctx: Any) -> str:
        assert limits.current().max_output == 10
        return "ok"

    ctx = wc_class(engine=small)
    assert ctx.render_json({"a": "{{ inner() }}"}) == {"a": "ok"}
    big = wc_class({"s": "y" * 20})
    big_engine = new_engine()

    @big_engine.function("other", pass_context=True)
    def other(view: Any) -> str:
        return big.render_template("{{ parameters.s }}")  # the default engine's limits

    assert wc_class(engine=big_engine).render_template("{{ other() }}") == "y" * 20

    @small.function("default_inside", pass_context=True)
    def default_inside(view: Any) -> str:  # a default-engine render inside a limited one
        return big.render_template("{% for _ in [1] if 1 %}{{ parameters.s ~ '' }}{% endfor %}")

    assert ctx.evaluate("default_inside() | length") == 20
    with pytest.raises(LimitExceeded, match="max_output=10"):
        ctx.render_template("{{ default_inside() }}")  # its own output is the small engine's


# -- the cache ------------------------------------------------------------------------------
def test_the_cache_evicts_the_least_recently_used(wc_class: type) -> None:
    engine = new_engine(cache_size=4)
    ctx = wc_class({"n": 1}, engine=engine)
    sources = [f"{{{{ parameters.n + {i} }}}}" for i in range(6)]
    for source in sources[:4]:
        ctx.render_template(source)
    ctx.render_template(sources[0])  # used again: now the most recent
    ctx.render_template(sources[4])  # evicts sources[1], the least recently used
    assert list(engine.templates) == [sources[2], sources[3], sources[0], sources[4]]
    ctx.render_template(sources[5])
    assert sources[2] not in engine.templates and sources[0] in engine.templates
    assert len(DEFAULT_ENGINE.templates) <= DEFAULT_ENGINE.cache_size


def test_each_cache_records_uses_of_its_own_keys(wc_class: type) -> None:
    # render_json's strings and conditions, used again once the caches are past half full:
    # each use moves its own key, and a template string never enters the expressions cache
    # (a condition found there is taken for a bare expression)
    engine = new_engine(cache_size=4)
    ctx = wc_class({"flag": "false"}, engine=engine)
    for i in range(3):
        ctx.evaluate_condition(f"parameters.flag == '{i}'")
    document = {"a": "{{ parameters.flag }}", "b": "flag: {{ parameters.flag }}"}
    for _ in range(2):
        assert ctx.render_json(document) == {"a": "false", "b": "flag: false"}
    assert "{{ parameters.flag }}" not in engine.expressions
    assert list(engine.json_strings) == [document["a"], document["b"]]
    assert ctx.evaluate_condition("{{ parameters.flag }}") is False  # its text, judged
    assert ctx.evaluate_condition("parameters.flag") is True  # a non-empty string
    assert not ctx.evaluate_condition("parameters.flag == '0'")  # used again: moved last
    assert list(engine.expressions)[-1] == "parameters.flag == '0'"
    assert len(engine.expressions) <= 4


# -- whitespace and printing ----------------------------------------------------------------
def test_trim_and_lstrip_blocks(wc_class: type) -> None:
    template = "a\n    {% if true %}\nb\n    {% endif %}\nc"
    plain = wc_class().render_template(template)
    trimmed = wc_class(engine=new_engine(trim_blocks=True, lstrip_blocks=True))
    assert plain == "a\n    \nb\n    \nc"
    assert trimmed.render_template(template) == "a\nb\nc"


def test_printing_as_jinja2_prints(wc_class: type) -> None:
    engine = new_engine(printing="jinja2")
    ctx = wc_class({"none": None, "yes": True, "d": {"a": [1, "b"]}, "f": 1.5}, engine=engine)
    template = "{{ parameters.none }} {{ parameters.yes }} {{ parameters.d }} {{ parameters.f }}"
    expected = "None True {'a': [1, 'b']} 1.5"
    assert ctx.render_template(template) == expected
    assert compiled(engine, template)
    assert ctx.render_template("{% for _ in [1] if 1 %}" + template + "{% endfor %}") == expected
    assert ctx.render_template("{{ parameters.yes ~ '/' ~ parameters.none }}") == "True/None"
    assert ctx.evaluate("parameters.d") == {"a": [1, "b"]}  # values keep their type
    default = wc_class({"none": None, "yes": True, "d": {"a": [1, "b"]}, "f": 1.5})
    assert default.render_template(template) == ' true {"a":[1,"b"]} 1.5'


def test_printing_as_jinja2_prints_only_data(wc_class: type) -> None:
    ctx = wc_class(engine=new_engine(printing="jinja2"))
    with pytest.raises(TypeConversion):
        ctx.render_template("{% for x in [1] %}{{ loop }}{% endfor %}")


def test_the_default_engine_is_public() -> None:
    assert fastctx.DEFAULT_ENGINE is DEFAULT_ENGINE
    assert fastctx.WorkflowContext().engine is DEFAULT_ENGINE
    assert DEFAULT_ENGINE.functions == {} and DEFAULT_ENGINE.namespaces == ()
    assert "Engine 'default'" in repr(DEFAULT_ENGINE)


# -- the compiled path and the Jinja2 path agree --------------------------------------------
DIFFERENTIAL = [
    "{{ now() }}", "{{ st2kv('token') }}", "{{ st2kv('absent') }}", "{{ st2kv('token') ~ 1 }}",
    "{{ parameters.hosts | to_upper_list('-') }}", "{{ (parameters.hosts | to_upper_list)[0] }}",
    "{{ 'x' is semver }}", "{{ parameters.version is semver }}",
    "{{ st2kv('token').nope }}", "{{ (parameters.hosts | to_upper_list)[5] }}",
    "{{ parameters.hosts[index] }}", "{{ parameters.hosts[index + 5] }}",
    "{{ inquiry.approval.response }}", "{{ inquiry.nope }}", "{{ upper(now()) }}",
]


@pytest.mark.parametrize("template", DIFFERENTIAL)
def test_registered_callables_agree_on_both_paths(wc_class: type, template: str) -> None:
    from fastctx import _templating

    engine = st2_engine()
    ctx = wc_class({"hosts": ["a", "b"], "version": "1.2.3"}, keystore={"token": "t0k"},
                   engine=engine).with_item("x", 1)
    ctx.set_namespace("inquiry", {"approval": {"response": "yes"}})

    def outcome(render: Any) -> Any:
        try:
            return render()
        except ContextError as exc:
            return type(exc).__name__, str(exc)

    compiled_result = outcome(lambda: ctx.render_template(template))
    assert compiled(engine, template)
    jinja = _templating.jinja_only(template, False, engine)
    assert outcome(lambda: jinja.render(ctx)) == compiled_result


def test_registered_functions_take_arguments_by_name(wc_class: type) -> None:
    engine = st2_engine()
    ctx = wc_class(keystore={"k": "v"}, engine=engine)
    template = "{{ st2kv('nope', default='d') }}|{{ ['a'] | to_upper_list(suffix='!') }}"
    assert ctx.render_template(template) == 'd|["A!"]'
    assert compiled(engine, template)
    assert ctx.evaluate("st2kv(key='k')") == "v"
