"""Pure-Python twin of ``fastctx._core``: the context type, its stores, clone and look-ups.

Same names, behaviour, errors and pickle format as the Cython core; type checkers read
this file. Keep the two in step: the whole test suite runs against both.
"""

from __future__ import annotations

import copy
import datetime
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from . import limits
from ._outcome import TaskOutcome
from .errors import LimitExceeded, SerializationError, TypeConversion, VariableNotFound

__all__ = ["MISSING", "Stores", "WorkflowContext", "describe_path", "step", "to_text", "walk"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


#: Returned by the non-raising look-ups for a name, key or index that is not there.
MISSING: Any = _Missing()

_VARIABLE_ROOTS = frozenset(("workflow", "vars", "variables"))
_TASK_ROOTS = frozenset(("task", "tasks"))
_INF = float("inf")
_MAX_INT_BITS = 14_000  # about 4,200 digits: Python writes ints of up to 4,300 by default
_ARTICLES = {"array": "an array", "object": "an object", "null": "null"}
_TYPE_NAMES = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def to_text(value: Any) -> str:
    """Stringify a value the way a template prints it."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, Iterator):  # Jinja2 filters such as reverse, unique and map
        value = list(value)
    if isinstance(value, (list, dict, tuple)):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):
            error = TypeConversion(
                f"cannot print a {type(value).__name__} that holds values that are not JSON")
        raise error
    if isinstance(value, str):
        return str(value)
    fail = getattr(value, "_fail_with_undefined_error", None)  # Jinja2's undefined values
    if fail is not None:
        fail()
    raise TypeConversion(f"a {type(value).__name__} is not data: it cannot be printed")


def step(value: Any, key: Any) -> Any:
    """One look-up step on data: a key of an object, an index of an array or string."""
    if type(value) is dict:
        if type(key) is str:
            return value.get(key, MISSING)
        return MISSING
    if type(value) is list or type(value) is str:
        if type(key) is int and -len(value) <= key < len(value):
            return value[key]
        return MISSING
    return MISSING


def describe_path(root: str, keys: tuple[Any, ...], upto: int | None = None) -> str:
    """The dotted text of a path: ``task.fetch.data["my key"][0]``."""
    parts = [root]
    for key in keys if upto is None else keys[:upto]:
        if type(key) is str and key.isidentifier():
            parts.append("." + key)
        else:
            parts.append("[" + json.dumps(key, ensure_ascii=False) + "]")
    return "".join(parts)


def missing_message(root: str, keys: tuple[Any, ...], at: int, value: Any) -> str:
    """Why ``keys[at]`` could not be looked up on ``value`` (the message never shows a value)."""
    where = describe_path(root, keys, at)
    key = keys[at]
    kind = type_name(value)
    if kind == "object":
        why = f"{where!r} has no key {key!r}"
    elif kind in ("array", "string") and type(key) is int:
        why = f"index {key} is out of range for {where!r}" + (
            f" (length {len(value)})" if kind == "array" else "")
    else:
        why = f"{where!r} is {_ARTICLES.get(kind, 'a ' + kind)}: it has no field {key!r}"
    return f"{describe_path(root, keys)!r} is not defined: {why}"


def type_name(value: Any) -> str:
    """The JSON name of a value's type: null, boolean, number, string, array, object."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def check_json(value: Any, what: str) -> Any:
    """Return ``value`` if it is JSON-shaped and within the nesting limit, else raise.

    Iterative, so a 10,000-level document raises ``LimitExceeded``, not ``RecursionError``.
    """
    max_depth = limits.LIMITS.max_depth
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if item.bit_length() > _MAX_INT_BITS:
                raise SerializationError(f"{what}: an integer too large to write as JSON")
            continue
        if kind is float:
            if item != item or item in (_INF, -_INF):
                raise SerializationError(f"{what}: NaN and infinity are not JSON values")
            continue
        if depth >= max_depth:
            raise LimitExceeded(
                f"{what}: nested deeper than max_depth={max_depth}", "max_depth")
        if kind is dict:
            for key, member in item.items():
                if type(key) is not str:
                    raise SerializationError(
                        f"{what}: object keys must be strings, not {type(key).__name__}")
                stack.append((member, depth + 1))
        elif kind is list:
            stack.extend([(member, depth + 1) for member in item])
        else:
            raise SerializationError(f"{what}: a {kind.__name__} is not a JSON value")
    return value


def walk(value: Any, keys: tuple[Any, ...], root: str) -> Any:
    """Follow ``keys`` from ``value``; raise :class:`VariableNotFound` naming the path."""
    for at, key in enumerate(keys):
        found = step(value, key)
        if found is MISSING:
            raise VariableNotFound(missing_message(root, keys, at, value),
                                   describe_path(root, keys))
        value = found
    return value


def walk_or_missing(value: Any, keys: tuple[Any, ...]) -> Any:
    """Like :func:`walk`, but return ``MISSING`` instead of raising."""
    for key in keys:
        value = step(value, key)
        if value is MISSING:
            return MISSING
    return value


class Stores:
    """The stores every clone of one context shares."""

    __slots__ = ("parameters", "variables", "tasks", "config", "keystore", "system")

    def __init__(
        self,
        parameters: dict[str, Any],
        variables: dict[str, Any],
        tasks: dict[str, Any],
        config: dict[str, Any],
        keystore: dict[str, Any],
        system: dict[str, Any],
    ) -> None:
        self.parameters = parameters
        self.variables = variables
        self.tasks = tasks
        self.config = config
        self.keystore = keystore
        self.system = system

    def __reduce__(self) -> tuple[Any, ...]:
        from ._pickle import restore_stores

        return (restore_stores, (self.parameters, self.variables, self.tasks,
                                 self.config, self.keystore, self.system))


class WorkflowContext:
    """A workflow run's context: parameters, variables, task results, pack config, keystore
    and system values in stores that every clone shares, plus a per-clone current item,
    index and last task outcome. ``clone()`` and ``with_item()`` are O(1).

    Getters return the stored objects themselves: treat them as read-only.
    """

    implementation = "python"

    # Four slots: the shared stores, the item, the index (None when not iterating) and the
    # last outcome as a (result, TaskOutcome) pair or None.
    __slots__ = ("_stores", "_item", "_index", "_last")

    def __init__(
        self,
        parameters: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        *,
        pack_config: dict[str, Any] | None = None,
        keystore: dict[str, Any] | None = None,
        system: dict[str, Any] | None = None,
    ) -> None:
        self._stores = Stores(
            _store(parameters, "parameters"), _store(variables, "variables"), {},
            _store(pack_config, "pack_config"), _store(keystore, "keystore"),
            initial_system(_store(system, "system")),
        )
        self._item: Any = None
        self._index: Any = None
        self._last: tuple[Any, TaskOutcome] | None = None

    # -- clones -------------------------------------------------------------------------
    def clone(self) -> Any:
        new = object.__new__(type(self))
        new._stores = self._stores
        new._item = self._item
        new._index = self._index
        new._last = self._last
        return new

    def with_item(self, item: Any, index: int) -> Any:
        new = object.__new__(type(self))
        new._stores = self._stores
        new._item = item
        new._index = _check_index(index)
        new._last = self._last
        return new

    def set_current_item(self, item: Any, index: int) -> None:
        self._index = _check_index(index)
        self._item = item

    def clear_current_item(self) -> None:
        self._item = None
        self._index = None

    @property
    def current_item(self) -> Any:
        return self._item

    @property
    def current_index(self) -> int | None:
        return self._index  # type: ignore[no-any-return]

    # -- stores -------------------------------------------------------------------------
    def set_var(self, name: str, value: Any) -> None:
        self._stores.variables[_check_name(name)] = check_json(value, f"variable {name!r}")

    def get_var(self, name: str, default: Any = None) -> Any:
        return self._stores.variables.get(_check_name(name), default)

    def set_task_result(self, name: str, result: Any) -> None:
        self._stores.tasks[_check_name(name)] = check_json(result, f"result of task {name!r}")

    def get_task_result(self, name: str, default: Any = None) -> Any:
        return self._stores.tasks.get(_check_name(name), default)

    def set_pack_config(self, config: dict[str, Any]) -> None:
        self._stores.config = _store(config, "pack_config")

    def set_keystore(self, secrets: dict[str, Any]) -> None:
        self._stores.keystore = _store(secrets, "keystore")

    def set_system(self, name: str, value: Any) -> None:
        self._stores.system[_check_name(name)] = check_json(value, f"system {name!r}")

    def set_last_task_outcome(self, result: Any, outcome: TaskOutcome) -> None:
        self._last = (check_json(result, "last task result"), _check_outcome(outcome))

    @property
    def parameters(self) -> dict[str, Any]:
        return self._stores.parameters

    @property
    def variables(self) -> dict[str, Any]:
        return self._stores.variables

    @property
    def task_results(self) -> dict[str, Any]:
        return self._stores.tasks

    @property
    def pack_config(self) -> dict[str, Any]:
        return self._stores.config

    @property
    def system(self) -> dict[str, Any]:
        return self._stores.system

    @property
    def keystore(self) -> dict[str, Any]:
        return self._stores.keystore

    @property
    def last_result(self) -> Any:
        return None if self._last is None else self._last[0]

    @property
    def last_outcome(self) -> TaskOutcome | None:
        return None if self._last is None else self._last[1]

    def shares_stores_with(self, other: object) -> bool:
        """Whether ``other`` is a clone of this context (or this context)."""
        return isinstance(other, WorkflowContext) and self._stores is other._stores

    # -- look-ups -----------------------------------------------------------------------
    def resolve(self, name: str) -> Any:
        """The value a root name stands for in a template, or ``MISSING``."""
        stores = self._stores
        if name == "item":
            return MISSING if self._index is None else self._item
        if name == "index":
            return MISSING if self._index is None else self._index
        if name == "parameters":
            return stores.parameters
        if name in _VARIABLE_ROOTS:
            return stores.variables
        if name in _TASK_ROOTS:
            return stores.tasks
        if name == "config":
            return stores.config
        if name == "keystore":
            return stores.keystore
        if name == "system":
            return stores.system
        return stores.variables.get(name, MISSING)

    def lookup(self, path: tuple[Any, ...]) -> Any:
        """Resolve ``path[0]`` and follow the keys after it; raise naming the full path."""
        root = path[0]
        value = self.resolve(root)
        if value is MISSING:
            raise VariableNotFound(_root_message(self, path), describe_path(root, path[1:]))
        return walk(value, path[1:], root)

    def lookup_or_missing(self, path: tuple[Any, ...]) -> Any:
        value = self.resolve(path[0])
        if value is MISSING:
            return MISSING
        return walk_or_missing(value, path[1:])

    # -- rendering: the fast path and compiled expressions --------------------------------
    # Parsing, compiling, the Jinja2 path and error reporting live in fastctx._templating,
    # which install() hands to this module; here is only what runs per render.
    def render_template(self, template: str) -> str:
        """Render a template (Jinja2 syntax) to a string."""
        if type(template) is not str:
            raise TypeConversion(f"a template must be a string, not {type(template).__name__}")
        program = _LAYER.TEMPLATES.get(template)
        if program is None:
            program = _LAYER.compile_template(template, self)
        if type(program) is not tuple:
            return program.render(self)  # type: ignore[no-any-return]
        try:
            return render_parts(self, program)
        except Exception as exc:  # noqa: BLE001 - reported as a ContextError naming the template
            error = _LAYER.error_for(exc, template, self)
        raise error  # outside the except: the original may quote a secret

    def evaluate(self, expression: str) -> Any:
        """Evaluate one expression (no braces) to its native value."""
        if type(expression) is not str:
            raise TypeConversion(
                f"an expression must be a string, not {type(expression).__name__}")
        return _evaluate(self, expression, expression)

    def evaluate_condition(self, condition: str | bool) -> bool:
        """A bare expression or a template, judged by the contract's truthiness."""
        if condition is True or condition is False:
            return condition
        if type(condition) is not str:
            raise TypeConversion(f"a condition must be a string, not {type(condition).__name__}")
        if "{{" in condition or "{%" in condition:
            return truthy(_render_string(self, condition))
        return truthy(_evaluate(self, condition, condition))

    def render_json(self, value: Any) -> Any:
        """Render every string in a JSON-shaped value; ``"{{ expr }}"`` keeps its type."""
        return _render_value(self, value, 0)

    # -- publishing, export and import (fastctx._context) ---------------------------------
    def publish_from_result(
        self,
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
        _API.publish_from_result(self, result, publish_vars, publish_map)

    def export(self, *, include_secrets: bool = False) -> dict[str, Any]:
        """A JSON-safe copy of the stores; the keystore only with ``include_secrets``."""
        return _API.export(self, include_secrets)  # type: ignore[no-any-return]

    def export_variables(self) -> dict[str, Any]:
        """A JSON-safe copy of the workflow variables."""
        return _API.export_variables(self)  # type: ignore[no-any-return]

    @classmethod
    def from_export(cls, data: Mapping[str, Any]) -> Any:
        """A new context from what :meth:`export` produced."""
        return _API.from_export(cls, data)

    import_ = from_export

    @classmethod
    def rebuild(
        cls,
        parameters: Mapping[str, Any] | None,
        stored_variables: Mapping[str, Any] | None,
        task_results: Mapping[str, Any] | None,
    ) -> Any:
        """A context rebuilt from what an executor persisted (after a restart, say)."""
        return _API.rebuild(cls, parameters, stored_variables, task_results)

    def __repr__(self) -> str:
        return _API.describe(self)  # type: ignore[no-any-return]

    # -- copy and pickle ----------------------------------------------------------------
    def __copy__(self) -> Any:
        return self.clone()

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        new = object.__new__(type(self))
        memo[id(self)] = new
        s = self._stores
        # dict(store): a snapshot (atomic under the GIL) another thread cannot resize
        new._stores = Stores(*[copy.deepcopy(dict(store), memo) for store in (
            s.parameters, s.variables, s.tasks, s.config, s.keystore, s.system)])
        new._item = copy.deepcopy(self._item, memo)
        new._index = self._index
        new._last = copy.deepcopy(self._last, memo)
        return new

    def __reduce__(self) -> tuple[Any, ...]:
        from ._pickle import restore_context

        return (restore_context, (self._stores, self._item, self._index, self._last))

    @classmethod
    def _restore(cls, stores: Stores, item: Any, index: Any, last: Any) -> Any:
        new = object.__new__(cls)
        new._stores = stores
        new._item = item
        new._index = index
        new._last = last
        return new


# -- what runs per render -------------------------------------------------------------------
_LAYER: Any = None  # fastctx._templating
_API: Any = None  # fastctx._context

# Opcodes of compiled expressions: tuples ``(opcode, operands...)`` built by
# fastctx._compiler. Comparison codes 0-5 are Python's rich comparison codes.
OP_CONST, OP_PATH, OP_SOFT, OP_NOT, OP_AND, OP_OR, OP_CMP, OP_BINOP, OP_NEG, OP_POS, \
    OP_CONCAT, OP_LIST, OP_TUPLE, OP_DICT, OP_COND, OP_CALL, OP_RESULT, OP_OUTCOME = range(18)
CMP_IN, CMP_NOTIN = 6, 7
_COMPARE: tuple[Callable[[Any, Any], Any], ...] = (
    operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge,
    lambda a, b: a in b, lambda a, b: a not in b,
)


def install(layer: Any, api: Any) -> None:
    """Connect the core to the Python layer: templating (caches, compilers, the Jinja2
    path, error reporting) and the API written in Python (publish, export, import)."""
    global _LAYER, _API
    _LAYER = layer
    _API = api


def truthy(value: Any) -> bool:
    """The contract's truthiness: strings by their words, everything else as Python."""
    if type(value) is str:
        word = value.strip().lower()
        if word in ("true", "yes", "1", "on"):
            return True
        return word not in ("false", "no", "0", "off", "")
    return bool(value)


def render_parts(ctx: WorkflowContext, parts: tuple[Any, ...]) -> str:
    """A fast-path template: literal strings, path look-ups and compiled expressions."""
    out = []
    size = 0
    for part in parts:
        if type(part) is str:
            text = part
        elif type(part[0]) is str:
            text = to_text(ctx.lookup(part))
        else:
            text = to_text(evaluate_node(ctx, part))
        size += len(text)
        if size > limits.LIMITS.max_output:  # before joining: many large parts are gigabytes
            raise LimitExceeded(
                f"output is longer than max_output={limits.LIMITS.max_output}", "max_output")
        out.append(text)
    return "".join(out)


def evaluate_node(ctx: WorkflowContext, node: tuple[Any, ...]) -> Any:
    """Evaluate a compiled expression with the operators' Python (and Jinja2) semantics."""
    op = node[0]
    if op == OP_PATH:
        return ctx.lookup(node[1])
    if op == OP_CONST:
        return node[1]
    if op == OP_CMP:
        left = evaluate_node(ctx, node[1])
        result: Any = True
        for code, operand in node[2]:
            right = evaluate_node(ctx, operand)
            result = _COMPARE[code](left, right)
            if not result:
                return result
            left = right
        return result
    if op == OP_AND:
        left = evaluate_node(ctx, node[1])
        return evaluate_node(ctx, node[2]) if left else left
    if op == OP_OR:
        left = evaluate_node(ctx, node[1])
        return left if left else evaluate_node(ctx, node[2])
    if op == OP_NOT:
        return not evaluate_node(ctx, node[1])
    if op == OP_CALL:
        return node[1](*[evaluate_node(ctx, arg) for arg in node[2]])
    if op == OP_BINOP:
        return _LAYER.binop(node[1], evaluate_node(ctx, node[2]), evaluate_node(ctx, node[3]))
    if op == OP_SOFT:
        value = ctx.lookup_or_missing(node[1])
        return _LAYER.soft_missing(node[1]) if value is MISSING else value
    if op == OP_CONCAT:
        return _LAYER.concat([evaluate_node(ctx, arg) for arg in node[1]])
    if op == OP_COND:
        return evaluate_node(ctx, node[2] if evaluate_node(ctx, node[1]) else node[3])
    if op == OP_NEG:
        return -evaluate_node(ctx, node[1])
    if op == OP_POS:
        return +evaluate_node(ctx, node[1])
    if op == OP_LIST:
        return [evaluate_node(ctx, arg) for arg in node[1]]
    if op == OP_TUPLE:
        return tuple([evaluate_node(ctx, arg) for arg in node[1]])
    if op == OP_DICT:
        return {evaluate_node(ctx, k): evaluate_node(ctx, v) for k, v in node[1]}
    if op == OP_RESULT:
        return ctx.last_result
    if op == OP_OUTCOME:
        return ctx.last_outcome is node[1]
    raise AssertionError(f"unknown opcode {op}")


def _evaluate(ctx: WorkflowContext, expression: str, name: str) -> Any:
    """Evaluate ``expression``; errors name ``name``, the template it was written in."""
    program = _LAYER.EXPRESSIONS.get(expression)
    if program is None:
        program = _LAYER.compile_expression(expression, ctx)
    if type(program) is not tuple:
        return program.evaluate(ctx, name)
    try:
        made = _LAYER.Missing.made
        value = evaluate_node(ctx, program)
        if type(value) in _PLAIN and _LAYER.Missing.made == made:
            return value
        return _LAYER.native(value, _LAYER.Missing.made != made)
    except Exception as exc:  # noqa: BLE001
        error = _LAYER.error_for(exc, name, ctx)
    raise error  # outside the except: the original may quote a secret


_PLAIN = frozenset((str, int, float, bool, type(None), list, dict))


def _render_value(ctx: WorkflowContext, value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is str:
        return _render_string(ctx, value) if "{" in value or "\r" in value else value
    if kind is dict or kind is list:
        if depth >= limits.LIMITS.max_depth:
            raise LimitExceeded(
                f"render_json: input nested deeper than max_depth={limits.LIMITS.max_depth}",
                "max_depth")
        if kind is dict:
            return {key: _render_value(ctx, member, depth + 1) for key, member in value.items()}
        return [_render_value(ctx, member, depth + 1) for member in value]
    return value


def _render_string(ctx: WorkflowContext, text: str) -> Any:
    """A string as ``render_json`` sees it: one ``{{ expr }}`` keeps its native value."""
    expression = _LAYER.JSON_STRINGS.get(text)
    if expression is None:
        expression = _LAYER.classify_json_string(text)
    if expression:
        return _evaluate(ctx, expression, text)
    return ctx.render_template(text)


def _root_message(ctx: WorkflowContext, path: tuple[Any, ...]) -> str:
    root = path[0]
    full = describe_path(root, path[1:])
    if root in ("item", "index"):
        return f"{full!r} is not defined: the context is not iterating over items"
    return f"{full!r} is not defined: no variable named {root!r}"


def _store(value: Any, what: str) -> dict[str, Any]:
    """A store's own top-level dict (a shallow copy: later changes to the caller's dict
    do not reach the context)."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise TypeConversion(f"{what} must be a dict, not {type(value).__name__}")
    return dict(check_json(value, what))


def initial_system(system: dict[str, Any]) -> dict[str, Any]:
    """The system store at construction: ``workflow_start`` is now, ISO-8601 UTC."""
    if "workflow_start" not in system:
        now = datetime.datetime.now(datetime.timezone.utc)
        system["workflow_start"] = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return system


def _check_name(name: Any) -> str:
    if type(name) is not str:
        raise TypeConversion(f"a name must be a string, not {type(name).__name__}")
    return name


def _check_outcome(outcome: Any) -> TaskOutcome:
    if type(outcome) is not TaskOutcome:
        raise TypeConversion(f"outcome must be a TaskOutcome, not {type(outcome).__name__}")
    return outcome


def _check_index(index: Any) -> int:
    if type(index) is not int:
        raise TypeConversion(f"index must be an int, not {type(index).__name__}")
    return index
