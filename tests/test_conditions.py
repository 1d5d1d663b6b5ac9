"""``evaluate_condition`` and the workflow functions ``result()``, ``succeeded()``..."""

from __future__ import annotations

import pytest

from fastctx import InvalidExpression, TaskOutcome, TypeConversion, VariableNotFound


@pytest.fixture
def ctx(wc_class: type):
    return wc_class({"count": 7, "limit": 5}, {"name": "web", "empty": []})


FALSY = [None, False, 0, 0.0, "", [], {}]
TRUTHY = [True, 1, -1, 0.5, "x", [0], {"a": None}, "true", "yes", "1"]
#: Strings a template's text means false by, and a bare expression still judges true.
FALSE_WORDS = ["false", "False", "FALSE", "no", "No", "NO", "0", "off", " Off "]


@pytest.mark.parametrize("value", FALSY, ids=repr)
def test_falsy_values(ctx, value) -> None:
    ctx.set_var("v", value)
    assert ctx.evaluate_condition("v") is False
    assert ctx.evaluate_condition("workflow.v") is False
    assert ctx.evaluate_condition("{{ v }}") is False
    assert ctx.evaluate_condition("  {{ v }} ") is False
    view = ctx.with_item(value, 0)
    assert view.evaluate_condition("item") is False
    assert view.evaluate_condition("{{ item }}") is False


@pytest.mark.parametrize("value", TRUTHY, ids=repr)
def test_truthy_values(ctx, value) -> None:
    ctx.set_var("v", value)
    assert ctx.evaluate_condition("v") is True
    assert ctx.evaluate_condition("{{ v }}") is True
    view = ctx.with_item(value, 0)
    assert view.evaluate_condition("item") is True
    assert view.evaluate_condition("{{ item }}") is True


@pytest.mark.parametrize("value", FALSE_WORDS, ids=repr)
def test_words_judge_a_template_not_a_bare_expression(ctx, value) -> None:
    # a bare expression's value by plain truthiness, so that `x` and `not x` never agree;
    # the words only for the text a template renders
    ctx.set_var("v", value)
    assert ctx.evaluate_condition("v") is True
    assert ctx.evaluate_condition("not v") is False
    assert ctx.evaluate_condition("bool(v)") is True
    assert ctx.evaluate_condition("{{ v }}") is False
    assert ctx.evaluate_condition("{{ not v }}") is False  # renders "false"
    view = ctx.with_item(value, 0)
    assert view.evaluate_condition("item") is True
    assert view.evaluate_condition("{{ item }}") is False


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'TRUE' }}", True),
        ("{{ 'Yes' }}", True),
        ("{{ '1' }}", True),
        ("{{ 'False' }}", False),
        ("{{ 'nO' }}", False),
        ("{{ '0' }}", False),
        ("{{ '' }}", False),
        ("{% if total > 5 %}yes{% else %}no{% endif %}", True),
        ("{% if total > 50 %}yes{% else %}no{% endif %}", False),
        ("{% if false %}true{% endif %}", False),  # renders to ""
        ("{{ name | upper == 'WEB' }}", True),
    ],
)
def test_rendered_strings_by_their_words(wc_class: type, template: str, expected: bool) -> None:
    ctx = wc_class({}, {"total": 7, "name": "web"})
    assert ctx.evaluate_condition(template) is expected


def test_bare_expression_and_template_forms(ctx) -> None:
    assert ctx.evaluate_condition("parameters.count > parameters.limit") is True
    assert ctx.evaluate_condition("{{ parameters.count > parameters.limit }}") is True
    assert ctx.evaluate_condition("parameters.count < 5 or name == 'web'") is True
    assert ctx.evaluate_condition("not empty") is True
    assert ctx.evaluate_condition("{{ not empty }}") is True
    assert ctx.evaluate_condition("empty | length == 0") is True
    assert ctx.evaluate_condition("'b' in ['a', 'b']") is True
    assert ctx.evaluate_condition("{{ parameters.count }}") is True
    assert ctx.evaluate_condition("parameters.count > 5 and succeeded()") is False


def test_bool_passes_through(ctx) -> None:
    assert ctx.evaluate_condition(True) is True
    assert ctx.evaluate_condition(False) is False


def test_other_non_strings_are_refused(ctx) -> None:
    # The implementation's choice: only str and bool are conditions.
    for condition in (1, None, ["x"]):
        with pytest.raises(TypeConversion, match="condition"):
            ctx.evaluate_condition(condition)


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        ("nope", "nope"),
        ("nope > 1", "nope"),
        ("parameters.nope == 1", "parameters.nope"),
        ("{{ nope }}", "nope"),
        ("{{ task.fetch.ok }}", "task.fetch.ok"),
        ("parameters.count > 1 and nope", "nope"),
        ("{% if nope %}x{% endif %}", "nope"),
    ],
)
def test_undefined_name_raises(ctx, condition: str, path: str) -> None:
    with pytest.raises(VariableNotFound, match=path.replace(".", r"\.")) as err:
        ctx.evaluate_condition(condition)
    assert err.value.path == path
    assert ctx.evaluate_condition("parameters.count == 7")  # still usable


def test_undefined_name_can_be_tested_explicitly(ctx) -> None:
    assert ctx.evaluate_condition("nope is defined") is False
    assert ctx.evaluate_condition("nope is not defined") is True
    assert ctx.evaluate_condition("{{ nope | default(false) }}") is False
    assert ctx.evaluate_condition("task.fetch.ok | default(true)") is True


# -- workflow functions ----------------------------------------------------------------------
def test_no_task_finished(ctx) -> None:
    assert ctx.evaluate("result()") is None
    assert ctx.render_template("[{{ result() }}]") == "[]"
    for fn in ("succeeded()", "failed()", "timed_out()"):
        assert ctx.evaluate_condition(fn) is False
        assert ctx.evaluate_condition("{{ " + fn + " }}") is False
    assert ctx.last_result is None and ctx.last_outcome is None


@pytest.mark.parametrize(
    ("outcome", "flags"),
    [
        (TaskOutcome.SUCCEEDED, (True, False, False)),
        (TaskOutcome.FAILED, (False, True, False)),
        (TaskOutcome.TIMED_OUT, (False, False, True)),
    ],
)
def test_outcomes(ctx, outcome: TaskOutcome, flags: tuple[bool, bool, bool]) -> None:
    result = {"rc": 3, "stdout": "done", "lines": ["a", "b"]}
    ctx.set_last_task_outcome(result, outcome)
    assert ctx.last_result is result and ctx.last_outcome is outcome
    assert ctx.evaluate("result()") is result
    assert ctx.evaluate("result().rc") == 3
    assert ctx.render_template("{{ result().stdout }}:{{ result().lines[-1] }}") == "done:b"
    assert ctx.render_json("{{ result() }}") == result
    got = tuple(ctx.evaluate_condition(fn) for fn in ("succeeded()", "failed()", "timed_out()"))
    assert got == flags
    got = tuple(ctx.evaluate_condition("{{ %s }}" % fn)
                for fn in ("succeeded()", "failed()", "timed_out()"))
    assert got == flags
    assert ctx.evaluate_condition("succeeded() or failed() or timed_out()") is True
    with pytest.raises(VariableNotFound, match="nope"):
        ctx.evaluate("result().nope")


def test_outcome_replaced_by_next_task(ctx) -> None:
    ctx.set_last_task_outcome("first", TaskOutcome.FAILED)
    ctx.set_last_task_outcome(None, TaskOutcome.SUCCEEDED)
    assert ctx.evaluate("result()") is None
    assert ctx.evaluate_condition("succeeded() and not failed()") is True


def test_outcome_is_per_clone(ctx) -> None:
    a = ctx.with_item(1, 0)
    b = ctx.with_item(2, 1)
    a.set_last_task_outcome("ra", TaskOutcome.TIMED_OUT)
    assert a.evaluate_condition("timed_out()") is True
    assert b.evaluate_condition("timed_out()") is False
    assert ctx.evaluate("result()") is None
    assert a.clone().evaluate("result()") == "ra"
    assert a.with_item(3, 2).evaluate_condition("timed_out() and item == 3")


def test_a_condition_with_braces_is_a_template_whatever_was_cached(wc_class: type) -> None:
    """A bare expression that holds "{{" in a string literal, once evaluated (and compiled),
    does not make the same text a bare condition: it is still judged as a template."""
    ctx = wc_class({}, {"x": "a"})
    assert ctx.evaluate("'{{' ~ x") == "{{a"
    assert ctx.render_json("{{ '{%' ~ x }}") == "{%a"
    for condition in ("'{{' ~ x", "'{%' ~ x"):
        with pytest.raises(InvalidExpression, match="syntax error"):
            ctx.evaluate_condition(condition)
    assert ctx.evaluate("x == 'a'") is True
    assert ctx.evaluate_condition("x == 'a'") is True  # found in the cache: no scan
