"""The two cores under test: fixtures and options shared by ``tests/`` and ``benchmarks/``.

Both ``tests/conftest.py`` and ``benchmarks/conftest.py`` load this module as a pytest plugin
(``pytest_plugins``); ``pythonpath = ["tests"]`` in pyproject.toml puts this directory on
``sys.path`` for the benchmark run. It imports only pytest and the installed ``fastctx``, so
it also works from a copy of ``tests/`` run against a wheel (``.ci/release-check``,
cibuildwheel).

- ``implementation``: ``"python"`` (the pure-Python twin) or ``"cython"`` (the compiled core,
  that parameter marked ``c_extension``);
- ``wc_class``: the ``WorkflowContext`` class on that core;
- ``--no-c-extensions``: leave the compiled core out.

The tests of the compiled core (marked ``c_extension``, directly or through the ``"cython"``
parameter) are deselected, not skipped, when ``--no-c-extensions`` is given, when
``FASTCTX_NO_EXTENSIONS`` is set, or when ``fastctx._core`` cannot be imported. In that last
case a test marked ``c_extension(must_load=True)`` stays selected if the core should have
loaded (CPython, neither the option nor the variable), so that it fails and says why:
``test_implementation.py::test_compiled_core_is_selected``.
"""

from __future__ import annotations

import os
import platform

import pytest

import fastctx
from fastctx import _impl
from fastctx._impl import context_class

C_EXT_MARK = pytest.mark.c_extension

_UNTESTED = pytest.StashKey[str | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-c-extensions",
        action="store_true",
        default=False,
        dest="no_c_extensions",
        help="deselect the tests that run against the compiled core (fastctx._core)",
    )


def compiled_core_untested(config: pytest.Config) -> str | None:
    """Why this run leaves the compiled core out, or None when its tests run."""
    if _UNTESTED not in config.stash:
        reason = None
        if config.getoption("no_c_extensions"):
            reason = "--no-c-extensions given"
        elif os.environ.get("FASTCTX_NO_EXTENSIONS"):
            reason = "FASTCTX_NO_EXTENSIONS is set"
        else:
            try:
                _impl.load("cython")
            except ImportError as exc:
                reason = f"fastctx._core cannot be imported: {exc}"
        config.stash[_UNTESTED] = reason
    return config.stash[_UNTESTED]


def _should_have_loaded(config: pytest.Config) -> bool:
    """CPython, and neither ``--no-c-extensions`` nor ``FASTCTX_NO_EXTENSIONS``: where
    ``fastctx`` selects the compiled core, so its absence is a failure."""
    return (platform.python_implementation() == "CPython"
            and not config.getoption("no_c_extensions")
            and not os.environ.get("FASTCTX_NO_EXTENSIONS"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if compiled_core_untested(config) is None:
        return
    keep_must_load = _should_have_loaded(config)
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        mark = item.get_closest_marker(C_EXT_MARK.name)
        if mark is None or (keep_must_load and mark.kwargs.get("must_load")):
            selected.append(item)
        else:
            deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def pytest_report_header(config: pytest.Config) -> list[str]:
    variable = "set" if os.environ.get("FASTCTX_NO_EXTENSIONS") else "not set"
    untested = compiled_core_untested(config)
    if untested is None:
        tests = "selected"
    elif _should_have_loaded(config):
        tests = f"deselected, except must_load=True ones, which fail ({untested})"
    else:
        tests = f"deselected ({untested})"
    return [
        f"fastctx.IMPLEMENTATION: {fastctx.IMPLEMENTATION} (FASTCTX_NO_EXTENSIONS is "
        f"{variable}), from {os.path.dirname(fastctx.__file__)}",
        f"compiled core (c_extension) tests: {tests}",
    ]


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("python", id="python"),
        pytest.param("cython", id="cython", marks=C_EXT_MARK),
    ],
)
def implementation(request: pytest.FixtureRequest) -> str:
    """``"python"`` or ``"cython"``: the core the test runs against."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def wc_class(implementation: str) -> type[fastctx.WorkflowContext]:
    """``WorkflowContext`` on the core of ``implementation``."""
    return context_class(implementation)
