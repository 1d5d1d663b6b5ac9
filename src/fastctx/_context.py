"""The part of ``WorkflowContext``'s API written in Python: publish, export and import.

``WorkflowContext`` is the core's own type (Cython, or the pure-Python twin); its methods
``publish_from_result``, ``export``, ``export_variables``, ``from_export``, ``rebuild`` and
``repr`` call the functions here, which work with either core.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _core_py, _impl, _templating
from ._outcome import TaskOutcome
from .errors import ContextError, LimitExceeded, SerializationError, TypeConversion

__all__ = ["WorkflowContext", "context_class"]

_EXPORT_KEYS = ("variables", "parameters", "task_results", "system", "pack_config")


def publish_from_result(
    ctx: WorkflowContext,
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
        values[_core_py._check_name(name)] = result
    if publish_map is not None:
        if not isinstance(publish_map, Mapping):
            raise TypeConversion(
                f"publish_map must be a mapping, not {type(publish_map).__name__}")
        view = ctx.clone()
        view.set_last_task_outcome(result, ctx.last_outcome or TaskOutcome.SUCCEEDED)
        for name, template in publish_map.items():
            values[_core_py._check_name(name)] = view.render_json(template)
    for name, value in values.items():
        _core_py.check_json(value, f"variable {name!r}")
    ctx.variables.update(values)


def export(ctx: WorkflowContext, include_secrets: bool) -> dict[str, Any]:
    data = {
        "variables": ctx.variables,
        "parameters": ctx.parameters,
        "task_results": ctx.task_results,
        "system": ctx.system,
        "pack_config": ctx.pack_config,
    }
    if include_secrets:
        data["keystore"] = ctx.keystore
    return _json_copy(data)  # type: ignore[no-any-return]


def export_variables(ctx: WorkflowContext) -> dict[str, Any]:
    return _json_copy(ctx.variables)  # type: ignore[no-any-return]


def from_export(cls: type[WorkflowContext], data: Mapping[str, Any]) -> WorkflowContext:
    if not isinstance(data, Mapping):
        raise SerializationError(f"export data must be an object, not {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in (*_EXPORT_KEYS, "keystore"))
    if unknown:
        raise SerializationError(f"export data has unknown keys: {', '.join(unknown)}")
    stores = {}
    for key in (*_EXPORT_KEYS, "keystore"):
        value = data.get(key, {})
        if type(value) is not dict:
            raise SerializationError(
                f"export data: {key!r} must be an object, not {type(value).__name__}")
        try:
            stores[key] = _core_py.check_json(value, f"export data {key!r}")
        except LimitExceeded:
            raise
        except ContextError as exc:
            raise SerializationError(str(exc)) from None
    ctx = cls(stores["parameters"], stores["variables"], pack_config=stores["pack_config"],
              keystore=stores["keystore"], system=stores["system"])
    ctx.task_results.update(stores["task_results"])
    return ctx


def rebuild(
    cls: type[WorkflowContext],
    parameters: Mapping[str, Any] | None,
    stored_variables: Mapping[str, Any] | None,
    task_results: Mapping[str, Any] | None,
) -> WorkflowContext:
    ctx = cls(_as_dict(parameters, "parameters"), _as_dict(stored_variables, "variables"))
    for name, result in _as_dict(task_results, "task_results").items():
        ctx.set_task_result(name, result)
    return ctx


def describe(ctx: WorkflowContext) -> str:
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


def context_class(implementation: str) -> type[WorkflowContext]:
    """``WorkflowContext`` of one implementation, ``"cython"`` or ``"python"``, connected to
    this layer."""
    core = _impl.load(implementation)
    core.install(_templating, sys.modules[__name__])
    return core.WorkflowContext  # type: ignore[no-any-return]


if TYPE_CHECKING:
    from ._core_py import WorkflowContext
else:
    WorkflowContext = context_class(_impl.IMPLEMENTATION)
