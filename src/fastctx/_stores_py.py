"""Pure-Python twin of ``fastctx._stores``: the stores every clone of a context shares, with the
engine they render with. ``fastctx._core_py`` builds its context on them.
"""

from __future__ import annotations

from threading import RLock
from typing import Any

from . import _context_api
from ._data import check_json
from ._engine import Engine, check_engine
from ._pickle import restore_fork, restore_stores

__all__ = ["NO_STORES", "Stores"]


class _NoStores:
    """The stores of a context made without ``__init__``: any use is a clean error."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        raise _context_api.no_stores()

    def __setattr__(self, name: str, value: Any) -> None:
        raise _context_api.no_stores()


NO_STORES: Any = _NoStores()


# The stores, the engine and what it holds: what a fork shares with its parent.
_SHARED = ("parameters", "variables", "tasks", "config", "keystore", "system", "engine",
           "namespaces", "limits", "templates", "expressions", "json_strings", "lru_from")


class Stores:
    """The stores every clone of one context shares, and the engine they render with (its
    caches and limits held here too: a render reaches them in one step)."""

    # forks: fastctx._forks, and the compiled core's _stores.pxd, say what these are
    __slots__ = (*_SHARED, "parent", "tracked", "serial", "parent_serial", "base", "changes",
                 "stamps", "forks", "lock", "marks")

    def __init__(
        self,
        parameters: dict[str, Any],
        variables: dict[str, Any],
        tasks: dict[str, Any],
        config: dict[str, Any] | None,
        keystore: dict[str, Any],
        system: dict[str, Any],
        engine: Engine | None = None,
        namespaces: dict[str, dict[str, Any]] | None = None,
        forked: tuple[int, dict[Any, int]] | None = None,
        marks: dict[str, set[tuple[Any, ...]]] | None = None,
    ) -> None:
        self.parameters = parameters
        self.variables = variables
        self.tasks = tasks
        self.config = config
        self.keystore = keystore
        self.system = system
        self.engine = engine = check_engine(engine)
        # name -> store, one per namespace of the engine; None when it has none
        self.namespaces = _context_api.namespace_stores(engine, namespaces)
        self.limits = engine.limits
        self.templates = engine.templates
        self.expressions = engine.expressions
        self.json_strings = engine.json_strings
        self.lru_from = engine.lru_from
        self.parent: Stores | None = None
        self.tracked = False
        self.serial = self.parent_serial = self.base = self.forks = 0
        self.changes: dict[str, dict[Any, Any]] | None = None
        self.stamps: dict[Any, int] | None = None
        self.lock = RLock()
        if forked is not None:  # a pickle's: (serial, stamps) of stores that had forks
            self.serial, self.stamps = forked
            self.tracked = True
        self.marks = {} if marks is None else marks

    def check(self, value: Any, what: str) -> Any:
        """``value`` if it is JSON-shaped within the nesting limit, else raise naming
        ``what`` (fastctx._data.check_json; the compiled core has it in C)."""
        return check_json(value, what)

    def fork(self) -> Stores:
        """New stores over these: the same tables until the fork writes (fastctx._forks)."""
        with self.lock:
            if self.stamps is None:  # from now on its writes are stamped for merge
                self.stamps = {}
                self.tracked = True
            self.forks += 1
        new = object.__new__(Stores)
        for name in _SHARED:
            setattr(new, name, getattr(self, name))
        new.lock = self.lock  # one lock for a context and all its forks: no lock order
        new.marks = self.marks
        new.parent = self
        new.tracked = True
        new.serial = new.forks = 0
        new.parent_serial = new.base = self.serial
        new.changes = {}
        new.stamps = None
        return new

    def __del__(self) -> None:
        # The last fork gone: the parent's writes need no stamps, and go direct again.
        parent = getattr(self, "parent", None)
        if parent is not None:
            with parent.lock:
                parent.forks -= 1
                if parent.forks == 0:
                    parent.stamps = None
                    parent.tracked = parent.parent is not None

    def __reduce__(self) -> tuple[Any, ...]:
        if self.parent is not None:
            return (restore_fork, (self.parent, self.changes, self.serial, self.base,
                                   self.stamps))
        return (restore_stores, (self.parameters, self.variables, self.tasks,
                                 self.config, self.keystore, self.system, self.engine.name,
                                 self.namespaces,
                                 None if self.stamps is None else (self.serial, self.stamps),
                                 self.marks))
