"""Picks the core: the Cython extension, or its pure-Python twin.

The twin is chosen when ``FASTCTX_NO_EXTENSIONS`` is set to a non-empty value, on
interpreters other than CPython, and when the extension cannot be imported. Type checkers
read the twin (``_core_py``): it is the source of types for both.
"""

from __future__ import annotations

import os
import platform
from types import ModuleType
from typing import TYPE_CHECKING

from . import _core_py

__all__ = ["IMPLEMENTATION", "WorkflowContext", "context_class", "core", "load", "stores_class"]


def load(implementation: str) -> ModuleType:
    """The core module of one implementation: ``"cython"`` or ``"python"``."""
    if implementation == "python":
        return _core_py
    if implementation == "cython":
        from . import _core  # type: ignore[attr-defined]

        return _core  # type: ignore[no-any-return]
    raise ValueError(f"unknown implementation {implementation!r}")


def context_class(implementation: str) -> type[_core_py.WorkflowContext]:
    """``WorkflowContext`` of one implementation, ``"cython"`` or ``"python"``."""
    return load(implementation).WorkflowContext  # type: ignore[no-any-return]


def stores_class(implementation: str) -> type[_core_py.Stores]:
    """``Stores`` of one implementation (the Cython core's is in ``fastctx._stores``)."""
    if implementation == "cython":
        from . import _stores  # type: ignore[attr-defined]

        return _stores.Stores  # type: ignore[no-any-return]
    return load(implementation).Stores  # type: ignore[no-any-return]


def _select() -> ModuleType:
    if os.environ.get("FASTCTX_NO_EXTENSIONS") or platform.python_implementation() != "CPython":
        return _core_py
    try:
        return load("cython")
    except ImportError:
        return _core_py


if TYPE_CHECKING:
    core = _core_py
    from ._core_py import WorkflowContext
else:
    core = _select()
    WorkflowContext = core.WorkflowContext

IMPLEMENTATION = "python" if core is _core_py else "cython"
