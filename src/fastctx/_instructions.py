"""Instructions per core operation, counted by ``valgrind --tool=callgrind``: the table
``fastctx bench`` shows beside its times when valgrind is installed, and the figures the
benchmark suite's instruction gate (``benchmarks/instructions.py``) compares with its baseline.

Wall-clock times drift with the machine; the number of instructions an operation executes does
not: callgrind counts the same figure every run for the same build, whatever else the machine
does. Each operation runs in a child process under callgrind twice, ``LOW`` and ``HIGH`` times
after a warm-up, and its cost is the difference divided by ``HIGH - LOW``: start-up, imports and
compiling the template cancel out. ``PYTHONHASHSEED`` is fixed, so dict probes are the same
each run.

Every operation is called the same way, ``lambda: ...`` in a loop; ``call`` is that call with
nothing in it (``lambda: None``). The *net* figure of an operation is its count less
``call``'s: what the operation itself costs, its method call included. ``TARGETS`` are net
figures, about 1.2 times the floor (hand-written Cython doing only the operation's work).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["HIGH", "LOW", "OPERATIONS", "SETUP", "TARGETS", "callables", "count", "measure",
           "missing", "net", "python_build"]

LOW, HIGH = 1_000, 5_000

#: name -> (what it measures, the call, in the names ``SETUP`` defines)
OPERATIONS: dict[str, tuple[str, str]] = {
    "call": ("an empty call, lambda: None (what each op below includes besides its own work)",
             "lambda: None"),
    "clone": ("ctx.clone()", "lambda: ctx.clone()"),
    "with_item": ("ctx.with_item(item, 7)", "lambda: ctx.with_item(item, 7)"),
    "render lookup": ("render {{ item.host }}", "lambda: view.render_template(LOOKUP)"),
    "render mixed": ("render 'ping -c {{ parameters.count }} {{ item.host }}'",
                     "lambda: view.render_template(MIXED)"),
    "condition": ("evaluate_condition(item.enabled and parameters.count > 0)",
                  "lambda: view.evaluate_condition(WHEN)"),
    "render_json": ("render_json of the 4-field task input",
                    "lambda: view.render_json(TASK_INPUT)"),
    "iteration": ("with_item + when + render_json", "lambda: fastctx_iteration(ctx, item, 7)"),
    "fork lookup": ("render {{ item.host }} through a fork that wrote a variable",
                    "lambda: fork_view.render_template(LOOKUP)"),
    "registered call": ("render {{ shout(item.host) }} on an engine",
                        "lambda: engine_view.render_template(REGISTERED_CALL)"),
    "jinja2 lookup": ("cached Jinja2 {{ item.host }} (baseline)",
                      "lambda: jinja.template(LOOKUP).render(scope)"),
    "jinja2 condition": ("compiled Jinja2 expression (baseline)",
                         "lambda: jinja.expression(WHEN)(scope)"),
}

#: Net instructions per operation (less an empty call) that the core aims at.
TARGETS: dict[str, int] = {
    "clone": 380, "with_item": 480, "render lookup": 780, "render mixed": 2000,
    "condition": 1300, "render_json": 5000, "iteration": 6800,
}

#: The names the calls use: a context of 5 task results on the Cython core, a view of it on an
#: item, a fork's view, an engine's view, and the Jinja2 baseline with its scope.
SETUP = """
from fastctx._impl import context_class
from fastctx.bench import (LOOKUP, MIXED, REGISTERED_CALL, TASK_INPUT, WHEN, JinjaBaseline,
                           build_context, fastctx_iteration, make_items, make_task_results,
                           plain_context, workload_engine)
cls = context_class("cython")
results = make_task_results(5)
ctx = build_context(cls, results)
item = make_items(8)[7]
view = ctx.with_item(item, 7)
branch = ctx.fork()
branch.set_var("own", 1)
fork_view = branch.with_item(item, 7)
engine_view = build_context(cls, results, workload_engine()).with_item(item, 7)
jinja = JinjaBaseline()
scope = dict(plain_context(results), item=item, index=7)
"""

_CHILD = SETUP + """
import sys
call = {call}
call()
for _ in range(int(sys.argv[1])):
    call()
"""


def missing() -> str | None:
    """Why nothing can be counted here (no valgrind, no compiled core), or None."""
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (Debian: apt-get install valgrind)"
    try:
        from . import _core  # type: ignore[attr-defined]  # noqa: F401
    except ImportError as exc:
        return f"the Cython core cannot be imported: {exc}"
    return None


def python_build() -> str:
    """The interpreter the counts belong to: its version, build and compiler, and the machine
    (another build of the same version executes other instructions)."""
    return f"{platform.python_implementation()} {sys.version} {platform.machine()}".replace(
        "\n", " ")


def count(call: str, times: int) -> int:
    """Instructions of a child process that makes ``call`` ``times`` times."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-c", _CHILD.format(call=call), str(times)],
        capture_output=True, text=True, env=env, check=False)
    found = re.search(r"Collected\s*:\s*(\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"the callgrind child failed ({result.returncode}):\n"
                           f"{result.stderr[-2000:]}")
    return int(found.group(1))


def measure(names: Iterable[str] = OPERATIONS, progress: Callable[[str], None] | None = None,
            ) -> dict[str, int]:
    """Instructions per call of each named operation, the children run a few at a time."""
    names, low, high = list(names), LOW, HIGH
    runs = [(name, times) for name in names for times in (low, high)]
    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
        counts = dict(zip(runs, pool.map(
            lambda run: count(OPERATIONS[run[0]][1], run[1]), runs)))
    figures = {name: round((counts[name, high] - counts[name, low]) / (high - low))
               for name in names}
    if progress is not None:
        for name in names:
            progress(f"  {name}: {figures[name]} instructions")
    return figures


def net(figures: dict[str, int]) -> dict[str, int]:
    """Each operation's count less the empty call's (``figures`` must hold ``call``)."""
    return {name: value - figures["call"] for name, value in figures.items() if name != "call"}


def callables(names: Iterable[str]) -> dict[str, Callable[[], Any]]:
    """The named operations as functions of this process, on a context made as ``SETUP``
    makes it (for timing them beside their counts)."""
    namespace: dict[str, Any] = {}
    exec(SETUP, namespace)  # this module's own constant code
    return {name: eval(OPERATIONS[name][1], namespace) for name in names}
