"""The Orquesta engine: Orquesta's Jinja functions, StackStorm's filters, Jinja2's printing.

The real-world corpus (``tests/data/realworld_templates.json``) holds Orquesta expressions as
their authors wrote them (``original``) beside a translation into fastctx's own syntax
(``text``): with the Orquesta engine both render to the same result, and the original takes the
compiled path wherever the translation does.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from fastctx import (
    InvalidExpression,
    TaskOutcome,
    TypeConversion,
    VariableNotFound,
    get_engine,
)
from fastctx._pickle import restore_stores
from fastctx.engines.orquesta import ENGINE

CORPUS = json.loads((Path(__file__).parent / "data" / "realworld_templates.json").read_text())


def make(wc_class: type, context: dict[str, Any]) -> Any:
    """A context on the Orquesta engine holding a corpus entry's minimal context."""
    ctx = wc_class(context.get("parameters"), context.get("variables"),
                   keystore=context.get("keystore"), engine=ENGINE)
    for name, result in (context.get("task_results") or {}).items():
        ctx.set_task_result(name, result)
    if "last_result" in context:
        ctx.set_last_task_outcome(context["last_result"], TaskOutcome.SUCCEEDED)
    if "item" in context or "index" in context:
        ctx = ctx.with_item(context.get("item"), context.get("index", 0))
    return ctx


def run(ctx: Any, kind: str, text: Any) -> Any:
    if kind == "template":
        return ctx.render_template(text)
    if kind == "condition":
        return ctx.evaluate_condition(text)
    return ctx.render_json(json.loads(text) if isinstance(text, str) else text)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for member in value.values() for text in strings(member)]
    if isinstance(value, list):
        return [text for member in value for text in strings(member)]
    return []


def compiled(kind: str, text: Any) -> bool:
    """Whether every template in ``text`` is on the compiled path of the Orquesta engine."""
    sources = [text] if kind != "json" else strings(
        json.loads(text) if isinstance(text, str) else text)
    for source in sources:
        if kind != "template" and "{" not in source:
            continue
        programs = [ENGINE.templates.get(source), ENGINE.expressions.get(source.strip()[2:-2])]
        inner = ENGINE.json_strings.get(source)  # a compiled program, or an expression
        if inner:
            programs.append(inner if type(inner) is tuple else ENGINE.expressions.get(inner))
        if not any(type(program) is tuple for program in programs):
            return False
    return True


ORQUESTA = [entry for entry in CORPUS
            if entry["source"].startswith("StackStorm/") and "original" in entry]


@pytest.mark.parametrize("entry", ORQUESTA, ids=[f"{i:02d}" for i in range(len(ORQUESTA))])
def test_orquesta_syntax_renders_as_its_translation(wc_class: type,
                                                   entry: dict[str, Any]) -> None:
    ctx = make(wc_class, entry["context"])
    try:
        expected = run(ctx, entry["kind"], entry["text"])
    except InvalidExpression:  # a function of another system (to_yaml_string, ...)
        with pytest.raises(InvalidExpression):
            run(ctx, entry["kind"], entry["original"])
        return
    assert run(ctx, entry["kind"], entry["original"]) == expected
    if compiled(entry["kind"], entry["text"]):
        assert compiled(entry["kind"], entry["original"]), entry["original"]


def test_the_corpus_orquesta_entries_render(wc_class: type) -> None:
    failed = []
    for entry in ORQUESTA:
        try:
            run(make(wc_class, entry["context"]), entry["kind"], entry["original"])
        except InvalidExpression as exc:
            failed.append(str(exc))
    # what fails needs YAML or JSONPath (not provided: they need libraries of their own), or
    # parses a placeholder "value" of the minimal context as JSON
    assert all("yaml" in message or "jsonpath" in message or "not JSON" in message
               for message in failed), failed
    assert len(ORQUESTA) - len(failed) >= 18


# -- the functions --------------------------------------------------------------------------
def test_ctx(wc_class: type) -> None:
    ctx = wc_class({"hosts": ["a"], "region": "us"}, {"region": "eu", "n": None},
                   engine=ENGINE)
    assert ctx.evaluate("ctx()") == {"hosts": ["a"], "region": "eu", "n": None}
    assert ctx.render_template("{{ ctx('region') }} {{ ctx().region }} {{ ctx('n') }}") == \
        "eu eu None"
    assert ctx.evaluate("ctx('hosts')") == ["a"]
    assert ctx.evaluate("ctx()['hosts'][0]") == "a"
    with pytest.raises(VariableNotFound, match="no variable or input named 'nope'"):
        ctx.evaluate("ctx('nope')")
    with pytest.raises(VariableNotFound, match="nope"):
        ctx.render_template("{{ ctx().nope }}")


def test_item(wc_class: type) -> None:
    root = wc_class(engine=ENGINE)
    view = root.with_item({"name": "web1", "port": 22}, 0)
    assert view.render_template("{{ item('name') }}:{{ item().port }}:{{ item }}") == \
        "web1:22:{'name': 'web1', 'port': 22}"
    with pytest.raises(VariableNotFound, match="outside a with-items task"):
        root.evaluate("item()")
    with pytest.raises(VariableNotFound, match="no key 'nope'"):
        view.evaluate("item('nope')")
    with pytest.raises(TypeConversion, match="not an object"):
        root.with_item("plain", 0).evaluate("item('k')")


def test_task_and_task_status(wc_class: type) -> None:
    ctx = wc_class(engine=ENGINE)
    ctx.set_task_result("t1", {"task_id": "t1", "route": 0, "status": "succeeded",
                               "result": {"stdout": "ok"}})
    ctx.set_task_result("plain", "value")
    assert ctx.render_template("{{ task('t1').result.stdout }} {{ task('t1').route }}") == \
        "ok 0"
    assert ctx.evaluate("task('t1', route=0).task_id") == "t1"
    assert ctx.evaluate("task_status('t1')") == "succeeded"
    assert ctx.evaluate("task_status('plain')") == "unset"
    assert ctx.evaluate("task_status('absent')") == "unset"
    assert ctx.evaluate("task('plain')") == "value"
    with pytest.raises(VariableNotFound, match="on route 1"):
        ctx.evaluate("task('t1', route=1)")
    with pytest.raises(VariableNotFound, match="no result of task 'absent'"):
        ctx.evaluate("task('absent')")
    with pytest.raises(InvalidExpression, match="needs a task name"):
        ctx.evaluate("task()")


def test_outcomes_and_result(wc_class: type) -> None:
    ctx = wc_class(engine=ENGINE)
    assert ctx.evaluate("completed()") is False
    assert ctx.evaluate("result()") is None
    ctx.set_last_task_outcome({"code": 1}, TaskOutcome.FAILED)
    assert ctx.evaluate_condition("completed() and failed() and not succeeded()")
    assert ctx.render_template("{{ result().code }}") == "1"


def test_json_and_zip(wc_class: type) -> None:
    ctx = wc_class({"s": '{"a": [1, 2]}', "d": {"a": 1}}, engine=ENGINE)
    assert ctx.evaluate("json(parameters.s)") == {"a": [1, 2]}
    assert ctx.evaluate("json(parameters.d)") == {"a": 1}
    with pytest.raises(InvalidExpression, match="not JSON"):
        ctx.evaluate("json('{')")
    with pytest.raises(TypeConversion, match="takes a string"):
        ctx.evaluate("json(1)")
    assert ctx.evaluate("zip([1, 2], ['a'])") == [[1, "a"], [2, None]]
    assert ctx.evaluate("zip([1], [2, 3], pad=0)") == [[1, 2], [0, 3]]
    assert ctx.evaluate("zip([1, 2])") == [1, 2]


def test_st2kv(wc_class: type) -> None:
    ctx = wc_class(keystore={"api_key": "k-123", "system.shared": "s"}, engine=ENGINE)
    assert ctx.render_template("{{ st2kv('api_key') }} {{ st2kv('user.api_key') }}") == \
        "k-123 k-123"
    assert ctx.evaluate("st2kv('system.shared')") == "s"
    assert ctx.evaluate("st2kv('nope', default='d')") == "d"
    with pytest.raises(VariableNotFound, match="no key 'nope'") as info:
        ctx.evaluate("st2kv('nope', decrypt=true)")
    assert "k-123" not in str(info.value)


def test_stackstorm_filters_are_filters_and_functions(wc_class: type) -> None:
    ctx = wc_class({"v": "1.6.0", "d": {"b": 1, "a": [1, 2]}}, engine=ENGINE)
    assert ctx.render_template("{{ parameters.v | version_bump_minor }}") == "1.7.0"
    assert ctx.evaluate("version_bump_minor(parameters.v)") == "1.7.0"
    assert ctx.evaluate("parameters.d | to_json_string") == '{"b": 1,"a": [1,2]}'
    assert ctx.evaluate("json_parse(json_dump(parameters.d))") == {"b": 1, "a": [1, 2]}
    assert ctx.evaluate_condition("parameters.v | version_match('>=1.5.0')")


def test_jinja2_printing(wc_class: type) -> None:
    ctx = wc_class({}, {"flag": True, "none": None, "d": {"k": [1]}}, engine=ENGINE)
    assert ctx.render_template("{{ ctx('flag') }} {{ ctx().none }} {{ ctx('d') }}") == \
        "True None {'k': [1]}"
    assert ctx.render_json({"v": "{{ ctx('d') }}", "t": "x {{ ctx('flag') }}"}) == \
        {"v": {"k": [1]}, "t": "x True"}


def test_the_engine_is_registered_and_pickles_by_name(wc_class: type) -> None:
    assert get_engine("orquesta") is ENGINE
    ctx = wc_class({}, {"a": 1}, engine=ENGINE).with_item({"k": "v"}, 0)
    back = pickle.loads(pickle.dumps(ctx))
    assert back.engine is ENGINE
    assert back.render_template("{{ ctx('a') }} {{ item('k') }}") == "1 v"
    stores = restore_stores({}, {}, {}, None, {}, {}, "orquesta", None)
    assert stores.engine is ENGINE


def test_a_pickle_loads_where_the_engine_was_never_imported(tmp_path: Path) -> None:
    import subprocess
    import sys

    from fastctx import WorkflowContext

    path = tmp_path / "ctx.pickle"
    path.write_bytes(pickle.dumps(WorkflowContext({"a": 1}, engine=ENGINE)))
    code = ("import pickle, sys; ctx = pickle.loads(open(sys.argv[1], 'rb').read()); "
            "print(ctx.engine.name, ctx.render_template(\"{{ ctx('a') }}\"))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["orquesta", "1"]
