"""The core: clone by context size, the with-items loop by item count, the getters.

These are the tables ``fastctx bench`` prints. Each group holds the case on both cores and its
baselines, measured in the same run: ``copy.deepcopy`` of the equivalent plain-dict context, a
shallow copy of it (``dict(base)``), and ``contextvars.copy_context()``, the floor for an O(1)
copy. The speed targets: ``clone()`` at most 60 ns and flat (5 MB within 1.25x of empty), the
loop at most 100 ns per item, the getters at most 50 ns, the Cython core 3x the twin on clone.
"""

from __future__ import annotations

import contextvars
import copy
from typing import Any

import pytest

from fastctx._impl import WorkflowContext
from fastctx.bench import contextvars_loop, dict_loop, with_items_loop

# Half of pytest-benchmark's default 1 s per benchmark: still tens of thousands of rounds
# for the sub-microsecond cases, and the suite stays within about three minutes. The
# collector is off while timing, as in timeit, `fastctx bench` and the gate: with it on,
# sub-microsecond figures depend on how many objects the test session holds (about 2x
# here), and the Jinja2 baselines, which make more garbage, would only look slower.
pytestmark = pytest.mark.benchmark(max_time=0.5, disable_gc=True)

#: Context sizes, in task results of about 10 KB: 0 to 5 MB.
SIZES = (0, 10, 50, 100, 500)
#: Item counts of the with-items loop.
ITEM_COUNTS = (10, 100, 1000)
#: Task results in the context of the loop and the getters (1 MB).
LOOP_TASK_RESULTS = 100
#: Rounds of deepcopy where one copy takes tens of milliseconds or more.
DEEPCOPY_ROUNDS = {50: 10, 100: 5, 500: 3}
#: Rounds of the deepcopy loop, whose 1000 items take tens of seconds.
DEEPCOPY_LOOP_ROUNDS = {10: 3, 100: 1, 1000: 1}


def clone_group(size: int) -> str:
    # Padded so that the groups sort by size.
    return f"clone: {size:>3} task results"


def loop_group(count: int) -> str:
    return f"with-items loop: {count:>4} items, {LOOP_TASK_RESULTS} task results"


# -- clone by context size ----------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_clone(benchmark: Any, wc_class: type[WorkflowContext], implementation: str,
               make_context: Any, context_bytes: Any, size: int) -> None:
    ctx = make_context(wc_class, size)
    benchmark.group = clone_group(size)
    benchmark.extra_info.update(case=f"fastctx-{implementation}", task_results=size,
                                context_bytes=context_bytes(size))
    clone = benchmark(ctx.clone)
    assert clone.shares_stores_with(ctx)


@pytest.mark.parametrize("size", SIZES)
def test_clone_deepcopy_baseline(benchmark: Any, make_plain: Any, context_bytes: Any,
                                 size: int) -> None:
    base = make_plain(size)
    benchmark.group = clone_group(size)
    benchmark.extra_info.update(case="baseline: copy.deepcopy of a dict context",
                                task_results=size, context_bytes=context_bytes(size))
    if size in DEEPCOPY_ROUNDS:
        benchmark.pedantic(copy.deepcopy, args=(base,), rounds=DEEPCOPY_ROUNDS[size])
    else:
        benchmark(copy.deepcopy, base)


@pytest.mark.parametrize("size", SIZES)
def test_clone_shallow_copy_baseline(benchmark: Any, make_plain: Any, context_bytes: Any,
                                     size: int) -> None:
    base = make_plain(size)
    benchmark.group = clone_group(size)
    benchmark.extra_info.update(case="baseline: dict(base), a shallow copy",
                                task_results=size, context_bytes=context_bytes(size))
    benchmark(dict, base)


@pytest.mark.parametrize("size", SIZES)
def test_clone_contextvars_floor(benchmark: Any, size: int) -> None:
    # Independent of the size; repeated in each group so that every group shows the floor.
    benchmark.group = clone_group(size)
    benchmark.extra_info.update(case="floor: contextvars.copy_context()", task_results=size)
    benchmark(contextvars.copy_context)


# -- the with-items loop --------------------------------------------------------------------------
@pytest.mark.parametrize("count", ITEM_COUNTS)
def test_with_items_loop(benchmark: Any, wc_class: type[WorkflowContext],
                         implementation: str, make_context: Any, items: Any,
                         count: int) -> None:
    ctx = make_context(wc_class, LOOP_TASK_RESULTS)
    benchmark.group = loop_group(count)
    benchmark.extra_info.update(case=f"after: fastctx-{implementation} with_item",
                                items=count, task_results=LOOP_TASK_RESULTS)
    benchmark(with_items_loop, ctx, items(count))


@pytest.mark.parametrize("count", ITEM_COUNTS)
def test_with_items_loop_deepcopy_baseline(benchmark: Any, make_plain: Any, items: Any,
                                           count: int) -> None:
    benchmark.group = loop_group(count)
    benchmark.extra_info.update(case="before: copy.deepcopy per item", items=count,
                                task_results=LOOP_TASK_RESULTS)
    benchmark.pedantic(dict_loop, args=(make_plain(LOOP_TASK_RESULTS), items(count),
                                         copy.deepcopy),
                       rounds=DEEPCOPY_LOOP_ROUNDS[count])


@pytest.mark.parametrize("count", ITEM_COUNTS)
def test_with_items_loop_shallow_copy_baseline(benchmark: Any, make_plain: Any, items: Any,
                                               count: int) -> None:
    benchmark.group = loop_group(count)
    benchmark.extra_info.update(case="baseline: dict(base) per item", items=count,
                                task_results=LOOP_TASK_RESULTS)
    benchmark(dict_loop, make_plain(LOOP_TASK_RESULTS), items(count), dict)


@pytest.mark.parametrize("count", ITEM_COUNTS)
def test_with_items_loop_contextvars_floor(benchmark: Any, items: Any, count: int) -> None:
    benchmark.group = loop_group(count)
    benchmark.extra_info.update(case="floor: contextvars.copy_context() per item", items=count)
    benchmark(contextvars_loop, items(count))


# -- getters ------------------------------------------------------------------------------------
def test_get_var(benchmark: Any, wc_class: type[WorkflowContext], implementation: str,
                 make_context: Any) -> None:
    ctx = make_context(wc_class, LOOP_TASK_RESULTS)
    benchmark.group = "getters: get_var"
    benchmark.extra_info.update(case=f"fastctx-{implementation}")
    assert benchmark(ctx.get_var, "region") == "eu-west-1"


def test_get_task_result(benchmark: Any, wc_class: type[WorkflowContext],
                         implementation: str, make_context: Any) -> None:
    ctx = make_context(wc_class, LOOP_TASK_RESULTS)
    benchmark.group = "getters: get_task_result"
    benchmark.extra_info.update(case=f"fastctx-{implementation}")
    assert benchmark(ctx.get_task_result, "task_42")["return_code"] == 0
