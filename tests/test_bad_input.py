"""Bad input at every public entry point: a clear ContextError, and a context that still works.

Every refused call must raise a :class:`fastctx.ContextError` subclass (never a raw
``RecursionError``, a ``TypeError`` that is not ``TypeConversion``, or a crash) whose message
names what was wrong; after it, the context renders, reads and clones as before and holds
nothing from the refused call.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import math
import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest
from nesting import nest, nest_dict

from fastctx import (
    ContextError,
    LimitExceeded,
    SerializationError,
    TaskOutcome,
    TypeConversion,
)


def nest_mixed(depth: int) -> Any:
    value: Any = 0
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def _recursive_list() -> list[Any]:
    value: list[Any] = [1]
    value.append(value)
    return value


def _recursive_dict() -> dict[str, Any]:
    value: dict[str, Any] = {"a": 1}
    value["self"] = value
    return value


class Thing:
    pass


# -- what is refused, and what the message must say ----------------------------------------
#: (id, value, words of which the message must contain at least one)
NON_JSON: list[tuple[str, Callable[[], Any], tuple[str, ...]]] = [
    ("set", lambda: {1, 2}, ("set",)),
    ("frozenset", lambda: frozenset(), ("frozenset",)),
    ("bytes", lambda: b"abc", ("bytes",)),
    ("bytearray", lambda: bytearray(b"abc"), ("bytearray",)),
    ("object", lambda: object(), ("object",)),
    ("instance", lambda: Thing(), ("Thing",)),
    ("function", lambda: len, ("builtin_function_or_method", "function")),
    ("nan", lambda: math.nan, ("NaN",)),
    ("inf", lambda: math.inf, ("inf", "Inf")),
    ("-inf", lambda: -math.inf, ("inf", "Inf")),
    ("tuple", lambda: (1, 2), ("tuple",)),
    ("complex", lambda: 1j, ("complex",)),
    ("decimal", lambda: decimal.Decimal("1.5"), ("Decimal",)),
    ("datetime", lambda: datetime.datetime(2024, 1, 1), ("datetime",)),
    ("enum", lambda: TaskOutcome.SUCCEEDED, ("TaskOutcome",)),
    ("generator", lambda: (x for x in ()), ("generator",)),
    ("int-keys", lambda: {1: "a"}, ("key",)),
    ("tuple-keys", lambda: {(1, 2): "a"}, ("key",)),
    ("none-key", lambda: {None: "a"}, ("key",)),
    ("nested-set", lambda: {"a": [1, {"b": {3}}]}, ("set",)),
    ("nested-nan", lambda: {"a": [1.0, [math.nan]]}, ("NaN",)),
    ("nested-bytes-key", lambda: {"a": {b"k": 1}}, ("key",)),
    ("ordered-dict", lambda: OrderedDict(a=1), ("OrderedDict",)),
    ("recursive-list", _recursive_list, ("max_depth",)),
    ("recursive-dict", _recursive_dict, ("max_depth",)),
    ("10000-deep-list", lambda: nest(10_000), ("max_depth",)),
    ("10000-deep-dict", lambda: nest_dict(10_000), ("max_depth",)),
]
NON_JSON_IDS = [case[0] for case in NON_JSON]

BAD_NAMES: list[Any] = [1, None, b"x", ["x"], 1.5, ("x",), True, {"x": 1}]
BAD_NAME_IDS = ["int", "None", "bytes", "list", "float", "tuple", "bool", "dict"]

NON_STRINGS: list[Any] = [1, None, b"{{ v }}", ["{{ v }}"], {"a": "{{ v }}"}, 1.5, object()]
NON_STRING_IDS = ["int", "None", "bytes", "list", "dict", "float", "object"]

BAD_INDEXES: list[Any] = ["0", 0.0, None, True, [0], b"0", 1.5, 2**0.5]
BAD_INDEX_IDS = ["str", "float0", "None", "bool", "list", "bytes", "float", "sqrt2"]

BAD_OUTCOMES: list[Any] = ["SUCCEEDED", "succeeded", 0, 1, None, True, TaskOutcome]
BAD_OUTCOME_IDS = ["name", "lower", "0", "1", "None", "bool", "the-enum-class"]


# -- the context before and after ----------------------------------------------------------
@pytest.fixture
def ctx(wc_class: type) -> Any:
    ctx = wc_class({"p": 1}, {"v": "value", "d": {"a": [1, 2]}}, pack_config={"c": 1},
                   keystore={"k": "secret-value"},
                   system={"workflow_start": "2024-01-01T00:00:00Z"})
    ctx.set_task_result("fetch", {"rc": 0})
    ctx.set_last_task_outcome({"rc": 0}, TaskOutcome.SUCCEEDED)
    return ctx.with_item({"host": "h1"}, 3)


def snapshot(ctx: Any) -> Any:
    return (ctx.export(include_secrets=True), ctx.current_item, ctx.current_index,
            ctx.last_result, ctx.last_outcome)


def assert_still_works(ctx: Any, before: Any) -> None:
    """The context holds nothing from the refused call, and renders, reads and clones."""
    assert snapshot(ctx) == before
    assert ctx.render_template("{{ v }} {{ item.host }} {{ index }}") == "value h1 3"
    assert ctx.render_template("{% for _ in [1] if 1 %}{{ d.a[1] }}{% endfor %}") == "2"
    assert ctx.evaluate("parameters.p + d.a[0]") == 2
    assert ctx.evaluate_condition("succeeded() and task.fetch.rc == 0")
    assert ctx.render_json({"x": "{{ d }}"}) == {"x": {"a": [1, 2]}}
    assert ctx.get_var("v") == "value"
    assert ctx.get_task_result("fetch") == {"rc": 0}
    clone = ctx.clone()
    assert clone.render_template("{{ config.c }}{{ keystore.k }}") == "1secret-value"
    assert ctx.with_item("other", 0).render_template("{{ item }}") == "other"
    copied = copy.deepcopy(ctx)  # a write, where it leaves nothing in ctx
    copied_clone = copied.clone()
    copied.set_var("probe", 1)
    assert copied_clone.get_var("probe") == 1
    assert snapshot(ctx) == before


def refused(call: Callable[[], Any], kinds: type | tuple[type, ...], words: tuple[str, ...],
            ) -> ContextError:
    """``call()`` raises one of ``kinds`` (ContextError subclasses) whose message has one of
    ``words``."""
    try:
        value = call()
    except ContextError as exc:
        assert isinstance(exc, kinds), f"{type(exc).__name__} (expected {kinds}): {exc}"
        message = str(exc)
        assert message, "an empty message"
        assert any(word in message for word in words), \
            f"the message names none of {words}: {message!r}"
        return exc
    except BaseException as exc:  # noqa: BLE001 - anything else is the failure under test
        pytest.fail(f"raised {type(exc).__name__}, not a ContextError: {exc!r:.300}")
    pytest.fail(f"accepted: returned {value!r:.200}")


def problem(label: str, call: Callable[[], Any], kinds: type | tuple[type, ...],
            words: tuple[str, ...]) -> str | None:
    """What is wrong with how ``call()`` refuses its input (None if it refuses it right)."""
    try:
        refused(call, kinds, words)
    except pytest.fail.Exception as exc:
        return f"{label}: {exc.msg}"
    except AssertionError as exc:
        return f"{label}: {str(exc).splitlines()[0]}"
    return None


# -- names ---------------------------------------------------------------------------------
NAME_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "set_var": lambda ctx, name: ctx.set_var(name, 1),
    "get_var": lambda ctx, name: ctx.get_var(name),
    "get_var-default": lambda ctx, name: ctx.get_var(name, "default"),
    "set_task_result": lambda ctx, name: ctx.set_task_result(name, {"rc": 0}),
    "get_task_result": lambda ctx, name: ctx.get_task_result(name),
    "set_system": lambda ctx, name: ctx.set_system(name, "x"),
    "publish_vars": lambda ctx, name: ctx.publish_from_result({"r": 1}, [name]),
    "publish_map-key": lambda ctx, name: ctx.publish_from_result({"r": 1}, (), {name: "{{ 1 }}"}),
}


@pytest.mark.parametrize("entry", list(NAME_CALLS))
def test_names_must_be_strings(ctx: Any, entry: str) -> None:
    before = snapshot(ctx)
    problems = []
    for name, label in zip(BAD_NAMES, BAD_NAME_IDS):
        if entry == "publish_map-key" and type(name) in (list, dict):
            continue  # not hashable: cannot be a key of a publish map
        problems.append(problem(f"{entry}({label})", lambda: NAME_CALLS[entry](ctx, name),
                                TypeConversion, ("name", "str")))
        assert_still_works(ctx, before)
    assert [p for p in problems if p] == []


# -- values --------------------------------------------------------------------------------
VALUE_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "set_var": lambda ctx, value: ctx.set_var("x", value),
    "set_var-nested": lambda ctx, value: ctx.set_var("x", {"ok": 1, "bad": [value]}),
    "set_task_result": lambda ctx, value: ctx.set_task_result("t", value),
    "set_system": lambda ctx, value: ctx.set_system("s", value),
    "set_pack_config": lambda ctx, value: ctx.set_pack_config({"a": value}),
    "set_keystore": lambda ctx, value: ctx.set_keystore({"a": value}),
    "set_last_task_outcome": lambda ctx, value: ctx.set_last_task_outcome(
        value, TaskOutcome.FAILED),
    "publish_vars": lambda ctx, value: ctx.publish_from_result(value, ["x", "y"]),
    "publish_map": lambda ctx, value: ctx.publish_from_result(
        {"r": 1}, ["whole"], {"ok": "{{ 1 }}", "bad": value}),
}


@pytest.mark.parametrize(("case", "make", "words"), NON_JSON, ids=NON_JSON_IDS)
def test_values_must_be_json(ctx: Any, case: str, make: Callable[[], Any],
                             words: tuple[str, ...]) -> None:
    before = snapshot(ctx)
    problems = []
    for entry, call in VALUE_CALLS.items():
        problems.append(problem(entry, lambda: call(ctx, make()),
                                (SerializationError, LimitExceeded), words))
        assert_still_works(ctx, before)
    assert [p for p in problems if p] == []


CONSTRUCTORS: dict[str, Callable[[type, Any], Any]] = {
    "parameters": lambda cls, value: cls({"a": value}),
    "variables": lambda cls, value: cls(None, {"a": value}),
    "pack_config": lambda cls, value: cls(pack_config={"a": value}),
    "keystore": lambda cls, value: cls(keystore={"a": value}),
    "system": lambda cls, value: cls(system={"a": value}),
    "from_export-variables": lambda cls, value: cls.from_export({"variables": {"a": value}}),
    "from_export-task_results": lambda cls, value: cls.from_export({"task_results": {"t": value}}),
    "from_export-keystore": lambda cls, value: cls.from_export({"keystore": {"k": value}}),
    "import_-system": lambda cls, value: cls.import_({"system": {"s": value}}),
    "rebuild-parameters": lambda cls, value: cls.rebuild({"a": value}, None, None),
    "rebuild-variables": lambda cls, value: cls.rebuild(None, {"a": value}, None),
    "rebuild-task_results": lambda cls, value: cls.rebuild(None, None, {"t": value}),
}


@pytest.mark.parametrize(("case", "make", "words"), NON_JSON, ids=NON_JSON_IDS)
def test_constructors_refuse_non_json(wc_class: type, ctx: Any, case: str,
                                      make: Callable[[], Any], words: tuple[str, ...]) -> None:
    before = snapshot(ctx)
    problems = [problem(entry, lambda: call(wc_class, make()), (SerializationError, LimitExceeded),
                        words) for entry, call in CONSTRUCTORS.items()]
    assert [p for p in problems if p] == []
    assert_still_works(ctx, before)
    assert wc_class({"a": 1}).render_template("{{ parameters.a }}") == "1"


@pytest.mark.parametrize("value", [[1], "abc", 5, (("a", 1),), b"{}", 1.5],
                         ids=["list", "str", "int", "pairs", "bytes", "float"])
def test_stores_must_be_objects(wc_class: type, ctx: Any, value: Any) -> None:
    before = snapshot(ctx)
    kind = type(value).__name__
    for call in (lambda: wc_class(value), lambda: wc_class(None, value),
                 lambda: wc_class(pack_config=value), lambda: wc_class(keystore=value),
                 lambda: wc_class(system=value),
                 lambda: ctx.set_pack_config(value), lambda: ctx.set_keystore(value)):
        refused(call, (TypeConversion, SerializationError), (kind,))
        assert_still_works(ctx, before)


def test_a_mapping_that_is_not_a_dict_is_refused_or_copied(wc_class: type) -> None:
    """An OrderedDict (or other Mapping) store is refused clearly or stored as a plain dict."""
    for make in (lambda v: wc_class(v), lambda v: wc_class(None, v),
                 lambda v: wc_class(keystore=v)):
        try:
            ctx = make(OrderedDict(a=1))
        except ContextError as exc:
            assert "OrderedDict" in str(exc)
        else:
            assert ctx.export(include_secrets=True)


# -- templates, expressions, conditions ----------------------------------------------------
@pytest.mark.parametrize("value", NON_STRINGS, ids=NON_STRING_IDS)
def test_templates_must_be_strings(ctx: Any, value: Any) -> None:
    before = snapshot(ctx)
    kind = type(value).__name__
    for call in (lambda: ctx.render_template(value), lambda: ctx.evaluate(value),
                 lambda: ctx.evaluate_condition(value)):
        refused(call, TypeConversion, (kind,))
        assert_still_works(ctx, before)


def test_conditions_take_booleans(ctx: Any) -> None:
    assert ctx.evaluate_condition(True) is True
    assert ctx.evaluate_condition(False) is False


@pytest.mark.parametrize("make", [lambda: nest(10_000, "{{ v }}"), lambda: nest_dict(10_000),
                                  lambda: nest_mixed(10_000), _recursive_list,
                                  _recursive_dict],
                         ids=["list", "dict", "mixed", "recursive-list", "recursive-dict"])
def test_render_json_refuses_deep_input(ctx: Any, make: Callable[[], Any]) -> None:
    before = snapshot(ctx)
    error = refused(lambda: ctx.render_json(make()), LimitExceeded, ("max_depth",))
    assert error.limit == "max_depth"  # type: ignore[attr-defined]
    assert_still_works(ctx, before)


@pytest.mark.parametrize("template", [
    "{{ v", "{{ }}", "{% for %}", "{% endfor %}", "{{ v }", "{{ 1 +* 2 }}", "{{ 'unclosed }}",
    "{% if v %}", "{{ v|no_such_filter }}", "{{ v is no_such_test }}", "\x00{{ \x00 }}",
    "{{ v }}" + "{{" * 1000,
])
def test_malformed_templates(ctx: Any, template: str) -> None:
    _each_fails_cleanly(ctx, (lambda: ctx.render_template(template),
                              lambda: ctx.render_json({"a": template}),
                              lambda: ctx.evaluate_condition(template)))


@pytest.mark.parametrize("expression", ["", " ", "1 +", "v v", "{{ v }}", "(", "]", "a.",
                                        "'unclosed", "1 if", "x[", "{% if %}"])
def test_malformed_expressions(ctx: Any, expression: str) -> None:
    _each_fails_cleanly(ctx, (lambda: ctx.evaluate(expression),
                              lambda: ctx.evaluate_condition(expression)))


def _each_fails_cleanly(ctx: Any, calls: tuple[Callable[[], Any], ...]) -> None:
    """Each call succeeds or raises a ContextError with a message; the context still works."""
    before = snapshot(ctx)
    for call in calls:
        try:
            call()
        except ContextError as exc:
            assert str(exc)
        except BaseException as exc:  # noqa: BLE001
            pytest.fail(f"raised {type(exc).__name__}, not a ContextError: {exc!r:.300}")
        assert_still_works(ctx, before)


# -- from_export ---------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "words"), [
    ([("variables", {})], ("list",)),
    ("{}", ("str",)),
    (None, ("NoneType", "None")),
    (5, ("int",)),
    (b"{}", ("bytes",)),
    ({"foo": {}}, ("foo",)),
    ({1: {}}, ("1",)),
    ({"variables": {}, "extra": 1}, ("extra",)),
    ({"variables": [1]}, ("variables",)),
    ({"variables": "x"}, ("variables",)),
    ({"variables": None}, ("variables",)),
    ({"parameters": 5}, ("parameters",)),
    ({"task_results": [["t", 1]]}, ("task_results",)),
    ({"system": "now"}, ("system",)),
    ({"pack_config": (("a", 1),)}, ("pack_config",)),
    ({"keystore": ["x"]}, ("keystore",)),
    ({"variables": {1: 2}}, ("key",)),
    ({"variables": {"a": math.nan}}, ("NaN",)),
    ({"variables": {"a": nest(10_000)}}, ("max_depth",)),
    ({"task_results": nest_dict(10_000)}, ("max_depth",)),
    ({"variables": {"a": {"b": {1, 2}}}}, ("set",)),
], ids=["list", "str", "None", "int", "bytes", "unknown-key", "int-key", "extra-key",
        "variables-list", "variables-str", "variables-None", "parameters-int",
        "task_results-pairs", "system-str", "pack_config-tuple", "keystore-list",
        "int-keys-inside", "nan-inside", "10000-deep", "10000-deep-dict", "set-inside"])
def test_from_export_refuses_malformed_data(wc_class: type, ctx: Any, data: Any,
                                            words: tuple[str, ...]) -> None:
    before = snapshot(ctx)
    for load in (wc_class.from_export, wc_class.import_):
        refused(lambda: load(data), (SerializationError, LimitExceeded), words)
    assert_still_works(ctx, before)
    assert wc_class.from_export(ctx.export()).render_template("{{ v }}") == "value"


# -- rebuild -------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [([1], None, None), ("abc", None, None), (None, "abc", None),
                                  (None, 5, None), (None, None, 5), (None, None, [("t", 1)]),
                                  (None, None, b"x"), (object(), None, None)],
                         ids=["parameters-list", "parameters-str", "variables-str",
                              "variables-int", "task_results-int", "task_results-pairs",
                              "task_results-bytes", "parameters-object"])
def test_rebuild_refuses_non_mappings(wc_class: type, ctx: Any, args: tuple[Any, ...]) -> None:
    before = snapshot(ctx)
    bad = next(arg for arg in args if arg is not None)
    refused(lambda: wc_class.rebuild(*args), (TypeConversion, SerializationError),
            (type(bad).__name__,))
    assert_still_works(ctx, before)


def test_rebuild_refuses_bad_task_names(wc_class: type) -> None:
    refused(lambda: wc_class.rebuild(None, None, {1: {"rc": 0}}), TypeConversion, ("name",))


# -- with_item, set_current_item, set_last_task_outcome -----------------------------------
@pytest.mark.parametrize("index", BAD_INDEXES, ids=BAD_INDEX_IDS)
def test_index_must_be_an_int(ctx: Any, index: Any) -> None:
    before = snapshot(ctx)
    refused(lambda: ctx.with_item("x", index), TypeConversion, ("index",))
    assert_still_works(ctx, before)
    refused(lambda: ctx.set_current_item("x", index), TypeConversion, ("index",))
    assert_still_works(ctx, before)


@pytest.mark.parametrize("outcome", BAD_OUTCOMES, ids=BAD_OUTCOME_IDS)
def test_outcome_must_be_a_task_outcome(ctx: Any, outcome: Any) -> None:
    before = snapshot(ctx)
    refused(lambda: ctx.set_last_task_outcome({"rc": 1}, outcome), TypeConversion,
            ("outcome", "TaskOutcome"))
    assert_still_works(ctx, before)


# -- publish_from_result -------------------------------------------------------------------
@pytest.mark.parametrize(("publish_vars", "publish_map", "words"), [
    (None, None, ("publish_vars", "NoneType")),
    (5, None, ("publish_vars", "int")),
    (b"x", None, ("publish_vars", "bytes")),
    ((), [("a", "{{ 1 }}")], ("publish_map", "list")),
    ((), "{{ 1 }}", ("publish_map", "str")),
    ([1], None, ("name",)),
    (["ok", None], None, ("name",)),
], ids=["vars-None", "vars-int", "vars-bytes", "map-list", "map-str", "vars-int-name",
        "vars-None-name"])
def test_publish_refuses_bad_arguments(ctx: Any, publish_vars: Any, publish_map: Any,
                                       words: tuple[str, ...]) -> None:
    before = snapshot(ctx)
    refused(lambda: ctx.publish_from_result({"r": 1}, publish_vars, publish_map),
            TypeConversion, words)
    assert_still_works(ctx, before)


def test_publish_is_all_or_nothing(ctx: Any) -> None:
    """A publish that fails on its last entry publishes none of the others."""
    before = snapshot(ctx)
    for publish_map in ({"a": "{{ result().r }}", "b": "{{ nope.x }}"},
                        {"a": "{{ result().r }}", "b": {1, 2}},
                        {"a": "{{ 1 }}", "b": "{{ 1 / 0 }}"},
                        {"a": "{{ 1 }}", "b": nest(10_000)}):
        with pytest.raises(ContextError):
            ctx.publish_from_result({"r": 1}, ["whole"], publish_map)
        assert_still_works(ctx, before)


# -- values JSON cannot round-trip ---------------------------------------------------------
@pytest.mark.parametrize("value", [10**5000, -(10**5000), ["x", 10**4301]],
                         ids=["huge-int", "huge-negative-int", "nested-huge-int"])
def test_a_value_export_cannot_write_is_refused(ctx: Any, value: Any) -> None:
    """An integer too long for ``json.dumps`` (Python refuses ints of more than 4300 digits
    as text) is refused when stored, not later when the whole context fails to export."""
    before = snapshot(ctx)
    try:
        ctx.set_var("big", value)
    except ContextError:
        assert_still_works(ctx, before)
        return
    try:
        ctx.export()
        ctx.render_template("{{ v }}")
    except ContextError as exc:
        pytest.fail(f"accepted, and then the context cannot export: {exc}")


# -- instances made without __init__ ---------------------------------------------------------
def _uninitialised(wc_class: type) -> list[Any]:
    class SkipsInit(wc_class):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:  # no super().__init__(): no stores
            pass

    # and a clone of one: it shares the missing stores
    return [wc_class.__new__(wc_class), SkipsInit(), wc_class.__new__(wc_class).clone()]


USES: list[tuple[str, Callable[[Any], Any]]] = [
    ("get_var", lambda ctx: ctx.get_var("a")),
    ("set_var", lambda ctx: ctx.set_var("a", 1)),
    ("get_task_result", lambda ctx: ctx.get_task_result("t")),
    ("set_task_result", lambda ctx: ctx.set_task_result("t", 1)),
    ("set_pack_config", lambda ctx: ctx.set_pack_config({})),
    ("set_keystore", lambda ctx: ctx.set_keystore({})),
    ("set_system", lambda ctx: ctx.set_system("s", 1)),
    ("parameters", lambda ctx: ctx.parameters),
    ("pack_config", lambda ctx: ctx.pack_config),
    ("render_template", lambda ctx: ctx.render_template("{{ a }}")),
    ("render_json", lambda ctx: ctx.render_json({"x": "{{ parameters.p }}"})),
    ("evaluate", lambda ctx: ctx.evaluate("workflow.a")),
    ("evaluate_condition", lambda ctx: ctx.evaluate_condition("a")),
    ("evaluate without stores", lambda ctx: ctx.evaluate("1 + 1")),  # no engine to compile in
    ("engine", lambda ctx: ctx.engine),
    ("get_namespace", lambda ctx: ctx.get_namespace("inquiry")),
    ("with_item", lambda ctx: ctx.with_item(1, 0).render_template("{{ item }}{{ a }}")),
    ("publish_from_result", lambda ctx: ctx.publish_from_result({}, "a")),
    ("export", lambda ctx: ctx.export()),
    ("repr", repr),
    ("deepcopy", copy.deepcopy),
    ("pickle", lambda ctx: pickle.dumps(ctx)),
    ("shares_stores_with", lambda ctx: ctx.shares_stores_with(ctx)),
]


@pytest.mark.parametrize(("name", "use"), USES, ids=[name for name, _ in USES])
def test_a_context_made_without_init_fails_cleanly(wc_class: type, name: str,
                                                   use: Callable[[Any], Any]) -> None:
    # The compiled core once dereferenced its missing stores here: a crash of the interpreter.
    for ctx in _uninitialised(wc_class):
        with pytest.raises(TypeConversion, match="made without __init__"):
            use(ctx)
        assert ctx.current_item is None and ctx.current_index is None


def test_restore_refuses_what_is_not_stores(wc_class: type) -> None:
    for stores in (None, {}, "stores"):
        with pytest.raises(TypeError):
            wc_class._restore(stores, None, None, None)


def test_an_empty_path_is_refused(wc_class: type) -> None:
    # the compiled core read path[0] of an empty tuple unchecked: a crash of the interpreter
    ctx = wc_class({"a": 1})
    for lookup in (ctx.lookup, ctx.lookup_or_missing):
        with pytest.raises(TypeError, match="root name"):
            lookup(())
    assert ctx.lookup(("parameters", "a")) == 1
