"""The two cores under test: fixtures and options shared by ``tests/`` and ``benchmarks/``.

Both ``tests/conftest.py`` and ``benchmarks/conftest.py`` load this module as a pytest plugin
(``pytest_plugins``); ``pythonpath = ["tests"]`` in pyproject.toml puts this directory on
``sys.path`` for the benchmark run. It imports only pytest and the installed ``fastctx``, so
it also works from a copy of ``tests/`` run against a wheel (``.ci/release-check``,
cibuildwheel).

``implementation`` is parametrized over the pure-Python twin and the Cython core (the latter
marked ``c_extension``); ``wc_class`` is the ``WorkflowContext`` class built on that core. The
Cython run is skipped with ``--no-c-extensions``, with ``FASTCTX_NO_EXTENSIONS`` set, or when
the extension cannot be imported; ``test_implementation.py`` fails in that last case where
the extension should have loaded.
"""

from __future__ import annotations

import os

import pytest

import fastctx
from fastctx import _impl
from fastctx._context import context_class

C_EXT_MARK = pytest.mark.c_extension


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-c-extensions",
        action="store_true",
        default=False,
        dest="no_c_extensions",
        help="skip the tests that run against the compiled core (fastctx._core)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("no_c_extensions"):
        return
    skip = pytest.mark.skip(reason="--no-c-extensions given")
    for item in items:
        if item.get_closest_marker(C_EXT_MARK.name) is not None:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    where = "FASTCTX_NO_EXTENSIONS is set" if os.environ.get("FASTCTX_NO_EXTENSIONS") else \
        "FASTCTX_NO_EXTENSIONS is not set"
    return f"fastctx.IMPLEMENTATION: {fastctx.IMPLEMENTATION} ({where})"


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
    if name == "cython":
        if request.config.getoption("no_c_extensions"):
            pytest.skip("--no-c-extensions given")
        if os.environ.get("FASTCTX_NO_EXTENSIONS"):
            pytest.skip("FASTCTX_NO_EXTENSIONS is set")
        try:
            _impl.load("cython")
        except ImportError as exc:  # test_implementation.py reports this as a failure
            pytest.skip(f"fastctx._core cannot be imported: {exc}")
    return name


@pytest.fixture(scope="session")
def wc_class(implementation: str) -> type[fastctx.WorkflowContext]:
    """``WorkflowContext`` on the core of ``implementation``."""
    return context_class(implementation)
