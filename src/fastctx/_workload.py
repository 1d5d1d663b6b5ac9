"""The workload ``fastctx bench``, the benchmark suite and its gate measure, so that all three
agree on what "a 10 KB task result" and "a whole iteration" are: task results, items, the
task input, and the baselines a workflow engine would otherwise use (a dict context copied
per item, cached sandboxed Jinja2). Only the standard library and Jinja2 are used.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jinja2 import Template
from jinja2.environment import TemplateExpression
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ._engine import Engine, get_engine
from ._impl import WorkflowContext

__all__ = [
    "HELPER_CALL",
    "JINJA_ONLY",
    "LOOKUP",
    "MIXED",
    "PARAMETERS",
    "REGISTERED_CALL",
    "TASK_INPUT",
    "VARIABLES",
    "WHEN",
    "JinjaBaseline",
    "build_context",
    "contextvars_loop",
    "dict_loop",
    "fastctx_iteration",
    "json_size",
    "make_items",
    "make_task_results",
    "plain_context",
    "results_size",
    "shout",
    "with_items_loop",
    "workload_engine",
]

PARAMETERS: dict[str, Any] = {"count": 3, "timeout": 30, "url": "https://api.example.com/v1"}
VARIABLES: dict[str, Any] = {"region": "eu-west-1", "retries": 3, "owner": "ops"}

#: A plain look-up: the fast path's case.
LOOKUP = "{{ item.host }}"
#: Literal text and two look-ups.
MIXED = "ping -c {{ parameters.count }} {{ item.host }}"
#: A filter and a loop: Jinja2's case.
JINJA_ONLY = "{% for tag in item.tags %}{{ tag | upper }}{% if not loop.last %},{% endif %}" \
             "{% endfor %}"
#: A call of a function an executor registered on its engine, and of a built-in helper.
REGISTERED_CALL = "{{ shout(item.host) }}"
HELPER_CALL = "{{ upper(item.host) }}"
#: The ``when`` of the task.
WHEN = "item.enabled and parameters.count > 0"
#: A 4-field task input with 3 templates.
TASK_INPUT: dict[str, Any] = {
    "cmd": MIXED, "host": LOOKUP, "port": "{{ item.port }}", "retries": 3,
}

_STDOUT_LINES = 80
_DATA_ROWS = 24


def _task_result(n: int) -> dict[str, Any]:
    """A realistic task result of about 10 KB of JSON: some text and some structure."""
    line = (f"PING web{n:03d}.example.com (10.0.{n % 256}.{n // 256}): 56 data bytes, "
            f"64 bytes icmp_seq=1 ttl=64 time=0.041 ms\n")
    rows = [
        {"id": j, "host": f"web{j:03d}.dc{n % 7}.example.com", "port": 8000 + j,
         "status": "degraded" if j % 5 == 0 else "ok", "latency_ms": round(0.5 + j * 0.37, 2),
         "tags": ["web", f"rack-{j % 4}"]}
        for j in range(_DATA_ROWS)
    ]
    return {"return_code": 0, "succeeded": True, "stdout": line * _STDOUT_LINES, "stderr": "",
            "data": rows}


def make_task_results(count: int) -> dict[str, dict[str, Any]]:
    """``count`` distinct task results of about 10 KB each, named ``task_0``, ``task_1``..."""
    return {f"task_{n}": _task_result(n) for n in range(count)}


def make_items(count: int) -> list[dict[str, Any]]:
    """With-items items: a host, a port, a flag the ``when`` reads, tags for loops."""
    return [
        {"host": f"web{i:03d}.example.com", "port": 8000 + i, "enabled": True,
         "tags": ["web", f"rack-{i % 4}"]}
        for i in range(count)
    ]


def json_size(value: Any) -> int:
    """Bytes of the compact JSON of ``value``."""
    return len(json.dumps(value, separators=(",", ":")).encode())


def results_size(task_results: Mapping[str, Any]) -> int:
    """Bytes of JSON held by the task results: the context size of the tables."""
    return sum(json_size(result) for result in task_results.values())


def build_context(
    cls: type[WorkflowContext], task_results: Mapping[str, Any], engine: Engine | None = None
) -> WorkflowContext:
    """A context of class ``cls`` holding the workload's parameters, variables and results."""
    ctx = cls(dict(PARAMETERS), dict(VARIABLES), engine=engine)
    for name, result in task_results.items():
        ctx.set_task_result(name, result)
    return ctx


def plain_context(task_results: Mapping[str, Any]) -> dict[str, Any]:
    """The same context as plain dicts, with the names templates use (aliases share)."""
    variables = dict(VARIABLES)
    tasks = dict(task_results)
    return {
        "parameters": dict(PARAMETERS), "workflow": variables, "vars": variables,
        "variables": variables, "task": tasks, "tasks": tasks, "item": None, "index": None,
    }


def fastctx_iteration(ctx: WorkflowContext, item: Any, index: int) -> Any:
    """One with-items iteration: ``with_item``, the ``when``, ``render_json`` of the input."""
    view = ctx.with_item(item, index)
    if view.evaluate_condition(WHEN):
        return view.render_json(TASK_INPUT)
    return None


class JinjaBaseline:
    """What an engine does without fastctx: a dict context and cached sandboxed Jinja2."""

    def __init__(self) -> None:
        self.env = ImmutableSandboxedEnvironment()
        self._templates: dict[str, Template] = {}
        self._expressions: dict[str, TemplateExpression] = {}

    def template(self, source: str) -> Template:
        """``env.from_string(source)``, cached."""
        template = self._templates.get(source)
        if template is None:
            template = self._templates[source] = self.env.from_string(source)
        return template

    def expression(self, source: str) -> TemplateExpression:
        """``env.compile_expression(source)``, cached."""
        expression = self._expressions.get(source)
        if expression is None:
            expression = self._expressions[source] = self.env.compile_expression(source)
        return expression

    def render(self, source: str, context: Mapping[str, Any]) -> str:
        return self.template(source).render(context)

    def condition(self, source: str, context: Mapping[str, Any]) -> bool:
        return bool(self.expression(source)(context))

    def render_json(self, value: Any, context: Mapping[str, Any]) -> Any:
        """Every string with a ``{`` rendered by its cached template; containers walked."""
        if type(value) is str:
            return self.template(value).render(context) if "{" in value else value
        if type(value) is dict:
            return {key: self.render_json(member, context) for key, member in value.items()}
        if type(value) is list:
            return [self.render_json(member, context) for member in value]
        return value

    def iteration(
        self,
        base: dict[str, Any],
        item: Any,
        index: int,
        copier: Callable[[dict[str, Any]], dict[str, Any]] = dict,
    ) -> Any:
        """One iteration on a copy of ``base`` (shallow by default; ``copy.deepcopy`` too)."""
        context = copier(base)
        context["item"] = item
        context["index"] = index
        if self.condition(WHEN, context):
            return self.render_json(TASK_INPUT, context)
        return None


def with_items_loop(ctx: WorkflowContext, items: Sequence[Any]) -> None:
    """The with-items loop as fastctx runs it."""
    for i, item in enumerate(items):
        ctx.with_item(item, i)


def dict_loop(base: dict[str, Any], items: Sequence[Any],
               copier: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The loop of an executor that copies a dict context per item (deep or shallow)."""
    for i, item in enumerate(items):
        context = copier(base)
        context["item"] = item
        context["index"] = i


def contextvars_loop(items: Sequence[Any]) -> None:
    """The floor: an O(1) copy per item."""
    for _ in items:
        contextvars.copy_context()


def shout(value: str) -> str:
    """The registered function of the workload (what the helper ``upper`` does)."""
    return value.upper()


def workload_engine() -> Engine:
    """The engine with ``shout`` registered (made once per process)."""
    try:
        return get_engine("fastctx-bench")
    except KeyError:
        return Engine("fastctx-bench", functions={"shout": shout})
