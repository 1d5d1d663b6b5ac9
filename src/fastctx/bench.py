"""``fastctx bench``: clone and with-items figures measured on this machine, side by side
with what a workflow engine would otherwise do.

Two tables, each beside the baselines:

- clone time by context size: 0, 10, 50, 100 and 500 task results of about 10 KB each (0 to
  5 MB), for ``clone()`` on each core, ``copy.deepcopy`` of the same context as plain dicts,
  a shallow copy of that dict (``dict(base)``) and ``contextvars.copy_context()``, the floor
  for an O(1) copy;
- the with-items loop by item count (10, 100, 1000 items, 100 task results): "before", a
  deep copy of the dict context per item, against "after", ``ctx.with_item(item, index)``.

When valgrind is installed (and the compiled core loads), a third table gives the core's
operations one by one: the instructions each executes, counted by callgrind (the same figure
every run, ``fastctx._instructions``), beside its median time in this run.

Every figure is the median of several batches, the contenders of one row measured in
interleaved batches (``fastctx._timing``). Progress goes to stderr, the tables to stdout;
``--json OUT`` writes every measurement and ``--plot OUT.png`` draws them (matplotlib,
``pip install fastctx[plot]``).

The workload (``fastctx._workload``: task results, items, the task input, the dict + Jinja2
baselines) and the timing are the ones the benchmark suite and its gate use; this module
re-exports them, so ``fastctx.bench`` is the one place those import from.
"""

from __future__ import annotations

import argparse
import contextvars
import copy
import importlib
import json
import platform
import sys
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict
from itertools import islice
from types import ModuleType
from typing import IO, Any

from . import __version__, _instructions
from ._impl import WorkflowContext, context_class
from ._timing import FULL, QUICK, Call, Settings, format_ns, measure, time_batch
from ._workload import (
    HELPER_CALL,
    JINJA_ONLY,
    LOOKUP,
    MIXED,
    PARAMETERS,
    REGISTERED_CALL,
    TASK_INPUT,
    VARIABLES,
    WHEN,
    JinjaBaseline,
    build_context,
    contextvars_loop,
    dict_loop,
    fastctx_iteration,
    json_size,
    make_items,
    make_task_results,
    plain_context,
    results_size,
    shout,
    with_items_loop,
    workload_engine,
)

__all__ = [
    "CLONE_SIZES",
    "FULL",
    "HELPER_CALL",
    "INSTRUCTION_OPS",
    "JINJA_ONLY",
    "LOOKUP",
    "LOOP_ITEMS",
    "LOOP_TASK_RESULTS",
    "MIXED",
    "PARAMETERS",
    "QUICK",
    "REGISTERED_CALL",
    "TASK_INPUT",
    "VARIABLES",
    "WHEN",
    "Call",
    "JinjaBaseline",
    "Settings",
    "available_classes",
    "build_context",
    "collect",
    "collect_instructions",
    "contextvars_loop",
    "dict_loop",
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
    "shout",
    "time_batch",
    "with_items_loop",
    "workload_engine",
]

#: Context sizes of the clone table, in task results of about 10 KB.
CLONE_SIZES: tuple[int, ...] = (0, 10, 50, 100, 500)
#: Item counts of the with-items table.
LOOP_ITEMS: tuple[int, ...] = (10, 100, 1000)
#: Task results in the context of the with-items table (about 1 MB).
LOOP_TASK_RESULTS = 100


def available_classes() -> dict[str, type[WorkflowContext]]:
    """``WorkflowContext`` on each core that can be imported, the compiled one first."""
    classes: dict[str, type[WorkflowContext]] = {}
    for implementation in ("cython", "python"):
        try:
            classes[implementation] = context_class(implementation)
        except ImportError:
            continue
    return classes


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


#: The operations of the instruction table (``fastctx._instructions.OPERATIONS``).
INSTRUCTION_OPS: tuple[str, ...] = ("call", "clone", "with_item", "render lookup",
                                    "render mixed", "condition", "render_json", "iteration",
                                    "jinja2 lookup", "jinja2 condition")


def collect_instructions(settings: Settings) -> dict[str, Any] | None:
    """The instruction table's rows (instructions, net of an empty call, target, time in
    this run), or None (printed why) when valgrind or the compiled core is missing."""
    reason = _instructions.missing()
    if reason is not None:
        _progress(f"instructions: not counted ({reason})")
        return None
    _progress("counting instructions with callgrind (a minute or two)...")
    figures = _instructions.measure(INSTRUCTION_OPS)
    net = _instructions.net(figures)
    _progress("timing the same operations...")
    calls = _instructions.callables(INSTRUCTION_OPS)
    ns = measure({name: (call, ()) for name, call in calls.items()}, settings)
    return {"python": _instructions.python_build(), "ops": [
        {"op": name, "what": _instructions.OPERATIONS[name][0], "instructions": figures[name],
         "net": net.get(name), "target": _instructions.TARGETS.get(name), "ns": ns[name]}
        for name in INSTRUCTION_OPS]}


def _instruction_table(data: Mapping[str, Any]) -> str:
    rows = []
    for row in data["ops"]:
        target = row["target"]
        rows.append([row["op"], f"{row['instructions']:,}",
                     "-" if row["net"] is None else f"{row['net']:,}",
                     "-" if target is None else
                     f"<= {target:,} {'holds' if row['net'] <= target else 'not yet'}",
                     format_ns(row["ns"])])
    return (
        "Core operations one by one (instructions per call counted by callgrind, the same "
        "every run; time: median in this run)\n"
        f"{format_table(['op', 'instructions', 'net', 'target (net)', 'time'], rows)}\n"
        "net: less an empty call (lambda: None); target: about 1.2x hand-written Cython doing "
        "only the operation's work"
    )


def collect(settings: Settings, instructions: bool = False) -> dict[str, Any]:
    """Measure the tables; the result is what ``--json`` writes. ``instructions``: also the
    instruction table, when valgrind is installed."""
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
        "instructions": collect_instructions(settings) if instructions else None,
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
Measure on this machine the clone time by context size (0 to 5 MB of
task results) and the with-items loop by item count (before: a deep copy per item; after:
with_item), side by side with a deep copy, a shallow copy of a dict context and
contextvars.copy_context(). Where valgrind is installed, also the instructions each core
operation executes, beside its time. Progress goes to stderr, the tables to stdout."""

_EPILOG = """\
examples:
  fastctx bench                    the full tables (within a minute)
  fastctx bench --quick            fewer repetitions (about ten seconds)
  fastctx bench --json bench.json  also write every measurement as JSON
  fastctx bench --plot bench.png   also draw the tables (pip install fastctx[plot])
  fastctx bench --no-instructions  no callgrind counts, where valgrind is installed"""

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
    parser.add_argument("--no-instructions", dest="instructions", action="store_false",
                        help="leave out the instruction counts (counted only where valgrind "
                             "is installed; they take a minute or two)")
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
        data = collect(QUICK if args.quick else FULL, instructions=args.instructions)
        data["quick"] = bool(args.quick)
        tables = [_clone_table(data), _loop_table(data)]
        if data["instructions"] is not None:
            tables.append(_instruction_table(data["instructions"]))
        print(*tables, sep="\n\n")
        if json_out is not None:
            json.dump(data, json_out, indent=2)
            json_out.write("\n")
        if plot_out is not None and pyplot is not None:
            plot(data, plot_out, pyplot)
    return 0
