"""``WorkflowContext``: the core type plus templates, conditions, publishing and export.

The methods here are implementation-agnostic: :class:`WorkflowMethods` is mixed into the
core type of the Cython extension or of its pure-Python twin.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _core_py, _impl, _templating
from ._outcome import TaskOutcome
from .errors import ContextError, LimitExceeded, SerializationError, TypeConversion

__all__ = ["WorkflowContext", "WorkflowMethods", "context_class"]

_EXPORT_KEYS = ("variables", "parameters", "task_results", "system", "pack_config")


class WorkflowMethods:
    """What a workflow context does beyond its stores: render, evaluate, publish, export."""

    __slots__ = ()

    # render_template, render_json, evaluate and evaluate_condition are the core's own:
    # they run the fast path there and call fastctx._templating for everything else.

    # -- publishing ----------------------------------------------------------------------
    def publish_from_result(
        self: Any,
        result: Any,
        publish_vars: Iterable[str] | str = (),
        publish_map: Mapping[str, Any] | None = None,
    ) -> None:
        """Publish a task's result into workflow variables.

        Each name in ``publish_vars`` receives the whole result; each entry of
        ``publish_map`` is rendered with :meth:`render_json` while ``result()`` returns
        ``result``. Everything is rendered before anything is set: a failure publishes
        nothing.
        """
        names = [publish_vars] if type(publish_vars) is str else list(publish_vars)
        values: dict[str, Any] = {}
        for name in names:
            values[name] = result
        if publish_map is not None:
            if not isinstance(publish_map, Mapping):
                raise TypeConversion(
                    f"publish_map must be a mapping, not {type(publish_map).__name__}")
            view = self.clone()
            view.set_last_task_outcome(result, self.last_outcome or TaskOutcome.SUCCEEDED)
            for name, template in publish_map.items():
                values[name] = view.render_json(template)
        for name in values:
            _core_py._check_name(name)
            _core_py.check_json(values[name], f"variable {name!r}")
        self.variables.update(values)

    # -- export and import ---------------------------------------------------------------
    def export(self: Any, *, include_secrets: bool = False) -> dict[str, Any]:
        """A JSON-safe copy of the stores; the keystore only with ``include_secrets``."""
        data = {
            "variables": self.variables,
            "parameters": self.parameters,
            "task_results": self.task_results,
            "system": self.system,
            "pack_config": self.pack_config,
        }
        if include_secrets:
            data["keystore"] = self.keystore
        return _json_copy(data)

    def export_variables(self: Any) -> dict[str, Any]:
        """A JSON-safe copy of the workflow variables."""
        return _json_copy(self.variables)

    @classmethod
    def from_export(cls, data: Mapping[str, Any]) -> Any:
        """A new context from what :meth:`export` produced."""
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

    import_ = from_export

    @classmethod
    def rebuild(
        cls,
        parameters: Mapping[str, Any] | None,
        stored_variables: Mapping[str, Any] | None,
        task_results: Mapping[str, Any] | None,
    ) -> Any:
        """A context rebuilt from what an executor persisted (after a restart, say)."""
        ctx = cls(_as_dict(parameters, "parameters"), _as_dict(stored_variables, "variables"))
        for name, result in _as_dict(task_results, "task_results").items():
            ctx.set_task_result(name, result)
        return ctx

    # -- presentation --------------------------------------------------------------------
    def __repr__(self: Any) -> str:
        # Never values: they may be large, and the keystore's are secret.
        iterating = "" if self.current_index is None else f" index={self.current_index}"
        return (
            f"<WorkflowContext parameters={len(self.parameters)} "
            f"variables={len(self.variables)} task_results={len(self.task_results)} "
            f"keystore=<{len(self.keystore)} hidden>{iterating}>"
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


_CLASSES: dict[str, type] = {}


def context_class(implementation: str) -> type[WorkflowContext]:
    """``WorkflowContext`` on the core of one implementation: ``"cython"`` or ``"python"``."""
    cls = _CLASSES.get(implementation)
    if cls is None:
        core = _impl.load(implementation)
        core.install(_templating)
        core_type = core.ContextCore
        cls = type("WorkflowContext", (WorkflowMethods, core_type), {
            "__slots__": (),
            "__module__": __name__,
            "__doc__": WORKFLOW_CONTEXT_DOC,
            "implementation": implementation,
        })
        _CLASSES[implementation] = cls
    return cls


WORKFLOW_CONTEXT_DOC = """A workflow run's context: parameters, variables, task results, config,
keystore and system values in stores that every clone shares, plus a per-clone current item,
index and last task outcome. ``clone()`` and ``with_item()`` are O(1).

Getters return the stored objects themselves: treat them as read-only.
"""

if TYPE_CHECKING:

    class WorkflowContext(WorkflowMethods, _core_py.ContextCore):
        implementation: str

else:
    WorkflowContext = context_class(_impl.IMPLEMENTATION)
