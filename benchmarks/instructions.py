"""The instruction-count gate: each core operation and its Jinja2 baseline counted by callgrind,
compared with the baseline file beside this script.

    python benchmarks/instructions.py              # count, compare, print the table
    python benchmarks/instructions.py --update     # count and write the baseline, on purpose
    python benchmarks/instructions.py --json OUT   # also write the table as JSON

Wall-clock ratios drift with the machine; the number of instructions an operation executes
does not: ``valgrind --tool=callgrind`` counts the same figure every run for the same build,
whatever else the machine does. Each operation runs in a child process under callgrind twice,
``LOW`` and ``HIGH`` times after a warm-up, and its cost is the difference divided by
``HIGH - LOW``: start-up, imports and compiling the template cancel out. ``PYTHONHASHSEED`` is
fixed, so dict probes are the same each run.

The gate fails (exit 1) when an operation costs more than ``TOLERANCE`` above its baseline, and
says which and by how much. Counts depend on the CPython build, the compiler and the Cython
that built the core, so the baseline records the interpreter it was counted with
(``sys.version``: version, build, compiler); with another, the table is printed and nothing is
judged (exit 0). The baseline is counted on the machine ``.ci/run`` runs on, with the core
built as ``pip install .`` builds it. Exit 2: valgrind or the Cython core is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

BASELINE = Path(__file__).with_name("instructions.json")
#: A rise beyond this fraction of the baseline fails the gate.
TOLERANCE = 0.03
LOW, HIGH = 1_000, 5_000

#: name -> (what it measures, the call)
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

CHILD = """
import sys
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
call = {call}
call()
for _ in range(int(sys.argv[1])):
    call()
"""


def count(call: str, times: int) -> int:
    """Instructions of a child process that makes ``call`` ``times`` times."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-c", CHILD.format(call=call), str(times)],
        capture_output=True, text=True, env=env, check=False)
    found = re.search(r"Collected\s*:\s*(\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"instructions: the child failed ({result.returncode}):\n"
                         f"{result.stderr[-2000:]}")
    return int(found.group(1))


def measure() -> dict[str, int]:
    figures = {}
    for name, (_, call) in OPERATIONS.items():
        figures[name] = round((count(call, HIGH) - count(call, LOW)) / (HIGH - LOW))
        print(f"  {name}: {figures[name]} instructions", file=sys.stderr)
    return figures


def python_build() -> str:
    """The interpreter the counts belong to: its version, build and compiler, and the machine
    (another build of the same version executes other instructions)."""
    return f"{platform.python_implementation()} {sys.version} {platform.machine()}".replace(
        "\n", " ")


def markdown(rows: list[dict[str, object]], judged: bool, recorded_on: str) -> str:
    lines = ["### Instructions per operation (callgrind)", "",
             "| op | what | baseline | now | change | verdict |", "|---|---|---|---|---|---|"]
    for row in rows:
        change = "-" if row["change"] is None else f"{row['change']:+.1%}"
        lines.append(f"| {row['op']} | {row['what']} | {row['baseline'] or '-'} | "
                     f"{row['now']} | {change} | {row['verdict']} |")
    if not judged:
        lines += ["", f"Not judged: the baseline was counted on {recorded_on}, this is "
                      f"{python_build()}."]
    return "\n".join(lines) + "\n\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="write the baseline file")
    parser.add_argument("--json", metavar="OUT", help="write the table as JSON to OUT")
    parser.add_argument("--markdown", metavar="OUT",
                        help="append the table as Markdown to OUT ($GITHUB_STEP_SUMMARY)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (Debian: apt-get install valgrind)",
              file=sys.stderr)
        return 2
    try:
        import fastctx._core  # noqa: F401
    except ImportError as exc:
        print(f"instructions: the Cython core cannot be imported: {exc}", file=sys.stderr)
        return 2
    print(f"instructions: counting with callgrind on {python_build()}...", file=sys.stderr)
    figures = measure()
    if args.update:
        BASELINE.write_text(json.dumps({"python": python_build(), "instructions": figures},
                                       indent=1) + "\n")
        print(f"instructions: baseline written to {BASELINE}")
        return 0
    baseline = json.loads(BASELINE.read_text())
    judged = baseline["python"] == python_build()
    rows, failed = [], []
    for name, (what, _) in OPERATIONS.items():
        before = baseline["instructions"].get(name)
        now = figures[name]
        change = None if not before else (now - before) / before
        verdict = "-" if change is None or not judged or name.startswith("jinja2") else (
            "FAIL" if change > TOLERANCE else "PASS")
        if verdict == "FAIL":
            failed.append(f"{name} +{change:.1%}")
        rows.append({"op": name, "what": what, "baseline": before, "now": now,
                     "change": change, "verdict": verdict})
    print(f"{'op':<18}{'baseline':>10}{'now':>10}{'change':>9}  verdict")
    for row in rows:
        change = "-" if row["change"] is None else f"{row['change']:+.1%}"
        print(f"{row['op']:<18}{row['baseline'] or '-':>10}{row['now']:>10}{change:>9}  "
              f"{row['verdict']}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as out:
            out.write(markdown(rows, judged, baseline["python"]))
    if not judged:
        print(f"instructions: the baseline is of {baseline['python']}, this is "
              f"{python_build()}: nothing judged")
        return 0
    if failed:
        print(f"instructions: FAIL: more than {TOLERANCE:.0%} above the baseline: "
              f"{', '.join(failed)}")
        return 1
    print(f"instructions: PASS (each op within {TOLERANCE:.0%} of its baseline; the Jinja2 "
          "baselines are shown, not judged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
