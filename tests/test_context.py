"""The data model: namespaces, look-ups, clones, getters and what the stores accept."""

from __future__ import annotations

import copy
import datetime
import pickle
import re

import pytest

from fastctx import (
    ContextError,
    InvalidExpression,
    SerializationError,
    TaskOutcome,
    TypeConversion,
    VariableNotFound,
)

FETCH = {"data": {"items": [10, 20, 30], "count": 3, "my key": "spaced"}, "status": 200}


@pytest.fixture
def ctx(wc_class: type):
    ctx = wc_class(
        {"url": "http://example.org", "count": 7},
        {"greeting": "hello", "hosts": ["web1", "web2", "web3"], "nested": {"a": {"b": [1, 2]}}},
        pack_config={"api_token": "tok-123", "region": "eu"},
        keystore={"db_password": "pa55word-xyz", "My Key": "spaced-secret-value"},
    )
    ctx.set_task_result("fetch", FETCH)
    return ctx


# -- namespaces ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ parameters.url }}", "http://example.org"),
        ("{{ workflow.greeting }}", "hello"),
        ("{{ vars.greeting }}", "hello"),
        ("{{ variables.greeting }}", "hello"),
        ("{{ greeting }}", "hello"),
        ("{{ task.fetch.status }}", "200"),
        ("{{ tasks.fetch.status }}", "200"),
        ("{{ config.api_token }}", "tok-123"),
        ("{{ keystore.db_password }}", "pa55word-xyz"),
        ('{{ keystore["My Key"] }}', "spaced-secret-value"),
    ],
)
def test_namespaces_and_aliases(ctx, template: str, expected: str) -> None:
    assert ctx.render_template(template) == expected
    assert str(ctx.evaluate(template[3:-3])) == expected  # the bare expression


def test_namespaces_through_evaluate_keep_types(ctx) -> None:
    assert ctx.evaluate("parameters.count") == 7
    assert ctx.evaluate("task.fetch.data.items") == [10, 20, 30]
    assert ctx.evaluate("tasks.fetch.data") is ctx.get_task_result("fetch")["data"]
    assert ctx.evaluate("workflow") == ctx.variables
    assert ctx.evaluate("parameters") == ctx.parameters
    assert ctx.evaluate("config.region") == "eu"


def test_bare_name_is_the_last_fallback(ctx) -> None:
    # A variable named like a namespace does not shadow the namespace.
    ctx.set_var("parameters", {"url": "shadow"})
    ctx.set_var("task", {"fetch": "shadow"})
    ctx.set_var("config", {"api_token": "shadow"})
    assert ctx.render_template("{{ parameters.url }}") == "http://example.org"
    assert ctx.render_template("{{ task.fetch.status }}") == "200"
    assert ctx.render_template("{{ config.api_token }}") == "tok-123"
    assert ctx.render_template("{{ workflow.parameters.url }}") == "shadow"
    assert ctx.render_template("{{ vars.task.fetch }}") == "shadow"


def test_functions_come_before_bare_variable_names(ctx) -> None:
    # A variable named like a helper function is reached through its namespace.
    ctx.set_var("count", 5)
    assert ctx.evaluate("vars.count") == 5
    assert ctx.evaluate("count([1, 2, 1], 1)") == 2
    assert ctx.render_template("{{ workflow.count }}") == "5"


def test_item_and_index(ctx) -> None:
    view = ctx.with_item({"host": "web2", "port": 8080}, 1)
    assert view.render_template("{{ item.host }}:{{ item.port }} #{{ index }}") == "web2:8080 #1"
    assert view.evaluate("item") == {"host": "web2", "port": 8080}
    assert view.evaluate("index") == 1
    assert view.evaluate("item.port + index") == 8081


def test_item_undefined_when_not_iterating(ctx) -> None:
    ctx.set_var("item", "a variable")  # the namespace does not fall back to a variable
    with pytest.raises(VariableNotFound, match=r"'item\.host'") as err:
        ctx.render_template("{{ item.host }}")
    assert err.value.path == "item.host"
    with pytest.raises(VariableNotFound, match=r"'index'") as err:
        ctx.evaluate("index")
    assert err.value.path == "index"


def test_workflow_start_is_iso8601_utc_set_at_construction(wc_class: type) -> None:
    before = datetime.datetime.now(datetime.timezone.utc)
    ctx = wc_class()
    after = datetime.datetime.now(datetime.timezone.utc)
    start = ctx.system["workflow_start"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", start), start
    parsed = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
    assert parsed.utcoffset() == datetime.timedelta(0)
    assert before - datetime.timedelta(milliseconds=1) <= parsed <= after
    assert ctx.render_template("{{ system.workflow_start }}") == start
    clone = ctx.with_item(1, 0)
    assert clone.evaluate("system.workflow_start") == start  # fixed at construction


def test_system_given_to_constructor(wc_class: type) -> None:
    ctx = wc_class(system={"run_id": "r-1"})
    assert ctx.evaluate("system.run_id") == "r-1"
    assert "workflow_start" in ctx.system
    # An explicit workflow_start (a resumed run) is kept: the implementation's choice.
    assert wc_class(system={"workflow_start": "2020-01-01T00:00:00Z"}).system["workflow_start"] \
        == "2020-01-01T00:00:00Z"


# -- look-ups on data ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ task.fetch.data.items[0] }}", "10"),
        ('{{ task["fetch"]["data"]["items"][1] }}', "20"),
        ("{{ task.fetch['data'].items[2] }}", "30"),
        ("{{ task.fetch.data.items[-1] }}", "30"),
        ("{{ task.fetch.data.items[-3] }}", "10"),
        ('{{ task.fetch.data["my key"] }}', "spaced"),
        ("{{ nested.a.b[-1] }}", "2"),
        ("{{ hosts[1] }}", "web2"),
        ("{{ greeting[0] }}", "h"),
        ("{{ greeting[-1] }}", "o"),
    ],
)
def test_nested_and_bracket_access(ctx, template: str, expected: str) -> None:
    assert ctx.render_template(template) == expected
    # The Jinja2 path (a block forces it) agrees with the fast path.
    assert ctx.render_template("{% for _ in [1] if 1 %}" + template + "{% endfor %}") == expected


def test_items_is_the_key_items(ctx) -> None:
    assert ctx.render_template("{{ task.fetch.data.items }}") == "[10,20,30]"
    assert ctx.evaluate("task.fetch.data.items") == [10, 20, 30]
    assert ctx.render_template("{{ task.fetch.data.items | length }}") == "3"
    ctx.set_var("d", {"keys": "K", "values": "V", "get": "G"})
    assert ctx.render_template("{{ d.keys }}{{ d.values }}{{ d.get }}") == "KVG"
    # No key "items": a missing key, not the dict method.
    with pytest.raises(VariableNotFound, match=r"'task\.fetch\.items'") as err:
        ctx.render_template("{{ task.fetch.items }}")
    assert err.value.path == "task.fetch.items"
    with pytest.raises(VariableNotFound, match=r"'task\.fetch\.items'"):
        ctx.evaluate("task.fetch.items()")


@pytest.mark.parametrize(
    ("expression", "path"),
    [
        ("task.fetch.data.missing", "task.fetch.data.missing"),
        ("task.nosuch", "task.nosuch"),
        ("task.nosuch.data", "task.nosuch.data"),
        ("task.fetch.status.code", "task.fetch.status.code"),  # field of a number
        ("task.fetch.status[0]", "task.fetch.status[0]"),
        ("task.fetch.data.items[3]", "task.fetch.data.items[3]"),  # index out of range
        ("task.fetch.data.items[-4]", "task.fetch.data.items[-4]"),
        ('task.fetch.data["no such"]', 'task.fetch.data["no such"]'),
        ("task.fetch.data.items.x", "task.fetch.data.items.x"),  # field of an array
        ("parameters.nope", "parameters.nope"),
        ("config.nope", "config.nope"),
        ("keystore.nope", "keystore.nope"),
        ("system.nope", "system.nope"),
        ("vars.nope.deeper", "vars.nope.deeper"),
        ("nope", "nope"),
        ("nope.deeper[0]", "nope.deeper[0]"),
    ],
)
def test_missing_raises_variable_not_found_with_full_path(ctx, expression: str, path: str
                                                          ) -> None:
    for how, text in (
        (ctx.render_template, "{{ " + expression + " }}"),  # fast path
        # Jinja2
        (ctx.render_template, "{% for _ in [1] if 1 %}{{ " + expression + " }}{% endfor %}"),
        (ctx.render_template, "{{ " + expression + " | string }}"),
        (ctx.evaluate, expression),
    ):
        with pytest.raises(VariableNotFound, match=re.escape(path)) as err:
            how(text)
        assert err.value.path == path
        assert text in str(err.value)  # names the template too
    assert ctx.render_template("{{ greeting }}") == "hello"  # still usable


def test_missing_key_with_computed_key_names_the_path(ctx) -> None:
    # the path up to the key, and the key by its type and length only: it was computed while
    # rendering, perhaps from a secret
    ctx.set_var("key", "zz")
    with pytest.raises(VariableNotFound) as err:
        ctx.render_template("{{ task.fetch[key] }}")
    assert err.value.path == "task.fetch[<a string of 2 characters>]"
    message = str(err.value).replace("{{ task.fetch[key] }}", "")  # not just the template
    assert "'task.fetch' is an object without that key" in message, message
    assert "zz" not in message


def test_null_true_false_spellings(ctx) -> None:
    assert ctx.evaluate("null") is None
    assert ctx.evaluate("true") is True
    assert ctx.evaluate("false") is False
    assert ctx.evaluate("[null, true, false]") == [None, True, False]


# -- clones ----------------------------------------------------------------------------------
def test_current_item_and_index(ctx) -> None:
    assert ctx.current_item is None
    assert ctx.current_index is None
    item = {"host": "web1"}
    view = ctx.with_item(item, 0)
    assert view.current_item is item
    assert view.current_index == 0
    assert ctx.current_item is None and ctx.current_index is None
    view.set_current_item("other", 5)
    assert (view.current_item, view.current_index) == ("other", 5)
    assert view.render_template("{{ item }}/{{ index }}") == "other/5"
    view.clear_current_item()
    assert view.current_item is None and view.current_index is None
    with pytest.raises(VariableNotFound, match="item"):
        view.render_template("{{ item }}")


def test_item_may_be_none_while_iterating(ctx) -> None:
    view = ctx.with_item(None, 0)
    assert view.render_template("[{{ item }}]") == "[]"
    assert view.render_json("{{ item }}") is None


def test_clone_keeps_per_clone_fields_of_the_original(ctx) -> None:
    ctx.set_current_item("x", 3)
    ctx.set_last_task_outcome({"rc": 0}, TaskOutcome.SUCCEEDED)
    clone = ctx.clone()
    assert type(clone) is type(ctx)
    assert (clone.current_item, clone.current_index) == ("x", 3)
    assert clone.evaluate("result().rc") == 0 and clone.evaluate_condition("succeeded()")
    assert clone.shares_stores_with(ctx)


def test_per_clone_fields_are_independent(ctx) -> None:
    a = ctx.with_item("a", 0)
    b = ctx.with_item("b", 1)
    a.set_last_task_outcome("ra", TaskOutcome.SUCCEEDED)
    b.set_last_task_outcome("rb", TaskOutcome.FAILED)
    assert a.render_template("{{ item }}{{ index }}{{ result() }}") == "a0ra"
    assert b.render_template("{{ item }}{{ index }}{{ result() }}") == "b1rb"
    assert a.evaluate_condition("succeeded()") and not a.evaluate_condition("failed()")
    assert b.evaluate_condition("failed()") and not b.evaluate_condition("succeeded()")
    assert ctx.evaluate("result()") is None and ctx.current_index is None
    a.set_current_item("a2", 7)
    assert (b.current_item, b.current_index) == ("b", 1)
    b.clear_current_item()
    assert (a.current_item, a.current_index) == ("a2", 7)


def test_writes_are_seen_by_all_clones(ctx) -> None:
    a = ctx.with_item(1, 0)
    b = a.clone()
    a.set_var("v", {"from": "a"})
    b.set_task_result("t", [1, 2])
    a.set_system("run", "r-9")
    b.set_pack_config({"api_token": "new-token"})
    a.set_keystore({"db_password": "n3w-passw0rd"})
    for view in (ctx, a, b, ctx.clone()):
        assert view.render_template(
            "{{ v.from }} {{ task.t }} {{ system.run }} {{ config.api_token }} "
            "{{ keystore.db_password }}") == "a [1,2] r-9 new-token n3w-passw0rd"
        assert view.get_var("v") == {"from": "a"}
        assert view.get_task_result("t") == [1, 2]
    assert "region" not in ctx.pack_config  # set_pack_config replaces the whole store
    assert "My Key" not in ctx.keystore


def test_clone_is_constant_size(ctx) -> None:
    # The clone points at the same store objects: nothing is copied.
    ctx.set_task_result("big", ["x" * 100] * 10_000)
    view = ctx.with_item(1, 0)
    assert view.shares_stores_with(ctx)
    assert view.get_task_result("big") is ctx.get_task_result("big")
    for name in ("parameters", "variables", "task_results", "pack_config", "keystore",
                 "system"):
        assert getattr(view, name) == getattr(ctx, name), name


def test_getters_return_the_stored_object(ctx) -> None:
    value = {"deep": [1, {"x": 2}]}
    ctx.set_var("v", value)
    ctx.set_task_result("t", value)
    assert ctx.get_var("v") is value
    assert ctx.get_task_result("t") is value
    assert ctx.clone().get_var("v") is value
    assert ctx.variables["v"] is value
    assert ctx.task_results["t"] is value
    assert ctx.get_var("nope") is None
    assert ctx.get_var("nope", "dflt") == "dflt"
    assert ctx.get_task_result("nope", 0) == 0


def test_constructor_takes_top_level_copies(wc_class: type) -> None:
    # The implementation's choice: the stores are the context's own dicts (shallow copies),
    # values inside are the caller's objects.
    params = {"a": [1]}
    ctx = wc_class(params)
    params["b"] = 2
    assert "b" not in ctx.parameters
    assert ctx.parameters["a"] is params["a"]


def test_parameters_are_read_only(ctx) -> None:
    with pytest.raises(AttributeError):
        ctx.parameters = {}
    assert not hasattr(ctx, "set_parameter")


# -- what the stores accept ------------------------------------------------------------------
BAD_VALUES = [
    pytest.param({1, 2}, id="set"),
    pytest.param(b"bytes", id="bytes"),
    pytest.param(object(), id="object"),
    pytest.param(float("nan"), id="nan"),
    pytest.param(float("inf"), id="inf"),
    pytest.param(float("-inf"), id="-inf"),
    pytest.param((1, 2), id="tuple"),
    pytest.param({1: "int key"}, id="int-key"),
    pytest.param({"deep": [1, {"x": {3}}]}, id="nested-set"),
]


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_non_json_values_are_refused(wc_class: type, bad) -> None:
    ctx = wc_class({"p": 1})
    with pytest.raises(SerializationError, match="'v'"):
        ctx.set_var("v", bad)
    with pytest.raises(SerializationError, match="'t'"):
        ctx.set_task_result("t", bad)
    with pytest.raises(SerializationError):
        ctx.set_system("s", bad)
    with pytest.raises(SerializationError):
        ctx.set_last_task_outcome(bad, TaskOutcome.SUCCEEDED)
    for kwargs in ({"parameters": {"x": bad}}, {"variables": {"x": bad}},
                   {"pack_config": {"x": bad}}, {"keystore": {"x": bad}},
                   {"system": {"x": bad}}):
        with pytest.raises(SerializationError):
            wc_class(**kwargs)
    with pytest.raises(SerializationError):
        ctx.set_pack_config({"x": bad})
    with pytest.raises(SerializationError):
        ctx.set_keystore({"x": bad})
    # Nothing was stored and the context still works.
    assert "v" not in ctx.variables and "t" not in ctx.task_results
    assert "s" not in ctx.system and ctx.last_result is None
    ctx.set_var("v", [1.5, None, True, "x", {"k": []}])
    assert ctx.render_template("{{ v }} {{ parameters.p }}") == '[1.5,null,true,"x",{"k":[]}] 1'


BAD_NAMES = [
    pytest.param(1, id="int"),
    pytest.param(None, id="None"),
    pytest.param(b"v", id="bytes"),
    pytest.param(("v",), id="tuple"),
    pytest.param(1.5, id="float"),
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_wrong_type_names_are_refused_by_setters(wc_class: type, name) -> None:
    ctx = wc_class()
    for call in (lambda: ctx.set_var(name, 1), lambda: ctx.set_task_result(name, 1),
                 lambda: ctx.set_system(name, 1)):
        with pytest.raises(TypeConversion, match="name"):
            call()
    assert ctx.variables == {} and ctx.task_results == {}
    assert list(ctx.system) == ["workflow_start"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_wrong_type_names_are_refused_by_getters(wc_class: type, name) -> None:
    ctx = wc_class()
    with pytest.raises(TypeConversion, match="name"):
        ctx.get_var(name)
    with pytest.raises(TypeConversion, match="name"):
        ctx.get_task_result(name)


def test_wrong_type_arguments_are_refused(wc_class: type) -> None:
    ctx = wc_class()
    with pytest.raises(TypeConversion, match="parameters"):
        wc_class([1, 2])
    with pytest.raises(TypeConversion, match="pack_config"):
        ctx.set_pack_config(["x"])
    with pytest.raises(TypeConversion, match="keystore"):
        ctx.set_keystore("secret")
    with pytest.raises(TypeConversion, match="index"):
        ctx.with_item("x", "0")
    with pytest.raises(TypeConversion, match="index"):
        ctx.set_current_item("x", None)
    with pytest.raises(TypeConversion, match="TaskOutcome"):
        ctx.set_last_task_outcome(1, "succeeded")
    with pytest.raises(TypeConversion, match="template"):
        ctx.render_template(5)
    with pytest.raises(TypeConversion, match="expression"):
        ctx.evaluate(None)
    assert ctx.current_index is None and ctx.last_result is None


# -- errors ----------------------------------------------------------------------------------
def test_error_class_hierarchy(ctx) -> None:
    cases = [
        (lambda: ctx.render_template("{{ nope }}"), VariableNotFound, LookupError),
        (lambda: ctx.render_template("{{ 1 + }}"), InvalidExpression, ValueError),
        (lambda: ctx.render_template("{{ 'a' + 5 }}"), TypeConversion, TypeError),
        (lambda: ctx.set_var("v", {1}), SerializationError, ValueError),
    ]
    for call, cls, base in cases:
        with pytest.raises(cls) as err:
            call()
        assert isinstance(err.value, base)
        assert isinstance(err.value, ContextError)
        assert isinstance(err.value, Exception)
    assert issubclass(VariableNotFound, LookupError)
    assert issubclass(InvalidExpression, ValueError)
    assert issubclass(SerializationError, ValueError)
    assert issubclass(TypeConversion, TypeError)
    for cls in (VariableNotFound, InvalidExpression, SerializationError, TypeConversion):
        assert issubclass(cls, ContextError)
    assert issubclass(ContextError, Exception)


# -- pack config: null until one is set -------------------------------------------------------
def test_config_is_null_until_a_pack_config_is_set(wc_class: type) -> None:
    ctx = wc_class({"n": 1})
    assert ctx.pack_config is None
    assert ctx.evaluate("config") is None
    assert ctx.evaluate("config is none") is True
    assert ctx.render_template("[{{ config }}]") == "[]"
    assert ctx.evaluate("config.token | default('none')") == "none"
    with pytest.raises(VariableNotFound, match="'config' is null: it has no field 'token'"):
        ctx.evaluate("config.token")
    ctx.set_pack_config({"token": "t"})
    assert ctx.evaluate("config.token") == "t"
    assert wc_class(pack_config={}).evaluate("config") == {}  # set, and empty


def test_a_null_config_survives_export_pickle_and_deepcopy(wc_class: type) -> None:
    ctx = wc_class({"n": 1})
    assert ctx.export()["pack_config"] is None
    for other in (wc_class.from_export(ctx.export()), copy.deepcopy(ctx),
                  pickle.loads(pickle.dumps(ctx)), wc_class.from_export({})):
        assert other.pack_config is None
    assert wc_class.from_export({"pack_config": {"a": 1}}).pack_config == {"a": 1}


@pytest.mark.parametrize("name", ["parameters", "variables", "task_results", "pack_config",
                                  "keystore", "system"])
def test_store_views_cannot_be_written_through(wc_class: type, name: str) -> None:
    ctx = wc_class({"p": 1}, {"v": 1}, pack_config={"c": 1}, keystore={"k": "s"})
    ctx.set_task_result("t", 1)
    view = getattr(ctx, name)
    with pytest.raises(TypeError):
        view["x"] = object()  # type: ignore[index]
    with pytest.raises(AttributeError):
        view.update({"x": 1})  # type: ignore[attr-defined]
    assert "x" not in getattr(ctx, name)
    ctx.export(include_secrets=True)  # nothing unexportable got in


def test_store_views_are_live(wc_class: type) -> None:
    ctx = wc_class()
    view = ctx.variables
    ctx.with_item(1, 0).set_var("later", 2)
    assert view["later"] == 2 and dict(view) == {"later": 2}


def test_subclasses_clone_to_their_own_class_and_are_collected(wc_class: type) -> None:
    import gc
    import weakref

    finalized: list[int] = []

    class Tracked(wc_class):  # type: ignore[misc, valid-type]
        def __del__(self) -> None:
            finalized.append(1)

    root = Tracked({"count": 3})
    view = root.with_item({"host": "h"}, 0)
    assert type(view) is Tracked and type(root.clone()) is Tracked
    view.note = "an attribute of the subclass's instance"
    assert view.render_template("{{ item.host }}{{ parameters.count }}") == "h3"
    cycle = {"host": "c"}
    looped = root.with_item(cycle, 1)
    cycle["self"] = [looped]  # a view reachable from its own item: only the collector frees it
    ref = weakref.ref(looped)
    del looped, cycle, view
    gc.collect()
    assert ref() is None
    assert len(finalized) >= 2
    plain = [wc_class().clone() for _ in range(100)]  # the base type's instances still recycle
    assert all(type(ctx) is wc_class for ctx in plain)
