"""StackStorm Orquesta's Jinja functions on an engine of their own, so the Jinja expressions of
Orquesta workflows run unchanged::

    >>> from fastctx import WorkflowContext
    >>> from fastctx.engines.orquesta import ENGINE
    >>> ctx = WorkflowContext({"hosts": ["web1", "web2"]}, {"region": "eu"}, engine=ENGINE)
    >>> ctx.with_item({"name": "web2"}, 1).render_template(
    ...     "{{ item('name') }} in {{ ctx('region') }} of {{ ctx().hosts | length }}")
    'web2 in eu of 2'

What Orquesta keeps in its context maps onto the stores of a fastctx context:

==========================  =================================================================
Orquesta                    fastctx
==========================  =================================================================
``ctx()``                   the workflow input (``parameters``) and the published variables
                            (``variables``) in one object; a variable hides an input of the
                            same name
``ctx("x")``, ``ctx().x``   that variable, else that input; neither raises VariableNotFound
``item()``, ``item("k")``   the current item (``with_item``), or its key ``k``
``task("t")``               the stored result of task ``t`` (``set_task_result``): Orquesta's
                            task record (``task_id``, ``route``, ``result``, ...) when the
                            executor stores that; ``route=`` must match its ``route`` if given
``task_status("t")``        that record's ``status``, or ``"unset"``
``result()``                the last task's result (``set_last_task_outcome``)
``succeeded()``,            the last task's outcome; ``completed()``: it has one
``failed()``, ``completed()``
``st2kv("k")``              the keystore value ``k`` (``system.``/``user.`` scopes tried with
                            and without their prefix); ``default=`` when it is absent
``json(s)``, ``zip(...)``   as in Orquesta (``zip(pad=...)`` pads to the longest)
==========================  =================================================================

StackStorm's own filters (``to_json_string``, ``regex_match``, ``version_compare``, ... see
``fastctx.engines._st2``) are both functions and filters here. Values print as Jinja2 prints
them (``None``, ``True``, ``{'a': 1}``), as in Orquesta; a template that is one ``{{ expr }}``
keeps its value's type in ``render_json``.
"""

from __future__ import annotations

import itertools
import json as _json
from collections.abc import Callable
from typing import Any

from .._data import MISSING, check_name
from .._engine import Engine
from ..errors import InvalidExpression, TypeConversion, VariableNotFound
from ._st2 import FILTERS

__all__ = ["ENGINE"]


def ctx(context: Any, key: str | None = None) -> Any:
    """``ctx()``: inputs and variables in one object; ``ctx("x")``: one of them."""
    if not key:
        return {**context.parameters, **context.variables}
    for store in (context.variables, context.parameters):
        value = store.get(key, MISSING)
        if value is not MISSING:
            return value
    raise VariableNotFound(f"ctx({key!r}): no variable or input named {key!r}", str(key))


def item(context: Any, key: str | None = None) -> Any:
    """``item()``: the current item; ``item("k")``: its key ``k``."""
    if context.current_index is None:
        raise VariableNotFound("item() is used outside a with-items task", "item")
    current = context.current_item
    if not key:
        return current
    if type(current) is not dict:
        raise TypeConversion(f"item({key!r}): the item is not an object")
    if key not in current:
        raise VariableNotFound(f"item({key!r}): the item has no key {key!r}", f"item.{key}")
    return current[key]


def _record(context: Any, task_id: Any, route: Any, what: str) -> Any:
    if task_id is None:
        raise InvalidExpression(f"{what}() needs a task name: this context has no current task")
    record = context.task_results.get(check_name(task_id), MISSING)
    if record is not MISSING and route is not None and type(record) is dict \
            and record.get("route", route) != route:
        record = MISSING
    return record


def task(context: Any, task_id: str | None = None, route: int | None = None) -> Any:
    """``task("t")``: what is stored for task ``t``."""
    record = _record(context, task_id, route, "task")
    if record is MISSING:
        where = "" if route is None else f" on route {route}"
        raise VariableNotFound(f"task({task_id!r}): no result of task {task_id!r}{where}",
                               f"task.{task_id}")
    return record


def task_status(context: Any, task_id: str, route: int | None = None) -> Any:
    """``task_status("t")``: the ``status`` of task ``t``'s record, or ``"unset"``."""
    record = _record(context, task_id, route, "task_status")
    if type(record) is dict:
        return record.get("status", "unset")
    return "unset"


def completed(context: Any) -> bool:
    """``completed()``: the last task has an outcome (succeeded, failed or timed out)."""
    return context.last_outcome is not None


def json(value: Any) -> Any:
    """``json(s)``: the JSON text ``s`` as a value (an object is given back as it is)."""
    if type(value) is dict:
        return value
    if type(value) is not str:
        raise TypeConversion(f"json() takes a string, not {type(value).__name__}")
    try:
        return _json.loads(value)
    except ValueError as exc:
        raise InvalidExpression(f"json(): not JSON ({exc.args[0].split(':')[0]})") from None


def zip(*args: Any, pad: Any = None) -> Any:
    """``zip(a, b, ...)``: lists of the members at each position, padded with ``pad``."""
    lists = [[] if arg is None else arg for arg in args]
    if len(lists) == 1:
        return lists[0]
    return [list(members) for members in itertools.zip_longest(*lists, fillvalue=pad)]


def st2kv(context: Any, key: str, decrypt: bool = False, default: Any = MISSING) -> Any:
    """``st2kv("k")``: the keystore value ``k``; ``default=`` when there is none."""
    keystore = context.keystore
    names = [key]
    if type(key) is str and key.startswith(("system.", "user.")):
        names.append(key.split(".", 1)[1])
    for name in names:
        if name in keystore:
            return keystore[name]
    if default is not MISSING:
        return default
    raise VariableNotFound(f"st2kv({key!r}): no key {key!r} in the keystore", f"st2kv.{key}")


def _make_engine() -> Engine:
    engine = Engine("orquesta", printing="jinja2")
    # ctx(), item() and task() hand out stored values, checked when they were stored: not
    # walked again on every call (ctx() of a 1 MB context would be). Each says which stores
    # it reads, for secret tracking.
    given_context: dict[str, tuple[Callable[..., Any], bool, tuple[str, ...]]] = {
        "ctx": (ctx, False, ("parameters", "workflow")), "item": (item, False, ("item",)),
        "task": (task, False, ("task",)), "task_status": (task_status, True, ("task",)),
        "completed": (completed, True, ("task",)), "st2kv": (st2kv, True, ("keystore",))}
    for name, (function, checked, reads) in given_context.items():
        engine._add("function", name, function, True, checked=checked, reads=reads)
    # StackStorm's filters, each also a function; json_parse and json_dump are StackStorm's
    # other names of from_json_string and to_json_string
    st2: dict[str, Callable[..., Any]] = {
        **FILTERS, "json_parse": FILTERS["from_json_string"],
        "json_dump": FILTERS["to_json_string"]}
    plain: dict[str, Callable[..., Any]] = {"json": json, "zip": zip, **st2}
    for name, plain_function in plain.items():
        engine._add("function", name, plain_function, False)
    for name, filter_function in st2.items():
        engine._add("filter", name, filter_function, False)
    engine._build()
    return engine


ENGINE = _make_engine()
