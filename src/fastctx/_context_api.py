"""The part of ``WorkflowContext``'s API written in Python: publish, export and import.

``WorkflowContext`` is the core's own type (Cython, or the pure-Python twin); its methods
``publish_from_result``, ``export``, ``export_variables``, ``from_export``, ``rebuild`` and
``repr`` call the functions here, which work with either core: they reach the context only
through its public methods, and the class through the ``cls`` they are given.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

from . import _forks, _secrets
from ._data import check_json, check_name, new_store, snapshot
from ._outcome import TaskOutcome
from .errors import (
    ContextError,
    LimitExceeded,
    SerializationError,
    TypeConversion,
    VariableNotFound,
)

__all__ = ["EXPORT_KEYS", "NAMESPACES_KEY", "SECRET_KEYS", "deep_copy", "describe", "export",
           "export_variables", "from_export", "namespace", "namespace_stores", "no_stores",
           "publish_from_result", "rebuild", "set_namespace"]

#: The stores ``export()`` writes, in this order; ``SECRET_KEYS`` only with
#: ``include_secrets=True``; ``NAMESPACES_KEY`` when the engine has namespaces.
#: ``from_export()`` and context files accept exactly these.
EXPORT_KEYS = ("variables", "parameters", "task_results", "system", "pack_config")
SECRET_KEYS = ("keystore",)
NAMESPACES_KEY = "namespaces"


class ContextLike(Protocol):
    """What this module uses of a context (either core's ``WorkflowContext``)."""

    def __init__(self, parameters: dict[str, Any] | None = ...,
                 variables: dict[str, Any] | None = ..., *,
                 pack_config: dict[str, Any] | None = ..., keystore: dict[str, Any] | None = ...,
                 system: dict[str, Any] | None = ..., engine: Any = ...) -> None: ...

    def clone(self) -> Any: ...

    def fork(self) -> Any: ...

    def set_var(self, name: str, value: Any) -> None: ...

    def set_last_task_outcome(self, result: Any, outcome: TaskOutcome) -> None: ...

    def render_json(self, value: Any) -> Any: ...

    def merge(self, branch: Any, *, conflict: Any = ...) -> None: ...

    @property
    def current_item(self) -> Any: ...

    @property
    def last_result(self) -> Any: ...

    def _shared_stores(self) -> Any: ...

    def set_task_result(self, name: str, result: Any) -> None: ...

    @property
    def variables(self) -> Mapping[str, Any]: ...

    @property
    def parameters(self) -> Mapping[str, Any]: ...

    @property
    def task_results(self) -> Mapping[str, Any]: ...

    @property
    def system(self) -> Mapping[str, Any]: ...

    @property
    def pack_config(self) -> Mapping[str, Any] | None: ...

    @property
    def keystore(self) -> Mapping[str, Any]: ...

    @property
    def last_outcome(self) -> TaskOutcome | None: ...

    @property
    def current_index(self) -> int | None: ...


C = TypeVar("C", bound="ContextLike")


def publish_from_result(
    ctx: ContextLike,
    result: Any,
    publish_vars: Iterable[str] | str,
    publish_map: Mapping[str, Any] | None,
    sequential: bool = False,
) -> None:
    if not isinstance(publish_vars, Iterable) or isinstance(  # type: ignore[redundant-expr]
            publish_vars, (Mapping, bytes, bytearray)):
        raise TypeConversion("publish_vars must be a name or a list of names, not "
                             f"{type(publish_vars).__name__}")
    names = [publish_vars] if type(publish_vars) is str else list(publish_vars)
    values: dict[str, Any] = {}
    for name in names:
        values[check_name(name)] = result
    if publish_map is not None:
        if not isinstance(publish_map, Mapping):
            raise TypeConversion(
                f"publish_map must be a mapping, not {type(publish_map).__name__}")
        if sequential:
            _publish_in_order(ctx, result, values, publish_map)
            return
        view = ctx.clone()
        view.set_last_task_outcome(result, ctx.last_outcome or TaskOutcome.SUCCEEDED)
        for name, template in publish_map.items():
            values[check_name(name)] = view.render_json(template)
    stores = ctx._shared_stores()
    for name, value in values.items():
        stores.check(value, f"variable {name!r}")
    _forks.update(stores, "variables", values)


def _publish_in_order(ctx: ContextLike, result: Any, values: dict[str, Any],
                      publish_map: Mapping[str, Any]) -> None:
    """Publish in a fork, each entry set before the next renders; merge the fork at the end
    (when an entry fails, the fork is dropped: nothing is set)."""
    branch = ctx.fork()
    branch.set_last_task_outcome(result, ctx.last_outcome or TaskOutcome.SUCCEEDED)
    for name, value in values.items():
        branch.set_var(name, value)
    for name, template in publish_map.items():
        value = branch.render_json(template)
        branch.set_var(check_name(name), value)
    ctx.merge(branch, conflict="last")


def export(ctx: ContextLike, include_secrets: bool, redact: bool = False) -> dict[str, Any]:
    keys = EXPORT_KEYS + SECRET_KEYS if include_secrets else EXPORT_KEYS
    views = {key: getattr(ctx, key) for key in keys}
    data = {key: None if view is None else dict(view) for key, view in views.items()}
    namespaces = ctx._shared_stores().namespaces
    if namespaces is not None:
        data[NAMESPACES_KEY] = {name: snapshot(store) for name, store in namespaces.items()}
    copied: dict[str, Any] = _json_copy(data)
    return _secrets.redact(ctx, copied) if redact else copied


def export_variables(ctx: ContextLike) -> dict[str, Any]:
    return _json_copy(dict(ctx.variables))  # type: ignore[no-any-return]


def from_export(cls: type[C], data: Mapping[str, Any], engine: Any = None) -> C:
    if not isinstance(data, Mapping):
        raise SerializationError(f"export data must be an object, not {type(data).__name__}")
    unknown = sorted(str(key) for key in data
                     if key not in EXPORT_KEYS + SECRET_KEYS + (NAMESPACES_KEY,))
    if unknown:
        raise SerializationError(f"export data has unknown keys: {', '.join(unknown)}")
    stores: dict[str, Any] = {}
    for key in EXPORT_KEYS + SECRET_KEYS:
        value = data.get(key, None if key == "pack_config" else {})
        if value is None and key == "pack_config":  # no pack config was set
            stores[key] = None
            continue
        if type(value) is not dict:
            raise SerializationError(
                f"export data: {key!r} must be an object, not {type(value).__name__}")
        try:
            stores[key] = check_json(value, f"export data {key!r}")
        except LimitExceeded:
            raise
        except ContextError as exc:
            raise SerializationError(str(exc)) from None
    ctx = cls(stores["parameters"], stores["variables"], pack_config=stores["pack_config"],
              keystore=stores["keystore"], system=stores["system"], engine=engine)
    shared = ctx._shared_stores()
    _forks.update(shared, "tasks", stores["task_results"])
    namespaces = data.get(NAMESPACES_KEY, {})
    if type(namespaces) is not dict:
        raise SerializationError("export data: 'namespaces' must be an object, not "
                                 f"{type(namespaces).__name__}")
    for name, value in namespaces.items():
        try:
            set_namespace(shared, name, value)
        except LimitExceeded:
            raise
        except ContextError as exc:
            raise SerializationError(f"export data: {exc}") from None
    return ctx


def rebuild(
    cls: type[C],
    parameters: Mapping[str, Any] | None,
    stored_variables: Mapping[str, Any] | None,
    task_results: Mapping[str, Any] | None,
    engine: Any = None,
) -> C:
    ctx = cls(_as_dict(parameters, "parameters"), _as_dict(stored_variables, "variables"),
              engine=engine)
    for name, result in _as_dict(task_results, "task_results").items():
        ctx.set_task_result(name, result)
    return ctx


def deep_copy(ctx: C, memo: dict[int, Any]) -> C:
    """``copy.deepcopy(ctx)``: a context with stores of its own, deep copies of ``ctx``'s
    (made from one-level snapshots, which another thread cannot resize while they are read)."""
    stores = ctx._shared_stores()
    copied = type(stores)(*[copy.deepcopy(snapshot(store), memo) for store in (
        stores.parameters, stores.variables, stores.tasks, stores.config, stores.keystore,
        stores.system)], stores.engine, copy.deepcopy(
            None if stores.namespaces is None else {
                name: snapshot(store) for name, store in stores.namespaces.items()}, memo),
        marks=copy.deepcopy(stores.marks, memo))
    last = None if ctx.last_outcome is None else (copy.deepcopy(ctx.last_result, memo),
                                                  ctx.last_outcome)
    cls: Any = type(ctx)
    new: C = cls._restore(copied, copy.deepcopy(ctx.current_item, memo), ctx.current_index,
                          last)
    memo[id(ctx)] = new
    return new


def namespace_stores(engine: Any, given: Any) -> dict[str, dict[str, Any]] | None:
    """The namespace stores of new stores bound to ``engine``: empty dicts, or ``given``
    (a pickle's or a deep copy's, which must be the engine's); None when it has none."""
    if not engine.namespaces:
        if given:
            raise SerializationError(f"engine {engine.name!r} has no namespaces, but "
                                     f"{', '.join(map(repr, given))} were given")
        return None
    stores: dict[str, dict[str, Any]] = {name: {} for name in engine.namespaces}
    if given is not None:
        if type(given) is not dict or not set(given) <= set(stores):
            raise SerializationError(f"namespaces must be those of engine {engine.name!r}: "
                                     f"{', '.join(engine.namespaces)}")
        for name, store in given.items():
            stores[name] = new_store(store, f"namespace {name!r}")
    return stores


def namespace(stores: Any, name: str) -> dict[str, Any]:
    """The store of the engine's namespace ``name`` (``VariableNotFound`` if it has none)."""
    found = None if stores.namespaces is None or type(name) is not str \
        else stores.namespaces.get(name)
    if found is None:
        raise VariableNotFound(f"engine {stores.engine.name!r} has no namespace {name!r}",
                               str(name))
    return found  # type: ignore[no-any-return]


def set_namespace(stores: Any, name: str, value: Any) -> None:
    """Replace the store of the engine's namespace ``name`` with a copy of ``value``."""
    namespace(stores, name)
    _forks.update(stores, "namespaces", {name: new_store(value, f"namespace {name!r}")})


def no_stores() -> TypeConversion:
    """The error of a context made without ``__init__`` (``WorkflowContext.__new__``, or a
    subclass that skips ``super().__init__()``), or of a clone of one: it has no stores."""
    return TypeConversion("this WorkflowContext was made without __init__ and has no stores: "
                          "create it with WorkflowContext(...)")


def describe(ctx: ContextLike) -> str:
    """``repr(ctx)``: sizes, never values (they may be large, and the keystore's are secret)."""
    iterating = "" if ctx.current_index is None else f" index={ctx.current_index}"
    return (
        f"<WorkflowContext parameters={len(ctx.parameters)} "
        f"variables={len(ctx.variables)} task_results={len(ctx.task_results)} "
        f"keystore=<{len(ctx.keystore)} hidden>{iterating}>"
    )


def _json_copy(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"a stored value is not JSON: {exc}") from None


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeConversion(f"{what} must be a mapping, not {type(value).__name__}")
    return dict(value)
