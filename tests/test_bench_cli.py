"""``fastctx bench``: its sub-parser, tables, progress, ``--json`` and ``--plot``.

The command is driven through a local argparse parser (``register`` adds the sub-parser), with
the repetition counts and table sizes cut down through the module's constants so that a run
takes about a second. It measures both cores itself, so these tests do not take the
``implementation`` fixture.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pytest

from fastctx import _instructions, bench

TINY = bench.Settings(batch_ns=20_000, batches=2, case_budget_ns=5_000_000, deepcopy_items=2)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """Few repetitions and small tables: the command's shape, not its figures, is tested."""
    monkeypatch.setattr(bench, "QUICK", TINY)
    monkeypatch.setattr(bench, "FULL", TINY)
    monkeypatch.setattr(bench, "CLONE_SIZES", (0, 10))
    monkeypatch.setattr(bench, "LOOP_ITEMS", (10, 100))
    monkeypatch.setattr(bench, "LOOP_TASK_RESULTS", 10)
    monkeypatch.setattr(bench, "INSTRUCTION_OPS", ("call", "clone", "render lookup"))
    monkeypatch.setattr(_instructions, "LOW", 100)
    monkeypatch.setattr(_instructions, "HIGH", 600)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fastctx")
    commands = parser.add_subparsers(dest="command")
    bench.register(commands)
    return parser.parse_args(argv)


def run(argv: list[str]) -> int:
    args = parse(argv)
    assert args.command == "bench"
    status: int = args.handler(args)
    return status


def test_options_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["bench"])
    assert (args.quick, args.json, args.plot) == (False, None, None)
    assert args.handler is bench.run
    args = parse(["bench", "--quick", "--json", "out.json", "--plot", "out.png"])
    assert (args.quick, args.json, args.plot) == (True, "out.json", "out.png")
    with pytest.raises(SystemExit):
        parse(["bench", "--help"])
    text = capsys.readouterr().out
    for option in ("--quick", "--json OUT", "--plot OUT.png", "examples:", "fastctx bench"):
        assert option in text


def test_quick_json_tables_and_progress(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert run(["bench", "--quick", "--no-instructions", "--json", str(out)]) == 0
    captured = capsys.readouterr()

    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["quick"] is True
    assert data["instructions"] is None
    assert set(data) >= {"fastctx_version", "python_version", "implementations",
                         "speedup_over", "task_result_bytes", "settings", "clone",
                         "with_items", "quick"}
    assert "python" in data["implementations"]
    assert 9_000 <= data["task_result_bytes"] <= 11_000
    contenders = {f"fastctx-{name}" for name in data["implementations"]} | {
        "deepcopy", "shallow-copy", "contextvars"}
    assert [row["task_results"] for row in data["clone"]] == [0, 10]
    assert [row["items"] for row in data["with_items"]] == [10, 100]
    for row in data["clone"] + data["with_items"]:
        assert set(row["ns"]) == contenders
        assert all(ns > 0 for ns in row["ns"].values())
        assert row["speedup"] > 0
    assert data["clone"][0]["context_bytes"] == 0
    assert all(row["deepcopy_items_measured"] == 2 for row in data["with_items"])

    table = captured.out
    assert "Clone time by context size" in table
    assert "The with-items loop by item count" in table
    for header in ("task results", "fastctx-python", "deepcopy", "shallow-copy",
                   "contextvars", "speed-up", "before: deepcopy", "per item"):
        assert header in table
    assert any(unit in table for unit in (" ns", " µs", " ms"))
    assert "~" in table  # the deepcopy loop was sampled and scaled

    assert "measuring clone at 10 task results..." in captured.err
    assert "measuring the with-items loop at 100 items..." in captured.err
    assert "measuring" not in table


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "bench.png"
    assert run(["bench", "--quick", "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert "Clone time by context size" in capsys.readouterr().out


def test_plot_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    # A None entry in sys.modules makes the import fail, as if matplotlib were not installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    out = tmp_path / "bench.png"
    assert run(["bench", "--quick", "--plot", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == \
        "fastctx: error: --plot needs matplotlib: pip install fastctx[plot]"
    assert captured.out == ""  # nothing measured
    assert not out.exists()


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_unwritable_output_fails_before_measuring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    if option == "--plot":
        pytest.importorskip("matplotlib")
    out = tmp_path / "missing-dir" / "bench.out"
    assert run(["bench", "--quick", option, str(out)]) == 2
    captured = capsys.readouterr()
    assert f"fastctx: error: cannot write {out}" in captured.err
    assert "measuring" not in captured.err
    assert captured.out == ""


def test_format_ns() -> None:
    assert bench.format_ns(118) == "118 ns"
    assert bench.format_ns(1_450) == "1.45 µs"
    assert bench.format_ns(34_900_000) == "34.9 ms"
    assert bench.format_ns(2_100_000_000) == "2.10 s"


def test_measure_leaves_the_warm_up_out() -> None:
    # A first call that compiles (here: sleeps 2 ms) must not set the repetitions: the figure
    # is the warm call's cost, not the first call's spread over a few repetitions.
    calls: list[None] = []

    def slow_first() -> None:
        if not calls:
            time.sleep(0.002)
        calls.append(None)

    settings = bench.Settings(batch_ns=1_000_000, batches=3, case_budget_ns=50_000_000,
                              deepcopy_items=1)
    figures = bench.measure({"case": (slow_first, ())}, settings)
    assert figures["case"] < 50_000  # ns; the warm call takes well under a microsecond
    assert len(calls) > 1_000


@pytest.mark.slow  # callgrind runs: about half a minute
@pytest.mark.skipif(_instructions.missing() is not None,
                    reason=f"no instruction counts here: {_instructions.missing()}")
def test_the_instruction_table_beside_the_times(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert run(["bench", "--quick", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    rows = {row["op"]: row for row in json.loads(out.read_text())["instructions"]["ops"]}
    assert list(rows) == ["call", "clone", "render lookup"]
    for name in ("clone", "render lookup"):
        assert rows[name]["net"] == rows[name]["instructions"] - rows["call"]["instructions"]
        assert 0 < rows[name]["net"] < 20_000
        assert rows[name]["target"] == _instructions.TARGETS[name]
        assert rows[name]["ns"] > 0
    assert "Core operations one by one" in table
    assert "render lookup" in table and "target (net)" in table


def test_without_valgrind_the_table_is_left_out(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_instructions.shutil, "which", lambda name: None)
    assert run(["bench", "--quick"]) == 0
    captured = capsys.readouterr()
    assert "Core operations one by one" not in captured.out
    assert "instructions: not counted (valgrind is not installed" in captured.err
