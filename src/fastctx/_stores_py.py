"""Pure-Python twin of ``fastctx._stores``: the stores every clone of a context shares, with the
engine they render with. ``fastctx._core_py`` builds its context on them.
"""

from __future__ import annotations

from typing import Any

from . import _context_api
from ._engine import Engine, check_engine
from ._pickle import restore_stores

__all__ = ["NO_STORES", "Stores"]


class _NoStores:
    """The stores of a context made without ``__init__``: any use is a clean error."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        raise _context_api.no_stores()

    def __setattr__(self, name: str, value: Any) -> None:
        raise _context_api.no_stores()


NO_STORES: Any = _NoStores()


class Stores:
    """The stores every clone of one context shares, and the engine they render with (its
    caches and limits held here too: a render reaches them in one step)."""

    __slots__ = ("parameters", "variables", "tasks", "config", "keystore", "system", "engine",
                 "namespaces", "limits", "templates", "expressions", "json_strings", "lru_from")

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

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_stores, (self.parameters, self.variables, self.tasks,
                                 self.config, self.keystore, self.system, self.engine.name,
                                 self.namespaces))
