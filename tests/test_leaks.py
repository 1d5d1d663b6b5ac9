"""Loops of the hot operations keep the object count and the memory of the process flat.

Reference counting is where a compiled core goes wrong: a missing decref leaks an object per
call, and nothing else notices. Each operation runs a warm-up (caches filled, free lists
primed), then ``n`` more times; after a full collection these must not have grown beyond a
small allowance:

- the number of objects the garbage collector tracks (``len(gc.get_objects())``): containers,
  contexts, exceptions, frames;
- the blocks the interpreter has allocated (``sys.getallocatedblocks()``): also strings, ints
  and floats, which the collector does not track;
- ``sys.gettotalrefcount()``, on debug builds of CPython;
- the resident set size (``/proc/self/statm``): memory allocated outside the interpreter's
  accounting, as a C extension's ``malloc`` would be. Not under AddressSanitizer, whose
  quarantine keeps freed memory resident by design.

A leak of one object per call grows each count by ``n``. The objects alive before a loop are
frozen (``gc.freeze()``), so the object count is of what the loop made and kept: it measured 0
for every operation. The other allowances are a few times the largest growth measured over
20,000 to 1,000,000 calls (blocks +3 to +69, RSS 0 to 284 KB, tracemalloc 0 to 3.7 KB kept):
a leak of one object per ~1,000 calls still fails the million-call runs, and one per call
fails the quick ones.

The million-iteration loops run the Cython core only and are marked ``slow``; a quick variant
(50,000 iterations on the Cython core, 20,000 on the pure-Python one) runs both cores.
``test_tracemalloc_flat`` is a second signal for allocations made by Python code, and names
the source lines that kept memory.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import pickle
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import fastctx
from fastctx import (
    InvalidExpression,
    SerializationError,
    TaskOutcome,
    TypeConversion,
    VariableNotFound,
)
from fastctx._impl import context_class

MAX_OBJECTS = 20  # gc-tracked objects made by the loop and kept
MAX_BLOCKS = 500  # sys.getallocatedblocks()
MAX_REFS = 500  # sys.gettotalrefcount(), debug builds only
MAX_RSS = 1 << 20  # bytes
MAX_TRACED = 16 << 10  # bytes, tracemalloc

# Calls per loop before a cost divisor: the quick variant's (the pure-Python core renders ~5x
# slower, and has no hand-made reference counting), and the slow one's.
QUICK = {"cython": 50_000, "python": 20_000}
MILLION = 1_000_000

FAST = "ping -c {{ parameters.count }} {{ item.host }} {{ task.fetch.hosts[-1] }}"
JINJA = "{% for h in task.fetch.hosts %}{{ h | upper }}{% endfor %}-{{ item.host ~ index }}"
# more parts than the compiled core holds in C (joined through a list); characters of three
# widths; a failure after some parts were printed (what they held is released)
MANY_PARTS = "-".join(["{{ parameters.count }}{{ item.host }}"] * 12)
WIDE_PARTS = "é {{ item.host }} Ω {{ parameters.count }} 𝄞 {{ -parameters.big }}"
FAILING_PARTS = "{{ item.host }} {{ parameters.count }} {{ item.nope }}"
JSON_DOC = {"n": "{{ item.n }}", "hosts": ["{{ task.fetch.hosts }}", "at {{ index }}"], "k": 5}
PUBLISH_MAP = {"last_n": "{{ result().n }}", "hosts": "{{ task.fetch.hosts }}"}


def _under_asan() -> bool:
    try:
        with open("/proc/self/maps") as maps:
            return "libasan" in maps.read()
    except OSError:
        return False


UNDER_ASAN = _under_asan()
HAVE_STATM = os.path.exists("/proc/self/statm")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if HAVE_STATM else 0


def _rss() -> int:
    if not HAVE_STATM:
        return 0
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def _refs() -> int:
    total: Callable[[], int] | None = getattr(sys, "gettotalrefcount", None)
    return total() if total is not None else 0


def _raises(fn: Callable[[], Any], error: type[BaseException]) -> Callable[[], None]:
    def op() -> None:
        try:
            fn()
        except error:
            pass
        else:  # pragma: no cover - the loop is about the error path
            raise AssertionError(f"{error.__name__} not raised")

    return op


# An engine with a function given the context, a filter, a namespace, limits of its own (each
# render puts them in force) and a cache of 2 (each hit is recorded: moved to the end).
ENGINE = fastctx.Engine("leak-test", namespaces=("inquiry",), limits={"max_output": 10_000},
                        cache_size=2)
ENGINE.function("secret", pass_context=True)(lambda ctx, key: ctx.keystore[key])
ENGINE.filter("shout")(lambda value: value.upper() + "!")
ENGINE_FAST = "{{ secret('password') | length }} {{ inquiry.answer | shout }} {{ item.n }}"


def operations(wc_class: type) -> dict[str, tuple[Callable[[], Any], int]]:
    """name -> (one call of the operation, divisor of the iteration count for its cost)."""
    root = wc_class({"count": 3, "url": "http://x", "big": 2**70}, {"greeting": "hi"},
                    pack_config={"region": "eu"}, keystore={"password": "s3cret-value"})
    root.set_task_result("fetch", {"hosts": ["a", "b", "c"], "data": {"n": 1}})
    root.set_last_task_outcome({"ok": True, "n": 7}, TaskOutcome.SUCCEEDED)
    view = root.with_item({"host": "h", "n": 2}, 1)
    assert view.render_template(FAST) == "ping -c 3 h c"
    assert view.render_template(JINJA) == "ABC-h1"
    assert view.render_json(JSON_DOC) == {"n": 2, "hosts": [["a", "b", "c"], "at 1"], "k": 5}
    value = {"v": [1, 2.5, "x", None, True]}
    engine_root = wc_class({"count": 3}, keystore={"password": "s3cret-value"}, engine=ENGINE)
    engine_root.set_namespace("inquiry", {"answer": "yes"})
    engine_view = engine_root.with_item({"n": 2}, 0)
    assert engine_view.render_template(ENGINE_FAST) == "12 YES! 2"
    fork_root = wc_class({"count": 3}, {"greeting": "hi"}, keystore={"password": "s3cret-value"})
    branch = fork_root.fork()
    branch.set_var("own", 1)
    fork_view = branch.with_item({"host": "h", "n": 2}, 1)

    def fork_write_merge() -> None:
        twig = branch.fork()
        twig.set_var("counter", value)
        twig.set_task_result("t", value)
        branch.merge(twig, conflict="last")

    def parent_write_then_read() -> None:
        fork_root.set_var("greeting", "hello")  # the fork's own table is brought up to date
        fork_view.get_var("greeting")

    return {
        "fork": (fork_view.fork, 1),
        "fork_write_merge": (fork_write_merge, 5),
        "parent_write_then_read": (parent_write_then_read, 2),
        "fork_render": (lambda: fork_view.render_template("{{ own }} {{ item.host }}"), 1),
        "fork_pickle": (lambda: pickle.loads(pickle.dumps(fork_view)), 20),
        "update_var": (lambda: view.update_var("counter", lambda old: value), 1),
        "json_check_refused": (_raises(lambda: view.set_var("bad", [{"a": [1, {2: 3}]}] * 40),
                                       SerializationError), 1),
        "publish_sequential": (lambda: view.publish_from_result(
            {"n": 3}, ["whole"], PUBLISH_MAP, sequential=True), 10),
        "clone": (view.clone, 1),
        "with_item": (lambda: view.with_item("x", 3), 1),
        "get_var": (lambda: view.get_var("greeting"), 1),
        "get_task_result": (lambda: view.get_task_result("fetch"), 1),
        "set_var": (lambda: view.set_var("counter", value), 1),
        "set_task_result": (lambda: view.set_task_result("again", value), 1),
        "render_fast": (lambda: view.render_template(FAST), 1),
        "render_many_parts": (lambda: view.render_template(MANY_PARTS), 2),
        "render_wide_parts": (lambda: view.render_template(WIDE_PARTS), 1),
        "render_parts_failing": (_raises(lambda: view.render_template(FAILING_PARTS),
                                         VariableNotFound), 10),
        "render_jinja": (lambda: view.render_template(JINJA), 10),
        "evaluate": (lambda: view.evaluate("parameters.count * 2 + item.n"), 1),
        "evaluate_condition": (
            lambda: view.evaluate_condition("parameters.count > 2 and succeeded()"), 1),
        "render_json": (lambda: view.render_json(JSON_DOC), 1),
        "render_json_failing": (
            _raises(lambda: view.render_json({"a": "x {{ item.nope }}", "b": "{{ item.nope }}"}),
                    VariableNotFound), 10),
        "condition_failing": (_raises(lambda: view.evaluate_condition("item.nope > 1"),
                                      VariableNotFound), 10),
        "lookup_steps": (  # a list index and a string index: the steps _step takes
            lambda: view.render_template("{{ task.fetch.hosts[1] }} {{ parameters.url[0] }}"), 1),
        "publish_from_result": (
            lambda: view.publish_from_result({"n": 3}, ["whole"], PUBLISH_MAP), 10),
        "export": (view.export, 10),
        "missing_fast": (
            _raises(lambda: view.render_template("{{ task.fetch.data.nope }}"),
                    VariableNotFound), 10),
        "missing_jinja": (
            _raises(lambda: view.render_template("{{ task.fetch.data.nope | upper }}"),
                    VariableNotFound), 10),
        "type_conversion": (_raises(lambda: view.evaluate('"a" + 5'), TypeConversion), 10),
        "type_conversion_name": (_raises(lambda: view.set_var(5, 1), TypeConversion), 1),
        "invalid_expression": (_raises(lambda: view.evaluate("1 +"), InvalidExpression), 100),
        "pickle": (lambda: pickle.loads(pickle.dumps(view)), 20),
        "deepcopy": (lambda: copy.deepcopy(view), 20),
        "engine_render": (lambda: engine_view.render_template(ENGINE_FAST), 2),
        "engine_evaluate": (lambda: engine_view.evaluate("secret('password') ~ item.n"), 2),
        "engine_pickle": (lambda: pickle.loads(pickle.dumps(engine_view)), 20),
    }


OPERATIONS = list(operations(context_class("python")))


@dataclass
class Growth:
    n: int
    seconds: float
    objects: tuple[int, int]
    blocks: tuple[int, int]
    refs: tuple[int, int]
    rss: tuple[int, int]

    def __str__(self) -> str:
        o, b, r, m = self.objects, self.blocks, self.refs, self.rss
        return (f"{self.n} calls in {self.seconds:.2f}s: objects {o[0]} -> {o[1]} "
                f"({o[1] - o[0]:+d}), blocks {b[1] - b[0]:+d}, refs {r[1] - r[0]:+d}, "
                f"RSS {(m[1] - m[0]) / 1024:+.0f} KB")

    def check(self) -> None:
        assert self.objects[1] - self.objects[0] <= MAX_OBJECTS, str(self)
        assert self.blocks[1] - self.blocks[0] <= MAX_BLOCKS, str(self)
        assert self.refs[1] - self.refs[0] <= MAX_REFS, str(self)
        if not UNDER_ASAN:
            assert self.rss[1] - self.rss[0] <= MAX_RSS, str(self)


def _snapshot() -> tuple[int, int, int, int]:
    gc.collect()
    return len(gc.get_objects()), sys.getallocatedblocks(), _refs(), _rss()


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """Move every object alive now out of the collector's sight: ``gc.collect()`` then only
    walks what was made since (fast in a big test process), and ``gc.get_objects()`` counts
    only that."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def measure(op: Callable[[], Any], n: int) -> Growth:
    for _ in range(max(n // 10, 500)):
        op()
    with frozen():
        before = _snapshot()
        start = time.perf_counter()
        for _ in range(n):
            op()
        seconds = time.perf_counter() - start
        after = _snapshot()
    objects, blocks, refs, rss = zip(before, after)
    return Growth(n, seconds, objects, blocks, refs, rss)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cython_class() -> type:
    """``WorkflowContext`` on the Cython core: the one whose reference counting is hand-made
    (for tests marked ``c_extension``, deselected when that core is left out)."""
    return context_class("cython")


@pytest.mark.parametrize("name", OPERATIONS)
def test_flat_quick(wc_class: type, name: str) -> None:
    op, cost = operations(wc_class)[name]
    growth = measure(op, QUICK[wc_class.implementation] // cost)
    print(f"{wc_class.implementation}/{name}: {growth}")
    growth.check()


@pytest.mark.slow
@pytest.mark.c_extension
@pytest.mark.parametrize("name", OPERATIONS)
def test_flat_million(cython_class: type, name: str) -> None:
    op, cost = operations(cython_class)[name]
    growth = measure(op, MILLION // cost)
    print(f"cython/{name}: {growth}")
    growth.check()


@pytest.mark.skipif(tracemalloc.is_tracing(), reason="tracemalloc is already tracing")
def test_tracemalloc_flat(wc_class: type) -> None:
    """Python-level allocations: what a loop allocated and did not free, by source line.

    Tracing starts after the warm-up, so whatever is still traced after the loop (and a
    collection) was allocated by the loop and kept.
    """
    for name, (op, cost) in operations(wc_class).items():
        n = max(1_000 // cost, 20)
        for _ in range(n):
            op()
        with frozen():
            tracemalloc.start(1)
            try:
                for _ in range(n):
                    op()
                gc.collect()
                kept = tracemalloc.get_traced_memory()[0]
                if kept > MAX_TRACED:
                    lines = tracemalloc.take_snapshot().statistics("lineno")[:5]
                    top = "\n".join(str(line) for line in lines)
                    pytest.fail(f"{name}: {n} calls kept {kept} bytes:\n{top}")
            finally:
                tracemalloc.stop()
