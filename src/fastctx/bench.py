"""``fastctx bench``: the origin's tables, measured on this machine.

Two tables, each side by side with the baselines a workflow engine would otherwise use:

- clone time by context size: 0, 10, 50, 100 and 500 task results of about 10 KB each (0 to
  5 MB), for ``clone()`` on each core, ``copy.deepcopy`` of the same context as plain dicts,
  a shallow copy of that dict (``dict(base)``) and ``contextvars.copy_context()``, the floor
  for an O(1) copy;
- the with-items loop by item count (10, 100, 1000 items, 100 task results): "before", a
  deep copy of the dict context per item, against "after", ``ctx.with_item(item, index)``.

Every figure is the median of several batches; the contenders of one row are measured in
interleaved batches, so machine noise hits them alike. Progress goes to stderr, the tables to
stdout; ``--json OUT`` writes every measurement and ``--plot OUT.png`` draws them (matplotlib,
``pip install fastctx[plot]``).

This module also holds the workload that ``benchmarks/`` and its gate measure (the task
results, the items, the task input, the dict + Jinja2 baselines), so that all three agree on
what "a 10 KB task result" and "a whole iteration" are. Only the standard library and Jinja2
are used: no pytest-benchmark at run time.
"""

from __future__ import annotations

import argparse
import contextvars
import copy
import gc
import importlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from itertools import islice, repeat
from types import ModuleType
from typing import IO, Any

from jinja2 import Template
from jinja2.environment import TemplateExpression
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import __version__
from ._context import WorkflowContext, context_class

__all__ = [
    "CLONE_SIZES",
    "FULL",
    "JINJA_ONLY",
    "LOOKUP",
    "LOOP_ITEMS",
    "LOOP_TASK_RESULTS",
    "MIXED",
    "PARAMETERS",
    "QUICK",
    "TASK_INPUT",
    "VARIABLES",
    "WHEN",
    "Call",
    "JinjaBaseline",
    "Settings",
    "available_classes",
    "build_context",
    "collect",
    "fastctx_iteration",
    "format_ns",
    "format_table",
    "json_size",
    "make_items",
    "make_task_results",
    "measure",
    "plain_context",
    "plot",
    "register",
    "results_size",
    "run",
    "time_batch",
]


# -- what to measure, and for how long --------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """How long to measure each figure."""

    #: A batch lasts about this long: cheap calls are repeated to fill it. Keep it short (a
    #: few ms at most): on a busy machine a batch the scheduler preempts reads much slower.
    batch_ns: int
    #: Batches per figure; the median is reported.
    batches: int
    #: A slow case gets fewer batches (at least one) so that it stays within this.
    case_budget_ns: int
    #: The "before" loop deep-copies at most this many items and is scaled to the item count.
    deepcopy_items: int


#: ``--quick``: about ten seconds.
QUICK = Settings(batch_ns=1_000_000, batches=15, case_budget_ns=300_000_000, deepcopy_items=5)
#: The default: within a minute.
FULL = Settings(batch_ns=2_000_000, batches=51, case_budget_ns=2_000_000_000,
                deepcopy_items=100)

#: Context sizes of the clone table, in task results of about 10 KB.
CLONE_SIZES: tuple[int, ...] = (0, 10, 50, 100, 500)
#: Item counts of the with-items table.
LOOP_ITEMS: tuple[int, ...] = (10, 100, 1000)
#: Task results in the context of the with-items table (about 1 MB).
LOOP_TASK_RESULTS = 100

# -- the workload -----------------------------------------------------------------------------
PARAMETERS: dict[str, Any] = {"count": 3, "timeout": 30, "url": "https://api.example.com/v1"}
VARIABLES: dict[str, Any] = {"region": "eu-west-1", "retries": 3, "owner": "ops"}

#: A plain look-up: the fast path's case.
LOOKUP = "{{ item.host }}"
#: Literal text and two look-ups.
MIXED = "ping -c {{ parameters.count }} {{ item.host }}"
#: A filter and a loop: Jinja2's case.
JINJA_ONLY = "{% for tag in item.tags %}{{ tag | upper }}{% if not loop.last %},{% endif %}" \
             "{% endfor %}"
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
    cls: type[WorkflowContext], task_results: Mapping[str, Any]
) -> WorkflowContext:
    """A context of class ``cls`` holding the workload's parameters, variables and results."""
    ctx = cls(dict(PARAMETERS), dict(VARIABLES))
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


def available_classes() -> dict[str, type[WorkflowContext]]:
    """``WorkflowContext`` on each core that can be imported, the compiled one first."""
    classes: dict[str, type[WorkflowContext]] = {}
    for implementation in ("cython", "python"):
        try:
            classes[implementation] = context_class(implementation)
        except ImportError:
            continue
    return classes


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


# -- timing -----------------------------------------------------------------------------------
#: A function and its arguments: what one repetition of a batch calls.
Call = tuple[Callable[..., object], tuple[Any, ...]]


def time_batch(call: Call, reps: int) -> int:
    """Nanoseconds taken by ``reps`` calls, the garbage collector off (as ``timeit`` does)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _time_loop(call, reps)
    finally:
        if enabled:
            gc.enable()


def _time_loop(call: Call, reps: int) -> int:
    # One loop per arity, so that the loop calls the function directly.
    fn, args = call
    loop = repeat(None, reps)
    if not args:
        start = time.perf_counter_ns()
        for _ in loop:
            fn()
        return time.perf_counter_ns() - start
    if len(args) == 1:
        arg = args[0]
        start = time.perf_counter_ns()
        for _ in loop:
            fn(arg)
        return time.perf_counter_ns() - start
    start = time.perf_counter_ns()
    for _ in loop:
        fn(*args)
    return time.perf_counter_ns() - start


def _plan(call: Call, settings: Settings) -> tuple[int, int, list[float]]:
    """Repetitions per batch, batches, and the samples already taken, for ``call``.

    The first call is a warm-up (templates compile, caches fill): it is timed but left out,
    unless it is so slow (ten batches or more) that first-call costs vanish in it.
    """
    first = time_batch(call, 1)
    if first >= 10 * settings.batch_ns:
        return 1, _batches(first, settings), [float(first)]
    # The best of three timings at each step: one preempted timing must not make the
    # repetitions few, or each batch would time cold calls.
    reps = 1
    elapsed = min(time_batch(call, reps) for _ in range(3))
    while elapsed < settings.batch_ns // 10:
        reps *= 10
        elapsed = min(time_batch(call, reps) for _ in range(3))
    per_call = max(elapsed, 1) / reps
    reps = max(1, round(settings.batch_ns / per_call))
    return reps, _batches(reps * per_call, settings), []


def _batches(batch_ns: float, settings: Settings) -> int:
    """As many batches as the settings ask, within the case budget, at least one."""
    return max(1, min(settings.batches, int(settings.case_budget_ns // max(1.0, batch_ns))))


def measure(cases: Mapping[str, Call], settings: Settings) -> dict[str, float]:
    """Median nanoseconds per call of each case, batches interleaved across the cases."""
    gc.collect()
    plans = {name: _plan(call, settings) for name, call in cases.items()}
    samples = {name: plan[2] for name, plan in plans.items()}
    names = list(cases)
    for round_ in range(max(batches for _, batches, _ in plans.values())):
        # Alternate the order so that no case always follows the same neighbour.
        for name in names if round_ % 2 == 0 else reversed(names):
            reps, batches, _ = plans[name]
            if len(samples[name]) < batches:
                samples[name].append(time_batch(cases[name], reps) / reps)
    return {name: statistics.median(values) for name, values in samples.items()}


def format_ns(ns: float) -> str:
    """A duration with its unit: ``118 ns``, ``1.45 µs``, ``34.9 ms``, ``2.10 s``."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return _three_digits(ns / scale, unit)
    return f"{ns:.0f} ns"


def _three_digits(value: float, unit: str) -> str:
    if value >= 100:
        return f"{value:.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def _format_bytes(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1e6:.1f} MB"
    if size >= 1_000:
        return f"{size / 1e3:.0f} KB"
    return f"{size} B"


def _format_speedup(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.1f}x"


# -- the two tables ---------------------------------------------------------------------------
DEEPCOPY = "deepcopy"
SHALLOW = "shallow-copy"
CONTEXTVARS = "contextvars"


def _fastctx(implementation: str) -> str:
    return f"fastctx-{implementation}"


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _clone_row(
    size: int,
    results: Mapping[str, Any],
    classes: Mapping[str, type[WorkflowContext]],
    settings: Settings,
) -> dict[str, Any]:
    _progress(f"measuring clone at {size} task results...")
    subset = dict(islice(results.items(), size))
    base = plain_context(subset)
    cases: dict[str, Call] = {
        _fastctx(name): (build_context(cls, subset).clone, ()) for name, cls in classes.items()
    }
    cases[DEEPCOPY] = (copy.deepcopy, (base,))
    cases[SHALLOW] = (dict, (base,))
    cases[CONTEXTVARS] = (contextvars.copy_context, ())
    return {"task_results": size, "context_bytes": results_size(subset),
            "ns": measure(cases, settings)}


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


def _loop_row(
    count: int,
    contexts: Mapping[str, WorkflowContext],
    base: dict[str, Any],
    settings: Settings,
) -> dict[str, Any]:
    _progress(f"measuring the with-items loop at {count} items...")
    items = make_items(count)
    sampled = max(1, min(count, settings.deepcopy_items))
    cases: dict[str, Call] = {
        _fastctx(name): (with_items_loop, (ctx, items)) for name, ctx in contexts.items()
    }
    cases[DEEPCOPY] = (dict_loop, (base, items[:sampled], copy.deepcopy))
    cases[SHALLOW] = (dict_loop, (base, items, dict))
    cases[CONTEXTVARS] = (contextvars_loop, (items,))
    ns = measure(cases, settings)
    ns[DEEPCOPY] *= count / sampled
    return {"items": count, "ns": ns, "deepcopy_items_measured": sampled}


def _best(classes: Mapping[str, Any]) -> str:
    """The contender the speed-up column divides by: the compiled core when it loaded."""
    return _fastctx(next(iter(classes)))


def _with_speedups(rows: list[dict[str, Any]], best: str) -> list[dict[str, Any]]:
    for row in rows:
        row["speedup"] = row["ns"][DEEPCOPY] / row["ns"][best]
    return rows


def collect(settings: Settings) -> dict[str, Any]:
    """Measure both tables; the result is what ``--json`` writes."""
    classes = available_classes()
    if "cython" not in classes:
        _progress("fastctx-cython: not measured (the compiled core fastctx._core cannot be "
                  "imported)")
    results = make_task_results(max((*CLONE_SIZES, LOOP_TASK_RESULTS)))
    best = _best(classes)
    clone_rows = [_clone_row(size, results, classes, settings) for size in CLONE_SIZES]
    loop_results = dict(islice(results.items(), LOOP_TASK_RESULTS))
    contexts = {name: build_context(cls, loop_results) for name, cls in classes.items()}
    base = plain_context(loop_results)
    loop_rows = [_loop_row(count, contexts, base, settings) for count in LOOP_ITEMS]
    for row in loop_rows:
        row["task_results"] = LOOP_TASK_RESULTS
        row["context_bytes"] = results_size(loop_results)
    return {
        "fastctx_version": __version__,
        "python_version": platform.python_version(),
        "implementations": list(classes),
        "speedup_over": best,
        "task_result_bytes": json_size(results["task_0"]) if results else 0,
        "settings": asdict(settings),
        "clone": _with_speedups(clone_rows, best),
        "with_items": _with_speedups(loop_rows, best),
    }


def _columns(implementations: Sequence[str], loop: bool) -> list[tuple[str, str]]:
    """(JSON key, header) of each contender column, in table order."""
    ours = [(_fastctx(name), _fastctx(name)) for name in implementations]
    if loop:
        ours[0] = (ours[0][0], "after: " + ours[0][1])
        return [(DEEPCOPY, "before: deepcopy"), (SHALLOW, SHALLOW),
                (CONTEXTVARS, CONTEXTVARS), *ours]
    return [*ours, (DEEPCOPY, DEEPCOPY), (SHALLOW, SHALLOW), (CONTEXTVARS, CONTEXTVARS)]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """An aligned text table: the first ``left`` columns left-aligned, the others right."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, ["-" * width for width in widths], *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) if at < left else cell.rjust(width)
                  for at, (cell, width) in enumerate(zip(line, widths, strict=True))).rstrip()
        for line in lines
    )


def _clone_table(data: Mapping[str, Any]) -> str:
    columns = _columns(data["implementations"], loop=False)
    headers = ["task results", "context", *(header for _, header in columns), "speed-up"]
    rows = [
        [str(row["task_results"]), _format_bytes(row["context_bytes"]),
         *(format_ns(row["ns"][key]) for key, _ in columns), _format_speedup(row["speedup"])]
        for row in data["clone"]
    ]
    return (
        f"Clone time by context size (median per clone; task results of "
        f"{_format_bytes(data['task_result_bytes'])} each)\n"
        f"{format_table(headers, rows)}\n"
        f"speed-up: deepcopy / {data['speedup_over']}; contextvars.copy_context() is the "
        f"floor for an O(1) copy"
    )


def _loop_table(data: Mapping[str, Any]) -> str:
    columns = _columns(data["implementations"], loop=True)
    headers = ["items", *(header for _, header in columns), "per item", "speed-up"]
    rows = []
    scaled = False
    for row in data["with_items"]:
        estimated = row["deepcopy_items_measured"] < row["items"]
        scaled = scaled or estimated
        cells = [format_ns(row["ns"][key]) for key, _ in columns]
        if estimated:
            cells[0] = "~" + cells[0]
        rows.append([str(row["items"]), *cells,
                     format_ns(row["ns"][data["speedup_over"]] / row["items"]),
                     _format_speedup(row["speedup"])])
    first = data["with_items"][0] if data["with_items"] else {"task_results": 0,
                                                              "context_bytes": 0}
    notes = [f"per item and speed-up: {data['speedup_over']}; speed-up = before / after"]
    if scaled:
        notes.append("~: deep-copied the first "
                     f"{data['settings']['deepcopy_items']} items and scaled to the item count")
    return (
        f"The with-items loop by item count (total per loop; {first['task_results']} task "
        f"results, {_format_bytes(first['context_bytes'])})\n"
        f"{format_table(headers, rows)}\n" + "\n".join(notes)
    )


# -- the plot ---------------------------------------------------------------------------------
def _load_pyplot() -> ModuleType | None:
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        return importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return None


def plot(data: Mapping[str, Any], out: IO[bytes], pyplot: ModuleType) -> None:
    """Clone time against context size, and the loop against item count, on log scales."""
    figure, (clone_axes, loop_axes) = pyplot.subplots(1, 2, figsize=(12, 5))
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.11, top=0.93, wspace=0.25)
    sizes = [row["context_bytes"] / 1e6 for row in data["clone"]]
    counts = [row["items"] for row in data["with_items"]]
    for key, label in _columns(data["implementations"], loop=False):
        clone_axes.plot(sizes, [row["ns"][key] for row in data["clone"]], marker="o",
                        label=label)
        loop_axes.plot(counts, [row["ns"][key] / 1e6 for row in data["with_items"]],
                       marker="o", label=label)
    clone_axes.set(title="clone()", xlabel="context size (MB of task results)",
                   ylabel="time per clone (ns)", yscale="log")
    loop_axes.set(title=f"with-items loop, {LOOP_TASK_RESULTS} task results",
                  xlabel="items", ylabel="time per loop (ms)", xscale="log", yscale="log")
    for axes in (clone_axes, loop_axes):
        axes.minorticks_off()
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.savefig(out, format="png", dpi=100)
    pyplot.close(figure)


# -- the command ------------------------------------------------------------------------------
_DESCRIPTION = """\
Reproduce the origin's tables on this machine: clone time by context size (0 to 5 MB of
task results) and the with-items loop by item count (before: a deep copy per item; after:
with_item), side by side with a deep copy, a shallow copy of a dict context and
contextvars.copy_context(). Progress goes to stderr, the tables to stdout."""

_EPILOG = """\
examples:
  fastctx bench                    the full tables (within a minute)
  fastctx bench --quick            fewer repetitions (about ten seconds)
  fastctx bench --json bench.json  also write every measurement as JSON
  fastctx bench --plot bench.png   also draw the tables (pip install fastctx[plot])"""

_PLOT_MISSING = "fastctx: error: --plot needs matplotlib: pip install fastctx[plot]"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``bench`` sub-parser; its handler (``handler`` default) is :func:`run`."""
    parser = subparsers.add_parser(
        "bench",
        help="measure clone and the with-items loop against deepcopy and other baselines",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions: about ten seconds instead of up to a minute")
    parser.add_argument("--json", metavar="OUT", help="write every measurement to OUT as JSON")
    parser.add_argument("--plot", metavar="OUT.png",
                        help="draw time against context size (log scale) to OUT.png; "
                             "needs matplotlib")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Measure, print the tables, write ``--json`` and ``--plot``; return the exit status."""
    pyplot = None
    if args.plot is not None:
        pyplot = _load_pyplot()
        if pyplot is None:
            print(_PLOT_MISSING, file=sys.stderr)
            return 2
    with ExitStack() as outputs:
        # Opened before measuring: a path that cannot be written fails now, not in a minute.
        try:
            json_out = None if args.json is None else outputs.enter_context(
                open(args.json, "w", encoding="utf-8"))
            plot_out = None if args.plot is None else outputs.enter_context(
                open(args.plot, "wb"))
        except OSError as exc:
            print(f"fastctx: error: cannot write {exc.filename}: {exc.strerror}",
                  file=sys.stderr)
            return 2
        data = collect(QUICK if args.quick else FULL)
        data["quick"] = bool(args.quick)
        print(_clone_table(data), _loop_table(data), sep="\n\n")
        if json_out is not None:
            json.dump(data, json_out, indent=2)
            json_out.write("\n")
        if plot_out is not None and pyplot is not None:
            plot(data, plot_out, pyplot)
    return 0
