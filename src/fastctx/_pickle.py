"""Pickle reconstructors shared by both cores, so a pickle made by one loads in the other.

A pickle names these functions, not a core: loading one builds the stores and the context
with the core this process selected (``fastctx._impl``), bound to the engine the pickle names
(``fastctx._engine``; a shipped engine's module, ``fastctx.engines``, is imported if need be).
Those look-ups happen when a pickle is loaded, not when this module is imported: they are the
imports that point back up, from the reconstructors (both cores import this module).

Clones pickled together share one ``Stores`` object, which pickle's memo restores once.
"""

from __future__ import annotations

from typing import Any


def restore_stores(*state: Any) -> Any:
    """The stores of a pickle: six stores, then the engine's name and the namespaces
    (absent from pickles made before engines existed: the default engine), then the
    ``(serial, stamps)`` of stores that had forks (absent before forks existed)."""
    from ._impl import IMPLEMENTATION, stores_class

    if len(state) > 6:
        state = (*state[:6], _engine_named(state[6]), *state[7:])
    return stores_class(IMPLEMENTATION)(*state)


def _engine_named(name: Any) -> Any:
    """The engine a pickle names: registered in this process, or one fastctx ships (whose
    module is then imported, which registers it)."""
    import importlib

    from ._engine import get_engine
    from .engines import SHIPPED
    from .errors import SerializationError

    try:
        if type(name) is str and name in SHIPPED:
            importlib.import_module(SHIPPED[name])
        return get_engine(name)
    except (KeyError, TypeError):
        error = SerializationError(f"the pickle names engine {name!r}, which is not registered "
                                   "in this process: create it before loading")
    raise error


def restore_fork(parent: Any, changes: Any, serial: Any, base: Any, stamps: Any) -> Any:
    """The stores of a pickled fork: a fork of its (restored) parent, with its own writes;
    its views are rebuilt from them on its first use."""
    from ._forks import PUBLIC
    from ._impl import IMPLEMENTATION, stores_class
    from .errors import SerializationError

    if type(parent) is not stores_class(IMPLEMENTATION) or type(changes) is not dict \
            or not set(changes) <= set(PUBLIC) \
            or not all(type(own) is dict for own in changes.values()) \
            or type(serial) is not int or type(base) is not int \
            or not (stamps is None or type(stamps) is dict):
        raise SerializationError("the pickle of a fork's stores is malformed")
    fork = parent.fork()
    fork.changes = changes
    fork.serial = serial
    fork.base = base
    if stamps is not None:
        fork.stamps = stamps
    fork.parent_serial = -1
    return fork


def restore_context(stores: Any, item: Any, index: Any, last: Any) -> Any:
    from ._impl import core

    return core.WorkflowContext._restore(stores, item, index, last)
