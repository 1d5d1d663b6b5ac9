"""Timing for ``fastctx bench`` and the benchmark gate: medians of interleaved batches.

Every figure is the median of several batches; the contenders of one row are measured in
interleaved batches, so machine noise hits them alike.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

__all__ = ["FULL", "QUICK", "Call", "Settings", "format_ns", "measure", "time_batch"]


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
