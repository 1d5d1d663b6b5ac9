"""Rendering, conditions and a whole with-items iteration, against cached Jinja2.

The baseline is what an engine does without fastctx: a dict context (shallow-copied per item)
rendered by ``ImmutableSandboxedEnvironment`` with ``env.from_string`` templates and
``env.compile_expression`` expressions cached in dicts (``fastctx.bench.JinjaBaseline``).
The contexts hold 100 task results (1 MB). The speed targets: ``{{ item.host }}`` at most
300 ns (20x cached Jinja2), the mixed template at most 600 ns, the condition at most 1 µs
(8x a compiled Jinja2 expression), a whole iteration at most 2.5 µs (10x the shallow-copy
baseline, 10,000x deep-copying the 1 MB context).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fastctx._impl import WorkflowContext
from fastctx.bench import (
    HELPER_CALL,
    JINJA_ONLY,
    LOOKUP,
    MIXED,
    REGISTERED_CALL,
    TASK_INPUT,
    WHEN,
    JinjaBaseline,
    build_context,
    fastctx_iteration,
    shout,
    workload_engine,
)

# Half of pytest-benchmark's default 1 s per benchmark: still tens of thousands of rounds
# for the sub-microsecond cases, and the suite stays within about three minutes. The
# collector is off while timing, as in timeit, `fastctx bench` and the gate: with it on,
# sub-microsecond figures depend on how many objects the test session holds (about 2x
# here), and the Jinja2 baselines, which make more garbage, would only look slower.
pytestmark = pytest.mark.benchmark(max_time=0.5, disable_gc=True)

TASK_RESULTS = 100
TEMPLATES = [
    pytest.param(LOOKUP, id="lookup"),
    pytest.param(MIXED, id="mixed"),
    pytest.param(JINJA_ONLY, id="jinja-only"),
]
#: What each template renders for the item of ``indexed_item`` (web007, rack-3).
EXPECTED = {
    LOOKUP: "web007.example.com",
    MIXED: "ping -c 3 web007.example.com",
    JINJA_ONLY: "WEB,RACK-3",
}
EXPECTED_INPUT = {"cmd": "ping -c 3 web007.example.com", "host": "web007.example.com",
                  "port": 8007, "retries": 3}
#: Rounds of the iteration that deep-copies the 1 MB context (tens of ms each).
DEEPCOPY_ROUNDS = 5


@pytest.fixture
def view(wc_class: type[WorkflowContext], make_context: Any,
         indexed_item: tuple[dict[str, Any], int]) -> WorkflowContext:
    """A with-items view of the 1 MB context."""
    return make_context(wc_class, TASK_RESULTS).with_item(*indexed_item)


@pytest.fixture
def scope(make_plain: Any, indexed_item: tuple[dict[str, Any], int]) -> dict[str, Any]:
    """The baseline's with-items view: a shallow copy of the 1 MB dict context."""
    item, index = indexed_item
    return dict(make_plain(TASK_RESULTS), item=item, index=index)


# -- templates ----------------------------------------------------------------------------------
@pytest.mark.parametrize("template", TEMPLATES)
def test_render(benchmark: Any, view: WorkflowContext, implementation: str,
                template: str) -> None:
    benchmark.group = f"render: {template}"
    benchmark.extra_info.update(case=f"fastctx-{implementation} render_template")
    assert benchmark(view.render_template, template) == EXPECTED[template]


@pytest.mark.parametrize("template", TEMPLATES)
def test_render_jinja_baseline(benchmark: Any, jinja: Any, scope: dict[str, Any],
                               template: str) -> None:
    benchmark.group = f"render: {template}"
    benchmark.extra_info.update(case="baseline: cached Jinja2 template, dict context")
    assert benchmark(jinja.template(template).render, scope) == EXPECTED[template]


def test_render_json(benchmark: Any, view: WorkflowContext, implementation: str) -> None:
    benchmark.group = "render_json: 4-field task input, 3 templates"
    benchmark.extra_info.update(case=f"fastctx-{implementation} render_json")
    assert benchmark(view.render_json, TASK_INPUT) == EXPECTED_INPUT


def test_render_json_jinja_baseline(benchmark: Any, jinja: Any, scope: dict[str, Any]) -> None:
    benchmark.group = "render_json: 4-field task input, 3 templates"
    benchmark.extra_info.update(case="baseline: cached Jinja2 template per string")
    # Jinja2 renders every string to text: the port comes out as "8007".
    assert benchmark(jinja.render_json, TASK_INPUT, scope)["port"] == "8007"


# -- a function an executor registered on its engine ---------------------------------------------
REGISTERED_GROUP = "a function call: registered shout() / built-in upper() / Jinja2 global"


def test_registered_function(benchmark: Any, wc_class: type[WorkflowContext],
                             implementation: str, task_results: Any,
                             indexed_item: tuple[dict[str, Any], int]) -> None:
    view = build_context(wc_class, task_results(TASK_RESULTS), workload_engine()).with_item(
        *indexed_item)
    benchmark.group = REGISTERED_GROUP
    benchmark.extra_info.update(case=f"fastctx-{implementation} {REGISTERED_CALL}")
    assert benchmark(view.render_template, REGISTERED_CALL) == "WEB007.EXAMPLE.COM"


def test_builtin_helper(benchmark: Any, view: WorkflowContext, implementation: str) -> None:
    benchmark.group = REGISTERED_GROUP
    benchmark.extra_info.update(case=f"fastctx-{implementation} {HELPER_CALL}")
    assert benchmark(view.render_template, HELPER_CALL) == "WEB007.EXAMPLE.COM"


def test_registered_function_jinja_baseline(benchmark: Any, scope: dict[str, Any]) -> None:
    jinja = JinjaBaseline()
    jinja.env.globals["shout"] = shout
    benchmark.group = REGISTERED_GROUP
    benchmark.extra_info.update(case="baseline: cached Jinja2 template, shout() a global")
    assert benchmark(jinja.template(REGISTERED_CALL).render, scope) == "WEB007.EXAMPLE.COM"


# -- conditions ---------------------------------------------------------------------------------
def test_condition(benchmark: Any, view: WorkflowContext, implementation: str) -> None:
    benchmark.group = f"condition: {WHEN}"
    benchmark.extra_info.update(case=f"fastctx-{implementation} evaluate_condition")
    assert benchmark(view.evaluate_condition, WHEN) is True


def test_condition_jinja_baseline(benchmark: Any, jinja: Any, scope: dict[str, Any]) -> None:
    benchmark.group = f"condition: {WHEN}"
    benchmark.extra_info.update(case="baseline: compiled Jinja2 expression")
    assert benchmark(jinja.expression(WHEN), scope) is True


# -- a whole iteration --------------------------------------------------------------------------
ITERATION_GROUP = "iteration: with_item + when + render_json of the task input"


def test_iteration(benchmark: Any, wc_class: type[WorkflowContext], implementation: str,
                   make_context: Any, indexed_item: tuple[dict[str, Any], int]) -> None:
    ctx = make_context(wc_class, TASK_RESULTS)
    benchmark.group = ITERATION_GROUP
    benchmark.extra_info.update(case=f"fastctx-{implementation}", task_results=TASK_RESULTS)
    assert benchmark(fastctx_iteration, ctx, *indexed_item) == EXPECTED_INPUT


def test_iteration_shallow_copy_baseline(benchmark: Any, jinja: Any, make_plain: Any,
                                         indexed_item: tuple[dict[str, Any], int]) -> None:
    benchmark.group = ITERATION_GROUP
    benchmark.extra_info.update(case="baseline: dict(base) + cached Jinja2",
                                task_results=TASK_RESULTS)
    benchmark(jinja.iteration, make_plain(TASK_RESULTS), *indexed_item)


def test_iteration_deepcopy_baseline(benchmark: Any, jinja: Any, make_plain: Any,
                                     indexed_item: tuple[dict[str, Any], int]) -> None:
    benchmark.group = ITERATION_GROUP
    benchmark.extra_info.update(case="baseline: copy.deepcopy of the 1 MB context + cached "
                                     "Jinja2", task_results=TASK_RESULTS)
    benchmark.pedantic(jinja.iteration, args=(make_plain(TASK_RESULTS), *indexed_item,
                                              copy.deepcopy), rounds=DEEPCOPY_ROUNDS)
