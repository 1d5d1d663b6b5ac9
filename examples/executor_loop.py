"""A small workflow executor loop on fastctx, typed for ``mypy --strict``.

    python examples/executor_loop.py

The workflow has four tasks. ``discover`` returns a list of servers; ``ping`` runs once per
server (with-items), skips the servers its ``when`` condition rejects, renders its input for
each one and publishes a summary; ``report`` runs only if ``ping`` succeeded; ``deploy`` refers
to a task result that does not exist, and shows how a fastctx error becomes a failed task
instead of a crashed executor.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import fastctx
from fastctx import ContextError, TaskOutcome, VariableNotFound, WorkflowContext

# An action gets the task input, rendered for one item, and returns a JSON-shaped result.
Action = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Task:
    name: str
    action: Action
    input: Mapping[str, Any]
    with_items: str | None = None  # an expression whose value is the list to iterate over
    when: str | None = None  # a condition, evaluated per item when iterating
    publish: Mapping[str, Any] = field(default_factory=dict)  # variable -> template


@dataclass
class TaskRun:
    name: str
    outcome: TaskOutcome | None  # None: the task's `when` skipped it
    result: Any = None
    skipped_items: int = 0
    error: str | None = None


def discover(task_input: Mapping[str, Any]) -> list[dict[str, Any]]:
    region = task_input["region"]
    return [
        {"host": f"web{n}.{region}", "enabled": n != 2, "port": 8080 + n} for n in range(1, 5)
    ]


def ping(task_input: Mapping[str, Any]) -> dict[str, Any]:
    # A stand-in for the real action: "reachable" unless the host is the third one.
    return {"host": task_input["host"], "ok": not task_input["host"].startswith("web3"),
            "command": task_input["command"]}


def report(task_input: Mapping[str, Any]) -> str:
    return str(task_input["message"])


def deploy(task_input: Mapping[str, Any]) -> str:
    return f"deployed {task_input['build']}"


def run_task(ctx: WorkflowContext, task: Task) -> TaskRun:
    """Run one task against ``ctx``; record its result and outcome there."""
    try:
        if task.with_items is None:
            if task.when is not None and not ctx.evaluate_condition(task.when):
                return TaskRun(task.name, None)
            result: Any = task.action(ctx.render_json(task.input))
            skipped = 0
        else:
            items = ctx.evaluate(task.with_items)
            if not isinstance(items, list):
                raise TypeError(f"with_items of {task.name!r} is not a list")
            results: list[Any] = []
            skipped = 0
            for index, item in enumerate(items):
                view: WorkflowContext = ctx.with_item(item, index)  # O(1): shares ctx's stores
                if task.when is not None and not view.evaluate_condition(task.when):
                    skipped += 1
                    continue
                results.append(task.action(view.render_json(task.input)))
            result = results
    except VariableNotFound as exc:
        ctx.set_last_task_outcome(None, TaskOutcome.FAILED)
        return TaskRun(task.name, TaskOutcome.FAILED, error=f"VariableNotFound ({exc.path}): {exc}")
    except ContextError as exc:  # InvalidExpression, TypeConversion, LimitExceeded, ...
        ctx.set_last_task_outcome(None, TaskOutcome.FAILED)
        return TaskRun(task.name, TaskOutcome.FAILED, error=f"{type(exc).__name__}: {exc}")
    ctx.set_task_result(task.name, result)
    ctx.set_last_task_outcome(result, TaskOutcome.SUCCEEDED)
    if task.publish:
        ctx.publish_from_result(result, publish_map=task.publish)
    return TaskRun(task.name, TaskOutcome.SUCCEEDED, result, skipped)


def run_workflow(ctx: WorkflowContext, tasks: list[Task]) -> list[TaskRun]:
    return [run_task(ctx, task) for task in tasks]


WORKFLOW = [
    Task("discover", discover, {"region": "{{ parameters.region }}"}),
    Task(
        "ping",
        ping,
        {
            "host": "{{ item.host }}",
            "command": "ping -c {{ parameters.count }} {{ item.host }}:{{ item.port }}",
        },
        with_items="task.discover",
        when="item.enabled and index < parameters.max_hosts",
        publish={
            "pinged": "{{ length(result()) }}",
            "unreachable": "{{ result() | rejectattr('ok') | map(attribute='host') | list }}",
        },
    ),
    Task(
        "report",
        report,
        {"message": "{{ pinged }} pinged, unreachable: {{ unreachable }}"},
        when="succeeded() and pinged > 0",
    ),
    Task("deploy", deploy, {"build": "{{ task.build.artifact }}"}),
]


def main() -> int:
    ctx = WorkflowContext({"region": "eu", "count": 3, "max_hosts": 10}, {"owner": "ops"})
    print(f"fastctx {fastctx.__version__} ({fastctx.IMPLEMENTATION} core)")
    failed = 0
    for run in run_workflow(ctx, WORKFLOW):
        if run.outcome is None:
            print(f"{run.name:9} skipped by its when condition")
        elif run.outcome is TaskOutcome.FAILED:
            failed += 1
            print(f"{run.name:9} FAILED  {run.error}")
        else:
            skipped = f" ({run.skipped_items} items skipped)" if run.skipped_items else ""
            print(f"{run.name:9} ok{skipped}: {json.dumps(run.result)}")
    print("variables:", json.dumps(ctx.export_variables()))
    return 0 if failed == 1 else 1  # exactly one task ("deploy") is meant to fail


if __name__ == "__main__":
    sys.exit(main())
