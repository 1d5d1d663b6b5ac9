"""What a value is to fastctx: one rule for each of printing, type names, truthiness, look-up
steps, the messages of a failed look-up, JSON-shape checks and argument checks.

Both cores, the templating layer, the helper functions, the command line and ``fastctx
bench`` use these, and only these. The Cython core keeps compiled copies of the hottest few
(``to_text`` for scalars, ``step``) that defer to the functions here for everything else.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn, Protocol, TypeAlias

from . import limits
from ._outcome import TaskOutcome
from .errors import LimitExceeded, SerializationError, TypeConversion, VariableNotFound

__all__ = [
    "MISSING",
    "ROOTS",
    "ContextView",
    "JSONValue",
    "a_type_name",
    "check_index",
    "check_json",
    "check_name",
    "check_outcome",
    "describe_path",
    "initial_system",
    "join_output",
    "missing_message",
    "new_config",
    "new_store",
    "output_too_long",
    "root_message",
    "snapshot",
    "step",
    "to_text",
    "too_deep",
    "truthy",
    "type_name",
    "walk",
    "walk_or_missing",
    "word_truth",
]


#: A JSON-shaped value: what stores hold and what ``evaluate`` and ``render_json`` return.
JSONValue: TypeAlias = (
    bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


#: Returned by the non-raising look-ups for a name, key or index that is not there.
MISSING: Any = _Missing()


class ContextView(Protocol):
    """What the templating layer reads from a context while rendering (either core)."""

    @property
    def keystore(self) -> Mapping[str, Any]: ...

    @property
    def last_result(self) -> Any: ...

    @property
    def last_outcome(self) -> TaskOutcome | None: ...

    def resolve(self, name: str) -> Any: ...

    def lookup_or_missing(self, path: tuple[Any, ...]) -> Any: ...


# -- type names ------------------------------------------------------------------------------
_TYPE_NAMES = {
    type(None): "null",
    bool: "bool",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}
_SUBCLASSES = ((bool, "bool"), ((int, float), "number"), (str, "string"),
               ((list, tuple), "array"), (dict, "object"))
_ARTICLES = {"array": "an array", "object": "an object", "null": "null"}


def type_name(value: Any) -> str:
    """The name of a value's type: null, bool, number, string, array, object (a
    tuple is an array, as it prints; the Python class name for a value that is not data)."""
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    for kind, name in _SUBCLASSES:  # Markup is a string, a tuple made by a filter an array
        if isinstance(value, kind):
            return name
    return type(value).__name__


def a_type_name(value: Any) -> str:
    """:func:`type_name` as a message says it: "an array", "a string", "null"."""
    kind = type_name(value)
    return _ARTICLES.get(kind, "a " + kind)


# -- printing --------------------------------------------------------------------------------
def to_text(value: Any) -> str:
    """A value as a template prints it: strings as they are, null as "", booleans as
    true/false, numbers, arrays and objects as JSON. Anything else is not data and raises
    :class:`TypeConversion`: no Python repr or memory address ever reaches the output."""
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
    if isinstance(value, Iterator) and not type(value).__module__.startswith("jinja2"):
        value = list(value)  # what filters such as reverse, unique and map make (not a loop)
    if isinstance(value, (list, dict, tuple)):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):
            error = TypeConversion(
                f"cannot print a {type(value).__name__} that holds values that are not JSON")
        raise error
    if isinstance(value, str):  # Markup and other str subclasses
        return str(value)
    fail = getattr(value, "_fail_with_undefined_error", None)  # Jinja2's undefined values
    if fail is not None:
        fail()
    raise TypeConversion(f"a {type(value).__name__} is not data: it cannot be printed")


def output_too_long() -> NoReturn:
    """Raise the error of a render whose output passed ``max_output``."""
    raise LimitExceeded(f"output is longer than max_output={limits.current().max_output}",
                        "max_output")


def join_output(chunks: Any) -> str:
    """The chunks of a render joined, counting as it goes: many large chunks would be
    gigabytes once joined, so the limit is checked before joining."""
    max_output = limits.current().max_output
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_output:
            output_too_long()
        out.append(chunk)
    return "".join(out)


# -- truthiness ------------------------------------------------------------------------------
_TRUE_WORDS = frozenset(("true", "yes", "1", "on"))
_FALSE_WORDS = frozenset(("false", "no", "0", "off", ""))


def word_truth(text: str) -> bool | None:
    """What a string means as a boolean (case and surrounding space ignored): True for
    true/yes/1/on, False for false/no/0/off and the empty string, None for any other."""
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    return None


def truthy(value: Any) -> bool:
    """What a condition written as a template means: its text by its words (any other text
    is true); a lone ``{{ expr }}`` keeps its value, judged as Python judges it unless it is
    a string. (A bare expression is judged by plain truthiness: ``bool(value)``.)"""
    if type(value) is str:
        return word_truth(value) is not False
    return bool(value)


# -- look-ups --------------------------------------------------------------------------------
#: The root names every context has, aliases included, each mapped to what it stands for: the
#: item or index of a with-items view, or the ``Stores`` field of a shared store.
ROOTS = {"item": "item", "index": "index", "parameters": "parameters",
         "workflow": "variables", "vars": "variables", "variables": "variables",
         "task": "tasks", "tasks": "tasks", "config": "config", "keystore": "keystore",
         "system": "system"}


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
        why = f"{where!r} is {a_type_name(value)}: it has no field {key!r}"
    return f"{describe_path(root, keys)!r} is not defined: {why}"


def root_message(path: tuple[Any, ...]) -> str:
    """Why the root name of ``path`` stands for nothing."""
    root = path[0]
    full = describe_path(root, path[1:])
    if root in ("item", "index"):
        return f"{full!r} is not defined: the context is not iterating over items"
    return f"{full!r} is not defined: no variable named {root!r}"


# -- checks ----------------------------------------------------------------------------------
_INF = float("inf")
_MAX_INT_BITS = 14_000  # about 4,200 digits: Python writes ints of up to 4,300 by default


def check_json(value: Any, what: str) -> Any:
    """Return ``value`` if it is JSON-shaped and within the nesting limit, else raise.

    Iterative, so a 10,000-level document raises ``LimitExceeded``, not ``RecursionError``;
    only containers wait on the stack (a list of a million numbers adds no memory to check).
    """
    max_depth = limits.current().max_depth
    stack: list[tuple[Any, int]] = []
    _check_member(value, 0, stack, what)
    while stack:
        container, depth = stack.pop()
        if depth >= max_depth:
            too_deep(what)
        if type(container) is dict:
            for key, member in container.items():
                if type(key) is not str:
                    raise SerializationError(
                        f"{what}: object keys must be strings, not {type(key).__name__}")
                _check_member(member, depth + 1, stack, what)
        else:
            for member in container:
                _check_member(member, depth + 1, stack, what)
    return value


def _check_member(item: Any, depth: int, stack: list[tuple[Any, int]], what: str) -> None:
    """A scalar checked now, a container put on ``stack`` to be checked."""
    kind = type(item)
    if kind is str or kind is bool or item is None:
        return
    if kind is int:
        if item.bit_length() > _MAX_INT_BITS:
            raise SerializationError(f"{what}: an integer too large to write as JSON")
    elif kind is float:
        if item != item or item in (_INF, -_INF):
            raise SerializationError(f"{what}: NaN and infinity are not JSON values")
    elif kind is dict or kind is list:
        stack.append((item, depth))
    else:
        raise SerializationError(f"{what}: a {kind.__name__} is not a JSON value")


def too_deep(what: str) -> NoReturn:
    """Raise the error of ``what`` (a value, a document) nested deeper than ``max_depth``."""
    raise LimitExceeded(f"{what}: nested deeper than max_depth={limits.current().max_depth}",
                        "max_depth")


def new_store(value: Any, what: str) -> dict[str, Any]:
    """A store's own top-level dict (a shallow copy: later changes to the caller's dict
    do not reach the context)."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise TypeConversion(f"{what} must be a dict, not {type(value).__name__}")
    return dict(check_json(value, what))


def new_config(value: Any) -> dict[str, Any] | None:
    """The pack config store: None (``config`` is null in templates) until one is set."""
    return None if value is None else new_store(value, "pack_config")


def snapshot(store: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a store's top level (one C-level copy, atomic under the GIL: another thread
    cannot resize it while it is copied)."""
    return None if store is None else dict(store)


def initial_system(system: dict[str, Any]) -> dict[str, Any]:
    """The system store at construction: ``workflow_start`` is now, ISO-8601 UTC."""
    if "workflow_start" not in system:
        now = datetime.datetime.now(datetime.timezone.utc)
        system["workflow_start"] = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return system


def check_name(name: Any) -> str:
    if type(name) is not str:
        raise TypeConversion(f"a name must be a string, not {type(name).__name__}")
    return name


def check_outcome(outcome: Any) -> TaskOutcome:
    if type(outcome) is not TaskOutcome:
        raise TypeConversion(f"outcome must be a TaskOutcome, not {type(outcome).__name__}")
    return outcome


def check_index(index: Any) -> int:
    if type(index) is not int:
        raise TypeConversion(f"index must be an int, not {type(index).__name__}")
    return index

