"""Fixtures of the benchmark suite (pytest-benchmark, the ``benchmark`` fixture only).

``implementation`` ("python" or "cython"), ``wc_class`` (``WorkflowContext`` on that core) and the
``--no-c-extensions`` option come from ``tests/core_fixtures.py``, shared with the test suite
(``pythonpath = ["tests"]`` in pyproject.toml makes it importable, so a copy of the benchmarks
needs ``tests/`` beside it). The builders make the workload of ``fastctx.bench`` (task results
of about 10 KB, parameters, variables, items) as fastctx contexts and as the equivalent
plain-dict context the baselines copy; contexts are built once per session and size, and
never written to by a benchmark.

    pytest benchmarks/ --benchmark-only -p no:cacheprovider
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from itertools import islice
from typing import Any

import pytest

from fastctx import WorkflowContext
from fastctx.bench import (
    JinjaBaseline,
    build_context,
    make_items,
    make_task_results,
    plain_context,
    results_size,
)

# `pytest .` also collects tests/, whose conftest is loaded first and registers the plugin;
# pytest refuses `pytest_plugins` in a conftest it meets only while collecting, as it would
# meet this one then.
if "core_fixtures" not in sys.modules:
    pytest_plugins = ["core_fixtures"]

#: The largest context of the suite: 500 task results of about 10 KB (5 MB).
MAX_TASK_RESULTS = 500
#: The context of the loop, render and iteration cases: 100 task results (1 MB).
TASK_RESULTS = 100


@pytest.fixture(scope="session")
def task_results() -> Callable[[int], dict[str, Any]]:
    """``task_results(n)``: the first ``n`` of the session's task results (about 10 KB each)."""
    every = make_task_results(MAX_TASK_RESULTS)

    def first(count: int) -> dict[str, Any]:
        return dict(islice(every.items(), count))

    return first


@pytest.fixture(scope="session")
def make_context(
    task_results: Callable[[int], dict[str, Any]],
) -> Callable[[type[WorkflowContext], int], WorkflowContext]:
    """``make_context(wc_class, n)``: a context with the parameters, variables and ``n`` results."""
    built: dict[tuple[type[WorkflowContext], int], WorkflowContext] = {}

    def make(cls: type[WorkflowContext], count: int) -> WorkflowContext:
        if (cls, count) not in built:
            built[cls, count] = build_context(cls, task_results(count))
        return built[cls, count]

    return make


@pytest.fixture(scope="session")
def make_plain(
    task_results: Callable[[int], dict[str, Any]],
) -> Callable[[int], dict[str, Any]]:
    """``make_plain(n)``: the same context as plain dicts, for the copy baselines."""
    built: dict[int, dict[str, Any]] = {}

    def make(count: int) -> dict[str, Any]:
        if count not in built:
            built[count] = plain_context(task_results(count))
        return built[count]

    return make


@pytest.fixture(scope="session")
def context_bytes(task_results: Callable[[int], dict[str, Any]]) -> Callable[[int], int]:
    """``context_bytes(n)``: bytes of JSON in ``n`` task results, for ``extra_info``."""
    return lambda count: results_size(task_results(count))


@pytest.fixture(scope="session")
def items() -> Callable[[int], list[dict[str, Any]]]:
    """``items(n)``: ``n`` with-items items (host, port, enabled, tags)."""
    return make_items


@pytest.fixture(scope="session")
def indexed_item() -> tuple[dict[str, Any], int]:
    """The item and index of the render, condition and iteration cases."""
    index = 7
    return make_items(index + 1)[index], index


@pytest.fixture(scope="session")
def jinja() -> JinjaBaseline:
    """Sandboxed Jinja2 with cached templates and compiled expressions, on dict contexts."""
    return JinjaBaseline()
