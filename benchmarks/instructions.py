"""The instruction-count gate: each core operation and its Jinja2 baseline counted by callgrind,
compared with the baseline file beside this script.

    python benchmarks/instructions.py              # count, compare, print the table
    python benchmarks/instructions.py --update     # count and write the baseline, on purpose
    python benchmarks/instructions.py --json OUT   # also write the table as JSON

How each operation is counted, and what *net* and the targets mean, is in
``fastctx._instructions`` (``fastctx bench`` shows the same table when valgrind is installed).
The table gives each op's net figure and whether it holds its target.

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
import sys
from pathlib import Path

from fastctx._instructions import OPERATIONS, TARGETS, measure, missing, python_build

BASELINE = Path(__file__).with_name("instructions.json")
#: A rise beyond this fraction of the baseline fails the gate.
TOLERANCE = 0.03


def _target(row: dict[str, object]) -> str:
    target = row["target"]
    if target is None:
        return "-"
    return f"<= {target}: {'holds' if row['net'] <= target else 'not yet'}"  # type: ignore[operator]


def markdown(rows: list[dict[str, object]], judged: bool, recorded_on: str) -> str:
    lines = ["### Instructions per operation (callgrind)", "",
             "| op | what | baseline | now | change | verdict | net | target |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        change = "-" if row["change"] is None else f"{row['change']:+.1%}"
        lines.append(f"| {row['op']} | {row['what']} | {row['baseline'] or '-'} | "
                     f"{row['now']} | {change} | {row['verdict']} | {row['net'] or '-'} | "
                     f"{_target(row)} |")
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
    reason = missing()
    if reason is not None:
        print(f"instructions: {reason}", file=sys.stderr)
        return 2
    print(f"instructions: counting with callgrind on {python_build()}...", file=sys.stderr)
    figures = measure(progress=lambda line: print(line, file=sys.stderr))
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
        shown_only = name.startswith("jinja2") or name == "call"  # Python's own, not ours
        verdict = "-" if change is None or not judged or shown_only else (
            "FAIL" if change > TOLERANCE else "PASS")
        if verdict == "FAIL":
            failed.append(f"{name} +{change:.1%}")
        rows.append({"op": name, "what": what, "baseline": before, "now": now,
                     "change": change, "verdict": verdict,
                     "net": None if name == "call" else now - figures["call"],
                     "target": TARGETS.get(name)})
    print(f"{'op':<18}{'baseline':>10}{'now':>10}{'change':>9}  {'verdict':<9}{'net':>7}  target")
    for row in rows:
        change = "-" if row["change"] is None else f"{row['change']:+.1%}"
        print(f"{row['op']:<18}{row['baseline'] or '-':>10}{row['now']:>10}{change:>9}  "
              f"{row['verdict']:<9}{row['net'] or '-':>7}  {_target(row)}")
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
