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

from ._data import check_json, check_name, snapshot
from ._outcome import TaskOutcome
from .errors import ContextError, LimitExceeded, SerializationError, TypeConversion

__all__ = ["EXPORT_KEYS", "SECRET_KEYS", "deep_copy", "describe", "export", "export_variables",
           "from_export", "no_stores", "publish_from_result", "rebuild"]

#: The stores ``export()`` writes, in this order; ``SECRET_KEYS`` only with
#: ``include_secrets=True``. ``from_export()`` and context files accept exactly these.
EXPORT_KEYS = ("variables", "parameters", "task_results", "system", "pack_config")
SECRET_KEYS = ("keystore",)


class ContextLike(Protocol):
    """What this module uses of a context (either core's ``WorkflowContext``)."""

    def __init__(self, parameters: dict[str, Any] | None = ...,
                 variables: dict[str, Any] | None = ..., *,
                 pack_config: dict[str, Any] | None = ..., keystore: dict[str, Any] | None = ...,
                 system: dict[str, Any] | None = ...) -> None: ...

    def clone(self) -> Any: ...

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
        view = ctx.clone()
        view.set_last_task_outcome(result, ctx.last_outcome or TaskOutcome.SUCCEEDED)
        for name, template in publish_map.items():
            values[check_name(name)] = view.render_json(template)
    for name, value in values.items():
        check_json(value, f"variable {name!r}")
    ctx._shared_stores().variables.update(values)


def export(ctx: ContextLike, include_secrets: bool) -> dict[str, Any]:
    keys = EXPORT_KEYS + SECRET_KEYS if include_secrets else EXPORT_KEYS
    views = {key: getattr(ctx, key) for key in keys}
    return _json_copy({key: None if view is None else dict(view)  # type: ignore[no-any-return]
                       for key, view in views.items()})


def export_variables(ctx: ContextLike) -> dict[str, Any]:
    return _json_copy(dict(ctx.variables))  # type: ignore[no-any-return]


def from_export(cls: type[C], data: Mapping[str, Any]) -> C:
    if not isinstance(data, Mapping):
        raise SerializationError(f"export data must be an object, not {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in EXPORT_KEYS + SECRET_KEYS)
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
              keystore=stores["keystore"], system=stores["system"])
    ctx._shared_stores().tasks.update(stores["task_results"])
    return ctx


def rebuild(
    cls: type[C],
    parameters: Mapping[str, Any] | None,
    stored_variables: Mapping[str, Any] | None,
    task_results: Mapping[str, Any] | None,
) -> C:
    ctx = cls(_as_dict(parameters, "parameters"), _as_dict(stored_variables, "variables"))
    for name, result in _as_dict(task_results, "task_results").items():
        ctx.set_task_result(name, result)
    return ctx


def deep_copy(ctx: C, memo: dict[int, Any]) -> C:
    """``copy.deepcopy(ctx)``: a context with stores of its own, deep copies of ``ctx``'s
    (made from one-level snapshots, which another thread cannot resize while they are read)."""
    stores = ctx._shared_stores()
    copied = type(stores)(*[copy.deepcopy(snapshot(store), memo) for store in (
        stores.parameters, stores.variables, stores.tasks, stores.config, stores.keystore,
        stores.system)])
    last = None if ctx.last_outcome is None else (copy.deepcopy(ctx.last_result, memo),
                                                  ctx.last_outcome)
    cls: Any = type(ctx)
    new: C = cls._restore(copied, copy.deepcopy(ctx.current_item, memo), ctx.current_index,
                          last)
    memo[id(ctx)] = new
    return new


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
