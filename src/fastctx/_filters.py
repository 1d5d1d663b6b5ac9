"""Jinja2's filters as the sandbox serves them: checked before they allocate, and printing
by the printing rule (``fastctx._data.to_text``) where Jinja2 would use Python's ``str``.

``attr`` is left out (it reaches Python attributes, past the data rules), and so is
``pprint`` (its output is a Python repr; ``tojson(indent=2)`` pretty-prints data).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2.filters import make_attrgetter
from jinja2.nodes import EvalContext
from jinja2.utils import _PassArg, pass_environment, pass_eval_context

from . import limits
from ._data import to_text
from ._functions import check_join, check_replace
from ._operators import check_format, format_arguments, printable
from .errors import LimitExceeded

__all__ = ["served_filters"]


def _bounded(name: str, fn: Callable[..., Any], check: Callable[..., None]) -> Any:
    """Jinja2's filter ``fn`` with ``check(value, *args)`` first: some filters allocate
    from a width or a count before any output limit could see it ("%999999999d")."""
    skip = 0 if _PassArg.from_obj(fn) is None else 1

    @functools.wraps(fn)  # keeps the pass_environment / pass_eval_context marker
    def bounded(*args: Any, **kwargs: Any) -> Any:
        check(name, *args[skip:], *kwargs.values())
        return fn(*args, **kwargs)

    return bounded


def _check_widths(name: str, value: Any, *args: Any) -> None:
    for arg in args:
        if type(arg) is int and arg > limits.current().max_repeat:
            raise LimitExceeded(f"{name}: a width or count larger than max_repeat="
                                f"{limits.current().max_repeat}", "max_repeat")


def _check_indent(name: str, value: Any, width: Any = 4, *rest: Any) -> None:
    """``indent``: every line grows by the width (a number of spaces, or a string)."""
    _check_widths(name, value, width)
    if isinstance(value, str) and type(width) in (int, str):
        grows = len(width) if type(width) is str else max(width, 0)
        _check_size(name, len(value) + (value.count("\n") + 1) * grows)


def _check_tojson(name: str, value: Any, indent: Any = None) -> None:
    """``tojson(indent=n)``: each member's line is indented n spaces per level; the sum is
    counted before json.dumps builds it."""
    if type(indent) is not int or indent <= 0:
        return
    size, stack = 0, [(value, 1)]
    while stack:
        member, depth = stack.pop()
        size += depth * indent + 1
        if size > limits.current().max_output:
            _check_size(name, size)
        if type(member) is dict:
            stack.extend((item, depth + 1) for item in member.values())
        elif isinstance(member, (list, tuple)):
            stack.extend((item, depth + 1) for item in member)


def _check_size(name: str, size: int) -> None:
    if size > limits.current().max_output:
        raise LimitExceeded(f"{name}: the result would be longer than max_output="
                            f"{limits.current().max_output}", "max_output")


def _check_batch(name: str, value: Any, count: Any = 1, fill: Any = None, *rest: Any) -> None:
    """``batch(n, fill)``: the last batch is padded to ``n`` members: counted (with the
    members and the batches) against max_output before Jinja2 builds them."""
    _check_widths(name, value, count, fill, *rest)
    if type(count) is int and count > 0 and hasattr(value, "__len__"):
        _check_size(name, len(value) + (count if fill is not None else 0) +
                    len(value) // count + 1)


def _check_slice(name: str, value: Any, slices: Any = 1, *rest: Any) -> None:
    """``slice(n)``: ``n`` lists, however few the members: counted with the members against
    max_output before Jinja2 builds them."""
    _check_widths(name, value, slices, *rest)
    if type(slices) is int and slices > 0:
        _check_size(name, (len(value) if hasattr(value, "__len__") else 0) + slices)


def _check_join(name: str, value: Any, separator: Any = "", *rest: Any) -> None:
    if isinstance(value, (list, tuple, str)) and type(separator) is str:
        check_join(value, separator)


def _check_replace(name: str, value: Any, old: Any = None, new: Any = None, *rest: Any) -> None:
    if type(value) is str and type(old) is str and type(new) is str:
        check_replace(value, old, new)


_PRINTING_FILTERS = ("capitalize", "center", "e", "escape", "forceescape", "format", "indent",
                     "lower", "replace", "safe", "striptags", "title", "trim", "truncate",
                     "upper", "urlize", "wordcount", "wordwrap")


def _prints_its_input(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Jinja2's filter ``fn``, given the text of its input when that is not a string."""
    skip = 0 if _PassArg.from_obj(fn) is None else 1

    @functools.wraps(fn)  # keeps the pass_environment / pass_eval_context marker
    def printed(*args: Any, **kwargs: Any) -> Any:
        if len(args) > skip and not isinstance(args[skip], str):
            args = (*args[:skip], to_text(args[skip]), *args[skip + 1:])
        return fn(*args, **kwargs)

    return printed


def _string_filter(value: Any) -> str:
    """``x|string``: the text of a value, as the template would print it."""
    return to_text(value)


def _formatted(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``format``: its arguments printed by the printing rule, as for ``%``."""
    @functools.wraps(fn)
    def format_(value: Any, *args: Any, **kwargs: Any) -> Any:
        fmt = str(value)
        return fn(value, *format_arguments(fmt, args),
                  **{key: printable(member) for key, member in kwargs.items()})

    return format_


def _joined(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``join``: each member printed by the printing rule (``attribute=`` first applied)."""
    @pass_eval_context
    @functools.wraps(fn)
    def join(eval_ctx: EvalContext, value: Any, d: Any = "", attribute: Any = None) -> Any:
        if attribute is not None:
            value = map(make_attrgetter(eval_ctx.environment, attribute), value)
        if not isinstance(value, str):  # counted as it is read: a lazy map makes its members
            printed, size, most = [], 0, limits.current().max_output  # only now
            for member in value:
                text = member if isinstance(member, str) else to_text(member)
                size += len(text) + (len(d) if type(d) is str else 0)
                if size > most:
                    _check_size("join", size)
                printed.append(text)
            value = printed
        return fn(eval_ctx, value, d)

    return join


def _xmlattr_values(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``xmlattr``: attribute values printed by the printing rule (null ones still left out)."""
    @pass_eval_context
    @functools.wraps(fn)
    def xmlattr(eval_ctx: EvalContext, d: Any, autospace: bool = True) -> Any:
        if type(d) is dict:
            d = {key: member if member is None or isinstance(member, str) else to_text(member)
                 for key, member in d.items()}
        return fn(eval_ctx, d, autospace)

    return xmlattr


def _urlencoded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``urlencode``: a value, an object's values or pairs' members printed by the printing
    rule."""
    @functools.wraps(fn)
    def urlencode(value: Any) -> Any:
        if type(value) is dict:
            value = {key: to_text(member) for key, member in value.items()}
        elif isinstance(value, (list, tuple)):
            value = [tuple(to_text(member) for member in pair) if isinstance(pair, (list, tuple))
                     else pair for pair in value]
        elif not isinstance(value, str):
            value = to_text(value)
        return fn(value)

    return urlencode


def _int_within_bounds(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``int(base=2)``: a binary or hex string of a million digits is an integer of as many
    bits, whose ``//`` and ``%`` are quadratic; at most 4 x max_power bits, as ``*`` and
    ``**`` make."""
    @functools.wraps(fn)
    def int_(value: Any, *args: Any, **kwargs: Any) -> Any:
        number = fn(value, *args, **kwargs)
        bound = 4 * limits.current().max_power
        if type(number) is int and number.bit_length() > bound:
            raise LimitExceeded(f"int: an integer of more than {bound} bits "
                                f"(4 x max_power={limits.current().max_power})", "max_power")
        return number

    return int_


def _summed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``sum(start=[])``: lists joined in one pass (Python's sum copies the growing list at
    each step: quadratic in the members)."""
    @pass_environment
    @functools.wraps(fn)
    def sum_(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        if type(start) is not list:
            return fn(environment, iterable, attribute, start)
        if attribute is not None:
            iterable = map(make_attrgetter(environment, attribute), iterable)
        total = list(start)
        for member in iterable:
            if not isinstance(member, list):
                raise TypeError(f'can only concatenate list (not "{type(member).__name__}") '
                                "to list")
            total.extend(member)
        return total

    return sum_




def served_filters(jinja_filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The filters the sandbox serves, made from Jinja2's own (``jinja_filters``)."""
    filters = {name: fn for name, fn in jinja_filters.items() if name not in ("attr", "pprint")}
    for name in _PRINTING_FILTERS:
        filters[name] = _prints_its_input(filters[name])
    filters["string"] = _string_filter
    filters["format"] = _bounded("format", _formatted(filters["format"]), check_format)
    filters["join"] = _bounded("join", _joined(filters["join"]), _check_join)
    filters["xmlattr"] = _xmlattr_values(filters["xmlattr"])
    filters["urlencode"] = _urlencoded(filters["urlencode"])
    filters["replace"] = _bounded("replace", filters["replace"], _check_replace)
    for name in ("center", "wordwrap", "truncate"):
        filters[name] = _bounded(name, filters[name], _check_widths)
    filters["slice"] = _bounded("slice", filters["slice"], _check_slice)
    filters["batch"] = _bounded("batch", filters["batch"], _check_batch)
    filters["indent"] = _bounded("indent", filters["indent"], _check_indent)
    filters["tojson"] = _bounded("tojson", filters["tojson"], _check_tojson)
    filters["sum"] = _summed(filters["sum"])
    filters["int"] = _int_within_bounds(filters["int"])
    return filters
