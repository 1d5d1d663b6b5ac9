"""The real-world corpus (tests/data/realworld_templates.json) through fastctx: how many entries
render, on which path, and how fast against cached Jinja2.

    python benchmarks/corpus.py            # the table
    python benchmarks/corpus.py --json     # the same figures as JSON

Each entry renders on a context holding its minimal context. StackStorm entries run on the
Orquesta engine (``fastctx.engines.orquesta``) in the syntax their authors wrote
(``original`` where the corpus translated it), every other entry on the default engine. Where
the package has no engines (an older version), every entry runs on the default engine in
fastctx's own syntax: the "before" column of a comparison.

An entry is on the compiled path when every template in it is; "jinja2" when at least one needs
the sandboxed Jinja2 path. The time ratio is cached Jinja2 over fastctx per render, for the
entries a plain ``ImmutableSandboxedEnvironment`` (with Orquesta's functions as globals for the
Orquesta ones) also renders: the median of per-entry ratios, each the ratio of the medians of
interleaved batches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

import fastctx
from fastctx import ContextError, TaskOutcome, WorkflowContext

try:
    from fastctx.engines import orquesta
except ImportError:  # a version without engines
    orquesta = None  # type: ignore[assignment]

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "realworld_templates.json"
SYSTEMS = {"StackStorm": "StackStorm", "attune-system": "Attune", "geerlingguy": "Ansible"}


def system_of(entry: dict[str, Any]) -> str:
    owner = entry["source"].split("/")[0]
    return SYSTEMS.get(owner, "Airflow" if "airflow" in entry["source"].lower()
                       or owner in ("apache", "public repository (not identified)")
                       else owner)


def source_of(entry: dict[str, Any]) -> tuple[Any, Any]:
    """(engine, text): the Orquesta engine and the author's syntax for StackStorm entries."""
    if orquesta is not None and system_of(entry) == "StackStorm":
        return orquesta.ENGINE, entry.get("original", entry["text"])
    return None, entry["text"]


def make(context: dict[str, Any], engine: Any) -> Any:
    options = {} if engine is None else {"engine": engine}
    ctx = WorkflowContext(context.get("parameters"), context.get("variables"),
                          keystore=context.get("keystore"), **options)
    for name, result in (context.get("task_results") or {}).items():
        ctx.set_task_result(name, result)
    if "last_result" in context:
        ctx.set_last_task_outcome(context["last_result"], TaskOutcome.SUCCEEDED)
    if "item" in context or "index" in context:
        ctx = ctx.with_item(context.get("item"), context.get("index", 0))
    return ctx


def document(kind: str, text: Any) -> Any:
    return json.loads(text) if kind == "json" and isinstance(text, str) else text


def fastctx_call(ctx: Any, kind: str, text: Any) -> Callable[[], Any]:
    if kind == "template":
        return lambda: ctx.render_template(text)
    if kind == "condition":
        return lambda: ctx.evaluate_condition(text)
    doc = document(kind, text)
    return lambda: ctx.render_json(doc)


def templates_of(kind: str, text: Any) -> list[tuple[bool, str]]:
    """(is a template, source) of every template or expression in an entry."""
    if kind == "template":
        return [(True, text)]
    if kind == "condition":
        return [("{{" in text or "{%" in text, text)]
    found: list[tuple[bool, str]] = []
    stack = [document(kind, text)]
    while stack:
        value = stack.pop()
        if isinstance(value, str) and "{" in value:
            found.append((True, value))
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def path_of(engine: Any, kind: str, text: Any) -> str:
    from fastctx import _templating

    extra = {} if engine is None else {"engine": engine}
    for is_template, source in templates_of(kind, text):
        inner = _templating.pure_expression(source, **extra) if kind == "json" else None
        if inner:
            program = _templating.compile_expression(inner, None, **extra)
        elif is_template:
            program = _templating.compile_template(source, None, **extra)
        else:
            program = _templating.compile_expression(source, None, **extra)
        if type(program) is not tuple:
            return "jinja2"
    return "compiled"


def jinja_call(entry: dict[str, Any], engine: Any, text: Any) -> Callable[[], Any] | None:
    """The same entry on cached, plain sandboxed Jinja2, or None if it does not render there."""
    context = entry["context"]
    variables = dict(context.get("variables") or {})
    tasks = context.get("task_results") or {}
    names: dict[str, Any] = {**variables, "parameters": context.get("parameters") or {},
                             "workflow": variables, "vars": variables, "variables": variables,
                             "task": tasks, "tasks": tasks, "keystore": context.get("keystore"),
                             "result": lambda: context.get("last_result"),
                             "succeeded": lambda: True, "failed": lambda: False}
    if "item" in context or "index" in context:
        names.update(item=context.get("item"), index=context.get("index", 0))
    env = ImmutableSandboxedEnvironment()
    if engine is not None:  # Orquesta: plain Jinja2 with its functions as globals
        merged = {**names["parameters"], **variables}
        env.globals.update(
            ctx=lambda key=None: merged[key] if key else merged,
            item=lambda key=None: context["item"][key] if key else context.get("item"),
            task=lambda task_id, route=None: tasks[task_id],
            st2kv=lambda key, **_: (context.get("keystore") or {})[key])
        for name, function in engine.filters.items():
            env.filters[name] = env.globals[name] = function.function
    compiled: list[tuple[Any, bool]] = []

    def call() -> list[Any]:
        return [program.render(**names) if is_template else program(**names)
                for program, is_template in compiled]

    try:
        for is_template, source in templates_of(entry["kind"], text):
            compiled.append((env.from_string(source) if is_template
                             else env.compile_expression(source), is_template))
        call()
    except Exception:  # noqa: BLE001 - the baseline may not render what fastctx does
        return None
    return call


def time_pair(first: Callable[[], Any], second: Callable[[], Any],
              batches: int) -> tuple[float, float]:
    """Median ns per call of each, measured in interleaved batches."""
    reps = 1
    while True:  # batches of about 2 ms of the slower one
        start = time.perf_counter_ns()
        for _ in range(reps):
            first()
            second()
        if time.perf_counter_ns() - start > 2_000_000 or reps >= 100_000:
            break
        reps *= 4
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(batches):
        for call, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter_ns()
            for _ in range(reps):
                call()
            out.append((time.perf_counter_ns() - start) / reps)
    return statistics.median(times[0]), statistics.median(times[1])


def survey(batches: int) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for entry in json.loads(CORPUS.read_text()):
        engine, text = source_of(entry)
        row = rows.setdefault(system_of(entry), {"entries": 0, "render": 0, "compiled": 0,
                                                 "jinja2": 0, "ratios": []})
        row["entries"] += 1
        try:
            call = fastctx_call(make(entry["context"], engine), entry["kind"], text)
            call()
        except ContextError:
            continue
        row["render"] += 1
        row[path_of(engine, entry["kind"], text)] += 1
        baseline = jinja_call(entry, engine, text) if batches else None
        if baseline is not None:
            ours, theirs = time_pair(call, baseline, batches)
            row["ratios"].append(theirs / ours)
    total = {"entries": 0, "render": 0, "compiled": 0, "jinja2": 0, "ratios": []}
    for row in rows.values():
        for key in total:
            total[key] += row[key]
    rows["all"] = total
    for row in rows.values():
        ratios = row.pop("ratios")
        row["timed"] = len(ratios)
        row["median_ratio"] = round(statistics.median(ratios), 1) if ratios else None
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--batches", type=int, default=7, help="timing batches (0: no timing)")
    args = parser.parse_args(argv)
    rows = survey(args.batches)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"fastctx {fastctx.__version__} ({fastctx.IMPLEMENTATION} core), engines: "
          f"{'yes' if orquesta is not None else 'no'}")
    print(f"{'system':<12}{'entries':>8}{'render':>8}{'compiled':>10}{'jinja2':>8}"
          f"{'timed':>7}{'x cached Jinja2':>17}")
    for name, row in rows.items():
        ratio = "-" if row["median_ratio"] is None else f"{row['median_ratio']}x"
        print(f"{name:<12}{row['entries']:>8}{row['render']:>8}{row['compiled']:>10}"
              f"{row['jinja2']:>8}{row['timed']:>7}{ratio:>17}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
